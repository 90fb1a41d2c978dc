"""Engagement events, members seen, member-count snapshots and the audit log.

Events are buffered (see `Database.enqueue`) so logging never slows a reply down.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from bot.clock import iso
from bot.model import Community, EngagementEvent, Member, Place
from storage.activity import counts_as_activity
from storage.db import Database

INSERT_EVENT = (
    "INSERT INTO engagement_events (at, platform, community_id, member_id, kind, cog, subject)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
UPSERT_MEMBER = (
    "INSERT INTO members_seen (platform, community_id, member_id, display_name, first_seen, last_seen)"
    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (platform, community_id, member_id)"
    " DO UPDATE SET display_name = excluded.display_name, last_seen = excluded.last_seen"
)


DAILY = (
    "INSERT INTO engagement_daily (platform, community_id, day, kind, cog, events) VALUES (?, ?, ?, ?, ?, 1)"
    " ON CONFLICT (platform, community_id, day, kind, cog) DO UPDATE SET events = events + 1"
)
HOURLY = (
    "INSERT INTO engagement_hourly (platform, community_id, day, hour, events) VALUES (?, ?, ?, ?, 1)"
    " ON CONFLICT (platform, community_id, day, hour) DO UPDATE SET events = events + 1"
)
ACTIVE = (
    "INSERT INTO active_members (platform, community_id, day, member_id, events) VALUES (?, ?, ?, ?, 1)"
    " ON CONFLICT (platform, community_id, day, member_id) DO UPDATE SET events = events + 1"
)
FIRST = "INSERT OR IGNORE INTO first_engagement (platform, community_id, member_id, cog, day) VALUES (?, ?, ?, ?, ?)"
ANONYMISE = (  # (token, platform, member id): rows that would clash with the token's are dropped
    "UPDATE OR IGNORE active_members SET member_id = ?1 WHERE platform = ?2 AND member_id = ?3",
    "DELETE FROM active_members WHERE platform = ?2 AND member_id = ?3 AND ?1 IS NOT NULL",
    "UPDATE OR IGNORE first_engagement SET member_id = ?1 WHERE platform = ?2 AND member_id = ?3",
    "DELETE FROM first_engagement WHERE platform = ?2 AND member_id = ?3 AND ?1 IS NOT NULL",
    "UPDATE OR IGNORE member_activity SET member_id = ?1 WHERE platform = ?2 AND member_id = ?3",
    "DELETE FROM member_activity WHERE platform = ?2 AND member_id = ?3 AND ?1 IS NOT NULL",
)

NAME_COMMUNITY = (
    "INSERT INTO community_names (platform, community_id, name, seen_at) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (platform, community_id) DO UPDATE SET name = excluded.name, seen_at = excluded.seen_at"
)

SEEN_REFRESH = timedelta(minutes=5)


class EngagementLog:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._last_saw: dict[tuple[str, str, str], datetime] = {}
        self._community_names: dict[tuple[str, str], str] = {}  # as last written by this process

    def record(self, event: EngagementEvent, local: datetime) -> None:
        """One event, and the daily rollups the report reads, buffered together so they are
        written in one transaction. `local` is the event's time in the community's zone:
        days and hours are the community's, not UTC's. A new member-day in active_members
        also updates active_daily (DAU) and member_activity (first, second and last active
        day, events), by the triggers of migration 10, in the same transaction."""
        day = local.date().isoformat()
        where = (event.platform, event.community_id)
        self.db.enqueue(INSERT_EVENT, event)
        self.db.enqueue(DAILY, (*where, day, event.kind, event.cog or ""))
        self.db.enqueue(HOURLY, (*where, day, local.hour))
        if event.member_id is not None and counts_as_activity(event.kind, event.cog):
            self.db.enqueue(ACTIVE, (*where, day, event.member_id))
            if event.cog:
                self.db.enqueue(FIRST, (*where, event.member_id, event.cog, day))

    def record_unnamed(self, community: Community, kind: str, cog: str | None, local: datetime) -> None:
        """Count an interaction in the day's total only: no member, no time of day, no raw
        row (for anonymous ballots: nothing in the log can be matched to a vote)."""
        self.db.enqueue(DAILY, (community.platform, community.id, local.date().isoformat(), kind, cog or ""))

    def saw(self, community: Community, member: Member, at: datetime) -> None:
        """Note the member as seen; refreshed at most every few minutes, not every event.
        The community's name is written when this process first sees it or it changes
        (`alcts-bot report --community NAME`)."""
        where = (community.platform, community.id)
        if community.name and self._community_names.get(where) != community.name:
            self._community_names[where] = community.name
            self.db.enqueue(NAME_COMMUNITY, (*where, community.name, iso(at)))
        key = (community.platform, community.id, member.id)
        last = self._last_saw.get(key)
        if last is not None and at - last < SEEN_REFRESH:
            return
        self._last_saw[key] = at
        stamp = iso(at)
        self.db.enqueue(
            UPSERT_MEMBER,
            (community.platform, community.id, member.id, member.display_name, stamp, stamp),
        )

    def content(self, place: Place, kind: str, subject: str, at: datetime) -> None:
        """What the bot offered (a job post, a digest, a webinar announcement), buffered like
        events, so engagement can be put against it."""
        self.db.enqueue(
            "INSERT INTO content_events (at, platform, community_id, channel_id, kind, subject) VALUES (?, ?, ?, ?, ?, ?)",
            (iso(at), place.platform, place.community.id, place.channel_id, kind, subject),
        )

    async def record_member_count(self, community: Community, members: int, at: datetime) -> None:
        await self.db.insert(
            "INSERT INTO member_counts (platform, community_id, at, members) VALUES (?, ?, ?, ?)",
            (community.platform, community.id, iso(at), members),
        )

    async def member_count(self, community: Community) -> int:
        """The platform's latest snapshot, or else how many members the bot has seen."""
        await self.db.flush()
        latest = await self.db.scalar(
            "SELECT members FROM member_counts WHERE platform = ? AND community_id = ?"
            " ORDER BY at DESC, id DESC LIMIT 1",
            (community.platform, community.id),
        )
        if latest is not None:
            return int(latest)
        seen = await self.db.scalar(
            "SELECT COUNT(*) FROM members_seen WHERE platform = ? AND community_id = ?",
            (community.platform, community.id),
        )
        return int(seen or 0)

    async def audit(
        self, community: Community, member: Member, action: str, allowed: bool, at: datetime,
        detail: str = "",
    ) -> None:  # fmt: skip
        await self.db.insert(
            "INSERT INTO audit_log (at, platform, community_id, member_id, action, allowed, detail)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (iso(at), community.platform, community.id, member.id, action, int(allowed), detail),
        )

    async def forget_member(self, member: Member) -> int:
        """Delete the member's events; what the rollups need stays as an anonymous token
        (so past counts of active members hold), and the audit log keeps no name."""
        await self.db.flush()
        token = f"forgotten:{secrets.token_hex(8)}"
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "DELETE FROM engagement_events WHERE platform = ? AND member_id = ?", (member.platform, member.id)
            )
            events = cur.rowcount
            for statement in ANONYMISE:  # the rollups keep their counts under a token that names no one
                await conn.execute(statement, (token, member.platform, member.id))
            await conn.execute(
                "UPDATE audit_log SET member_id = NULL WHERE platform = ? AND member_id = ?",
                (member.platform, member.id),
            )
            await conn.execute(
                "DELETE FROM members_seen WHERE platform = ? AND member_id = ?",
                (member.platform, member.id),
            )
            await conn.execute(
                "DELETE FROM stats_optouts WHERE platform = ? AND member_id = ?", (member.platform, member.id)
            )
        self._last_saw = {k: v for k, v in self._last_saw.items() if k[0] != member.platform or k[2] != member.id}
        return events

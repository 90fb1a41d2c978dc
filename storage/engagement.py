"""Engagement events, members seen, member-count snapshots and the audit log.

Events are buffered (see `Database.enqueue`) so logging never slows a reply down.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta, tzinfo

from bot.clock import MICROSECOND, IsoText, LocalHours, iso, micros
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
SEEN_REFRESH_US = SEEN_REFRESH // MICROSECOND


class _Known:
    """What this process has written about one member: when members_seen was last
    refreshed (microseconds, see bot.clock.micros) and the features whose first_engagement
    row is written (a second INSERT OR IGNORE would change nothing)."""

    __slots__ = ("seen", "firsts")

    def __init__(self) -> None:
        self.seen: int | None = None
        self.firsts: tuple[str, ...] = ()


class EngagementLog:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._known: dict[tuple[str, str, str], _Known] = {}  # (platform, community, member)
        self._community_names: dict[tuple[str, str], str] = {}  # as last written by this process
        self._iso = IsoText()
        self._local = LocalHours()

    def event(
        self, community: Community, member: Member, kind: str, cog: str | None, subject: str | None,
        at: datetime, zone: tzinfo,
    ) -> None:  # fmt: skip
        """The Bot's path for a named interaction: `saw` and `record` in one, the time kept
        as an integer until the row's text is made (`iso()` once a second, the local day
        and hour once a quarter hour)."""
        us = micros(at)
        stamp = self._iso(us)
        day, hour = self._local(us, zone)
        known = self._saw(community, member, us, stamp)
        self._write(EngagementEvent(stamp, community.platform, community.id, member.id, kind, cog, subject),
                    day, hour, known)  # fmt: skip

    def record(self, event: EngagementEvent, local: datetime) -> None:
        """One event, and the daily rollups the report reads, buffered together so they are
        written in one transaction. `local` is the event's time in the community's zone:
        days and hours are the community's, not UTC's. A new member-day in active_members
        also updates active_daily (DAU) and member_activity (first, second and last active
        day, events), by the triggers of migration 10, in the same transaction."""
        known = None
        if event.member_id is not None:
            known = self._known.get((event.platform, event.community_id, event.member_id))
        self._write(event, local.date().isoformat(), local.hour, known)

    def _write(self, event: EngagementEvent, day: str, hour: int, known: _Known | None) -> None:
        enqueue = self.db.enqueue
        where = (event.platform, event.community_id)
        enqueue(INSERT_EVENT, event)
        enqueue(DAILY, (*where, day, event.kind, event.cog or ""))
        member_id, cog = event.member_id, event.cog
        if not counts_as_activity(event.kind, cog):
            return
        enqueue(HOURLY, (*where, day, hour))  # when members take part: when to post
        if member_id is not None:
            enqueue(ACTIVE, (*where, day, member_id))
            if cog and (known is None or cog not in known.firsts):
                enqueue(FIRST, (*where, member_id, cog, day))
                if known is not None:
                    known.firsts += (cog,)

    def record_unnamed(self, community: Community, kind: str, cog: str | None, local: datetime) -> None:
        """Count an interaction in the day's total only: no member, no time of day, no raw
        row (for anonymous ballots: nothing in the log can be matched to a vote)."""
        self.db.enqueue(DAILY, (community.platform, community.id, local.date().isoformat(), kind, cog or ""))

    def saw(self, community: Community, member: Member, at: datetime) -> None:
        """Note the member as seen; refreshed at most every few minutes, not every event.
        The community's name is written when this process first sees it or it changes
        (`alcts-bot report --community NAME`)."""
        us = micros(at)
        self._saw(community, member, us, self._iso(us))

    def _saw(self, community: Community, member: Member, us: int, stamp: str) -> _Known:
        platform, community_id = community.platform, community.id
        if community.name and self._community_names.get((platform, community_id)) != community.name:
            self._community_names[(platform, community_id)] = community.name
            self.db.enqueue(NAME_COMMUNITY, (platform, community_id, community.name, stamp))
        key = (platform, community_id, member.id)
        known = self._known.get(key)
        if known is None:
            known = self._known[key] = _Known()
        elif known.seen is not None and us - known.seen < SEEN_REFRESH_US:
            return known
        known.seen = us
        self.db.enqueue(UPSERT_MEMBER, (platform, community_id, member.id, member.display_name, stamp, stamp))
        return known

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
        self._known = {k: v for k, v in self._known.items() if k[0] != member.platform or k[2] != member.id}
        return events

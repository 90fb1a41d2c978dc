"""Engagement events, members seen, member-count snapshots and the audit log.

Events are buffered (see `Database.enqueue`) so logging never slows a reply down.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.clock import iso
from bot.model import Community, EngagementEvent, Member, Place
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


SEEN_REFRESH = timedelta(minutes=5)


class EngagementLog:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._last_saw: dict[tuple[str, str, str], datetime] = {}

    def record(self, event: EngagementEvent) -> None:
        self.db.enqueue(INSERT_EVENT, event)

    def saw(self, community: Community, member: Member, at: datetime) -> None:
        """Note the member as seen; refreshed at most every few minutes, not every event."""
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
        """Keep the counts organizers rely on, but cut every event loose from the member."""
        await self.db.flush()
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE engagement_events SET member_id = NULL WHERE platform = ? AND member_id = ?",
                (member.platform, member.id),
            )
            events = cur.rowcount
            await conn.execute(
                "UPDATE audit_log SET member_id = NULL WHERE platform = ? AND member_id = ?",
                (member.platform, member.id),
            )
            await conn.execute(
                "DELETE FROM members_seen WHERE platform = ? AND member_id = ?",
                (member.platform, member.id),
            )
        self._last_saw = {k: v for k, v in self._last_saw.items() if k[0] != member.platform or k[2] != member.id}
        return events

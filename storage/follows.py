"""Who follows the association in each community (opt-in, one row per follower)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, tzinfo
from typing import Any

from bot.clock import iso
from bot.model import Community, Member
from storage.db import Database

ZoneOf = Callable[[str, str], Awaitable[tzinfo]]  # (platform, community id) -> the community's zone


class FollowStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def follow(self, community: Community, member: Member, at: datetime, day: str) -> bool:
        """True when this is a new follow; following twice changes nothing. A change is
        written to the follow history (and its daily rollup, on the community's local
        `day`) in the same transaction."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT INTO follows (platform, community_id, member_id, followed_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (community.platform, community.id, member.id, iso(at)),
            )
            if cursor.rowcount > 0:
                await self._changed(conn, community, member, at, day, followed=True)
            return cursor.rowcount > 0

    async def unfollow(self, community: Community, member: Member, at: datetime, day: str) -> bool:
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "DELETE FROM follows WHERE platform = ? AND community_id = ? AND member_id = ?",
                (community.platform, community.id, member.id),
            )
            if cursor.rowcount > 0:
                await self._changed(conn, community, member, at, day, followed=False)
            return cursor.rowcount > 0

    @staticmethod
    async def _changed(conn: Any, community: Community, member: Member, at: datetime, day: str, *, followed: bool) -> None:
        await conn.execute(
            "INSERT INTO follow_history (platform, community_id, member_id, at, day, followed) VALUES (?, ?, ?, ?, ?, ?)",
            (community.platform, community.id, member.id, iso(at), day, int(followed)),
        )
        await conn.execute(
            "INSERT INTO follow_daily (platform, community_id, day, follows, unfollows) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (platform, community_id, day) DO UPDATE SET follows = follows + excluded.follows,"
            " unfollows = unfollows + excluded.unfollows",
            (community.platform, community.id, day, int(followed), int(not followed)),
        )

    async def following(self, community: Community, member: Member) -> bool:
        value = await self.db.scalar(
            "SELECT 1 FROM follows WHERE platform = ? AND community_id = ? AND member_id = ?",
            (community.platform, community.id, member.id),
        )
        return value is not None

    async def count(self, community: Community) -> int:
        value = await self.db.scalar(
            "SELECT COUNT(*) FROM follows WHERE platform = ? AND community_id = ?",
            (community.platform, community.id),
        )
        return int(value or 0)

    async def forget_member(self, member: Member, at: datetime, zone_of: ZoneOf) -> int:
        """The follow and the member's follow history go. Where they still followed, the
        daily totals record an unfollow on the community's local day of `at` (`zone_of`
        gives a community's zone), so the totals stay anonymous and the follower count drops
        from then on."""
        async with self.db.transaction() as conn:
            async with conn.execute(
                "SELECT community_id FROM follows WHERE platform = ? AND member_id = ?", (member.platform, member.id)
            ) as cursor:
                communities = [row[0] for row in await cursor.fetchall()]
            cursor = await conn.execute(
                "DELETE FROM follows WHERE platform = ? AND member_id = ?", (member.platform, member.id)
            )
            removed = cursor.rowcount
            for community_id in communities:
                await conn.execute(
                    "INSERT INTO follow_daily (platform, community_id, day, unfollows) VALUES (?, ?, ?, 1)"
                    " ON CONFLICT (platform, community_id, day) DO UPDATE SET unfollows = unfollows + 1",
                    (member.platform, community_id, at.astimezone(await zone_of(member.platform, community_id)).date().isoformat()),
                )
            await conn.execute(
                "DELETE FROM follow_history WHERE platform = ? AND member_id = ?", (member.platform, member.id)
            )
        return removed

"""Who follows the association in each community (opt-in, one row per follower)."""

from __future__ import annotations

from datetime import datetime

from bot.clock import iso
from bot.model import Community, Member
from storage.db import Database


class FollowStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def follow(self, community: Community, member: Member, at: datetime) -> bool:
        """True when this is a new follow; following twice changes nothing."""
        added = await self.db.execute(
            "INSERT INTO follows (platform, community_id, member_id, followed_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (community.platform, community.id, member.id, iso(at)),
        )
        return added > 0

    async def unfollow(self, community: Community, member: Member) -> bool:
        removed = await self.db.execute(
            "DELETE FROM follows WHERE platform = ? AND community_id = ? AND member_id = ?",
            (community.platform, community.id, member.id),
        )
        return removed > 0

    async def count(self, community: Community) -> int:
        value = await self.db.scalar(
            "SELECT COUNT(*) FROM follows WHERE platform = ? AND community_id = ?",
            (community.platform, community.id),
        )
        return int(value or 0)

    async def forget_member(self, member: Member) -> int:
        return await self.db.execute(
            "DELETE FROM follows WHERE platform = ? AND member_id = ?", (member.platform, member.id)
        )

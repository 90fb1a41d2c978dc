"""Per-community settings as key/value rows; `bot.config.CommunitySettings` gives them types."""

from __future__ import annotations

from datetime import datetime

from bot.clock import iso
from bot.model import Community, Member
from storage.db import Database


class SettingsStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get_all(self, community: Community) -> dict[str, str]:
        rows = await self.db.fetchall(
            "SELECT key, value FROM community_settings WHERE platform = ? AND community_id = ?",
            (community.platform, community.id),
        )
        return {row["key"]: row["value"] for row in rows}

    async def set(self, community: Community, key: str, value: str, by: str, at: datetime) -> None:
        await self.db.execute(
            "INSERT INTO community_settings (platform, community_id, key, value, updated_at, updated_by)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (platform, community_id, key)"
            " DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at,"
            " updated_by = excluded.updated_by",
            (community.platform, community.id, key, value, iso(at), by),
        )

    async def unset(self, community: Community, key: str) -> bool:
        removed = await self.db.execute(
            "DELETE FROM community_settings WHERE platform = ? AND community_id = ? AND key = ?",
            (community.platform, community.id, key),
        )
        return removed > 0

    async def forget_member(self, member: Member) -> int:
        """The settings stay; who changed them is no longer recorded."""
        return await self.db.execute(
            "UPDATE community_settings SET updated_by = '' WHERE platform = ? AND updated_by = ?",
            (member.platform, member.id),
        )

"""Platform event ids already handled, so a redelivered event (Slack retries when an ack
is late or lost) is handled once, also across restarts."""

from __future__ import annotations

from datetime import datetime

from bot.clock import iso
from storage.db import Database


class SeenEvents:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def first_time(self, platform: str, event_id: str, at: datetime) -> bool:
        """Remember the id; True only the first time it is offered."""
        added = await self.db.execute(
            "INSERT INTO seen_events (platform, event_id, seen_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (platform, event_id, iso(at)),
        )
        return added > 0

    async def seen(self, platform: str, event_id: str) -> bool:
        """Whether the id was remembered (without remembering it)."""
        return await self.db.scalar(
            "SELECT 1 FROM seen_events WHERE platform = ? AND event_id = ?", (platform, event_id)
        ) is not None

    async def prune(self, platform: str, before: datetime) -> int:
        """Forget ids older than any retry could be; returns how many went."""
        return await self.db.execute(
            "DELETE FROM seen_events WHERE platform = ? AND seen_at < ?", (platform, iso(before))
        )

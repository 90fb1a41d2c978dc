"""Process runs: when the bot started and whether it stopped cleanly. An unclean stop
(kill -9, a power cut) may lose the engagement rows still buffered then (at most
`FLUSH_EVERY_SECONDS` of events), so the report says how many there were."""

from __future__ import annotations

from datetime import datetime

from bot.clock import iso
from storage.db import Database


class RunLog:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def started(self, at: datetime, command: str) -> int:
        return await self.db.insert("INSERT INTO process_runs (started_at, command) VALUES (?, ?)", (iso(at), command))

    async def stopped(self, run_id: int, at: datetime) -> None:
        await self.db.execute("UPDATE process_runs SET stopped_at = ? WHERE id = ?", (iso(at), run_id))

    async def unclean_since(self, since: datetime, current: int | None = None) -> int:
        """Runs started since `since` that never recorded a clean stop (not counting `current`)."""
        value = await self.db.scalar(
            "SELECT COUNT(*) FROM process_runs WHERE started_at >= ? AND stopped_at IS NULL AND id IS NOT ?",
            (iso(since), current),
        )
        return int(value or 0)

"""Running due timers in e2e tests without counting the growth feature's own."""

from __future__ import annotations

from typing import Any

FINISHED = "SELECT COUNT(*) FROM timers WHERE status IN ('done', 'failed') AND name NOT LIKE 'stats.%'"


async def run_due(bot: Any) -> int:
    """Run every due timer; return how many ran, leaving out the hourly snapshot and the daily
    follower counts (`stats.*`), which fall due whenever a test moves the clock far."""
    before = await bot.db.scalar(FINISHED)
    await bot.scheduler.run_due()
    return int(await bot.db.scalar(FINISHED)) - int(before)

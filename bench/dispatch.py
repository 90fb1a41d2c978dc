"""Dispatch throughput through the core, with engagement logging to SQLite, next to raw
aiosqlite batched inserts of the same rows in the same run. The ratio is the figure.

    python -m bench.dispatch [--events 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bot.app import Bot, Context
from bot.cards import Card
from bot.clock import ManualClock, iso
from bot.commands import command
from bot.config import Settings
from bot.model import CommandInvoked, Community, Member, MessageRef, Place
from storage.db import Database
from storage.engagement import INSERT_EVENT

GOAL = 0.5


class Ping:
    """A trivial command"""

    @command("ping")
    async def ping(self, ctx: Context, args: object) -> Card:
        return Card(text="pong")


class NullResponder:
    async def respond(self, card: Card) -> MessageRef | None:
        return None


async def core_dispatch(path: Path, events: int) -> float:
    clock = ManualClock(datetime(2026, 11, 27, tzinfo=UTC))
    bot = Bot(Settings(_env_file=None, bot_database=path), Database(path), clock)  # type: ignore[call-arg]
    bot.add_cog(Ping())
    await bot.open()
    community = Community("bench", "c1")
    place = Place(community, "general")
    members = [Member("bench", f"m{i}", f"m{i}") for i in range(500)]
    responder = NullResponder()
    started = time.perf_counter()
    for i in range(events):
        await bot.dispatch(CommandInvoked(members[i % 500], place, text="ping"), responder)
    await bot.db.flush()
    elapsed = time.perf_counter() - started
    stored = await bot.db.scalar("SELECT COUNT(*) FROM engagement_events")
    await bot.close()
    assert stored == events, f"stored {stored} of {events}"
    return events / elapsed


async def raw_inserts(path: Path, events: int, batch: int = 500) -> float:
    db = Database(path)
    await db.open()
    at = iso(datetime(2026, 11, 27, tzinfo=UTC))
    rows = [(at, "bench", "c1", f"m{i % 500}", "command", "ping", "ping") for i in range(events)]
    started = time.perf_counter()
    for start in range(0, events, batch):
        await db.executemany(INSERT_EVENT, rows[start:start + batch])
    elapsed = time.perf_counter() - started
    await db.close()
    return events / elapsed


async def main(events: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        raw = await raw_inserts(Path(tmp) / "raw.sqlite3", events)
        core = await core_dispatch(Path(tmp) / "core.sqlite3", events)
    ratio = core / raw
    print(f"events:                      {events}")
    print(f"raw aiosqlite batched insert {raw:10.0f} rows/s   (baseline, same run)")
    print(f"core dispatch + engagement   {core:10.0f} events/s")
    print(f"ratio                        {ratio:10.2f}   (goal >= {GOAL}: {'met' if ratio >= GOAL else 'NOT met'})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20000)
    asyncio.run(main(parser.parse_args().events))

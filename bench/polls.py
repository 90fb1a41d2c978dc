"""Votes per second through the core with durable storage, next to raw inserts of the same
vote rows in the same run, and how many message edits a 1,000-vote burst costs.

    python -m bench.polls [--votes 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite

from bot.app import Bot
from bot.cards import Card
from bot.clock import ManualClock, iso
from bot.config import Settings
from bot.model import ButtonPressed, CommandInvoked, Community, Member, MessageRef, Place
from storage.db import Database

START = datetime(2026, 11, 27, tzinfo=UTC)


class CountingPlatform:
    """Records edits as a platform would receive them (after coalescing)."""

    name = "bench"

    def __init__(self) -> None:
        self.edits = 0

    async def start(self) -> None: ...

    async def send(self, place: Place, card: Card) -> MessageRef:
        return MessageRef("bench", place.channel_id, "1")

    async def edit(self, ref: MessageRef, card: Card) -> None:
        self.edits += 1
        await asyncio.sleep(0.05)  # a platform round trip

    async def close(self) -> None: ...


class Responder:
    async def respond(self, card: Card) -> MessageRef | None:
        return MessageRef("bench", "general", "1")


async def core_votes(path: Path, votes: int) -> tuple[float, int, int]:
    settings = Settings(_env_file=None, bot_database=path)  # type: ignore[call-arg]
    bot = Bot(settings, Database(path), ManualClock(START))
    bot.load_cogs(("cogs.polls",))
    platform = CountingPlatform()
    bot.add_platform(platform)
    await bot.open()
    place = Place(Community("bench", "c1"), "general", "general")
    creator = Member("bench", "creator", "creator")
    await bot.dispatch(CommandInvoked(creator, place, text='poll create "Best standard?" MARC RDA BIBFRAME'), Responder())
    members = [Member("bench", f"m{i}", f"m{i}") for i in range(votes)]
    started = time.perf_counter()
    await asyncio.gather(*(
        bot.dispatch(ButtonPressed(m, place, custom_id=f"poll.vote:1:{i % 3}"), Responder())
        for i, m in enumerate(members)
    ))  # fmt: skip
    elapsed = time.perf_counter() - started
    await bot.idle()
    stored = await bot.db.scalar("SELECT COUNT(*) FROM poll_votes")
    await bot.close()
    return votes / elapsed, platform.edits, int(stored)


async def raw_inserts(path: Path, votes: int) -> float:
    """The same vote rows, each committed on its own, straight through aiosqlite."""
    conn = await aiosqlite.connect(path, isolation_level=None)
    await conn.execute("PRAGMA journal_mode=WAL")
    await conn.execute("PRAGMA synchronous=NORMAL")
    await conn.execute("CREATE TABLE votes (poll_id INTEGER, voter TEXT, position INTEGER, voted_at TEXT,"
                       " PRIMARY KEY (poll_id, voter, position))")  # fmt: skip
    at = iso(START)
    started = time.perf_counter()
    await asyncio.gather(*(
        conn.execute("INSERT INTO votes VALUES (?, ?, ?, ?)", (1, f"m{i}", i % 3, at)) for i in range(votes)
    ))  # fmt: skip
    elapsed = time.perf_counter() - started
    await conn.close()
    return votes / elapsed


async def main(votes: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        raw = await raw_inserts(Path(tmp) / "raw.sqlite3", votes)
        core, edits, stored = await core_votes(Path(tmp) / "core.sqlite3", votes)
    print(f"votes in one burst               {votes}, one per member")
    print(f"raw aiosqlite insert, autocommit {raw:8.0f} rows/s   (baseline, same run)")
    print(f"core vote (dispatch + store)     {core:8.0f} votes/s  ratio {core / raw:.2f}")
    print(f"votes stored                     {stored} of {votes} ({'exact' if stored == votes else 'MISMATCH'})")
    print(f"message edits for the burst      {edits}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--votes", type=int, default=1000)
    asyncio.run(main(parser.parse_args().votes))

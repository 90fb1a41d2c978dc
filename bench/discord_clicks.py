"""Button clicks through the real Discord adapter, into the core and the store.

The fake Discord runs in its own process (so its work does not count against the bot) and
sends the clicks; the bot runs here, with the real discord.py, `DiscordPlatform`, `Bot`
and SQLite. Each click's latency is measured by the fake, from sending INTERACTION_CREATE
to receiving the interaction callback. A no-op button on the same adapter, in the same
run, gives the floor that discord.py and aiohttp set; a recording button writes one row
per click. The two alternate for a few rounds and the median round of each is shown, since
a 2-core machine shared with other work is noisy. Prints figures and whether each goal is
met; asserts nothing.

    python -m bench.discord_clicks [--clicks 1000] [--members 500] [--rate 100] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import aiohttp

from bot.app import Bot, Context
from bot.cards import Card, notice
from bot.clock import SystemClock
from bot.commands import button
from bot.platforms.discord import DiscordPlatform
from storage.db import Database
from tests.harness import make_settings

ROOT = Path(__file__).resolve().parents[1]

DISCORD_LIMIT_MS = 3000
STEADY_P99_GOAL_MS = 50
THROUGHPUT_GOAL = 0.7


class Bench:
    """Benchmark buttons"""

    name = "bench"

    def __init__(self, db: Database) -> None:
        self.db = db

    @button("bench.noop")
    async def noop(self, ctx: Context, run: str, n: int) -> Card:
        return notice("ok")

    @button("bench.record")
    async def record(self, ctx: Context, run: str, n: int) -> Card:
        await self.db.insert(
            "INSERT INTO bench_clicks (run, click, member_id) VALUES (?, ?, ?)", (run, n, ctx.member.id)
        )
        return notice("recorded")


async def start_fake() -> tuple[asyncio.subprocess.Process, int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.e2e.discord.fake_discord", "--control",
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert process.stdout is not None
    hello = json.loads(await asyncio.wait_for(process.stdout.readline(), 30))
    return process, int(hello["port"]), str(hello["token"])


async def burst(session: aiohttp.ClientSession, control: str, action: str, count: int, members: int,
                rate: float = 0.0) -> dict[str, Any]:  # fmt: skip
    spec = {"action": action, "count": count, "members": members, "rate": rate, "timeout": 120}
    async with session.post(f"{control}/_control/burst", json=spec) as response:
        result: dict[str, Any] = await response.json()
    latencies = result["latencies_ms"]
    result["p50"] = statistics.median(latencies) if latencies else float("nan")
    result["p99"] = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] if latencies else float("nan")
    result["max"] = latencies[-1] if latencies else float("nan")
    result["per_second"] = result["answered"] / result["seconds"] if result["seconds"] else 0.0
    return result


async def recorded(db: Database, run: str) -> tuple[int, int]:
    row = await db.fetchone("SELECT COUNT(*) AS n, COUNT(DISTINCT click) AS d FROM bench_clicks WHERE run = ?", (run,))
    assert row is not None
    return int(row["n"]), int(row["d"])


def median_round(results: list[dict[str, Any]]) -> dict[str, Any]:
    return sorted(results, key=lambda r: r["per_second"])[len(results) // 2]


async def main(clicks: int, members: int, rate: float, rounds: int) -> int:
    logging.basicConfig(level=logging.WARNING)
    fake, port, token = await start_fake()
    control = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        settings = make_settings(
            Path(tmp), discord_token=token, discord_api_base=f"{control}/api/v10",
            discord_gateway_url=f"ws://127.0.0.1:{port}/gateway",
        )  # fmt: skip
        db = Database(settings.bot_database)
        bot = Bot(settings, db, SystemClock())
        bot.load_cogs()
        bot.add_cog(Bench(db))
        await bot.open()
        await db.execute(
            "CREATE TABLE bench_clicks (id INTEGER PRIMARY KEY, run TEXT NOT NULL, click INTEGER NOT NULL,"
            " member_id TEXT NOT NULL)"
        )
        platform = DiscordPlatform(bot, settings, ready_timeout=0.05)
        bot.add_platform(platform)
        try:
            await platform.start()
            async with aiohttp.ClientSession() as session:
                await burst(session, control, "bench.noop:warmup", min(clicks, 300), members)
                floors, loads = [], []
                for n in range(rounds):
                    floors.append(await burst(session, control, "bench.noop:floor", clicks, members))
                    loads.append(await burst(session, control, f"bench.record:burst{n}", clicks, members))
                steady = await burst(session, control, "bench.record:steady", clicks, members, rate=rate)
            runs = [*(f"burst{n}" for n in range(rounds)), "steady"]
            stored = {run: await recorded(db, run) for run in runs}
        finally:
            await bot.close()
            fake.terminate()
            await fake.wait()

    floor, loaded = median_round(floors), median_round(loads)
    print(f"Discord button clicks: {clicks} clicks from {members} members, fake Discord in its own process")
    print("clicks/s per round, no-op:", " ".join(f"{r['per_second']:.0f}" for r in floors),
          "| recording:", " ".join(f"{r['per_second']:.0f}" for r in loads))  # fmt: skip
    print(f"{'median round':<34}{'answered':>9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'clicks/s':>10}")
    for label, result in (
        ("no-op handler, at once (floor)", floor),
        ("recording handler, at once", loaded),
        (f"recording handler, {rate:.0f}/s steady", steady),
    ):
        print(f"{label:<34}{result['answered']:>9}{result['p50']:>9.1f}{result['p99']:>9.1f}"
              f"{result['max']:>9.1f}{result['per_second']:>10.0f}")  # fmt: skip
    print("rows recorded per run (rows/distinct clicks):", " ".join(f"{run} {r}/{d}" for run, (r, d) in stored.items()))

    ratio = loaded["per_second"] / floor["per_second"] if floor["per_second"] else 0.0
    goals = [
        ("every click answered within Discord's 3 s",
         all(r["answered"] == clicks and r["max"] < DISCORD_LIMIT_MS for r in (*floors, *loads, steady))),
        ("every click recorded exactly once", all(rows == distinct == clicks for rows, distinct in stored.values())),
        (f"throughput at least {THROUGHPUT_GOAL} of the floor (is {ratio:.2f})", ratio >= THROUGHPUT_GOAL),
        (f"p99 under {STEADY_P99_GOAL_MS} ms at {rate:.0f} clicks/s (is {steady['p99']:.1f} ms)",
         steady["p99"] < STEADY_P99_GOAL_MS),
    ]  # fmt: skip
    for goal, met in goals:
        print(f"[{'met' if met else 'NOT met'}] {goal}")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=1000)
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument("--rate", type=float, default=100.0, help="clicks a second in the steady run")
    parser.add_argument("--rounds", type=int, default=3, help="alternating no-op and recording bursts")
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.clicks, args.members, args.rate, args.rounds)))

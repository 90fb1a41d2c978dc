"""Slack button clicks through the real adapter: 1,000 signed `block_actions` sent at once
over HTTP to slack-bolt's AsyncApp, into the core and a bench-only SQLite table (one row
per click), next to a no-op Bolt handler served the same way in the same run (the floor
that Bolt and aiohttp set). A no-op button through the adapter and the core sits between
the two, to show where the time goes. Then a steady 100 clicks a second, with a button
that records and a button that records and answers privately (as a poll vote does: the
answer goes to the click's response_url after the ack). The clicks come from a separate
process, so the client does not share the server's event loop. Prints figures and whether
each goal is met; asserts nothing.

The adapter acks a click only once it is handled (acknowledged means durable), and takes
at most `--in-flight` clicks at once (default: the adapter's MAX_IN_FLIGHT); beyond that a
click is acked with a "busy" text and not recorded. The burst's `--concurrency` is the
number of connections the clicking process opens (0: one per click, all at once).
`--answer-before-ack` sends the private answer before the ack instead (to compare).

    python -m bench.slack_clicks [--clicks 1000] [--rate 100] [--seconds 10] [--rounds 5]
        [--concurrency 0] [--in-flight N] [--answer-before-ack]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import re
import statistics
import tempfile
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

import aiohttp
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.app import Bot, Context
from bot.cards import Card, notice
from bot.clock import SystemClock
from bot.commands import button
from bot.config import Settings
from bot.platforms.slack import SlackPlatform
from bot.platforms.slack_intake import MAX_IN_FLIGHT, AckGate
from bot.platforms.slack_manifest import EVENTS_PATH, bot_scopes
from storage.db import Database
from tests.e2e.slack.conftest import free_port
from tests.e2e.slack.fake_slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack, SlackWire

ACK_LIMIT = 3.0  # Slack's
THROUGHPUT_GOAL = 0.7  # of the floor
P99_GOAL = 0.050  # seconds, at the steady rate
USERS = 100
CHANNEL = "C0BENCH01"

Request = tuple[bytes, dict[str, str]]


class ClickBench:
    """Bench clicks"""

    name = "bench"

    def __init__(self, db: Database) -> None:
        self.db = db
        self.done = {"bench.noop": 0.0, "bench.record": 0.0, "bench.answer": 0.0}  # latest click handled

    @button("bench.noop")
    async def noop(self, ctx: Context, n: int) -> None:
        self.done["bench.noop"] = time.monotonic()

    @button("bench.record")
    async def record(self, ctx: Context, n: int) -> None:
        await self.db.execute("INSERT INTO bench_clicks (click, member_id) VALUES (?, ?)", (n, ctx.member.id))
        self.done["bench.record"] = time.monotonic()

    @button("bench.answer")
    async def answer(self, ctx: Context, n: int) -> Card:
        await self.db.execute("INSERT INTO bench_clicks (click, member_id) VALUES (?, ?)", (n, ctx.member.id))
        self.done["bench.answer"] = time.monotonic()
        return notice(f"Recorded click {n}.")


@dataclass
class Run:
    latencies: list[float]  # seconds from send to ack, per click
    statuses: list[int]
    refused: int  # acked with the adapter's "busy" text: not handled
    started: float  # time.monotonic(), system-wide on Linux, so comparable across processes
    acked: float
    handled: float = 0.0  # when the bot had handled the last click (the floor: acked)

    def rate(self) -> float:
        return len(self.latencies) / ((self.handled or self.acked) - self.started)

    def p99(self) -> float:
        return sorted(self.latencies)[min(len(self.latencies) - 1, int(len(self.latencies) * 0.99))]

    def line(self, name: str, what: str = "") -> str:
        ms = sorted(x * 1000 for x in self.latencies)
        taken = self.statuses.count(200) - self.refused
        return (f"{name:<34} {statistics.median(ms):7.1f} {self.p99() * 1000:7.1f} {ms[-1]:7.1f} "
                f"{taken:5d}/{len(ms)} {self.refused:5d} {self.rate():7.0f} {what}")  # fmt: skip


# -- the clicking process ---------------------------------------------------------------------


def clicker(url: str, requests: list[Request], rate: float, concurrency: int, conn: Connection) -> None:
    """Send every request, all at once (rate 0) or at `rate` a second; report the acks."""
    conn.send(asyncio.run(_click(url, requests, rate, concurrency)))
    conn.close()


async def _click(url: str, requests: list[Request], rate: float, concurrency: int) -> Run:
    latencies = [0.0] * len(requests)
    statuses = [0] * len(requests)
    refused = [False] * len(requests)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def one(i: int, at: float) -> None:
            if rate:
                await asyncio.sleep(max(0.0, at - time.monotonic()))
            body, headers = requests[i]
            sent = time.monotonic()
            async with session.post(url, data=body, headers=headers) as response:
                refused[i] = bool(await response.read())  # a taken click's ack is empty
                statuses[i] = response.status
            latencies[i] = time.monotonic() - sent

        started = time.monotonic()
        await asyncio.gather(*(one(i, started + (i / rate if rate else 0)) for i in range(len(requests))))
        return Run(latencies, statuses, sum(refused), started, time.monotonic())


async def send_clicks(url: str, requests: list[Request], rate: float = 0, concurrency: int = 0) -> Run:
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=clicker, args=(url, requests, rate, concurrency, sender))
    process.start()
    sender.close()
    run: Run = await asyncio.to_thread(receiver.recv)
    await asyncio.to_thread(process.join)
    return run


def signed_clicks(wire: SlackWire, action: str, count: int, first: int = 0) -> list[Request]:
    requests = []
    for n in range(first, first + count):
        body, content_type = wire.encode("interactive", wire.click(f"{action}:{n}", f"U{n % USERS:08d}", CHANNEL))
        requests.append((body.encode(), {"Content-Type": content_type, **wire.sign(body)}))
    return requests


# -- the servers ------------------------------------------------------------------------------


async def real_app(tmp: Path, fake: FakeSlack, port: int, in_flight: int) -> tuple[Bot, ClickBench, SlackPlatform]:
    settings = Settings(
        _env_file=None, bot_database=tmp / "bench.sqlite3", bot_http_port=port, bot_log_level="WARNING",
        slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET, slack_api_url=fake.api_url,
    )  # type: ignore[call-arg]
    bot = Bot(settings, Database(settings.bot_database), SystemClock())
    cog = ClickBench(bot.db)
    bot.add_cog(cog)
    platform = SlackPlatform(bot, settings, max_in_flight=in_flight)
    bot.add_platform(platform)
    await bot.open()
    await bot.db.execute("CREATE TABLE bench_clicks (click INTEGER NOT NULL, member_id TEXT NOT NULL)")
    await platform.start()
    return bot, cog, platform


async def noop_app(fake: FakeSlack, port: int) -> web.AppRunner:
    """The floor: Bolt with the same middleware, a handler that only acks, same server set-up."""
    client = AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url)
    app = AsyncApp(client=client, signing_secret=SIGNING_SECRET, process_before_response=True)

    @app.action(re.compile(".+"))
    async def noop(ack):  # type: ignore[no-untyped-def]
        await ack()

    runner = web.AppRunner(app.web_app(path=EVENTS_PATH), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, backlog=1024).start()
    return runner


# -- the run ----------------------------------------------------------------------------------


async def main(clicks: int, rate: float, seconds: float, rounds: int, concurrency: int, in_flight: int,
               answer_before_ack: bool) -> None:  # fmt: skip
    if answer_before_ack:  # every answer goes out at once, before the ack, as if its message were needed
        send = AckGate.send
        AckGate.send = lambda self, deliver, needs_ref: send(self, deliver, needs_ref=True)  # type: ignore[method-assign,assignment]
    fake = FakeSlack(set(bot_scopes()))
    for i in range(USERS):
        fake.add_user(f"U{i:08d}", f"member{i}")
    fake.add_channel(CHANNEL, "bench", members=tuple(fake.users))
    await fake.start()
    floor_url = f"http://127.0.0.1:{(floor_port := free_port())}{EVENTS_PATH}"
    real_url = f"http://127.0.0.1:{(real_port := free_port())}{EVENTS_PATH}"
    wire = SlackWire(fake)
    steady_n = int(rate * seconds)
    results: list[tuple[Run, Run, Run]] = []  # floor, no-op button, recording button
    with tempfile.TemporaryDirectory() as tmp:
        runner = await noop_app(fake, floor_port)
        bot, cog, platform = await real_app(Path(tmp), fake, real_port, in_flight)

        async def through_bot(action: str, requests: list[Request], rate: float = 0) -> Run:
            run = await send_clicks(real_url, requests, rate, concurrency)
            await platform.intake.idle()
            await bot.idle()
            run.handled = cog.done[action]
            return run

        try:
            warm_up = 10**6  # one click each first: Bolt's lazy auth.test
            await send_clicks(floor_url, signed_clicks(wire, "bench.noop", 1, warm_up), concurrency=concurrency)
            await through_bot("bench.record", signed_clicks(wire, "bench.record", 1, warm_up))
            for r in range(rounds):  # alternate, so drifting load on the machine hits all three
                floor = await send_clicks(floor_url, signed_clicks(wire, "bench.noop", clicks, r * clicks),
                                          concurrency=concurrency)  # fmt: skip
                noop = await through_bot("bench.noop", signed_clicks(wire, "bench.noop", clicks, r * clicks))
                record = await through_bot("bench.record", signed_clicks(wire, "bench.record", clicks, r * clicks))
                results.append((floor, noop, record))
            stored = await bot.db.fetchone(
                "SELECT COUNT(*) AS n, COUNT(DISTINCT click) AS distinct_clicks FROM bench_clicks WHERE click < ?",
                (rounds * clicks,),
            )
            steady_clicks = signed_clicks(wire, "bench.record", steady_n, rounds * clicks)
            steady_floor = await send_clicks(floor_url, steady_clicks, rate)
            steady = await through_bot("bench.record", steady_clicks, rate)
            answered_clicks = signed_clicks(wire, "bench.answer", steady_n, rounds * clicks + steady_n)
            answered = await through_bot("bench.answer", answered_clicks, rate)
            answers = sum(1 for p in fake.posts if p.text.startswith("Recorded click"))
            peak = platform.intake.peak
        finally:
            await bot.close()
            await runner.cleanup()
            await fake.close()
    assert stored is not None
    ratios = [record.rate() / floor.rate() for floor, _, record in results]
    median = sorted(range(rounds), key=ratios.__getitem__)[rounds // 2]
    floor, noop, record = results[median]

    print(f"{clicks} signed button clicks at once over HTTP, from a separate process; "
          f"the median of {rounds} rounds")  # fmt: skip
    print(f"{'':<34} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'taken':>9} {'busy':>5} {'clicks/s':>7}")
    print(floor.line("no-op Bolt handler (the floor)", "acked"))
    print(noop.line("no-op button, adapter and core", "acked and dispatched"))
    print(record.line("recording button (the real app)", "acked, dispatched and stored"))
    print(f"throughput of the real app: {ratios[median]:.2f} of the floor "
          f"(rounds: {', '.join(f'{r:.2f}' for r in ratios)})")  # fmt: skip
    refused = sum(record.refused for _, _, record in results)
    print(f"recorded {stored['n']} rows for {stored['distinct_clicks']} distinct clicks ({rounds * clicks} sent, "
          f"{refused} refused as busy); at most {peak} in flight (limit {in_flight}), "
          f"{concurrency or 'one per click'} connections")  # fmt: skip
    print(f"steady {rate:.0f} clicks/s for {seconds:.0f} s:")
    print(steady_floor.line("  no-op Bolt handler (the floor)", "acked"))
    print(steady.line("  recording button (the real app)", "acked, dispatched and stored"))
    print(answered.line("  recording and answering button", f"answer {'before' if answer_before_ack else 'after'} the ack"))
    print(f"  {answers} of {steady_n} private answers delivered")
    acked = all(r.statuses.count(200) == clicks and max(r.latencies) < ACK_LIMIT for _, _, r in results)
    acked = acked and answered.statuses.count(200) == steady_n and max(answered.latencies) < ACK_LIMIT
    goals = [
        ("every click acked within 3 s", acked and steady.statuses.count(200) == steady_n),
        ("every click recorded exactly once", stored["n"] == rounds * clicks == stored["distinct_clicks"]),
        (f"throughput >= {THROUGHPUT_GOAL} of the floor", ratios[median] >= THROUGHPUT_GOAL),
        (f"p99 < {P99_GOAL * 1000:.0f} ms at {rate:.0f} clicks/s", max(steady.p99(), answered.p99()) < P99_GOAL),
    ]
    for goal, met in goals:
        print(f"goal: {goal:<40} {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--clicks", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=0)
    parser.add_argument("--in-flight", type=int, default=MAX_IN_FLIGHT)
    parser.add_argument("--answer-before-ack", action="store_true")
    options = parser.parse_args()
    asyncio.run(main(options.clicks, options.rate, options.seconds, options.rounds, options.concurrency,
                     options.in_flight, options.answer_before_ack))  # fmt: skip

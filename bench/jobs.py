"""Job posts: (a) items per second from fetch to stored-and-posted for a 1,000-item feed,
next to a bare pipeline (aiohttp GET + feedparser + one aiosqlite transaction) over the
same bytes in the same run; (b) one poll round of 200 unchanged feeds (all 304s): wall and
CPU time, next to a bare aiohttp loop over the same 200 URLs with the same bound (4 at once).

    python -m bench.jobs [--rounds 5] [--feeds 200] [--json]

The feeds are served on 127.0.0.1 by a child process (`--serve`), so the CPU time
measured here is the bot's alone (the process's, aiosqlite's thread included).

What (a) measures, honestly: a subscription made with backfill=0 over 10 old items, then
the feed gains 1,000 new items (newer dates, new guids) and one poll runs: one GET,
feedparser, the identities looked up, every one of the 1,000 decided and stored in one
transaction with the feed's state, and what is posted sent to a recording platform (no
network). By design a poll posts at most 30 new items (the flood cap: the rest are stored
as `held` and the feed is flagged) and of those 5 as cards and 25 in one digest, so
"stored-and-posted" is 1,000 stored + 6 messages. The figure is 1,000 / the poll's time.
The baseline's feedparser call gets no response headers; the cog passes Content-Location
and Content-Type, which by itself makes feedparser slower on the same bytes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import aiosqlite

from bot.app import Bot
from bot.cards import Card
from bot.clock import ManualClock, iso
from bot.config import Settings
from bot.model import CommandInvoked, Community, Member, MessageRef, Place, Role
from storage.db import Database

START = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
NEW_ITEMS = 1000
OLD_ITEMS = 10
CONCURRENCY = 4  # cogs.jobs.FETCH_LIMIT: feeds fetched at once
POLL = timedelta(minutes=31)  # past the default 30-minute interval
PLACE = Place(Community("bench", "c1", "bench"), "jobs", "jobs")
MODERATOR = Member("bench", "mod", "mod", Role.MODERATOR)


# -- the feed server (a child process) -----------------------------------------------------


def _item(guid: str, n: int, when: datetime) -> str:
    return (f"<item><title>Chicago, IL: Metadata Librarian {n}, University of Chicago</title>"
            f"<link>https://jobs.example.org/{guid}</link><guid>{guid}</guid>"
            f"<pubDate>{when:%a, %d %b %Y %H:%M:%S} GMT</pubDate>"
            f"<description>&lt;p&gt;A role in technical services, number {n}: cataloging, metadata "
            f"and &amp;amp; discovery.&lt;/p&gt;</description></item>")  # fmt: skip


def _rss(items: list[str], title: str = "Library Jobs") -> bytes:
    return (f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>{title}</title>"
            f"{''.join(items)}</channel></rss>").encode()  # fmt: skip


OLD = [_item(f"old-{n}", n, datetime(2026, 11, 1, tzinfo=UTC) + timedelta(hours=n)) for n in range(OLD_ITEMS, 0, -1)]
NEW = [_item(f"new-{n}", n, datetime(2026, 11, 26, tzinfo=UTC) + timedelta(minutes=n)) for n in range(NEW_ITEMS, 0, -1)]
BIG_BEFORE, BIG_AFTER = _rss(OLD), _rss(NEW + OLD)


def serve() -> None:
    """`/big`: the old items, or after `POST /_grow` the 1,000 new ones too (no validators,
    so every GET is a full 200); `/f/N`: a small feed with an ETag, 304 when unchanged;
    `/_stats`: response counts by status; `POST /_reset`: back to the start."""
    from aiohttp import web

    state: dict[str, Any] = {"grown": False, "status": {}}

    def count(status: int) -> None:
        state["status"][status] = state["status"].get(status, 0) + 1

    async def big(request: web.Request) -> web.Response:
        count(200)
        return web.Response(body=BIG_AFTER if state["grown"] else BIG_BEFORE, content_type="application/rss+xml")

    async def small(request: web.Request) -> web.Response:
        n = request.match_info["n"]
        etag = f'"v1-{n}"'
        if request.headers.get("If-None-Match") == etag:
            count(304)
            return web.Response(status=304, headers={"ETag": etag})
        count(200)
        body = _rss([_item(f"f{n}-{i}", i, datetime(2026, 11, 1, tzinfo=UTC)) for i in (3, 2, 1)], f"Feed {n}")
        return web.Response(body=body, content_type="application/rss+xml", headers={"ETag": etag})

    async def grow(request: web.Request) -> web.Response:
        state["grown"] = True
        return web.Response(text="ok")

    async def reset(request: web.Request) -> web.Response:
        state["grown"], state["status"] = False, {}
        return web.Response(text="ok")

    async def stats(request: web.Request) -> web.Response:
        return web.json_response({str(k): v for k, v in state["status"].items()})

    app = web.Application()
    app.router.add_get("/big", big)
    app.router.add_get("/f/{n}", small)
    app.router.add_post("/_grow", grow)
    app.router.add_post("/_reset", reset)
    app.router.add_get("/_stats", stats)
    _run(app)


def _run(app: Any) -> None:
    """Serve on a free port and print it for the parent."""
    from aiohttp import web

    async def main() -> None:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        print(site._server.sockets[0].getsockname()[1], flush=True)  # type: ignore[union-attr]
        await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


@contextlib.contextmanager
def feed_server() -> Iterator[str]:
    child = subprocess.Popen([sys.executable, "-m", "bench.jobs", "--serve"], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        yield f"http://127.0.0.1:{port}"
    finally:
        child.terminate()
        child.wait(timeout=10)


async def control(http: aiohttp.ClientSession, url: str, method: str = "POST") -> Any:
    async with http.request(method, url) as response:
        return await response.json() if method == "GET" else await response.text()


# -- the bot: the core with the jobs cog and a platform that records sends -------------------


class RecordingPlatform:
    name = "bench"

    def __init__(self) -> None:
        self.sent: list[Card] = []

    async def start(self) -> None: ...

    async def send(self, place: Place, card: Card) -> MessageRef:
        self.sent.append(card)
        return MessageRef("bench", place.channel_id, str(len(self.sent)))

    async def edit(self, ref: MessageRef, card: Card) -> None: ...

    async def send_direct(self, member: Member, card: Card) -> MessageRef | None:
        return None

    async def close(self) -> None: ...


class Answers:
    def __init__(self) -> None:
        self.cards: list[Card] = []

    async def respond(self, card: Card) -> MessageRef | None:
        self.cards.append(card)
        return None


@dataclass
class Phases:
    """Seconds spent in each step of the poll, summed over its calls."""

    seconds: dict[str, float] = field(default_factory=dict)

    def wrap(self, name: str, fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def timed(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return await fn(*args, **kwargs)
            finally:
                self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - began

        return timed

    def wrap_sync(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - began

        return timed


class Stall:
    """The longest the event loop went without running a 5 ms ticker: how long anything
    else (a Discord interaction's 3 s ack, another timer) would have waited."""

    TICK = 0.005

    def __init__(self) -> None:
        self.longest = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(self.TICK)
            now = time.perf_counter()
            self.longest = max(self.longest, now - last - self.TICK)
            last = now

    async def __aenter__(self) -> Stall:
        self._task = asyncio.create_task(self._tick())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


def instrument(bot: Bot, phases: Phases) -> Callable[[], None]:
    """Time the jobs cog's steps; returns the undo."""
    import cogs.jobs as jobs_module

    cog = next(c for c in bot.cogs if type(c).__name__ == "JobPosts")
    real_parse = jobs_module.parse_feed
    jobs_module.parse_feed = phases.wrap_sync("parse (feedparser + entry clean-up)", real_parse)  # type: ignore[assignment]
    store = cog.store  # type: ignore[attr-defined]
    for owner, attribute, name in [
        (store, "feed", "read the feed row"), (cog, "fetch", "fetch (GET, body)"),
        (cog, "_decide", "decide (lookup, filters, caps)"), (store, "record_success", "store state + items (1 transaction)"),
        (cog, "_minutes", "read the interval setting"), (cog, "_every", "reschedule the series"),
        (store, "set_next_try", "store next try"), (cog, "_post_pending", "post (pending items, sends, marks)"),
    ]:  # fmt: skip
        setattr(owner, attribute, phases.wrap(name, getattr(owner, attribute)))

    def undo() -> None:
        jobs_module.parse_feed = real_parse

    return undo


@contextlib.asynccontextmanager
async def jobs_bot(path: Path) -> AsyncIterator[tuple[Bot, ManualClock, RecordingPlatform]]:
    settings = Settings(_env_file=None, bot_database=path, bot_allow_private_urls=True)  # type: ignore[call-arg]
    clock = ManualClock(START)
    bot = Bot(settings, Database(path), clock, edit_interval=0)
    bot.load_cogs(("cogs.jobs",))
    platform = RecordingPlatform()
    bot.add_platform(platform)
    await bot.open()
    try:
        yield bot, clock, platform
    finally:
        await bot.close()


async def subscribe(bot: Bot, url: str) -> None:
    answers = Answers()
    await bot.dispatch(CommandInvoked(MODERATOR, PLACE, text=f"jobs subscribe {url}"), answers)
    text = " ".join(c.text for c in answers.cards)
    if not text.startswith("Subscribed feed #"):
        raise SystemExit(f"subscribe failed: {text}")


# -- (a) a 1,000-item feed ------------------------------------------------------------------


@dataclass
class BigPoll:
    seconds: float
    cpu: float
    stall: float
    stored: dict[str, int]
    messages: int
    digest_items: int
    phases: dict[str, float]


async def core_big_poll(tmp: Path, base: str, http: aiohttp.ClientSession, round_no: int) -> BigPoll:
    await control(http, base + "/_reset")
    async with jobs_bot(tmp / f"big-{round_no}.sqlite3") as (bot, clock, platform):
        await subscribe(bot, base + "/big")
        await control(http, base + "/_grow")
        phases = Phases()
        undo = instrument(bot, phases)
        try:
            clock.advance(POLL)
            async with Stall() as stall:
                cpu0, began = time.process_time(), time.perf_counter()
                ran = await bot.scheduler.run_due()
                await bot.idle()
                elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu0
        finally:
            undo()
        assert ran == 1, ran
        await bot.db.flush()
        rows = await bot.db.fetchall("SELECT status, COUNT(*) FROM job_items WHERE identity IS NOT NULL GROUP BY status")
        stored = {row[0]: int(row[1]) for row in rows}
        digest = [c for c in platform.sent if "more new job" in c.title]
        digest_items = int(digest[0].title.split()[0]) if digest else 0
        return BigPoll(elapsed, cpu, stall.longest, stored, len(platform.sent), digest_items, phases.seconds)


async def bare_big_pipeline(tmp: Path, base: str, http: aiohttp.ClientSession,
                            round_no: int) -> tuple[float, float, float]:  # fmt: skip
    """The floor for any feedparser design: GET the same bytes, parse, hash each guid, and
    insert the 1,010 rows in one transaction. Returns (seconds, of which feedparser, CPU seconds)."""
    import feedparser

    conn = await aiosqlite.connect(tmp / f"bare-{round_no}.sqlite3", isolation_level=None)
    await conn.execute("PRAGMA journal_mode=WAL")
    await conn.execute("PRAGMA synchronous=NORMAL")
    await conn.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, feed_id INTEGER, identity TEXT, title TEXT,"
                       " link TEXT, summary TEXT, published_at TEXT, status TEXT, UNIQUE (feed_id, identity))")  # fmt: skip
    cpu0, began = time.process_time(), time.perf_counter()
    async with http.get(base + "/big") as response:
        body = await response.read()
    parse_began = time.perf_counter()
    parsed = feedparser.parse(body, resolve_relative_uris=False, sanitize_html=True)
    parse_seconds = time.perf_counter() - parse_began
    at = iso(START)
    rows = [(1, hashlib.sha256(f"guid:{e.get('id', '')}".encode()).hexdigest()[:32], e.get("title"), e.get("link"),
             e.get("summary"), e.get("published"), "seen") for e in parsed.entries]  # fmt: skip
    await conn.execute("BEGIN")
    await conn.executemany("INSERT INTO items (feed_id, identity, title, link, summary, published_at, status)"
                           " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING", rows)  # fmt: skip
    await conn.execute("UPDATE items SET published_at = ? WHERE id = 0", (at,))
    await conn.execute("COMMIT")
    elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu0
    await conn.close()
    assert len(rows) == NEW_ITEMS + OLD_ITEMS, len(rows)
    return elapsed, parse_seconds, cpu


# -- (b) 200 unchanged feeds ----------------------------------------------------------------


@dataclass
class UnchangedRounds:
    walls: list[float]
    cpus: list[float]
    sent: int
    failures: int
    phases: dict[str, float]  # the last round's, summed over its feeds


async def core_unchanged_rounds(tmp: Path, base: str, http: aiohttp.ClientSession, feeds: int,
                                rounds: int) -> UnchangedRounds:  # fmt: skip
    """Subscribe `feeds` feeds, then time `rounds` poll rounds in which every feed answers
    304; one more, instrumented, round gives the breakdown (not in the timings)."""
    await control(http, base + "/_reset")
    async with jobs_bot(tmp / "unchanged.sqlite3") as (bot, clock, platform):
        for n in range(feeds):
            await subscribe(bot, f"{base}/f/{n}")
        walls, cpus = [], []
        for _ in range(rounds):
            clock.advance(POLL)
            cpu0, began = time.process_time(), time.perf_counter()
            ran = await bot.scheduler.run_due()
            await bot.idle()
            walls.append(time.perf_counter() - began)
            cpus.append(time.process_time() - cpu0)
            assert ran == feeds, (ran, feeds)
        phases = Phases()
        instrument(bot, phases)()
        clock.advance(POLL)
        assert await bot.scheduler.run_due() == feeds
        failures = int(await bot.db.scalar("SELECT COALESCE(SUM(failures), 0) FROM job_feeds") or 0)
        return UnchangedRounds(walls, cpus, len(platform.sent), failures, phases.seconds)


async def bare_unchanged_round(base: str, feeds: int) -> tuple[float, float]:
    """The same conditional GETs with one aiohttp session, at most CONCURRENCY at once."""
    bound = asyncio.Semaphore(CONCURRENCY)
    statuses: list[int] = []
    async with aiohttp.ClientSession() as http:

        async def one(n: int) -> None:
            async with bound, http.get(f"{base}/f/{n}", headers={"If-None-Match": f'"v1-{n}"'}) as response:
                await response.read()
                statuses.append(response.status)

        cpu0, began = time.process_time(), time.perf_counter()
        await asyncio.gather(*(one(n) for n in range(feeds)))
        wall, cpu = time.perf_counter() - began, time.process_time() - cpu0
    assert statuses == [304] * feeds, set(statuses)
    return wall, cpu


# -- report ---------------------------------------------------------------------------------


def figure(name: str, value: float, unit: str, baseline: float | None, goal: float | None = None) -> dict[str, Any]:
    ratio = None if not baseline else value / baseline
    return {"name": name, "value": round(value, 3), "unit": unit,
            "baseline": None if baseline is None else round(baseline, 3),
            "ratio": None if ratio is None else round(ratio, 3), "goal": goal}  # fmt: skip


async def run(rounds: int, feeds: int, as_json: bool) -> None:
    from cogs.jobs.feed import parse_feed

    parse_feed(BIG_AFTER, "http://127.0.0.1/big", "application/rss+xml")  # warm up: feedparser's import and caches
    with tempfile.TemporaryDirectory() as tmp_name, feed_server() as base:
        tmp = Path(tmp_name)
        async with aiohttp.ClientSession() as http:
            big: list[BigPoll] = []
            bare: list[tuple[float, float, float]] = []
            for r in range(rounds):  # alternate which goes first, so drift hits both alike
                if r % 2:
                    bare.append(await bare_big_pipeline(tmp, base, http, r))
                big.append(await core_big_poll(tmp, base, http, r))
                if not r % 2:
                    bare.append(await bare_big_pipeline(tmp, base, http, r))
            unchanged = await core_unchanged_rounds(tmp, base, http, feeds, rounds)
            served = await control(http, base + "/_stats", "GET")
        bare_rounds = [await bare_unchanged_round(base, feeds) for _ in range(rounds)]

    core_seconds = statistics.median(p.seconds for p in big)
    bare_seconds = statistics.median(b[0] for b in bare)
    parse_only = statistics.median(b[1] for b in bare)
    bare_cpu_big = statistics.median(b[2] for b in bare)
    core_rate, bare_rate = NEW_ITEMS / core_seconds, NEW_ITEMS / bare_seconds
    middle = sorted(big, key=lambda p: p.seconds)[len(big) // 2]
    wall, bare_wall = statistics.median(unchanged.walls), statistics.median(w for w, _ in bare_rounds)
    cpu, bare_cpu = statistics.median(unchanged.cpus), statistics.median(c for _, c in bare_rounds)
    figures = [
        figure("jobs.poll_1000_new_items", core_rate, "items/s", bare_rate),
        figure("jobs.poll_1000_new_items_cpu", NEW_ITEMS / middle.cpu, "items/cpu-s", NEW_ITEMS / bare_cpu_big),
        figure("jobs.poll_1000_new_items_messages", middle.messages, "messages", None, 6),
        figure("jobs.poll_1000_new_items_loop_stall", middle.stall * 1000, "ms", None),
        figure("jobs.poll_200_unchanged_wall", wall * 1000, "ms", bare_wall * 1000),
        figure("jobs.poll_200_unchanged_cpu", cpu * 1000, "ms", bare_cpu * 1000),
        figure("jobs.poll_200_unchanged_cpu_per_feed", cpu * 1000 / feeds, "ms", bare_cpu * 1000 / feeds),
    ]
    if as_json:
        for item in figures:
            print(json.dumps(item))
        return

    held = middle.stored.get("held", 0)
    print(f"(a) one poll of a feed that gained {NEW_ITEMS:,} items (median of {rounds} rounds; fresh database each)")
    print(f"    stored: {', '.join(f'{k} {v}' for k, v in sorted(middle.stored.items()))}"
          f"  (the {OLD_ITEMS} old items were seen at subscribe; 30 decided to post, {held} held by the flood cap)")  # fmt: skip
    print(f"    posted: {middle.messages} messages = 5 job cards + 1 digest of {middle.digest_items} items")
    print(f"    bare pipeline (GET + feedparser + 1 transaction)  {bare_rate:8.0f} items/s  "
          f"({bare_seconds * 1000:6.1f} ms; CPU {bare_cpu_big * 1000:6.1f} ms; feedparser {parse_only * 1000:6.1f} ms)  baseline")  # fmt: skip
    print(f"    core poll (fetch -> stored and posted)           {core_rate:8.0f} items/s  "
          f"({core_seconds * 1000:6.1f} ms; CPU {middle.cpu * 1000:6.1f} ms)  ratio {core_rate / bare_rate:.2f},"
          f" CPU ratio {bare_cpu_big / middle.cpu:.2f}")  # fmt: skip
    for name, seconds in middle.phases.items():
        print(f"      {name:36} {seconds * 1000:7.1f} ms")
    print(f"    longest event-loop stall during the poll: {middle.stall * 1000:.0f} ms (parse_feed runs on the event loop,"
          " so nothing else runs meanwhile)")  # fmt: skip
    print()
    print(f"(b) one poll round of {feeds} unchanged feeds (all 304), at most {CONCURRENCY} at once; median of {rounds}")
    print(f"    server answered: {', '.join(f'{k}: {v}' for k, v in sorted(served.items()))}"
          f"  ({feeds} subscribe 200s, then {rounds} timed + 1 instrumented rounds of {feeds} 304s);"
          f" posted {unchanged.sent}, failures {unchanged.failures}")  # fmt: skip
    print(f"    bare aiohttp loop       wall {bare_wall * 1000:7.1f} ms   CPU {bare_cpu * 1000:7.1f} ms  baseline, same run")
    print(f"    core poll round         wall {wall * 1000:7.1f} ms   CPU {cpu * 1000:7.1f} ms  "
          f"ratio wall {wall / bare_wall:.2f}, CPU {cpu / bare_cpu:.2f}")  # fmt: skip
    print(f"    per feed                wall {wall * 1000 / feeds:7.2f} ms   CPU {cpu * 1000 / feeds:7.2f} ms "
          f"(bare {bare_cpu * 1000 / feeds:.2f} ms)")  # fmt: skip
    print(f"    where a round's time goes (instrumented round, summed over {feeds} feeds, {CONCURRENCY} at once):")
    for name, seconds in unchanged.phases.items():
        print(f"      {name:36} {seconds * 1000:7.1f} ms")
    print("    the rest is the scheduler's own bookkeeping (claiming and finishing each timer row)")
    print("    no goal is set for these figures in issue 11; the ratios are the figures to compare")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--json", action="store_true", help="one JSON object per figure")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve()
        return
    asyncio.run(run(args.rounds, args.feeds, args.json))


if __name__ == "__main__":
    main()

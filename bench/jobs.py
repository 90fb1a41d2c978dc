"""Job posts: (a) items per second from fetch to stored-and-posted for a 1,000-item feed,
next to a bare pipeline (aiohttp GET + feedparser + one aiosqlite transaction) over the
same bytes in the same run; (b) one poll round of 200 unchanged feeds (all 304s): wall and
CPU time, next to a bare aiohttp loop over the same 200 URLs with the same bound (4 at once).

    python -m bench.jobs [--rounds 5] [--feeds 200] [--json]

The feeds are served on 127.0.0.1 by a child process (bench/jobs_feeds.py), so the CPU
time measured here is the bot's alone (the process's, aiosqlite's thread included).

Paired rounds: (a) alternates which of the core poll and the bare pipeline goes first;
(b) runs a bare round before or after each core round, in turn, on one warm aiohttp
session (warmed by an untimed round, as the bot's fetcher is by subscribing). Ratios are
the medians of per-round ratios.

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

import asyncio
import contextlib
import hashlib
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import aiosqlite

from bench.common import arguments, emit, figure, median, paired, ratios
from bench.jobs_feeds import BIG_AFTER, NEW_ITEMS, OLD_ITEMS, control, feed_server
from bench.jobs_probe import Phases, Stall, instrument
from bot.app import Bot
from bot.cards import Card
from bot.clock import ManualClock, iso
from bot.config import Settings
from bot.model import CommandInvoked, Community, Member, MessageRef, Place, Role
from storage.db import Database

START = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
CONCURRENCY = 4  # cogs.jobs.FETCH_LIMIT: feeds fetched at once
POLL = timedelta(minutes=31)  # past the default 30-minute interval
PLACE = Place(Community("bench", "c1", "bench"), "jobs", "jobs")
MODERATOR = Member("bench", "mod", "mod", Role.MODERATOR)


# -- the bot: the core with the jobs cog and a platform that records sends -------------------


class RecordingPlatform:
    name = "bench"

    def __init__(self) -> None:
        self.sent: list[Card] = []

    async def start(self) -> None: ...

    async def send(self, place: Place, card: Card, **keyed: object) -> MessageRef:  # key=, since=: no history here
        self.sent.append(card)
        return MessageRef("bench", place.channel_id, str(len(self.sent)))

    async def edit(self, ref: MessageRef, card: Card) -> None: ...

    async def send_direct(self, member: Member, card: Card, **keyed: object) -> MessageRef | None:
        return None

    async def close(self) -> None: ...


class Answers:
    def __init__(self) -> None:
        self.cards: list[Card] = []

    async def respond(self, card: Card) -> MessageRef | None:
        self.cards.append(card)
        return None


@contextlib.asynccontextmanager
async def jobs_bot(path: Path) -> AsyncIterator[tuple[Bot, ManualClock, RecordingPlatform]]:
    # quotas off: subscribing a hundred feeds is the set-up, not what is measured
    settings = Settings(_env_file=None, bot_database=path, bot_allow_private_urls=True, bot_quota_scale=0)  # type: ignore[call-arg]
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
    bare: list[tuple[float, float]]  # (wall, CPU) of the bare round paired with each core round
    sent: int
    failures: int
    phases: dict[str, float]  # the last round's, summed over its feeds


Bare = Callable[[], Awaitable[tuple[float, float]]]


async def core_unchanged_rounds(tmp: Path, base: str, http: aiohttp.ClientSession, feeds: int,
                                rounds: int, bare: Bare) -> UnchangedRounds:  # fmt: skip
    """Subscribe `feeds` feeds, then time `rounds` poll rounds in which every feed answers
    304, each paired with a `bare` round (before it in even rounds, after it in odd ones);
    one more, instrumented, round gives the breakdown (not in the timings)."""
    await control(http, base + "/_reset")
    async with jobs_bot(tmp / "unchanged.sqlite3") as (bot, clock, platform):
        for n in range(feeds):
            await subscribe(bot, f"{base}/f/{n}")
        walls, cpus, bares = [], [], []
        for r in range(rounds):
            if r % 2 == 0:
                bares.append(await bare())
            clock.advance(POLL)
            cpu0, began = time.process_time(), time.perf_counter()
            ran = await bot.scheduler.run_due()
            await bot.idle()
            walls.append(time.perf_counter() - began)
            cpus.append(time.process_time() - cpu0)
            assert ran == feeds, (ran, feeds)
            if r % 2 == 1:
                bares.append(await bare())
        phases = Phases()
        instrument(bot, phases)()
        clock.advance(POLL)
        assert await bot.scheduler.run_due() == feeds
        failures = int(await bot.db.scalar("SELECT COALESCE(SUM(failures), 0) FROM job_feeds") or 0)
        return UnchangedRounds(walls, cpus, bares, len(platform.sent), failures, phases.seconds)


async def bare_unchanged_round(http: aiohttp.ClientSession, base: str, feeds: int) -> tuple[float, float]:
    """The same conditional GETs on one (warm) aiohttp session, at most CONCURRENCY at once."""
    bound = asyncio.Semaphore(CONCURRENCY)
    statuses: list[int] = []

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


async def run(rounds: int, feeds: int, as_json: bool) -> None:
    from cogs.jobs.feed import parse_feed

    parse_feed(BIG_AFTER, "http://127.0.0.1/big", "application/rss+xml")  # warm up: feedparser's import and caches
    with tempfile.TemporaryDirectory() as tmp_name, feed_server() as base:
        tmp = Path(tmp_name)
        async with aiohttp.ClientSession() as http, aiohttp.ClientSession() as bare_http:
            big: list[BigPoll] = []
            bare: list[tuple[float, float, float]] = []
            for r in range(rounds):  # alternate which goes first, so drift hits both alike
                if r % 2:
                    bare.append(await bare_big_pipeline(tmp, base, http, r))
                big.append(await core_big_poll(tmp, base, http, r))
                if not r % 2:
                    bare.append(await bare_big_pipeline(tmp, base, http, r))
            await control(http, base + "/_reset")
            await bare_unchanged_round(bare_http, base, feeds)  # warm: its connections open

            async def bare_round() -> tuple[float, float]:
                return await bare_unchanged_round(bare_http, base, feeds)

            unchanged = await core_unchanged_rounds(tmp, base, http, feeds, rounds, bare_round)
            served = await control(http, base + "/_stats", "GET")

    core_rates = [NEW_ITEMS / p.seconds for p in big]
    bare_rates = [NEW_ITEMS / b[0] for b in bare]
    middle = sorted(big, key=lambda p: p.seconds)[len(big) // 2]
    walls, bare_walls = [w * 1000 for w in unchanged.walls], [w * 1000 for w, _ in unchanged.bare]
    cpus, bare_cpus = [c * 1000 for c in unchanged.cpus], [c * 1000 for _, c in unchanged.bare]
    figures = [
        paired(f"jobs.poll_{NEW_ITEMS}_new_items", "items/s", core_rates, bare_rates),
        paired(f"jobs.poll_{NEW_ITEMS}_new_items_cpu", "items/cpu-s", [NEW_ITEMS / p.cpu for p in big],
               [NEW_ITEMS / b[2] for b in bare]),
        figure(f"jobs.poll_{NEW_ITEMS}_new_items_messages", middle.messages, "messages", goal="value == 6"),
        figure(f"jobs.poll_{NEW_ITEMS}_new_items_loop_stall", middle.stall * 1000, "ms"),
        paired(f"jobs.poll_{feeds}_unchanged_wall", "ms", walls, bare_walls),
        paired(f"jobs.poll_{feeds}_unchanged_cpu", "ms", cpus, bare_cpus),
        paired(f"jobs.poll_{feeds}_unchanged_cpu_per_feed", "ms", [c / feeds for c in cpus], [c / feeds for c in bare_cpus]),
    ]  # fmt: skip
    if as_json:
        emit(figures, True)
        return

    held = middle.stored.get("held", 0)
    core_seconds, bare_seconds = median(p.seconds for p in big), median(b[0] for b in bare)
    notes = [
        f"(a) one poll of a feed that gained {NEW_ITEMS:,} items ({rounds} paired rounds; fresh database each)",
        f"    stored: {', '.join(f'{k} {v}' for k, v in sorted(middle.stored.items()))}"
        f"  (the {OLD_ITEMS} old items were seen at subscribe; 30 decided to post, {held} held by the flood cap)",
        f"    posted: {middle.messages} messages = 5 job cards + 1 digest of {middle.digest_items} items",
        f"    bare pipeline (GET + feedparser + 1 transaction): median {bare_seconds * 1000:6.1f} ms"
        f" (feedparser {median(b[1] for b in bare) * 1000:6.1f} ms)  baseline",
        f"    core poll (fetch -> stored and posted):           median {core_seconds * 1000:6.1f} ms;"
        f" per-round ratios {' '.join(f'{x:.2f}' for x in ratios(core_rates, bare_rates))}",
        *(f"      {name:36} {seconds * 1000:7.1f} ms" for name, seconds in middle.phases.items()),
        f"    longest event-loop stall during the poll: {middle.stall * 1000:.0f} ms (parse_feed runs on the event"
        " loop, so nothing else runs meanwhile)",
        "",
        f"(b) one poll round of {feeds} unchanged feeds (all 304), at most {CONCURRENCY} at once; {rounds} paired rounds",
        f"    server answered: {', '.join(f'{k}: {v}' for k, v in sorted(served.items()))}"
        f"  ({feeds} subscribe 200s, then {rounds} timed + 1 instrumented rounds of {feeds} 304s, and the bare"
        f" rounds'); posted {unchanged.sent}, failures {unchanged.failures}",
        f"    where a round's time goes (instrumented round, summed over {feeds} feeds, {CONCURRENCY} at once):",
        *(f"      {name:36} {seconds * 1000:7.1f} ms" for name, seconds in unchanged.phases.items()),
        "    the rest is the scheduler's own bookkeeping (claiming and finishing each timer row)",
        "    no goal is set for these figures in issue 11; the ratios are the figures to compare",
    ]  # fmt: skip
    emit(figures, False, notes)


def main() -> None:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(run(args.rounds, args.feeds, args.json))


if __name__ == "__main__":
    main()

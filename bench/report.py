"""The organizers' report over a year of synthetic history: how long `report --format json`
and `--format html` take, and whether writing engagement gets slower as the log grows.

    python -m bench.report [--events 1000000 | --history PATH] [--json]     # the issue also asks for 10000000

(`--history`: a history built by bench.history, copied instead of generated; bench.all
builds one per run and passes it here.)

History: 3 communities on 2 platforms (Discord in Chicago and New York, Slack in London),
20,000 members, a year of local days ending 2026-11-30, written in time order through the
storage code (EngagementLog.content, FollowStore follow/unfollow, GrowthQueries.snapshot at
the end of each day) and, for the events, the direct writer described below.

Figures (same run, same database):
- report.json_<days>d: build_report + render("json") for the last 30 and 365 days, against
  one full scan of the raw log (SELECT COUNT(*), kind) as the baseline: what reading the
  raw events would cost at least. Goal: under 1 s.
- report.html_365d: build_report + render("html") (three matplotlib charts per scope, four
  scopes). Goal: under 10 s.
- engagement.write_per_event_end: the cost of one engagement event (the raw row and its
  rollups, through record + flush, batches of 5,000; probes of 20,000 events by new
  members) on the full database, against the same on an empty database (baseline), in
  three paired rounds (a probe on each, in turn; the ratio is the median of the rounds').
  Goal: flat, a ratio of at most 1.25.

The year is written with a direct writer (executemany of the raw rows and of the rollups
EngagementLog.record would write, summed per day), checked first against the real path:
the same 20-day history written both ways must leave identical tables.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench.common import Figure, emit, paired
from bench.common import figure as common_figure
from bench.history import copy as copy_history
from bot.clock import iso
from bot.model import Community, EngagementEvent, Member, Place
from cogs.stats.report import build_report, render
from storage.activity import counts_as_activity
from storage.db import Database
from storage.engagement import (
    ACTIVE,
    FIRST,
    INSERT_EVENT,
    SEEN_REFRESH,
    EngagementLog,
)
from storage.follows import FollowStore
from storage.growth import GrowthQueries
from storage.settings import SettingsStore

COMMUNITIES = (  # (platform, id, zone)
    ("discord", "g1", "America/Chicago"),
    ("discord", "g2", "America/New_York"),
    ("slack", "T1", "Europe/London"),
)
MEMBERS = 20_000
DAYS = 365
LAST_DAY = date(2026, 11, 30)
BATCH = 5_000
VERIFY_EVENTS, VERIFY_DAYS = 20_000, 20  # the direct writer checked against the real one
PROBE = 20_000  # events timed for the write cost
KINDS = (  # (kind, cog, weight)
    ("button", "trivia", 34), ("message", "trivia", 8), ("command", "trivia", 4),
    ("button", "polls", 18), ("command", "polls", 2), ("button", "jobs", 6), ("command", "jobs", 3),
    ("event_interest", "webinars", 3), ("command", "webinars", 2), ("message", None, 12),
    ("command", "help", 3), ("command", "stats", 1), ("member_joined", None, 3), ("member_left", None, 1),
)  # fmt: skip
DAILY_SUM = (
    "INSERT INTO engagement_daily (platform, community_id, day, kind, cog, events) VALUES (?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (platform, community_id, day, kind, cog) DO UPDATE SET events = events + excluded.events"
)
HOURLY_SUM = (
    "INSERT INTO engagement_hourly (platform, community_id, day, hour, events) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (platform, community_id, day, hour) DO UPDATE SET events = events + excluded.events"
)
ACTIVE_SUM = (
    "INSERT INTO active_members (platform, community_id, day, member_id, events) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (platform, community_id, day, member_id) DO UPDATE SET events = events + excluded.events"
)
SEEN_SUM = (
    "INSERT INTO members_seen (platform, community_id, member_id, display_name, first_seen, last_seen)"
    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (platform, community_id, member_id)"
    " DO UPDATE SET display_name = excluded.display_name, last_seen = excluded.last_seen"
)
OFFERED = (("trivia_asked", 12), ("trivia_daily", 1), ("poll_posted", 1), ("job_posted", 4), ("job_digest", 1))


def figure(name: str, value: float, unit: str, baseline: float | None, goal: str | None = None) -> Figure:
    """One figure of the benchmarks' contract (bench/common.py); `goal` as there ("value < 1")."""
    return common_figure(name, value, unit, baseline, goal=goal)


@dataclass
class Synthetic:
    """The generator: members belong to one community each; activity is skewed (a few
    members do much), and busier in each community's local afternoon."""

    rng: random.Random
    communities: list[tuple[Community, ZoneInfo]]

    def __post_init__(self) -> None:
        self.kinds = [(k, c) for k, c, _ in KINDS]
        self.weights = [w for _, _, w in KINDS]
        self.members = [Member(self.communities[i % 3][0].platform, f"u{i}", f"Member {i}") for i in range(MEMBERS)]
        self.following: set[int] = set()

    def member(self) -> int:
        return min(MEMBERS - 1, int(MEMBERS * self.rng.random() ** 2.5))

    def day_events(self, day: date, count: int) -> list[tuple[datetime, int, str, str | None]]:
        """`count` events of one UTC day, in time order: (when, member index, kind, cog)."""
        start = datetime.combine(day, datetime.min.time(), UTC)
        seconds = sorted(int(86_400 * self.rng.betavariate(2.2, 1.6)) for _ in range(count))
        picks = self.rng.choices(self.kinds, self.weights, k=count)
        return [(start + timedelta(seconds=s), self.member(), kind, cog) for s, (kind, cog) in zip(seconds, picks, strict=True)]


class RecordWriter:
    """Events through the bot's own path: EngagementLog.saw + record, flushed in batches."""

    def __init__(self, db: Database) -> None:
        self.db, self.log, self.pending = db, EngagementLog(db), 0

    async def event(self, when: datetime, community: Community, zone: ZoneInfo, member: Member, kind: str,
                    cog: str | None) -> None:  # fmt: skip
        self.log.saw(community, member, when)
        self.log.record(EngagementEvent(iso(when), community.platform, community.id, member.id, kind, cog, "s"),
                        when.astimezone(zone))  # fmt: skip
        self.pending += 1
        if self.pending >= BATCH:
            await self.db.flush()
            self.pending = 0

    async def end_of_day(self) -> None:
        await self.db.flush()


class DirectWriter:
    """The same rows with executemany: raw events, and the rollups EngagementLog.record
    would write (summed per day before the upsert), many times faster to generate. The run
    checks that both writers leave identical tables (see `verify`)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.events: list[tuple[Any, ...]] = []
        self.daily: Counter[tuple[str, ...]] = Counter()
        self.hours: Counter[tuple[Any, ...]] = Counter()
        self.active: Counter[tuple[str, ...]] = Counter()
        self.active_counts: bool | None = None  # whether active_members counts events (schema 9+)
        self.first: dict[tuple[str, ...], str] = {}
        self.new_first: list[tuple[str, ...]] = []
        self.seen: dict[tuple[str, str, str], tuple[str, str, str]] = {}
        self.last_saw: dict[tuple[str, str, str], datetime] = {}

    async def event(self, when: datetime, community: Community, zone: ZoneInfo, member: Member, kind: str,
                    cog: str | None) -> None:  # fmt: skip
        local = when.astimezone(zone)
        day, stamp, where = local.date().isoformat(), iso(when), (community.platform, community.id)
        key = (*where, member.id)
        last = self.last_saw.get(key)
        if last is None or when - last >= SEEN_REFRESH:  # what saw() stores: refreshed every few minutes
            self.last_saw[key] = when
            first_seen = self.seen[key][1] if key in self.seen else stamp
            self.seen[key] = (member.display_name, first_seen, stamp)
        self.events.append((stamp, *where, member.id, kind, cog, "s"))
        self.daily[(*where, day, kind, cog or "")] += 1
        if counts_as_activity(kind, cog):
            self.hours[(*where, day, local.hour)] += 1
            self.active[(*where, day, member.id)] += 1
            if cog and (*where, member.id, cog) not in self.first:
                self.first[(*where, member.id, cog)] = day
                self.new_first.append((*where, member.id, cog, day))

    async def end_of_day(self) -> None:
        if self.active_counts is None:
            columns = await self.db.fetchall("PRAGMA table_info(active_members)")
            self.active_counts = any(c["name"] == "events" for c in columns)
        if self.active_counts:
            active = [(*k, n) for k, n in sorted(self.active.items())]
            active_sql = ACTIVE_SUM
        else:
            active, active_sql = [(*k, 1) for k in sorted(self.active)], ACTIVE
        async with self.db.transaction() as conn:
            await conn.executemany(INSERT_EVENT, self.events)
            await conn.executemany(DAILY_SUM, [(*k, n) for k, n in self.daily.items()])
            await conn.executemany(HOURLY_SUM, [(*k, n) for k, n in self.hours.items()])
            await conn.executemany(active_sql, active)
            await conn.executemany(FIRST, self.new_first)
            await conn.executemany(SEEN_SUM, [(*k, *v) for k, v in self.seen.items()])
        self.events, self.new_first, self.active = [], [], Counter()
        self.daily.clear()
        self.hours.clear()
        self.seen.clear()


async def generate(db: Database, events: int, *, direct: bool, seed: int = 13, days: int = DAYS,
                   progress: bool = True) -> dict[str, int]:  # fmt: skip
    writer: RecordWriter | DirectWriter = DirectWriter(db) if direct else RecordWriter(db)
    log, follows, queries, settings = EngagementLog(db), FollowStore(db), GrowthQueries(db), SettingsStore(db)
    communities = [(Community(p, c), ZoneInfo(z)) for p, c, z in COMMUNITIES]
    for community, zone in communities:  # each community's own zone, as /config set timezone does
        await settings.set(community, "timezone", zone.key, "bench", datetime(2025, 1, 1, tzinfo=UTC))
    gen = Synthetic(random.Random(seed), communities)
    first = LAST_DAY - timedelta(days=DAYS - 1)
    per_day = events // days
    written = follow_changes = 0
    for n in range(days):
        day = first + timedelta(days=n)
        count = per_day + (events - per_day * days if n == days - 1 else 0)
        for when, index, kind, cog in gen.day_events(day, count):
            community, zone = communities[index % 3]
            await writer.event(when, community, zone, gen.members[index], kind, cog)
        await writer.end_of_day()
        written += count
        noon = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=17)
        for community, _zone in communities:
            for kind, times in OFFERED:
                for _ in range(times if kind != "poll_posted" or n % 3 == 0 else 0):
                    log.content(Place(community, "general"), kind, "item", noon)
        for _ in range(gen.rng.randint(10, 30)):  # follows, and a few unfollows, a day
            index = gen.member()
            community, zone = communities[index % 3]
            at = noon + timedelta(minutes=gen.rng.randrange(300))
            local_day = at.astimezone(zone).date().isoformat()
            if index in gen.following and gen.rng.random() < 0.3:
                follow_changes += await follows.unfollow(community, gen.members[index], at, local_day)
                gen.following.discard(index)
            elif index not in gen.following:
                follow_changes += await follows.follow(community, gen.members[index], at, local_day)
                gen.following.add(index)
        await db.flush()
        for community, zone in communities:  # the hourly snapshot's last run of the local day
            end = datetime.combine(day, datetime.max.time().replace(microsecond=0), zone) - timedelta(minutes=30)
            await queries.snapshot(community, day.isoformat(), end)
        if progress and sys.stderr.isatty():
            sys.stderr.write(f"\r  generating: day {n + 1}/{days}, {written:,} events")
            sys.stderr.flush()
    await db.flush()
    if progress and sys.stderr.isatty():
        sys.stderr.write("\r" + " " * 60 + "\r")
    return {"events": written, "follow_changes": follow_changes}


TABLES = {  # what both writers must leave identical (members_seen without its refresh times)
    "engagement_events": "SELECT at, platform, community_id, member_id, kind, cog, subject FROM engagement_events",
    "engagement_daily": "SELECT * FROM engagement_daily",
    "engagement_hourly": "SELECT * FROM engagement_hourly",
    "active_daily": "SELECT * FROM active_daily",
    "member_activity": "SELECT * FROM member_activity",
    "active_members": "SELECT * FROM active_members",
    "first_engagement": "SELECT * FROM first_engagement",
    "members_seen": "SELECT platform, community_id, member_id, display_name, first_seen, last_seen FROM members_seen",
    "follow_daily": "SELECT * FROM follow_daily",
    "community_snapshots": "SELECT platform, community_id, day, members, followers FROM community_snapshots",
}


async def verify(tmp: Path, events: int, days: int) -> int:
    """Write the same history both ways; every table must come out the same. Returns the
    number of rows compared."""
    contents = []
    for direct in (False, True):
        db = Database(tmp / f"verify-{direct}.sqlite3")
        await db.open()
        try:
            await generate(db, events, direct=direct, days=days, progress=False)
            contents.append({name: sorted(tuple(r) for r in await db.fetchall(sql)) for name, sql in TABLES.items()})
        finally:
            await db.close()
    record, direct_rows = contents
    for name in TABLES:
        if record[name] != direct_rows[name]:
            raise SystemExit(f"bench.report: the direct writer's {name} differs from EngagementLog.record's")
    return sum(len(rows) for rows in record.values())


async def write_cost(db: Database, at: datetime, seed: int) -> float:
    """Seconds per engagement event (raw row + rollups) through record + flush, for PROBE
    events of new members in batches of BATCH, right after `at`."""
    log = EngagementLog(db)
    community, zone = Community("discord", "g1"), ZoneInfo("America/Chicago")
    rng = random.Random(seed)
    rows = [(at + timedelta(milliseconds=40 * i), f"probe{seed}-{rng.randrange(5000)}") for i in range(PROBE)]
    await db.flush()
    started = time.perf_counter()
    for i, (when, member_id) in enumerate(rows, 1):
        log.record(EngagementEvent(iso(when), community.platform, community.id, member_id, "button", "trivia", "s"),
                   when.astimezone(zone))  # fmt: skip
        if i % BATCH == 0:
            await db.flush()
    await db.flush()
    return (time.perf_counter() - started) / PROBE


async def timed(fn: Any, repeat: int = 3) -> float:
    """The best of `repeat` runs (one run when it takes over two seconds)."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        await fn()
        best = min(best, time.perf_counter() - started)
        if best > 2.0:
            break
    return best


async def run(events: int, as_json: bool, history: str | None = None) -> None:
    now = datetime.combine(LAST_DAY, datetime.min.time(), UTC) + timedelta(hours=23)  # 30 Nov, evening everywhere
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        verified = await verify(tmp, VERIFY_EVENTS, VERIFY_DAYS)
        empty = Database(tmp / "empty.sqlite3")
        db = Database(tmp / "year.sqlite3")
        await empty.open()
        try:
            started = time.perf_counter()
            made: dict[str, Any] = {"events": events, "follow_changes": "?"}
            if history:  # built by bench.history (the same generator), copied
                await asyncio.to_thread(copy_history, Path(history), tmp / "year.sqlite3")
                await db.open()
                made["events"] = int(await db.scalar("SELECT COUNT(*) FROM engagement_events"))
            else:
                await db.open()
                made = await generate(db, events, direct=True)
            generation = time.perf_counter() - started
            size = await asyncio.to_thread(lambda: sum(f.stat().st_size for f in tmp.glob("year.sqlite3*")))

            async def scan() -> None:
                await db.fetchall("SELECT kind, COUNT(*) FROM engagement_events GROUP BY kind")

            async def report_json_30() -> None:
                render(await build_report(db, days=30, brand="ALCTS", default_zone="America/Chicago", now=now), "json")

            raw_scan = await timed(scan)
            json_30 = await timed(report_json_30)
            # a year: build once, then each format's render (the CLI does build + render)
            started = time.perf_counter()
            year = await build_report(db, days=365, brand="ALCTS", default_zone="America/Chicago", now=now)
            build_365 = time.perf_counter() - started
            started = time.perf_counter()
            check = json.loads(render(year, "json"))
            json_365 = build_365 + time.perf_counter() - started
            started = time.perf_counter()
            render(year, "html")
            html_365 = build_365 + time.perf_counter() - started
            # the write cost in paired rounds: a probe on the empty and one on the full database,
            # in turn (which goes first alternates), so drifting load hits both alike
            cost_empty, cost_end = [], []
            for i in range(3):
                for which in ((0, 1) if i % 2 == 0 else (1, 0)):
                    if which == 0:
                        cost_empty.append(await write_cost(empty, now - timedelta(days=400 - i), i))
                    else:
                        cost_end.append(await write_cost(db, now + timedelta(hours=i), 10 + i))
            rows = await db.scalar("SELECT COUNT(*) FROM engagement_events")
        finally:
            await db.close()
            await empty.close()

    us_end, us_empty = [c * 1e6 for c in cost_end], [c * 1e6 for c in cost_empty]
    figures = [
        figure("report.json_30d", json_30, "s", raw_scan, "value < 1"),
        figure("report.json_365d", json_365, "s", raw_scan, "value < 1"),
        figure("report.html_365d", html_365, "s", raw_scan, "value < 10"),
        paired("engagement.write_per_event_end", "us", us_end, us_empty, "ratio <= 1.25"),
    ]
    combined = check["scopes"][0]
    generated = (f"copied from {history}" if history else f"generated in {generation:.0f} s "
                 f"({made['events'] / generation:,.0f} events/s)")  # fmt: skip
    notes = [
        f"direct writer checked against EngagementLog.record: {VERIFY_EVENTS:,} events over {VERIFY_DAYS} days,"
        f" {verified:,} rows in {len(TABLES)} tables identical",
        f"history: {made['events']:,} events ({rows:,} rows after the write probes), {MEMBERS:,} members, "
        f"{len(COMMUNITIES)} communities on 2 platforms, {DAYS} days; {made['follow_changes']} follow changes; "
        f"{size / 1e6:.0f} MB; {generated}",
        f"  (a year, all communities: {combined['followers_end']:,} followers of {combined['members_end']:,} members, "
        f"MAU {combined['mau']:,}, {sum(f['events'] for f in combined['features']):,} feature events)",
        f"baseline of the report times: one scan of the raw log, {raw_scan * 1000:.1f} ms",
        "engagement write per event (us), empty / full database, by round: "
        + ", ".join(f"{e:.1f} / {f:.1f}" for e, f in zip(us_empty, us_end, strict=True)),
    ]  # fmt: skip
    emit(figures, as_json, notes)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--history", default=None, help="a history built by bench.history, instead of generating one")
    parser.add_argument("--json", action="store_true", help="one JSON object per figure")
    options = parser.parse_args()
    asyncio.run(run(options.events, options.json, options.history))

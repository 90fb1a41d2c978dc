"""Recurring timers (series), concurrency bounds and crash recovery in the scheduler."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.clock import ManualClock, SystemClock
from bot.model import Community
from bot.recurrence import Recurrence
from bot.scheduler import Scheduler
from storage.db import Database

START = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # 06:00 in Chicago
CHICAGO = ZoneInfo("America/Chicago")
HERE = Community("console", "local")


class Zones:
    """The community zone the scheduler asks for; tests change it."""

    def __init__(self) -> None:
        self.zone = CHICAGO

    async def __call__(self, platform: str, community_id: str) -> ZoneInfo:
        return self.zone


class Recorder:
    def __init__(self, fail: bool = False) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.fail = fail

    async def __call__(self, key: str, payload: dict[str, Any]) -> None:
        self.calls.append((key, payload))
        if self.fail:
            raise RuntimeError("the platform is down")


async def opened(path: Path, clock: Any, zones: Zones | None = None, **register: Any) -> tuple[Database, Scheduler]:
    db = Database(path)
    await db.open()
    scheduler = Scheduler(db, clock, zone_of=zones or Zones())
    for name, handler in register.items():
        scheduler.register(name, handler)
    await scheduler.recover()
    return db, scheduler


def occurrences(recorder: Recorder) -> list[str]:
    return [payload["occurrence"] for _, payload in recorder.calls]


# -- recurrence rules ------------------------------------------------------------------------


def test_daily_keeps_the_wall_time_across_daylight_saving() -> None:
    daily = Recurrence.daily("10:00")
    assert daily.next_after(datetime(2027, 3, 13, 17, tzinfo=UTC), CHICAGO, START) == datetime(2027, 3, 14, 15, tzinfo=UTC)
    assert daily.next_after(datetime(2026, 11, 1, 12, tzinfo=UTC), CHICAGO, START) == datetime(2026, 11, 1, 16, tzinfo=UTC)
    assert daily.next_after(datetime(2026, 12, 1, 16, tzinfo=UTC), CHICAGO, START) == datetime(2026, 12, 2, 16, tzinfo=UTC)


def test_every_counts_from_the_series_start_and_rrule_runs_out() -> None:
    every = Recurrence.every(timedelta(minutes=30))
    assert every.next_after(START + timedelta(minutes=45), CHICAGO, START) == START + timedelta(minutes=60)
    weekly = Recurrence.rule("FREQ=WEEKLY;BYDAY=TH;COUNT=2", datetime(2026, 12, 3, 14, 0))
    assert weekly.next_after(START, CHICAGO, START) == datetime(2026, 12, 3, 20, tzinfo=UTC)
    assert weekly.next_after(datetime(2026, 12, 4, tzinfo=UTC), CHICAGO, START) == datetime(2026, 12, 10, 20, tzinfo=UTC)
    assert weekly.next_after(datetime(2026, 12, 11, tzinfo=UTC), CHICAGO, START) is None
    assert Recurrence.decode(weekly.encode()) == weekly


@pytest.mark.parametrize("bad", ["25:00", "10", "ten"])
def test_bad_times_of_day_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        Recurrence.daily(bad)


def test_bad_rrules_are_refused_when_made() -> None:
    with pytest.raises(ValueError):
        Recurrence.rule("FREQ=SOMETIMES", datetime(2026, 12, 3, 14, 0))


# -- series ----------------------------------------------------------------------------------


async def test_a_daily_series_resumes_after_a_36_hour_outage_once_a_day(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    clock = ManualClock(START)
    posts = Recorder()
    db, scheduler = await opened(path, clock, post=posts)
    due = await scheduler.repeat("post", "general", Recurrence.daily("10:00"), community=HERE, grace=timedelta(hours=12))
    assert due == datetime(2026, 12, 1, 16, tzinfo=UTC)
    await db.close()  # down from 06:00 on Dec 1 to 18:00 on Dec 2 (Chicago)

    clock.set(datetime(2026, 12, 3, 0, tzinfo=UTC))
    db, scheduler = await opened(path, clock, post=posts)
    assert await scheduler.run_due() == 0  # Dec 1's post is 32 h late: missed, not sent
    for _ in range(3 * 24):
        clock.advance(timedelta(hours=1))
        await scheduler.run_due()
    assert occurrences(posts) == [f"2026-12-0{day}T16:00:00.000000Z" for day in (3, 4, 5)]
    statuses = await db.fetchall("SELECT status, COUNT(*) FROM timers GROUP BY status ORDER BY status")
    assert [tuple(row) for row in statuses] == [("done", 3), ("missed", 1), ("pending", 1)]
    await db.close()


async def test_a_failing_occurrence_does_not_end_the_series(tmp_path: Path) -> None:
    clock = ManualClock(START)
    posts = Recorder(fail=True)
    db, scheduler = await opened(tmp_path / "s.sqlite3", clock, post=posts)
    await scheduler.repeat("post", "feed", Recurrence.every(timedelta(minutes=30)))
    for _ in range(4):
        clock.advance(timedelta(minutes=30))
        assert await scheduler.run_due() == 1
    assert len(posts.calls) == 4
    assert await db.scalar("SELECT COUNT(*) FROM timers WHERE status = 'pending'") == 1
    await db.close()


async def test_an_occurrence_interrupted_by_a_crash_still_leaves_the_next(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    clock = ManualClock(START)
    crashed = asyncio.Event()

    async def crash(key: str, payload: dict[str, Any]) -> None:
        crashed.set()
        await asyncio.sleep(3600)  # killed here

    db, scheduler = await opened(path, clock, post=crash)
    await scheduler.repeat("post", "general", Recurrence.daily("10:00"), community=HERE)
    clock.set(datetime(2026, 12, 1, 16, tzinfo=UTC))
    runner = asyncio.create_task(scheduler.run_due())
    await asyncio.wait_for(crashed.wait(), 5)
    runner.cancel()
    await scheduler.stop(grace=0)  # the process dies: the row stays 'running'
    await db.close()

    posts = Recorder()
    db, scheduler = await opened(path, clock, post=posts)  # not rerun-safe: marked interrupted
    clock.set(datetime(2026, 12, 2, 16, tzinfo=UTC))
    await scheduler.run_due()
    assert occurrences(posts) == ["2026-12-02T16:00:00.000000Z"]
    assert await db.scalar("SELECT COUNT(*) FROM timers WHERE status = 'interrupted'") == 1
    await db.close()


async def test_a_zone_change_moves_the_pending_local_time_occurrence(tmp_path: Path) -> None:
    clock = ManualClock(START)
    zones = Zones()
    posts = Recorder()
    db, scheduler = await opened(tmp_path / "s.sqlite3", clock, zones, post=posts)
    await scheduler.repeat("post", "general", Recurrence.daily("10:00"), community=HERE)
    await scheduler.repeat("feed", "ala", Recurrence.every(timedelta(hours=1)), community=HERE)
    zones.zone = ZoneInfo("Europe/London")
    assert await scheduler.rezone(Community("console", "local", "a new display name")) == 1
    assert await scheduler.next_due() == START + timedelta(hours=1)  # the hourly feed did not move
    due = await db.scalar("SELECT due_at FROM timers WHERE name = 'post' AND status = 'pending'")
    assert due == "2026-12-02T10:00:00.000000Z"  # 12:00Z was past 10:00 in London
    await db.close()


async def test_repeating_an_unchanged_series_keeps_its_late_occurrence(tmp_path: Path) -> None:
    clock = ManualClock(START)
    posts = Recorder()
    db, scheduler = await opened(tmp_path / "s.sqlite3", clock, post=posts)
    await scheduler.repeat("post", "general", Recurrence.daily("10:00"), community=HERE, grace=timedelta(hours=12))
    clock.set(datetime(2026, 12, 1, 17, tzinfo=UTC))  # an hour late, within grace (a restart)
    await scheduler.repeat("post", "general", Recurrence.daily("10:00"), community=HERE, grace=timedelta(hours=12))
    assert await scheduler.run_due() == 1
    await scheduler.repeat("post", "general", Recurrence.daily("11:00"), community=HERE, grace=timedelta(hours=12))
    assert await scheduler.next_due() == datetime(2026, 12, 2, 17, tzinfo=UTC)  # a change moves it
    assert await scheduler.stop_repeating("post", "general")
    assert await scheduler.next_due() is None
    await db.close()


# -- concurrency -----------------------------------------------------------------------------


async def test_a_slow_timer_does_not_delay_another_due_timer(tmp_path: Path) -> None:
    db = Database(tmp_path / "s.sqlite3")
    await db.open()
    scheduler = Scheduler(db, SystemClock())
    fetching, fast_ran = asyncio.Event(), asyncio.Event()

    async def slow_fetch(key: str, payload: dict[str, Any]) -> None:
        fetching.set()
        await asyncio.sleep(15)  # a feed that waits for its timeout

    async def reveal(key: str, payload: dict[str, Any]) -> None:
        fast_ran.set()

    scheduler.register("fetch", slow_fetch)
    scheduler.register("reveal", reveal)
    loop = asyncio.create_task(scheduler.run_forever())
    await scheduler.schedule("fetch", "1", datetime.now(UTC))
    await asyncio.wait_for(fetching.wait(), 5)
    began = time.monotonic()
    await scheduler.schedule("reveal", "1", datetime.now(UTC))
    await asyncio.wait_for(fast_ran.wait(), 5)
    assert time.monotonic() - began < 1.0
    loop.cancel()
    await asyncio.gather(loop, return_exceptions=True)
    await scheduler.stop(grace=0)
    await db.close()


async def test_a_per_name_limit_bounds_concurrent_timers(tmp_path: Path) -> None:
    db = Database(tmp_path / "s.sqlite3")
    await db.open()
    clock = ManualClock(START)
    scheduler = Scheduler(db, clock)
    running, most = 0, 0

    async def fetch(key: str, payload: dict[str, Any]) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.02)
        running -= 1

    scheduler.register("fetch", fetch, limit=2)
    for n in range(6):
        await scheduler.schedule("fetch", n, START)
    assert await scheduler.run_due() == 6
    assert most == 2
    await db.close()


# -- recovery and registration ----------------------------------------------------------------


async def test_interrupted_timers_rerun_when_safe_and_are_cleaned_up_otherwise(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    clock = ManualClock(START)
    db, scheduler = await opened(path, clock)
    await scheduler.schedule("close", "7", START)
    await scheduler.schedule("post", "8", START, {"channel": "general"})
    await db.execute("UPDATE timers SET status = 'running', attempts = 1")  # killed mid-run
    await db.close()

    closes, cleanups = Recorder(), Recorder()
    db = Database(path)
    await db.open()
    scheduler = Scheduler(db, clock)
    scheduler.register("close", closes, rerun=True)
    scheduler.register("post", Recorder(), cleanup=cleanups)
    assert await scheduler.recover() == {"rerun": 1, "interrupted": 1, "series_resumed": 0}
    assert cleanups.calls == [("8", {"channel": "general"})]
    assert await scheduler.run_due() == 1
    assert closes.calls == [("7", {})]
    await db.close()


async def test_a_timer_that_keeps_crashing_is_not_rerun_forever(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    clock = ManualClock(START)
    db, scheduler = await opened(path, clock)
    await scheduler.schedule("close", "7", START)
    await db.execute("UPDATE timers SET status = 'running', attempts = 3")
    await db.close()
    closes = Recorder()
    db = Database(path)
    await db.open()
    scheduler = Scheduler(db, clock)
    scheduler.register("close", closes, rerun=True)
    await scheduler.recover()
    await scheduler.run_due()
    assert closes.calls == [] and await scheduler.status("close", "7") == "interrupted"
    await db.close()


def test_a_name_registered_twice_raises() -> None:
    scheduler = Scheduler(Database(":memory:"), ManualClock(START))
    scheduler.register("poll.close", Recorder())
    with pytest.raises(ValueError, match="registered twice"):
        scheduler.register("poll.close", Recorder())


async def test_turning_a_series_off_and_on_again_keeps_it_going(tmp_path: Path) -> None:
    """Rescheduling onto the key of an occurrence just cancelled revives it, not drops it."""
    clock = ManualClock(START)
    posts = Recorder()
    db, scheduler = await opened(tmp_path / "s.sqlite3", clock, post=posts)
    daily = Recurrence.daily("10:00")
    await scheduler.repeat("post", "general", daily, community=HERE)
    await scheduler.stop_repeating("post", "general")
    await scheduler.repeat("post", "general", daily, community=HERE)
    await scheduler.rezone(HERE)  # the same zone again: the same due time, recomputed
    await scheduler.repeat("post", "general", Recurrence.daily("11:00"), community=HERE)
    await scheduler.repeat("post", "general", daily, community=HERE)
    for _ in range(3 * 24):
        clock.advance(timedelta(hours=1))
        await scheduler.run_due()
    assert occurrences(posts) == [f"2026-12-0{day}T16:00:00.000000Z" for day in (1, 2, 3)]
    await db.close()


async def test_a_daily_time_in_the_repeated_autumn_hour_happens_once_and_the_series_goes_on(tmp_path: Path) -> None:
    clock = ManualClock(datetime(2026, 11, 1, 7, 10, tzinfo=UTC))  # 01:10 CST, the second 01:xx
    posts = Recorder()
    db, scheduler = await opened(tmp_path / "s.sqlite3", clock, post=posts)
    due = await scheduler.repeat("post", "general", Recurrence.daily("01:45"), community=HERE)
    assert due == datetime(2026, 11, 2, 7, 45, tzinfo=UTC)  # not the 01:45 an hour ago
    for _ in range(3 * 24):
        clock.advance(timedelta(hours=1))
        await scheduler.run_due()
    assert occurrences(posts) == ["2026-11-02T07:45:00.000000Z", "2026-11-03T07:45:00.000000Z"]
    await db.close()

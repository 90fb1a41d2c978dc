"""The durable scheduler: jobs are rows, survive restarts, never run twice."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.clock import ManualClock
from bot.scheduler import Scheduler
from storage.db import Database

START = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def __call__(self, key: str, payload: dict[str, Any]) -> None:
        self.calls.append((key, payload))


async def open_scheduler(path: Path, clock: ManualClock) -> tuple[Database, Scheduler, Recorder]:
    db = Database(path)
    await db.open()
    scheduler = Scheduler(db, clock)
    recorder = Recorder()
    scheduler.register("remind", recorder)
    await scheduler.recover()
    return db, scheduler, recorder


async def test_jobs_run_when_due_in_order(tmp_path: Path) -> None:
    clock = ManualClock(START)
    db, scheduler, recorder = await open_scheduler(tmp_path / "s.sqlite3", clock)
    await scheduler.schedule("remind", "b", START + timedelta(minutes=20), {"n": 2})
    await scheduler.schedule("remind", "a", START + timedelta(minutes=10), {"n": 1})
    assert await scheduler.run_due() == 0
    clock.advance(timedelta(minutes=30))
    assert await scheduler.run_due() == 2
    assert recorder.calls == [("a", {"n": 1}), ("b", {"n": 2})]
    assert await scheduler.run_due() == 0
    await db.close()


async def test_restart_runs_jobs_due_during_downtime_exactly_once(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    clock = ManualClock(START)
    db, scheduler, recorder = await open_scheduler(path, clock)
    await scheduler.schedule("remind", "during-downtime", START + timedelta(hours=1))
    await scheduler.schedule("remind", "later", START + timedelta(days=1))
    await db.close()  # the bot goes down

    clock.advance(timedelta(hours=2))
    db, scheduler, recorder = await open_scheduler(path, clock)
    await asyncio.gather(scheduler.run_due(), scheduler.run_due(), scheduler.run_due())
    assert recorder.calls == [("during-downtime", {})]
    await db.close()

    db, scheduler, recorder = await open_scheduler(path, clock)  # and restarts again
    await scheduler.run_due()
    assert recorder.calls == []
    await db.close()


async def test_jobs_older_than_their_grace_are_missed_not_run(tmp_path: Path) -> None:
    clock = ManualClock(START)
    db, scheduler, recorder = await open_scheduler(tmp_path / "s.sqlite3", clock)
    await scheduler.schedule("remind", "hour-before", START + timedelta(minutes=5), grace=timedelta(minutes=10))
    await scheduler.schedule("remind", "close-poll", START + timedelta(minutes=5))
    clock.advance(timedelta(hours=3))
    await scheduler.run_due()
    assert recorder.calls == [("close-poll", {})]
    assert await scheduler.status("remind", "hour-before") == "missed"
    await db.close()


async def test_scheduling_is_idempotent_and_never_revives_a_finished_job(tmp_path: Path) -> None:
    clock = ManualClock(START)
    db, scheduler, recorder = await open_scheduler(tmp_path / "s.sqlite3", clock)
    for minutes in (10, 20, 15):  # rescheduling moves the one pending job
        await scheduler.schedule("remind", "x", START + timedelta(minutes=minutes))
    assert await db.scalar("SELECT COUNT(*) FROM timers") == 1
    clock.advance(timedelta(minutes=15))
    assert await scheduler.run_due() == 1
    await scheduler.schedule("remind", "x", START + timedelta(minutes=30))
    clock.advance(timedelta(hours=1))
    assert await scheduler.run_due() == 0
    assert len(recorder.calls) == 1
    await db.close()


async def test_cancelled_jobs_do_not_run(tmp_path: Path) -> None:
    clock = ManualClock(START)
    db, scheduler, recorder = await open_scheduler(tmp_path / "s.sqlite3", clock)
    await scheduler.schedule("remind", "x", START + timedelta(minutes=1))
    assert await scheduler.cancel("remind", "x")
    clock.advance(timedelta(minutes=5))
    assert await scheduler.run_due() == 0
    await db.close()


async def test_a_job_interrupted_by_a_crash_is_not_rerun(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    clock = ManualClock(START)
    db, scheduler, _ = await open_scheduler(path, clock)
    await scheduler.schedule("remind", "x", START)
    await db.execute("UPDATE timers SET status = 'running'")  # as if killed mid-run
    await db.close()
    db, scheduler, recorder = await open_scheduler(path, clock)
    await scheduler.run_due()
    assert recorder.calls == []
    assert await scheduler.status("remind", "x") == "interrupted"
    await db.close()


async def test_a_failing_job_is_recorded_and_others_still_run(tmp_path: Path) -> None:
    clock = ManualClock(START)
    db, scheduler, recorder = await open_scheduler(tmp_path / "s.sqlite3", clock)

    async def boom(key: str, payload: dict[str, Any]) -> None:
        raise RuntimeError("feed down")

    scheduler.register("boom", boom)
    await scheduler.schedule("boom", "1", START)
    await scheduler.schedule("remind", "2", START)
    await scheduler.run_due()
    assert await scheduler.status("boom", "1") == "failed"
    assert recorder.calls == [("2", {})]
    await db.close()


async def test_background_loop_runs_a_job_on_the_real_clock(tmp_path: Path) -> None:
    from bot.clock import SystemClock

    db = Database(tmp_path / "s.sqlite3")
    await db.open()
    scheduler = Scheduler(db, SystemClock())
    ran = asyncio.Event()

    async def handler(key: str, payload: dict[str, Any]) -> None:
        ran.set()

    scheduler.register("tick", handler)
    loop = asyncio.create_task(scheduler.run_forever())
    await scheduler.schedule("tick", "1", datetime.now(UTC) + timedelta(milliseconds=200))
    await asyncio.wait_for(ran.wait(), 5)
    loop.cancel()
    await asyncio.gather(loop, return_exceptions=True)
    await db.close()


async def test_shutdown_lets_a_running_job_finish(tmp_path: Path) -> None:
    from bot.app import Bot
    from bot.clock import SystemClock
    from tests.harness import make_settings

    bot = Bot(make_settings(tmp_path), Database(tmp_path / "bot.sqlite3"), SystemClock())
    started, finished = asyncio.Event(), []

    async def slow(key: str, payload: dict[str, Any]) -> None:
        started.set()
        await asyncio.sleep(0.3)
        finished.append(key)

    bot.scheduler.register("slow", slow)
    await bot.open()
    bot.start_scheduler()
    await bot.scheduler.schedule("slow", "1", datetime.now(UTC))
    await asyncio.wait_for(started.wait(), 5)
    await bot.close()  # while the job is still sleeping
    assert finished == ["1"]
    db = Database(tmp_path / "bot.sqlite3")
    await db.open()
    assert await db.scalar("SELECT status FROM timers") == "done"
    await db.close()

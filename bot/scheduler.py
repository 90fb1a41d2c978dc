"""The durable scheduler: timers (one-shot) and timer series (recurring) live in the
database, run on the Bot's clock, concurrently, and survive restarts and crashes.

Words: a *timer* is one piece of scheduled work, a row keyed by (name, key), e.g.
`poll.close` / `42`; a *series* is a recurring timer (`Recurrence`: daily at a local
time, every N seconds, an RFC 5545 RRULE) that always has one pending occurrence. (Job
posts are a feature, `/jobs`; nothing here is called a job.)

Rules:
- A timer is claimed by one conditional UPDATE before it runs, so it never runs twice,
  even if two loops race. Claiming a series' occurrence inserts the next occurrence in the
  same transaction: done, failed, missed or interrupted, the series goes on.
- A timer that fell due while the bot was down runs once on start, unless it is older than
  its grace window (a reminder an hour late is noise): then it is marked missed. For a
  series the next occurrence is the first one after now, so a long outage skips stale
  occurrences instead of posting them all.
- Local-time series follow their community's zone at the moment of computing; `rezone`
  moves them when the zone changes. Daylight-saving changes keep the wall time.
- Due timers run concurrently: at most `max_concurrent` at once and at most `limit` of one
  name (declared with `@timer(name, limit=N)`), so a 15 s feed fetch delays no reveal.
- A timer a crash interrupted ('running' at start-up) runs again if its handler declared
  `rerun=True` (a guarded, idempotent effect such as closing a poll), up to
  MAX_ATTEMPTS; otherwise it is marked 'interrupted' and its `cleanup` hook runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.clock import Clock, from_iso
from bot.model import Community
from bot.recurrence import Recurrence
from storage.db import Database
from storage.timers import Series, TimerStore

log = logging.getLogger(__name__)

TimerHandler = Callable[[str, dict[str, Any]], Awaitable[None]]
ZoneOf = Callable[[str, str], Awaitable[ZoneInfo]]
IDLE_POLL = timedelta(seconds=30)
MAX_CONCURRENT = 8
MAX_ATTEMPTS = 3  # a timer that crashed the process this often is not tried again


@dataclass(frozen=True)
class TimerSpec:
    """How the scheduler treats one timer name (from `@timer(...)`)."""

    handler: TimerHandler
    rerun: bool = False
    limit: int | None = None
    cleanup: TimerHandler | None = None


async def _utc_zone(platform: str, community_id: str) -> ZoneInfo:
    return ZoneInfo("UTC")


class Scheduler:
    def __init__(
        self, db: Database, clock: Clock, *, zone_of: ZoneOf = _utc_zone, max_concurrent: int = MAX_CONCURRENT
    ) -> None:
        self.timers = TimerStore(db)
        self.clock = clock
        self.zone_of = zone_of
        self.specs: dict[str, TimerSpec] = {}
        self.max_concurrent = max_concurrent
        self._running: dict[asyncio.Task[bool], str] = {}
        self._wake = asyncio.Event()
        self._stopping = False

    def register(
        self, name: str, handler: TimerHandler, *, rerun: bool = False, limit: int | None = None,
        cleanup: TimerHandler | None = None,
    ) -> None:  # fmt: skip
        """Say how to run timers called `name`; a name registered twice raises ValueError."""
        if name in self.specs:
            raise ValueError(f"timer {name!r} is registered twice")
        self.specs[name] = TimerSpec(handler, rerun, limit, cleanup)

    # -- one-shot timers ------------------------------------------------------------------

    async def schedule(
        self, name: str, key: str | int, due: datetime, payload: dict[str, Any] | None = None,
        *, grace: timedelta | None = None, revive: bool = False,
    ) -> None:  # fmt: skip
        """Create the timer, or move a still-pending one. A finished timer is never revived,
        unless `revive` (a cog's start-up reconciliation found its effect missing)."""
        await self.timers.schedule(name, str(key), due, payload or {}, grace, self.clock.now(), revive)
        self._wake.set()

    async def cancel(self, name: str, key: str | int) -> bool:
        return await self.timers.cancel(name, str(key), self.clock.now())

    async def status(self, name: str, key: str | int) -> str | None:
        return await self.timers.status(name, str(key))

    async def next_due(self) -> datetime | None:
        return await self.timers.next_due()

    async def pending(self, name: str, key_prefix: str) -> list[str]:
        """Keys of `name` timers not yet finished whose key starts with `key_prefix`."""
        return await self.timers.pending(name, key_prefix)

    # -- series ---------------------------------------------------------------------------

    async def repeat(
        self, name: str, key: str, recurrence: Recurrence, *, community: Community | None = None,
        zone: str | None = None, payload: dict[str, Any] | None = None, grace: timedelta | None = None,
    ) -> datetime | None:  # fmt: skip
        """Start (or change) a series; its occurrences call the `name` handler with `key`
        and `payload` plus `{"occurrence": ISO}`. A local-time series uses `zone`, else the
        `community`'s current zone. Returns the next occurrence (UTC), None if the rule has
        run out. Repeating an unchanged series leaves its pending occurrence alone."""
        now = self.clock.now()
        before = await self.timers.series(name, key)
        wanted = (recurrence.encode(), zone, community.platform if community else None, community.id if community else None)
        if (before is not None and before.active and _when(before) == wanted and before.payload == (payload or {})
                and before.grace == grace):  # fmt: skip
            pending = await self.timers.pending_due(before.id)  # nothing changes: no write at all
            if pending is not None:
                return pending
        series = await self.timers.upsert_series(
            name, key, recurrence.encode(), zone, community.platform if community else None,
            community.id if community else None, payload or {}, grace, now,
        )  # fmt: skip
        if before is not None and before.active and _when(before) == _when(series):
            pending = await self.timers.pending_due(series.id)
            if pending is not None:
                return pending
        due = await self._next(series, now)
        await self.timers.reschedule_series(series.id, due, now)
        self._wake.set()
        return due

    async def repeating(self, name: str, key: str) -> bool:
        """Whether the series is on."""
        series = await self.timers.series(name, key)
        return series is not None and series.active

    async def stop_repeating(self, name: str, key: str) -> bool:
        """End a series; its pending occurrence is cancelled. False if it was not on."""
        return await self.timers.stop_series(name, key, self.clock.now())

    async def rezone(self, community: Community) -> int:
        """The community's zone changed: move the pending occurrence of each of its
        local-time series to the next local time in the new zone. Returns how many moved."""
        now = self.clock.now()
        moved = 0
        for series in await self.timers.zoned_series(community.platform, community.id):
            if Recurrence.decode(series.recurrence).local:
                await self.timers.reschedule_series(series.id, await self._next(series, now), now)
                moved += 1
        self._wake.set()
        return moved

    async def _next(self, series: Series, after: datetime) -> datetime | None:
        recurrence = Recurrence.decode(series.recurrence)
        return recurrence.next_after(after, await self._zone(series), series.created_at)

    async def _zone(self, series: Series) -> ZoneInfo:
        if series.zone:
            return ZoneInfo(series.zone)
        if series.platform and series.community_id:
            return await self.zone_of(series.platform, series.community_id)
        return ZoneInfo("UTC")

    # -- recovery -------------------------------------------------------------------------

    async def recover(self) -> dict[str, int]:
        """At start-up: timers a crash left running are rerun (when their handler says it
        is safe) or marked interrupted and cleaned up; every active series gets a pending
        occurrence. Returns counts: rerun, interrupted, series_resumed."""
        now = self.clock.now()
        counts = {"rerun": 0, "interrupted": 0, "series_resumed": 0}
        for row in await self.timers.running():
            spec = self.specs.get(row["name"])
            if spec is not None and spec.rerun and row["attempts"] < MAX_ATTEMPTS:
                await self.timers.requeue(row["id"])
                counts["rerun"] += 1
                log.warning("timer interrupted, will run again name=%s key=%s", row["name"], row["timer_key"])
                continue
            await self.timers.finish(row["id"], "interrupted", now, "the bot stopped while this timer ran")
            counts["interrupted"] += 1
            log.warning("timer interrupted name=%s key=%s", row["name"], row["timer_key"])
            if spec is not None and spec.cleanup is not None:
                key, payload = _call_args(row)
                try:
                    await spec.cleanup(key, payload)
                except Exception:
                    log.exception("timer cleanup failed name=%s key=%s", row["name"], key)
        for series in await self.timers.series_without_pending():
            await self.timers.reschedule_series(series.id, await self._next(series, now), now)
            counts["series_resumed"] += 1
        return counts

    # -- running --------------------------------------------------------------------------

    async def run_due(self) -> int:
        """Run every timer due by now (concurrently, within the bounds) and wait for them,
        including any that fall due meanwhile; returns how many handlers ran."""
        mine: set[asyncio.Task[bool]] = set()
        while True:
            started, _ = await self._start_due()
            mine.update(started)
            live = set(self._running) | {task for task in mine if not task.done()}
            if not live:
                break
            await asyncio.wait(live, return_when=asyncio.FIRST_COMPLETED)
        return sum(1 for task in mine if not task.cancelled() and task.exception() is None and task.result())

    async def run_forever(self) -> None:
        """Background loop for real time: start due timers without waiting for them, then
        sleep until the next due timer, a new schedule, or a finished timer."""
        while True:
            self._wake.clear()
            blocked = False
            try:
                _, blocked = await self._start_due()
            except Exception:
                log.exception("scheduler pass failed")
            wait = IDLE_POLL
            next_due = await self.next_due()
            if next_due is not None and not blocked:
                wait = min(IDLE_POLL, max(timedelta(0), next_due - self.clock.now()))
            with contextlib.suppress(TimeoutError):  # asyncio.timeout, not wait_for: on 3.11
                async with asyncio.timeout(wait.total_seconds() + 0.01):  # wait_for can swallow a cancel
                    await self._wake.wait()

    async def stop(self, grace: float) -> None:
        """Start nothing new; wait up to `grace` seconds for running timers, then cancel
        the rest (they stay 'running' in the database and are recovered at start-up)."""
        self._stopping = True
        if self._running:
            _, pending = await asyncio.wait(list(self._running), timeout=grace)
            for task in pending:
                log.warning("timer still running at shutdown, cancelled: %s", self._running.get(task))
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)

    async def _start_due(self) -> tuple[list[asyncio.Task[bool]], bool]:
        """Claim and start every due timer there is room for. Returns the started tasks
        and whether some due timer had to wait for room."""
        if self._stopping:
            return [], False
        now = self.clock.now()
        started: list[asyncio.Task[bool]] = []
        blocked = False
        for row in await self.timers.due(now):
            if not self._has_room(row["name"]):
                blocked = True
                continue
            spec = self.specs.get(row["name"])
            next_due = None
            if row["series_id"] is not None:
                series = await self.timers.series_by_id(row["series_id"])
                if series is not None and series.active:
                    next_due = await self._next(series, max(now, from_iso(row["due_at"])))
            if not await self.timers.claim(row["id"], row["series_id"], next_due, now):
                continue
            task = asyncio.create_task(self._run_one(row, spec, now), name=f"timer {row['name']}")
            self._running[task] = row["name"]
            task.add_done_callback(self._finished)
            started.append(task)
        return started, blocked

    def _has_room(self, name: str) -> bool:
        if len(self._running) >= self.max_concurrent:
            return False
        spec = self.specs.get(name)
        if spec is None or spec.limit is None:
            return True
        return sum(1 for running in self._running.values() if running == name) < spec.limit

    def _finished(self, task: asyncio.Task[bool]) -> None:
        self._running.pop(task, None)
        self._wake.set()

    async def _run_one(self, row: Any, spec: TimerSpec | None, now: datetime) -> bool:
        """Run one claimed timer; True when its handler ran (even if it failed)."""
        name, key = row["name"], row["timer_key"]
        late = now - from_iso(row["due_at"])
        grace = row["grace_seconds"]
        if grace is not None and late > timedelta(seconds=grace):
            await self._finish(row["id"], "missed", f"{int(late.total_seconds())}s late")
            log.warning("timer missed name=%s key=%s late=%s", name, key, late)
            return False
        if spec is None:
            await self._finish(row["id"], "failed", "no handler registered")
            log.error("timer has no handler name=%s key=%s", name, key)
            return False
        call_key, payload = _call_args(row)
        try:
            await spec.handler(call_key, payload)
        except Exception as exc:
            log.exception("timer failed name=%s key=%s", name, key)
            await self._finish(row["id"], "failed", repr(exc)[:500])
            return True
        await self._finish(row["id"], "done", None)
        return True

    async def _finish(self, timer_id: int, status: str, error: str | None) -> None:
        await self.timers.finish(timer_id, status, self.clock.now(), error)


def _when(series: Series) -> tuple[str, str | None, str | None, str | None]:
    return series.recurrence, series.zone, series.platform, series.community_id


def _call_args(row: Any) -> tuple[str, dict[str, Any]]:
    """What a handler receives: its key and payload; a series occurrence gets the series'
    key and payload plus the occurrence's due time."""
    if row["series_id"] is None:
        return row["timer_key"], json.loads(row["payload"])
    payload = json.loads(row["series_payload"] or "{}")
    payload["occurrence"] = row["due_at"]
    return row["series_key"], payload

"""A durable scheduler: every job is a row with a due time and a (name, key) idempotency key.

Jobs survive restarts because they live in the database. A job is claimed by one
conditional UPDATE before it runs, so it never runs twice, even if two loops race. A job
that fell due while the bot was down runs once on start, unless it is older than its
grace window (a reminder an hour late is noise), in which case it is marked missed.
The rows and their SQL live in `storage.jobs`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from bot.clock import Clock, from_iso
from storage.db import Database
from storage.jobs import JobStore

log = logging.getLogger(__name__)

JobHandler = Callable[[str, dict[str, Any]], Awaitable[None]]
IDLE_POLL = timedelta(seconds=30)


class Scheduler:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.jobs = JobStore(db)
        self.clock = clock
        self.handlers: dict[str, JobHandler] = {}
        self._run_lock = asyncio.Lock()
        self._wake = asyncio.Event()

    def register(self, name: str, handler: JobHandler) -> None:
        self.handlers[name] = handler

    async def schedule(
        self, name: str, key: str | int, due: datetime, payload: dict[str, Any] | None = None,
        *, grace: timedelta | None = None,
    ) -> None:  # fmt: skip
        """Create the job, or move a still-pending one; a finished job is never revived."""
        await self.jobs.schedule(name, str(key), due, payload or {}, grace, self.clock.now())
        self._wake.set()

    async def cancel(self, name: str, key: str | int) -> bool:
        return await self.jobs.cancel(name, str(key), self.clock.now())

    async def status(self, name: str, key: str | int) -> str | None:
        return await self.jobs.status(name, str(key))

    async def next_due(self) -> datetime | None:
        return await self.jobs.next_due()

    async def recover(self) -> int:
        """Jobs left 'running' by a crash are not rerun (their effect may have happened)."""
        return await self.jobs.interrupt_running(self.clock.now())

    def pass_finished(self) -> asyncio.Lock:
        """Hold this to be sure no job is running (shutdown waits on it)."""
        return self._run_lock

    async def run_due(self) -> int:
        """Run every job due by now, oldest first; returns how many ran."""
        ran = 0
        async with self._run_lock:
            while True:
                now = self.clock.now()
                rows = await self.jobs.due(now)
                if not rows:
                    return ran
                for row in rows:
                    ran += await self._run_one(row, now)

    async def _run_one(self, row: Any, now: datetime) -> int:
        if not await self.jobs.claim(row["id"]):
            return 0
        late = now - from_iso(row["due_at"])
        grace = row["grace_seconds"]
        handler = self.handlers.get(row["name"])
        if grace is not None and late > timedelta(seconds=grace):
            await self._finish(row["id"], "missed", f"{int(late.total_seconds())}s late")
            log.warning("job missed name=%s key=%s late=%s", row["name"], row["job_key"], late)
            return 0
        if handler is None:
            await self._finish(row["id"], "failed", "no handler registered")
            log.error("job has no handler name=%s key=%s", row["name"], row["job_key"])
            return 0
        try:
            await handler(row["job_key"], json.loads(row["payload"]))
        except Exception as exc:
            log.exception("job failed name=%s key=%s", row["name"], row["job_key"])
            await self._finish(row["id"], "failed", repr(exc)[:500])
            return 1
        await self._finish(row["id"], "done", None)
        return 1

    async def _finish(self, job_id: int, status: str, error: str | None) -> None:
        await self.jobs.finish(job_id, status, self.clock.now(), error)

    async def run_forever(self) -> None:
        """Background loop for real time: sleep until the next due job or a new schedule."""
        while True:
            try:
                await self.run_due()
            except Exception:
                log.exception("scheduler pass failed")
            self._wake.clear()
            next_due = await self.next_due()
            wait = IDLE_POLL
            if next_due is not None:
                wait = min(IDLE_POLL, max(timedelta(0), next_due - self.clock.now()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait.total_seconds() + 0.01)

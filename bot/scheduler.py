"""A durable scheduler: every job is a row with a due time and a (name, key) idempotency key.

Jobs survive restarts because they live in the database. A job is claimed by one
conditional UPDATE before it runs, so it never runs twice, even if two loops race. A job
that fell due while the bot was down runs once on start, unless it is older than its
grace window (a reminder an hour late is noise), in which case it is marked missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from bot.clock import Clock, from_iso, iso
from storage.db import Database

log = logging.getLogger(__name__)

JobHandler = Callable[[str, dict[str, Any]], Awaitable[None]]
IDLE_POLL = timedelta(seconds=30)


class Scheduler:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
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
        await self.db.execute(
            "INSERT INTO scheduled_jobs (name, job_key, due_at, payload, grace_seconds, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (name, job_key) DO UPDATE SET due_at = excluded.due_at,"
            " payload = excluded.payload, grace_seconds = excluded.grace_seconds"
            " WHERE scheduled_jobs.status = 'pending'",
            (
                name, str(key), iso(due), json.dumps(payload or {}),
                None if grace is None else int(grace.total_seconds()), iso(self.clock.now()),
            ),
        )  # fmt: skip
        self._wake.set()

    async def cancel(self, name: str, key: str | int) -> bool:
        changed = await self.db.execute(
            "UPDATE scheduled_jobs SET status = 'cancelled', finished_at = ?"
            " WHERE name = ? AND job_key = ? AND status = 'pending'",
            (iso(self.clock.now()), name, str(key)),
        )
        return changed > 0

    async def status(self, name: str, key: str | int) -> str | None:
        return await self.db.scalar(
            "SELECT status FROM scheduled_jobs WHERE name = ? AND job_key = ?", (name, str(key))
        )

    async def next_due(self) -> datetime | None:
        value = await self.db.scalar(
            "SELECT MIN(due_at) FROM scheduled_jobs WHERE status = 'pending'"
        )
        return from_iso(value) if value else None

    async def recover(self) -> int:
        """Jobs left 'running' by a crash are not rerun (their effect may have happened)."""
        return await self.db.execute(
            "UPDATE scheduled_jobs SET status = 'interrupted', finished_at = ?,"
            " error = 'the bot stopped while this job ran' WHERE status = 'running'",
            (iso(self.clock.now()),),
        )

    async def run_due(self) -> int:
        """Run every job due by now, oldest first; returns how many ran."""
        ran = 0
        async with self._run_lock:
            while True:
                now = self.clock.now()
                rows = await self.db.fetchall(
                    "SELECT id, name, job_key, due_at, payload, grace_seconds FROM scheduled_jobs"
                    " WHERE status = 'pending' AND due_at <= ? ORDER BY due_at, id LIMIT 50",
                    (iso(now),),
                )
                if not rows:
                    return ran
                for row in rows:
                    ran += await self._run_one(row, now)

    async def _run_one(self, row: Any, now: datetime) -> int:
        claimed = await self.db.execute(
            "UPDATE scheduled_jobs SET status = 'running' WHERE id = ? AND status = 'pending'",
            (row["id"],),
        )
        if not claimed:
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
        await self.db.execute(
            "UPDATE scheduled_jobs SET status = ?, finished_at = ?, error = ? WHERE id = ?",
            (status, iso(self.clock.now()), error, job_id),
        )

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

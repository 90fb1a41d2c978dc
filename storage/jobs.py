"""Scheduled jobs as rows with a (name, key) idempotency key; `bot.scheduler` runs them."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta
from typing import Any

from bot.clock import from_iso, iso
from storage.db import Database


class JobStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def schedule(
        self, name: str, key: str, due: datetime, payload: dict[str, Any], grace: timedelta | None, at: datetime
    ) -> None:
        """Create the job, or move a still-pending one; a finished job is never revived."""
        await self.db.execute(
            "INSERT INTO scheduled_jobs (name, job_key, due_at, payload, grace_seconds, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (name, job_key) DO UPDATE SET due_at = excluded.due_at,"
            " payload = excluded.payload, grace_seconds = excluded.grace_seconds"
            " WHERE scheduled_jobs.status = 'pending'",
            (
                name, key, iso(due), json.dumps(payload),
                None if grace is None else int(grace.total_seconds()), iso(at),
            ),
        )  # fmt: skip

    async def cancel(self, name: str, key: str, at: datetime) -> bool:
        changed = await self.db.execute(
            "UPDATE scheduled_jobs SET status = 'cancelled', finished_at = ?"
            " WHERE name = ? AND job_key = ? AND status = 'pending'",
            (iso(at), name, key),
        )
        return changed > 0

    async def status(self, name: str, key: str) -> str | None:
        return await self.db.scalar(
            "SELECT status FROM scheduled_jobs WHERE name = ? AND job_key = ?", (name, key)
        )

    async def next_due(self) -> datetime | None:
        value = await self.db.scalar("SELECT MIN(due_at) FROM scheduled_jobs WHERE status = 'pending'")
        return from_iso(value) if value else None

    async def interrupt_running(self, at: datetime) -> int:
        """Jobs left 'running' by a crash are marked, never rerun (their effect may have happened)."""
        return await self.db.execute(
            "UPDATE scheduled_jobs SET status = 'interrupted', finished_at = ?,"
            " error = 'the bot stopped while this job ran' WHERE status = 'running'",
            (iso(at),),
        )

    async def due(self, now: datetime, limit: int = 50) -> list[sqlite3.Row]:
        """Pending jobs due by `now`, oldest first."""
        return await self.db.fetchall(
            "SELECT id, name, job_key, due_at, payload, grace_seconds FROM scheduled_jobs"
            " WHERE status = 'pending' AND due_at <= ? ORDER BY due_at, id LIMIT ?",
            (iso(now), limit),
        )

    async def claim(self, job_id: int) -> bool:
        """One conditional UPDATE: True for the one caller that may run the job."""
        claimed = await self.db.execute(
            "UPDATE scheduled_jobs SET status = 'running' WHERE id = ? AND status = 'pending'", (job_id,)
        )
        return claimed > 0

    async def finish(self, job_id: int, status: str, at: datetime, error: str | None) -> None:
        await self.db.execute(
            "UPDATE scheduled_jobs SET status = ?, finished_at = ?, error = ? WHERE id = ?",
            (status, iso(at), error, job_id),
        )

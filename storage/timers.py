"""Timers (one-shot scheduled work) and timer series (recurring), as rows; `bot.scheduler`
runs them. A timer's (name, timer_key) is its idempotency key. A series always has one
pending occurrence: claiming an occurrence inserts the next one in the same transaction."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.clock import from_iso, iso
from storage.db import Database

DUE_COLUMNS = (
    "t.id, t.name, t.timer_key, t.due_at, t.payload, t.grace_seconds, t.attempts, t.series_id,"
    " s.series_key, s.payload AS series_payload"
)


@dataclass(frozen=True)
class Series:
    id: int
    name: str
    key: str
    recurrence: str
    zone: str | None
    platform: str | None
    community_id: str | None
    payload: dict[str, Any]
    grace: timedelta | None
    created_at: datetime
    active: bool


def _series(row: sqlite3.Row) -> Series:
    grace = row["grace_seconds"]
    return Series(
        row["id"], row["name"], row["series_key"], row["recurrence"], row["zone"], row["platform"],
        row["community_id"], json.loads(row["payload"]),
        None if grace is None else timedelta(seconds=grace), from_iso(row["created_at"]), bool(row["active"]),
    )  # fmt: skip


def _seconds(grace: timedelta | None) -> int | None:
    return None if grace is None else int(grace.total_seconds())


class TimerStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- one-shot timers ----------------------------------------------------------------

    async def schedule(
        self, name: str, key: str, due: datetime, payload: dict[str, Any], grace: timedelta | None, at: datetime,
        revive: bool = False,
    ) -> None:  # fmt: skip
        """Create the timer, or move a still-pending one; a finished timer is revived only
        when `revive` (reconciliation found its effect missing)."""
        await self.db.execute(
            "INSERT INTO timers (name, timer_key, due_at, payload, grace_seconds, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (name, timer_key) DO UPDATE SET due_at = excluded.due_at,"
            " payload = excluded.payload, grace_seconds = excluded.grace_seconds, status = 'pending',"
            " attempts = 0, finished_at = NULL WHERE timers.status = 'pending' OR ?",
            (name, key, iso(due), json.dumps(payload), _seconds(grace), iso(at), int(revive)),
        )

    async def cancel(self, name: str, key: str, at: datetime) -> bool:
        changed = await self.db.execute(
            "UPDATE timers SET status = 'cancelled', finished_at = ?"
            " WHERE name = ? AND timer_key = ? AND status = 'pending'",
            (iso(at), name, key),
        )
        return changed > 0

    async def status(self, name: str, key: str) -> str | None:
        return await self.db.scalar("SELECT status FROM timers WHERE name = ? AND timer_key = ?", (name, key))

    async def pending(self, name: str, key_prefix: str) -> list[str]:
        """Keys of pending or running timers called `name` whose key starts with `key_prefix`."""
        rows = await self.db.fetchall(
            "SELECT timer_key FROM timers WHERE name = ? AND status IN ('pending', 'running')"
            " AND substr(timer_key, 1, ?) = ?",
            (name, len(key_prefix), key_prefix),
        )
        return [row[0] for row in rows]

    async def next_due(self) -> datetime | None:
        value = await self.db.scalar("SELECT MIN(due_at) FROM timers WHERE status = 'pending'")
        return from_iso(value) if value else None

    async def due(self, now: datetime, limit: int = 100) -> list[sqlite3.Row]:
        """Pending timers due by `now`, oldest first, with their series' key and payload."""
        return await self.db.fetchall(
            f"SELECT {DUE_COLUMNS} FROM timers t LEFT JOIN timer_series s ON s.id = t.series_id"
            " WHERE t.status = 'pending' AND t.due_at <= ? ORDER BY t.due_at, t.id LIMIT ?",
            (iso(now), limit),
        )

    async def claim(self, timer_id: int, series_id: int | None, next_due: datetime | None, at: datetime) -> bool:
        """Mark the timer running (True for the one caller that may run it) and, for a
        series, insert its next occurrence in the same transaction: whatever happens to
        this occurrence, the series goes on."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE timers SET status = 'running', attempts = attempts + 1"
                " WHERE id = ? AND status = 'pending'",
                (timer_id,),
            )
            if cursor.rowcount == 0:
                return False
            if series_id is not None and next_due is not None:
                await self._insert_occurrence(conn, series_id, next_due, at)
            return True

    async def finish(self, timer_id: int, status: str, at: datetime, error: str | None) -> None:
        await self.db.execute(
            "UPDATE timers SET status = ?, finished_at = ?, error = ? WHERE id = ?",
            (status, iso(at), error, timer_id),
        )

    async def running(self) -> list[sqlite3.Row]:
        """Timers a crash left 'running'."""
        return await self.db.fetchall(
            f"SELECT {DUE_COLUMNS} FROM timers t LEFT JOIN timer_series s ON s.id = t.series_id"
            " WHERE t.status = 'running' ORDER BY t.due_at, t.id"
        )

    async def requeue(self, timer_id: int) -> None:
        await self.db.execute("UPDATE timers SET status = 'pending' WHERE id = ? AND status = 'running'", (timer_id,))

    # -- series ---------------------------------------------------------------------------

    async def upsert_series(
        self, name: str, key: str, recurrence: str, zone: str | None, platform: str | None,
        community_id: str | None, payload: dict[str, Any], grace: timedelta | None, at: datetime,
    ) -> Series:  # fmt: skip
        """Create or change a series (and switch it on); returns it as stored. A changed
        recurrence starts counting again from `at` (an `every` interval runs from now)."""
        await self.db.execute(
            "INSERT INTO timer_series (name, series_key, recurrence, zone, platform, community_id,"
            " payload, grace_seconds, active, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?)"
            " ON CONFLICT (name, series_key) DO UPDATE SET recurrence = excluded.recurrence,"
            " zone = excluded.zone, platform = excluded.platform, community_id = excluded.community_id,"
            " payload = excluded.payload, grace_seconds = excluded.grace_seconds, active = 1,"
            " created_at = CASE WHEN timer_series.recurrence = excluded.recurrence"
            " THEN timer_series.created_at ELSE excluded.created_at END",
            (name, key, recurrence, zone, platform, community_id, json.dumps(payload), _seconds(grace), iso(at)),
        )  # fmt: skip
        found = await self.series(name, key)
        assert found is not None
        return found

    async def series(self, name: str, key: str) -> Series | None:
        row = await self.db.fetchone("SELECT * FROM timer_series WHERE name = ? AND series_key = ?", (name, key))
        return None if row is None else _series(row)

    async def series_by_id(self, series_id: int) -> Series | None:
        row = await self.db.fetchone("SELECT * FROM timer_series WHERE id = ?", (series_id,))
        return None if row is None else _series(row)

    async def pending_due(self, series_id: int) -> datetime | None:
        value = await self.db.scalar(
            "SELECT MIN(due_at) FROM timers WHERE series_id = ? AND status = 'pending'", (series_id,)
        )
        return from_iso(value) if value else None

    async def reschedule_series(self, series_id: int, due: datetime | None, at: datetime) -> None:
        """Replace the series' pending occurrence with one at `due` (None: none)."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE timers SET status = 'cancelled', finished_at = ?, error = 'rescheduled'"
                " WHERE series_id = ? AND status = 'pending'",
                (iso(at), series_id),
            )
            if due is not None:
                await self._insert_occurrence(conn, series_id, due, at)

    async def stop_series(self, name: str, key: str, at: datetime) -> bool:
        """Switch a series off and cancel its pending occurrence."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE timer_series SET active = 0 WHERE name = ? AND series_key = ? AND active = 1", (name, key)
            )
            await conn.execute(
                "UPDATE timers SET status = 'cancelled', finished_at = ? WHERE status = 'pending'"
                " AND series_id = (SELECT id FROM timer_series WHERE name = ? AND series_key = ?)",
                (iso(at), name, key),
            )
            return cursor.rowcount > 0

    async def series_without_pending(self) -> list[Series]:
        """Active series with no pending or running occurrence (a gap to close)."""
        rows = await self.db.fetchall(
            "SELECT * FROM timer_series s WHERE s.active = 1 AND NOT EXISTS (SELECT 1 FROM timers t"
            " WHERE t.series_id = s.id AND t.status IN ('pending', 'running'))"
        )
        return [_series(row) for row in rows]

    async def zoned_series(self, platform: str, community_id: str) -> list[Series]:
        """Active series of a community that follow the community's zone."""
        rows = await self.db.fetchall(
            "SELECT * FROM timer_series WHERE platform = ? AND community_id = ? AND zone IS NULL AND active = 1",
            (platform, community_id),
        )
        return [_series(row) for row in rows]

    async def _insert_occurrence(self, conn: Any, series_id: int, due: datetime, at: datetime) -> None:
        await conn.execute(
            "INSERT INTO timers (name, timer_key, due_at, payload, grace_seconds, created_at, series_id)"
            " SELECT name, series_key || '@' || ?, ?, '{}', grace_seconds, ?, id FROM timer_series"
            " WHERE id = ? ON CONFLICT (name, timer_key) DO UPDATE SET status = 'pending', due_at = excluded.due_at,"
            " attempts = 0, finished_at = NULL, error = NULL WHERE timers.status = 'cancelled'",
            (iso(due), iso(due), iso(at), series_id),
        )

"""The SQLite connection: WAL, pragmas, numbered migrations, one writer.

All writes go through one connection guarded by one lock, so a burst of concurrent
interactions queues instead of failing with "database is locked". Reads use a second
connection that sees committed data only. Append-only rows that nobody waits for
(engagement events) are buffered by `enqueue` and written in batches; counters (the
rollups' upserts) are buffered by `count`, merged by key until written (storage/buffer.py;
the buffering and the flusher are the mixin in storage/buffered_rows.py).

Writes that someone waits for are units of work (`unit`, storage/unit_of_work.py): every
unit waiting when the writer is free runs in one transaction, as one call on the writer's
thread, and each caller is answered after that COMMIT (group commit); a unit that raises
is rolled back alone. `execute`, `insert` and `executemany` are units too; `transaction()`
is for multi-statement work that must await in between (migrations, a few older writers).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager, suppress
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from storage.buffer import RowBuffer
from storage.buffered_rows import FLUSH_EVERY_ROWS, BufferedRows
from storage.buffered_rows import FLUSH_EVERY_SECONDS as FLUSH_EVERY_SECONDS  # where it was
from storage.migrations import MIGRATIONS
from storage.unit_of_work import (
    Carried,
    Rider,
    Tx,
    Unit,
    finish_transaction,
    on_thread,
    run_group,
)

T = TypeVar("T")

log = logging.getLogger(__name__)

Params = Sequence[Any] | dict[str, Any]  # a tuple, NamedTuple, list or mapping

MAX_GROUP = 1000  # units in one group commit at most (bounds how long one holds the writer)
AUTOCOMMIT_ONLY = ("PRAGMA", "VACUUM", "ATTACH", "DETACH")  # statements that cannot run in a transaction


class StoreUnavailable(Exception):
    """The database cannot be used: a corrupt or foreign file, a folder, a path that cannot
    be created or written, or a schema newer than this code. The message is one sentence
    for the person running the bot."""


def _why(path: Path, exc: BaseException) -> str:
    text = str(exc)
    if isinstance(exc, PermissionError):
        return f"cannot use the database {path}: permission denied ({exc.filename or path})"
    if isinstance(exc, OSError):
        return f"cannot use the database {path}: {exc.strerror or text}"
    if "not a database" in text or "malformed" in text:
        return f"{path} is not a SQLite database or is damaged; restore it from a backup or choose another --db"
    if "readonly" in text:
        return f"the database {path} is read-only; check its permissions"
    if "unable to open" in text:
        return f"cannot open the database {path}; check that its folder exists and is writable"
    return f"cannot use the database {path}: {text}"


class Database(BufferedRows):
    """An embedded SQLite store with a single serialised writer."""

    def __init__(self, path: str | Path, zone: str = "UTC") -> None:
        """`zone` (an IANA name, BOT_TIMEZONE) is the local zone that migration backfills use
        for communities without their own `timezone` setting."""
        self.path = Path(path)
        self.zone = zone
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()
        self._wake_flusher = asyncio.Event()
        self.buffer = RowBuffer(FLUSH_EVERY_ROWS, self._wake_flusher.set)  # waiting for the next write transaction
        self._flusher: asyncio.Task[None] | None = None
        self._rows_out = False  # buffered rows taken by a writer and not yet written or given back
        self._units: list[tuple[Unit[Any], Carried | None, asyncio.Future[Any]]] = []  # waiting for the next group
        self._committer: asyncio.Task[None] | None = None
        self.groups = 0  # group commits written (for tests and benchmarks)
        self.applied: list[int] = []
        self.rejected = 0  # buffered rows set aside as unstorable (logged each time)

    async def open(self) -> None:
        """Connect, migrate and start the batch writer. Raises StoreUnavailable (and leaves
        no connection thread behind, so the process can exit) when the file is unusable."""
        try:
            if self.path.is_dir():
                raise StoreUnavailable(f"the database {self.path} is a folder; give a file path")
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = await self._connect()
            self.applied = await self.migrate()
            self._reader = await self._connect()
        except (sqlite3.Error, OSError, StoreUnavailable) as exc:
            await self._disconnect()
            if isinstance(exc, StoreUnavailable):
                raise
            raise StoreUnavailable(_why(self.path, exc)) from None
        self._flusher = asyncio.create_task(self._flush_loop(), name="db-flush")

    async def _connect(self) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        try:
            conn.row_factory = sqlite3.Row
            await conn.execute("PRAGMA journal_mode=WAL")
            await conn.execute("PRAGMA synchronous=NORMAL")
            await conn.execute("PRAGMA foreign_keys=ON")
            await conn.execute("PRAGMA busy_timeout=5000")
            await conn.execute("PRAGMA secure_delete=ON")  # deleted rows (a withdrawn ballot, forget-me) are zeroed
        except BaseException:
            await conn.close()  # its thread would keep the process alive
            raise
        return conn

    async def _disconnect(self) -> None:
        for conn in (self._writer, self._reader):
            if conn is not None:
                with suppress(Exception):
                    await conn.close()
        self._writer = self._reader = None

    async def close(self) -> None:
        """Flush buffered rows and close both connections; a failed flush is logged and
        never keeps the connections (and so the process) alive."""
        if self._flusher is not None:
            self._flusher.cancel()
            with suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None
        while self._committer is not None and not self._committer.done():  # answer every unit sent
            await asyncio.wait([self._committer])
        try:
            if self._writer is not None:
                await self.flush()
        except Exception:
            log.exception("final flush failed; %d buffered row(s) not written", self._pending_rows)
        finally:
            await self._disconnect()

    # -- migrations ---------------------------------------------------------------------

    async def migrate(self) -> list[int]:
        """Apply every migration newer than the database; returns the versions applied."""
        conn = self._require_writer()
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL"
            " DEFAULT CURRENT_TIMESTAMP)"
        )
        async with conn.execute("SELECT version FROM schema_migrations") as cur:
            done = {row[0] for row in await cur.fetchall()}
        known = max(m.version for m in MIGRATIONS)
        if done and max(done) > known:
            raise StoreUnavailable(
                f"the database {self.path} has schema version {max(done)}, newer than this bot knows ({known}); "
                "upgrade the bot or use a backup"
            )
        applied = []
        async with self._write_lock:
            for migration in MIGRATIONS:
                if migration.version in done:
                    continue
                await conn.execute("BEGIN IMMEDIATE")
                try:
                    for statement in migration.statements():
                        await conn.execute(statement)
                    if migration.backfill is not None:
                        await migration.backfill(conn, self.zone)
                    await conn.execute(
                        "INSERT INTO schema_migrations (version, name) VALUES (?, ?)",
                        (migration.version, migration.name),
                    )
                    await conn.execute("COMMIT")
                except BaseException:
                    await conn.execute("ROLLBACK")
                    raise
                log.info("applied migration %04d_%s", migration.version, migration.name)
                applied.append(migration.version)
        return applied

    async def schema_version(self) -> int:
        row = await self.fetchone("SELECT MAX(version) AS v FROM schema_migrations")
        return int(row["v"] or 0) if row else 0

    # -- reads --------------------------------------------------------------------------

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        return await self._require_reader().execute_fetchall(sql, params)  # a list already; one trip

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def scalar(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    # -- writes -------------------------------------------------------------------------

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """Run several statements atomically; nothing is half-written on error."""
        conn = self._require_writer()
        async with self._write_lock:
            await conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            pending = self._take_pending() if self._pending_rows else None
            try:  # the buffered rows and COMMIT in one hop; shielded: once sent it completes
                written = await asyncio.shield(on_thread(conn, finish_transaction, pending))
            except asyncio.CancelledError:
                raise
            except BaseException:
                if pending:
                    self._give_back(pending)
                raise
            if not written and pending:  # the effect still commits; the rows go the slow way
                self._give_back(pending)
                self._wake_flusher.set()
            self._rows_out = False

    # -- units of work (group commit) -----------------------------------------------------

    async def unit(self, work: Unit[T], rider: Rider | None = None) -> T:
        """Run `work(tx)` (a plain function, see storage/unit_of_work.py) in a transaction on
        the writer's thread, together with every other unit waiting and the buffered rows
        (one COMMIT). Returns its result once committed; raises what it raised (it alone is
        rolled back) or what failed the group's transaction (then nothing of it is stored).
        `rider`: rows written in the unit's own transaction after it (see `Rider`), told
        once committed. Never call it while holding `transaction()`: the writer is taken."""
        carried = (rider.rows(), rider.counts()) if rider is not None else None
        done: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._units.append((work, carried, done))
        if self._committer is None or self._committer.done():
            self._require_writer()
            self._committer = asyncio.create_task(self._commit_groups(), name="db-group-commit")
        value = await done
        if rider is not None:
            rider.committed()
        return value

    async def _commit_groups(self) -> None:
        conn = self._require_writer()
        while self._units:
            async with self._write_lock:
                group = self._units
                if len(group) > MAX_GROUP:
                    group, self._units = group[:MAX_GROUP], group[MAX_GROUP:]
                else:
                    self._units = []
                group = [item for item in group if not item[2].done()]  # a caller that gave up: not run
                if not group and not self._pending_rows:
                    continue
                pending = self._take_pending() if self._pending_rows else None
                try:  # shielded: once on the thread, the group completes whatever happens here
                    outcomes, written = await asyncio.shield(
                        on_thread(conn, run_group, [work for work, _, _ in group], pending,
                                  [carried for _, carried, _ in group] if any(item[1] for item in group) else None)
                    )
                except asyncio.CancelledError:
                    for _, _, done in group:
                        done.cancel()
                    raise
                except BaseException as exc:  # nothing of the group is stored
                    if pending:
                        self._give_back(pending)
                    for _, _, done in group:
                        if not done.done():
                            done.set_exception(exc)
                    if not isinstance(exc, Exception):
                        raise
                    log.error("group commit failed (%d unit(s)): %s", len(group), exc)
                    continue
                self.groups += 1
            if pending and not written:  # the units still commit; the rows go the slow way
                self._give_back(pending)
                self._wake_flusher.set()
            self._rows_out = False
            for (_, _, done), (ok, value) in zip(group, outcomes, strict=True):
                if done.done():
                    continue
                if ok:
                    done.set_result(value)
                else:
                    done.set_exception(value)

    async def execute(self, sql: str, params: Params = ()) -> int:
        """One statement, atomic on its own (a unit: concurrent ones share a commit);
        returns how many rows it changed. A PRAGMA (or VACUUM...) runs alone, outside any
        transaction."""
        if sql.lstrip()[:6].upper().startswith(AUTOCOMMIT_ONLY):
            conn = self._require_writer()
            async with self._write_lock:
                cursor = await conn.execute(sql, params)
                return cursor.rowcount
        return await self.unit(partial(_execute, sql, params))

    async def insert(self, sql: str, params: Params = ()) -> int:
        """One INSERT, atomic on its own (a unit); returns the new row's id."""
        return await self.unit(partial(_insert, sql, params))

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        rows = list(rows)  # materialised here: a unit may run again
        await self.unit(partial(_executemany, sql, rows))

    async def checkpoint(self) -> bool:
        """Copy the write-ahead log into the database file and truncate the log to zero
        bytes (`PRAGMA wal_checkpoint(TRUNCATE)`), between write transactions. True when
        it did; False when a reader still needed the log past `busy_timeout` (try later)."""
        conn = self._require_writer()
        async with self._write_lock:
            rows = list(await conn.execute_fetchall("PRAGMA wal_checkpoint(TRUNCATE)"))
        return bool(rows) and rows[0][0] == 0

    async def backup(self, target: str | Path) -> None:
        """Copy the live database with SQLite's online backup API."""
        await self.flush()
        target = Path(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        dest = await aiosqlite.connect(target)
        try:
            async with self._write_lock:
                await self._require_writer().backup(dest)
        finally:
            await dest.close()

    def _require_writer(self) -> aiosqlite.Connection:
        if self._writer is None:
            raise RuntimeError("database is not open")
        return self._writer

    def _require_reader(self) -> aiosqlite.Connection:
        if self._reader is None:
            raise RuntimeError("database is not open")
        return self._reader


def _execute(sql: str, params: Params, tx: Tx) -> int:
    return tx.execute(sql, params)


def _insert(sql: str, params: Params, tx: Tx) -> int:
    return tx.insert(sql, params)


def _executemany(sql: str, rows: list[Params], tx: Tx) -> None:
    tx.executemany(sql, rows)

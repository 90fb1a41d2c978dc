"""Storage: migrations from empty, a write burst without "database is locked", backup."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from storage.db import Database
from storage.migrations import MIGRATIONS


async def test_migrations_from_an_empty_database(tmp_path: Path) -> None:
    db = Database(tmp_path / "new" / "bot.sqlite3")
    await db.open()
    assert db.applied == [m.version for m in MIGRATIONS]
    assert await db.schema_version() == MIGRATIONS[-1].version
    assert await db.scalar("PRAGMA journal_mode") == "wal"
    assert await db.scalar("PRAGMA foreign_keys") == 1
    await db.close()

    again = Database(tmp_path / "new" / "bot.sqlite3")
    await again.open()
    assert again.applied == []
    await again.close()


async def test_a_concurrent_write_burst_never_fails(tmp_path: Path) -> None:
    db = Database(tmp_path / "bot.sqlite3")
    await db.open()
    await db.execute("CREATE TABLE t (n INTEGER)")

    async def write(n: int) -> None:
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO t (n) VALUES (?)", (n,))
            await conn.execute("UPDATE t SET n = n WHERE n = ?", (n,))

    await asyncio.gather(*(write(n) for n in range(500)))
    assert await db.scalar("SELECT COUNT(*) FROM t") == 500
    await db.close()


async def test_a_failed_transaction_leaves_nothing_half_written(tmp_path: Path) -> None:
    db = Database(tmp_path / "bot.sqlite3")
    await db.open()
    await db.execute("CREATE TABLE t (n INTEGER UNIQUE)")
    try:
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO t (n) VALUES (1)")
            await conn.execute("INSERT INTO t (n) VALUES (1)")
    except sqlite3.IntegrityError:
        pass
    assert await db.scalar("SELECT COUNT(*) FROM t") == 0
    await db.close()


async def test_buffered_rows_are_flushed_on_close(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    db = Database(path)
    await db.open()
    await db.execute("CREATE TABLE t (n INTEGER)")
    for n in range(10):
        db.enqueue("INSERT INTO t (n) VALUES (?)", (n,))
    await db.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 10


async def test_online_backup_copies_everything(tmp_path: Path) -> None:
    db = Database(tmp_path / "bot.sqlite3")
    await db.open()
    await db.execute("CREATE TABLE t (n INTEGER)")
    await db.executemany("INSERT INTO t (n) VALUES (?)", [(n,) for n in range(100)])
    db.enqueue("INSERT INTO t (n) VALUES (?)", (100,))
    await db.backup(tmp_path / "copy" / "backup.sqlite3")
    await db.close()
    with sqlite3.connect(tmp_path / "copy" / "backup.sqlite3") as conn:
        assert conn.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 101

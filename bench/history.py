"""A database holding a year of prior engagement events, for the benchmarks' "large
database" variants: `python -m bench.history --events 1000000 --out PATH [--json]`.

The history is bench.report's synthetic year (3 communities on 2 platforms, 20,000
members, rollups, follows and daily snapshots), written with its direct writer (checked
against EngagementLog.record by `python -m bench.report`). While it is written the
connection trades safety for speed (a 256 MB page cache, no fsync, a long write-ahead log):
the file that results is an ordinary database, checkpointed into one file. `bench.all`
builds it once per run; each benchmark works on its own copy (`copy`), so the history
itself is never written to.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

from bench.common import emit, figure
from storage.db import Database

FAST = ("PRAGMA cache_size=-262144", "PRAGMA wal_autocheckpoint=100000", "PRAGMA synchronous=OFF")


async def build(path: Path, events: int, days: int | None = None) -> dict[str, float]:
    """Write `events` prior events into a new database at `path` (over a year, or `days`
    days: a small history for tests); returns what was made."""
    from bench.report import DAYS, generate  # the synthetic year and its direct writer

    for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        stale.unlink(missing_ok=True)
    db = Database(path)
    await db.open()
    try:
        for pragma in FAST:
            await db.execute(pragma)
        started = time.perf_counter()
        made = await generate(db, events, direct=True, days=days or DAYS, progress=False)
        await db.flush()
        await db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        seconds = time.perf_counter() - started
        rows = int(await db.scalar("SELECT COUNT(*) FROM engagement_events"))
    finally:
        await db.close()
    size = await asyncio.to_thread(lambda: path.stat().st_size)
    return {"events": made["events"], "rows": rows, "seconds": seconds, "mb": size / 1e6}


def copy(history: Path, target: Path) -> Path:
    """A private, writable copy of a history database (the file alone: it is checkpointed)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in (target, target.with_name(target.name + "-wal"), target.with_name(target.name + "-shm")):
        stale.unlink(missing_ok=True)
    shutil.copyfile(history, target)
    return target


@contextlib.asynccontextmanager
async def prepared(given: str | None, events: int) -> AsyncIterator[tuple[Path | None, str]]:
    """The history database to copy from, and a line that says what it holds: the one
    given (--history), or one built now in a temporary folder (--history-events), or None."""
    if given:
        path = Path(given)
        if not await asyncio.to_thread(path.is_file):
            raise SystemExit(f"--history {given}: no such database (build one with python -m bench.history)")
        yield path, f"history: {given} (given)"
        return
    if events <= 0:
        yield None, "history: none (--history-events 0)"
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "history.sqlite3"
        made = await build(path, events)
        yield path, (f"history: {made['events']:,} events built for this run in {made['seconds']:.0f} s "
                     f"({made['mb']:.0f} MB)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=None, help="over this many days instead of a year (tests)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--json", action="store_true", help="one JSON object per figure")
    args = parser.parse_args()
    made = asyncio.run(build(args.out, args.events, args.days))
    emit([figure("history.build", made["seconds"], "s"), figure("history.events", made["rows"], "events"),
          figure("history.size", made["mb"], "MB")], args.json)  # fmt: skip


if __name__ == "__main__":
    main()

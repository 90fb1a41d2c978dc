"""Units of work: a read, a decision and its writes, run as one plain function in a
transaction; the single writer commits concurrent units together (group commit).

**The interface** (what repositories write against, backend-neutral):

    def vote(tx: Tx) -> VoteChange | None:      # plain and synchronous: no awaits inside
        row = tx.fetchone("SELECT ... WHERE id = ?", (poll_id,))
        ...
        tx.execute("INSERT INTO poll_votes ...", (...))
        return change

    change = await db.unit(vote)                # answered only after its COMMIT

- A unit is given a `Tx`: portable statements on one transaction (qmark `?` parameters,
  rows indexed by column name, materialised results, never a cursor). It sees its own
  writes and those of the units before it in the group.
- It is atomic on its own: a unit that raises is rolled back alone and its caller gets the
  exception; the other units of the group still commit.
- Nothing is acknowledged before its commit: `await db.unit(fn)` returns (or raises) once
  the transaction that holds the unit has committed (or failed).
- A unit may run more than once: when another unit of its group raises, the others may
  run again in a new transaction. Keep a unit's effects inside the database (build its
  result afresh on each call; no sends, no shared state).
- It holds the writer for as long as it runs: no network, no sleeping, no big loops.

**The SQLite engine** (this module and storage/db.py, with its mixin
storage/buffered_rows.py, are the only places that know SQLite specifics): every unit
waiting when the writer is free is taken as one group and run by `run_group` as *one* call
on the writer connection's own thread: `BEGIN IMMEDIATE`, the units (a `SAVEPOINT` each
once one has failed: see `run_group`), the buffered rows (Database.enqueue) in a savepoint
of their own, `COMMIT`. One hop to SQLite's thread and one commit for the group, instead
of a hop per statement and a commit per unit: the write lock is taken once per group, and
no statement waits for a turn of the busy event loop (with the loop saturated, a lone
BEGIN IMMEDIATE was measured at 100-180 ms end to end).

A PostgreSQL backend would give `unit` the same meaning: take a pooled connection, run the
unit in `BEGIN ... COMMIT` (psycopg's synchronous connection in a worker thread, with a
`?` -> `%s` placeholder translation and `RETURNING id` for `insert` in its `Tx`), and run it
again on a serialization failure; several writers then work at once and grouping becomes
optional.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, TypeVar

import aiosqlite

from storage.buffer import Pending

T = TypeVar("T")
Params = Sequence[Any] | dict[str, Any]
Row = Any  # indexable by column name (and, on SQLite, by position)


class Tx(Protocol):
    """The statements a unit of work may run, on the transaction it is given."""

    def fetchall(self, sql: str, params: Params = ()) -> list[Row]: ...

    def fetchone(self, sql: str, params: Params = ()) -> Row | None: ...

    def scalar(self, sql: str, params: Params = ()) -> Any: ...

    def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; how many rows it changed."""
        ...

    def insert(self, sql: str, params: Params = ()) -> int:
        """Run one INSERT; the new row's id."""
        ...

    def executemany(self, sql: str, rows: Iterable[Params]) -> int: ...


Unit = Callable[[Tx], T]


class Rider(Protocol):
    """Rows that belong with a unit of work's effect (an interaction's engagement event:
    the click and the vote it cast), written in the unit's own transaction.

    Asked once, when the unit is sent: `rows()`, `(statement, parameters)` pairs each run
    once, and `counts()`, `(statement, key)` pairs that each add one to a counter (an
    upsert whose parameters are the key and then the number to add; the riders of a group
    are merged into one row per key). If the unit raises, they are rolled back with it;
    once it has committed, the rider is told (`committed()`), so whoever would otherwise
    buffer the rows knows they are written."""

    def rows(self) -> Sequence[tuple[str, Params]]: ...

    def counts(self) -> Sequence[tuple[str, tuple[Any, ...]]]: ...

    def committed(self) -> None: ...


Carried = tuple[Sequence[tuple[str, Params]], Sequence[tuple[str, tuple[Any, ...]]]]  # a rider's rows, counts


class SqliteTx:
    """`Tx` on a sqlite3 cursor, used on the writer's thread only."""

    __slots__ = ("_cur",)

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cur = cursor

    def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        return self._cur.execute(sql, params).fetchall()

    def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        return self._cur.execute(sql, params).fetchone()

    def scalar(self, sql: str, params: Params = ()) -> Any:
        row = self._cur.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def execute(self, sql: str, params: Params = ()) -> int:
        return self._cur.execute(sql, params).rowcount

    def insert(self, sql: str, params: Params = ()) -> int:
        return int(self._cur.execute(sql, params).lastrowid or 0)

    def executemany(self, sql: str, rows: Iterable[Params]) -> int:
        return self._cur.executemany(sql, rows).rowcount


# -- the SQLite engine: runs on the writer connection's thread ------------------------------

Outcome = tuple[bool, Any]  # (True, the unit's result) or (False, the exception it raised)


async def on_thread(conn: aiosqlite.Connection, fn: Callable[..., T], *args: Any) -> T:
    """`fn(sqlite3_connection, *args)` as one call on the aiosqlite connection's own thread
    (queued behind the statements already sent to it): one hop for any number of
    statements. The one place that reaches into aiosqlite (`_execute`, `_conn`)."""
    return await conn._execute(_call, conn, fn, args)


def _call(conn: aiosqlite.Connection, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
    return fn(conn._conn, *args)


def run_group(
    conn: sqlite3.Connection, units: Sequence[Unit[Any]], pending: Pending | None,
    carried: Sequence[Carried | None] | None = None,
) -> tuple[list[Outcome], bool]:  # fmt: skip
    """One transaction for `units`, their riders' rows (`carried[i]`: unit i's, see Rider)
    and the buffered rows `pending` (in a savepoint of their own); returns each unit's
    outcome, in order, and whether the buffered rows were written (if not, the caller
    keeps them for the flusher). The riders of the units that succeeded are written after
    them, merged (one executemany a statement, one row a counter's key); if that fails,
    the group runs again with each rider in its unit's savepoint.

    Units first run without savepoints (a savepoint costs a copy of every page the unit
    touches that the group touched before: about a third of a vote). If one raises, it
    keeps its error, the transaction is rolled back, and the others run again in a new
    one, each in a SAVEPOINT of its own, so that any further unit that raises is rolled
    back to its savepoint alone. A unit whose error ended the whole transaction (SQLite
    rolls back on a full disk or an I/O error) is dealt with the same way. An error outside
    any unit (BEGIN, COMMIT) rolls everything back and is raised: no unit is stored."""
    cur = conn.cursor()
    tx = SqliteTx(cur)
    final: dict[int, Outcome] = {}
    todo: Sequence[int] = range(len(units))
    savepoints = False  # optimistic: savepoints only once a unit has failed
    written = True
    while todo or pending:
        done: list[tuple[int, Any]] = []
        again = False
        cur.execute("BEGIN IMMEDIATE")
        try:
            for i in todo:
                if savepoints:
                    cur.execute("SAVEPOINT unit")
                try:
                    value = units[i](tx)
                    if savepoints and carried and carried[i]:
                        _write_carried(cur, (carried[i],))
                except Exception as exc:  # this unit's error, for its caller
                    final[i] = (False, exc)
                    if savepoints and conn.in_transaction:
                        cur.execute("ROLLBACK TO unit")
                        cur.execute("RELEASE unit")
                        continue
                    if conn.in_transaction:  # no savepoint to go back to: the others run again
                        cur.execute("ROLLBACK")
                    again = True
                    break
                if savepoints:
                    cur.execute("RELEASE unit")
                done.append((i, value))
            if carried and not again and not savepoints:
                try:
                    _write_carried(cur, [carried[i] for i, _ in done if carried[i]])
                except sqlite3.Error:  # one rider's rows: each unit again, with its rider, in a savepoint
                    if conn.in_transaction:
                        cur.execute("ROLLBACK")
                    again = True
            if pending and not again:
                written = _write_buffered(conn, cur, pending)
                if not conn.in_transaction:  # their error ended the transaction: units again
                    pending = None
                    again = True
            if again:
                todo = [i for i in todo if i not in final]
                savepoints = True
                continue
            cur.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.rollback()
            raise
        for i, value in done:
            final[i] = (True, value)
        break
    return [final[i] for i in range(len(units))], written


def _write_carried(cur: sqlite3.Cursor, carried: Iterable[Carried | None]) -> None:
    """Riders' rows, one executemany a statement, and their counts merged by key."""
    rows: dict[str, list[Params]] = {}
    counts: dict[str, dict[tuple[Any, ...], int]] = {}
    for appended, counted in carried:  # type: ignore[misc]  # the caller leaves out None
        for sql, params in appended:
            rows.setdefault(sql, []).append(params)
        for sql, key in counted:
            counter = counts.setdefault(sql, {})
            counter[key] = counter.get(key, 0) + 1
    for sql, parameters in rows.items():
        cur.executemany(sql, parameters)
    for sql, counter in counts.items():
        cur.executemany(sql, [(*key, n) for key, n in counter.items()])


def _write_buffered(conn: sqlite3.Connection, cur: sqlite3.Cursor, pending: Pending) -> bool:
    """Inside the open transaction: the buffered rows, all or none (their own savepoint)."""
    cur.execute("SAVEPOINT buffered")
    try:
        for sql, rows in pending.items():
            cur.executemany(sql, rows)
    except sqlite3.Error:
        if conn.in_transaction:
            cur.execute("ROLLBACK TO buffered")
            cur.execute("RELEASE buffered")
        return False
    cur.execute("RELEASE buffered")
    return True


def finish_transaction(conn: sqlite3.Connection, pending: Pending | None) -> bool:
    """End a `Database.transaction()`: the buffered rows (their own savepoint) and COMMIT,
    in one hop; whether the buffered rows were written."""
    cur = conn.cursor()
    written = True
    try:
        if pending:
            written = _write_buffered(conn, cur, pending)
            if not conn.in_transaction:
                raise sqlite3.OperationalError("the transaction ended while writing buffered rows")
        cur.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.rollback()
        raise
    return written


def flush_buffered(conn: sqlite3.Connection, pending: Pending) -> list[tuple[str, sqlite3.Error]]:
    """Write the buffered rows in one transaction, in one hop. If the batch fails, each row
    goes alone (autocommit); returns the rows set aside: (statement, error)."""
    cur = conn.cursor()
    try:
        cur.execute("BEGIN IMMEDIATE")
        for sql, rows in pending.items():
            cur.executemany(sql, rows)
        cur.execute("COMMIT")
        return []
    except sqlite3.Error:
        if conn.in_transaction:
            conn.rollback()
    except BaseException:
        if conn.in_transaction:
            conn.rollback()
        raise
    rejected = []
    for sql, rows in pending.items():
        for params in rows:
            try:
                cur.execute(sql, params)
            except sqlite3.Error as exc:
                rejected.append((sql, exc))
    return rejected

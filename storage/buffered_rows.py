"""The database's buffered rows, a mixin of `Database` (storage/db.py): `enqueue` and
`count` buffer append-only rows and counters in a RowBuffer (storage/buffer.py); `flush`
writes them in one transaction on the writer's thread (`flush_buffered`,
storage/unit_of_work.py), and the flusher task does so every FLUSH_EVERY_SECONDS or once
FLUSH_EVERY_ROWS rows wait. Database's own writers carry the rows into their transactions
with `_take_pending`, and hand back with `_give_back` rows they could not write.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from storage.buffer import Params, Pending, RowBuffer, storable
from storage.unit_of_work import flush_buffered, on_thread

if TYPE_CHECKING:
    import aiosqlite

log = logging.getLogger("storage.db")  # the Database's log, as before this mixin was split off

FLUSH_EVERY_ROWS = 2000  # rows to write (counters merged): a flush holds the writer some 10-20 ms at most
FLUSH_EVERY_SECONDS = 0.5


class BufferedRows:
    """Buffering and flushing rows that nobody waits for; `Database` sets the attributes."""

    buffer: RowBuffer  # waiting for the next write transaction
    rejected: int  # buffered rows set aside as unstorable (logged each time)
    _rows_out: bool  # buffered rows taken by a writer and not yet written or given back
    _wake_flusher: asyncio.Event
    _write_lock: asyncio.Lock

    if TYPE_CHECKING:

        def _require_writer(self) -> aiosqlite.Connection: ...

    def enqueue(self, sql: str, params: Params) -> None:
        """Buffer an append-only row; written with the next write transaction (so an
        effect and the event that records it commit together), within FLUSH_EVERY_SECONDS,
        at FLUSH_EVERY_ROWS buffered rows, or by an explicit `flush()`.

        A row SQLite could not store (a 20-digit id, a lone surrogate) is set aside and
        logged here, at the boundary, so it can never poison a batch."""
        if not storable(params):
            self._set_aside(sql)
            return
        self.buffer.append(sql, params)

    def count(self, sql: str, key: tuple[Any, ...]) -> None:
        """Buffer one more of a counter: `sql` is an upsert whose parameters are `key` and
        then the number to add (`... DO UPDATE SET n = n + excluded.n`). Counts of one key
        are merged while they wait (one row a flush); written as `enqueue`'s rows are."""
        if not self.buffer.count(sql, key):
            self._set_aside(sql)

    def _set_aside(self, sql: str) -> None:
        log.warning("engagement row set aside: a value SQLite cannot store sql=%s", sql.split("(")[0].strip())
        self.rejected += 1

    async def flush(self) -> None:
        """Write every buffered row in one transaction. If the batch fails, rows are
        written one by one: a bad row is logged and set aside, the others are stored."""
        conn = self._require_writer()
        if not self._pending_rows:
            if self._rows_out and self._write_lock.locked():  # rows another writer took are on their way:
                async with self._write_lock:  # wait for them, so a reader that flushed first sees them
                    pass
            return  # nothing buffered, nothing on its way: nothing to wait for (a click's ack after its vote)
        async with self._write_lock:
            pending = self._take_pending()
            try:  # one hop; shielded: once sent, the rows are written whatever happens here
                rejected = await asyncio.shield(on_thread(conn, flush_buffered, pending))
            except asyncio.CancelledError:
                raise
            except BaseException:
                self._give_back(pending)
                raise
            for sql, exc in rejected:
                self.rejected += 1
                log.error("buffered row set aside sql=%s error=%s", sql.split("(")[0].strip(), exc)
            self._rows_out = False

    @property
    def _pending_rows(self) -> int:
        return self.buffer.size

    def _take_pending(self) -> Pending:
        self._rows_out = True  # until the taker, holding the writer, has written or given them back
        return self.buffer.take()

    def _give_back(self, pending: Pending) -> None:
        self.buffer.give_back(pending)

    async def _flush_loop(self) -> None:
        while True:
            with suppress(TimeoutError):  # asyncio.timeout: wait_for can swallow a cancel on 3.11
                async with asyncio.timeout(FLUSH_EVERY_SECONDS):
                    await self._wake_flusher.wait()
            self._wake_flusher.clear()
            try:
                await self.flush()
            except Exception:  # keep flushing later; the rows stay lost only if the disk is gone
                log.exception("engagement flush failed")

"""Rows waiting for the next write transaction (see `Database.enqueue` and `Database.count`).

Two kinds of row wait here:

- appended rows: `statement -> [parameter row, ...]`, written as they are (an engagement
  event, a member seen);
- counters: `statement -> {key: n}`, upserts that add `n` to a count, merged while they wait,
  so a thousand events of one community's day become one row
  `(*key, 1000)` of `INSERT ... VALUES (?, ..., ?) ON CONFLICT ... DO UPDATE SET
  events = events + excluded.events` (the statement's last parameter is the count).

`take()` hands both over as one `Pending` (`statement -> parameter rows`, counters as
`(*key, n)` rows) for the writer; `give_back()` puts a batch that could not be written
back in front of what arrived meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

Params = Sequence[Any] | dict[str, Any]
Pending = dict[str, list[Params]]  # statement -> parameter rows

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def storable(params: Params) -> bool:
    """Whether SQLite can bind every value: None, a bool, an int in 64 bits, a float,
    bytes, or a str that encodes as UTF-8 (a lone surrogate from a bad byte does not).
    On the path of every buffered row: exact types first, subclasses the slow way."""
    for value in params.values() if isinstance(params, dict) else params:
        kind = type(value)
        if kind is str:
            if value.isascii():
                continue
        elif kind is int:
            if INT64_MIN <= value <= INT64_MAX:
                continue
            return False
        elif value is None or kind is float or kind is bool or kind is bytes:
            continue
        if not _storable_value(value):
            return False
    return True


def _storable_value(value: Any) -> bool:
    if value is None or isinstance(value, float | bytes):
        return True
    if isinstance(value, int):
        return INT64_MIN <= value <= INT64_MAX
    if isinstance(value, str):
        if value.isascii():
            return True
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    return False


class RowBuffer:
    """The rows and merged counters waiting to be written; `size` is how many rows a
    `take()` would hand over now (appended rows plus distinct counter keys, plus what the
    sources say they hold). `full()` is called whenever `size` reaches `limit`.

    A source (`add_source`) keeps rows in a form of its own until they are taken (the
    engagement log's tally of one batch's events): `source(pending)` adds its rows to a
    batch being taken and forgets them; it reports what it holds with `grew()`."""

    __slots__ = ("rows", "counts", "size", "limit", "full", "_sources")

    def __init__(self, limit: int, full: Callable[[], None]) -> None:
        self.rows: Pending = {}
        self.counts: dict[str, dict[tuple[Any, ...], int]] = {}
        self.size = 0
        self.limit = limit
        self.full = full
        self._sources: list[Callable[[Pending], None]] = []

    def add_source(self, source: Callable[[Pending], None]) -> None:
        self._sources.append(source)

    def append(self, sql: str, params: Params) -> None:
        """One row, as it is (checked by the caller: see `storable`)."""
        rows = self.rows.get(sql)
        if rows is None:
            self.rows[sql] = [params]
        else:
            rows.append(params)
        self.size += 1
        if self.size >= self.limit:
            self.full()

    def grew(self, n: int = 1) -> None:
        """A source holds `n` more rows."""
        self.size += n
        if self.size >= self.limit:
            self.full()

    def count(self, sql: str, key: tuple[Any, ...], n: int = 1) -> bool:
        """Add `n` to the counter `key` of `sql`; False (nothing added) when the key holds
        a value SQLite cannot store. A key already waiting costs one dict update."""
        counters = self.counts.get(sql)
        if counters is None:
            counters = self.counts[sql] = {}
        held = counters.get(key)
        if held is not None:
            counters[key] = held + n
            return True
        if not storable(key):
            return False
        counters[key] = n
        self.grew()
        return True

    def take(self) -> Pending:
        """Everything waiting, as parameter rows; the buffer is empty after."""
        pending = self.rows
        for source in self._sources:
            source(pending)
        for sql, counters in self.counts.items():
            rows = [(*key, n) for key, n in counters.items()]
            held = pending.get(sql)
            if held is None:
                pending[sql] = rows
            else:
                held.extend(rows)
        self.rows, self.counts, self.size = {}, {}, 0
        return pending

    def give_back(self, pending: Pending) -> None:
        """Rows taken but not written go back, before what arrived since."""
        for sql, rows in pending.items():
            self.rows.setdefault(sql, [])[:0] = rows
            self.size += len(rows)

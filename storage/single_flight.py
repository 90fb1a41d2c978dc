"""A cache whose concurrent readers of one missing key share one load (single flight).

Without it, a burst of readers that all miss (every vote on a poll just after its message
was stored and its cached copy dropped) each run the same load: a stampede of identical
reads. With it the first reader starts the load and the others await the same one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SingleFlight(Generic[K, V]):
    """Values by key, loaded by `load(key)` (None: nothing to cache) at most once at a time
    per key. `forget(key)` after every change to what a key's value is read from: a load
    that was under way when it was forgotten still answers its readers but is not kept, and
    a reader that comes after starts a new load."""

    def __init__(self, load: Callable[[K], Awaitable[V | None]]) -> None:
        self._load = load
        self._values: dict[K, V] = {}
        self._loading: dict[K, list[asyncio.Future[V | None]]] = {}  # key -> its load's readers
        self.loads = 0  # loads started (for tests)

    async def get(self, key: K) -> V | None:
        value = self._values.get(key)
        if value is not None:
            return value
        readers = self._loading.get(key)
        if readers is None:
            self.loads += 1
            readers = self._loading[key] = []
            asyncio.ensure_future(self._fill(key, readers))
        # a future per reader (not a shield over the load: one hop instead of two); a
        # reader that gives up cancels only its own future, the load goes on for the others
        answer: asyncio.Future[V | None] = asyncio.get_running_loop().create_future()
        readers.append(answer)
        return await answer

    def forget(self, key: K) -> None:
        self._values.pop(key, None)
        self._loading.pop(key, None)

    def replace(self, key: K, change: Callable[[V], V]) -> None:
        """After a change whose effect on the value is known: the kept value, if any,
        becomes `change(value)`; a load under way is not kept (it may have read before)."""
        self._loading.pop(key, None)
        value = self._values.get(key)
        if value is not None:
            self._values[key] = change(value)

    def clear(self) -> None:
        self._values.clear()
        self._loading.clear()

    async def _fill(self, key: K, readers: list[asyncio.Future[V | None]]) -> None:
        try:
            value = await self._load(key)
        except BaseException as exc:
            if self._loading.get(key) is readers:
                del self._loading[key]
            for answer in readers:
                if answer.done():
                    continue
                if isinstance(exc, asyncio.CancelledError):
                    answer.cancel()
                else:
                    answer.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        if self._loading.get(key) is readers:  # not forgotten while it loaded: keep it
            del self._loading[key]
            if value is not None:
                self._values[key] = value
        for answer in readers:
            if not answer.done():
                answer.set_result(value)

"""Where bench.jobs's time goes: the jobs cog's steps timed (`instrument`), and the
longest the event loop went without running (`Stall`)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bot.app import Bot


@dataclass
class Phases:
    """Seconds spent in each step of the poll, summed over its calls."""

    seconds: dict[str, float] = field(default_factory=dict)

    def wrap(self, name: str, fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def timed(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return await fn(*args, **kwargs)
            finally:
                self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - began

        return timed

    def wrap_sync(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - began

        return timed


class Stall:
    """The longest the event loop went without running a 5 ms ticker: how long anything
    else (a Discord interaction's 3 s ack, another timer) would have waited."""

    TICK = 0.005

    def __init__(self) -> None:
        self.longest = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(self.TICK)
            now = time.perf_counter()
            self.longest = max(self.longest, now - last - self.TICK)
            last = now

    async def __aenter__(self) -> Stall:
        self._task = asyncio.create_task(self._tick())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


def instrument(bot: Bot, phases: Phases) -> Callable[[], None]:
    """Time the jobs cog's steps; returns the undo."""
    import cogs.jobs as jobs_module

    cog = next(c for c in bot.cogs if type(c).__name__ == "JobPosts")
    real_parse = jobs_module.parse_feed
    jobs_module.parse_feed = phases.wrap_sync("parse (feedparser + entry clean-up)", real_parse)  # type: ignore[assignment]
    store = cog.store  # type: ignore[attr-defined]
    poller = cog.poller  # type: ignore[attr-defined]  # cogs/jobs/polling.py
    for owner, attribute, name in [
        (store, "feed", "read the feed row"), (cog, "fetch", "fetch (GET, body)"),
        (poller, "decide", "decide (lookup, filters, caps)"), (store, "record_success", "store state + items (1 transaction)"),
        (poller, "minutes", "read the interval setting"), (poller, "every", "reschedule the series"),
        (store, "set_next_try", "store next try"), (poller, "post_pending", "post (pending items, sends, marks)"),
    ]:  # fmt: skip
        setattr(owner, attribute, phases.wrap(name, getattr(owner, attribute)))

    def undo() -> None:
        jobs_module.parse_feed = real_parse

    return undo

"""Coalesced message edits: a burst of 1,000 votes costs a handful of edits, not 1,000.

Per message, at most one edit is in flight, and the next one waits until the message's
minimum interval has passed; meanwhile newer cards replace the waiting one, and only the
latest is sent. The first edit of a quiet message goes out at once.
This keeps the bot inside Discord's and Slack's per-channel rate limits.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.cards import Card
from bot.model import MessageRef

log = logging.getLogger(__name__)

EditFn = Callable[[MessageRef, Card], Awaitable[None]]
Spawn = Callable[[Awaitable[None]], object]
CardSource = Card | Callable[[], Awaitable[Card]]
"""A card, or a function that builds the latest one when the edit is finally sent."""


class EditCoalescer:
    def __init__(self, edit: EditFn, spawn: Spawn, *, min_interval: float = 1.0) -> None:
        self._edit = edit
        self._spawn = spawn
        self.min_interval = min_interval
        self._waiting: dict[MessageRef, CardSource] = {}
        self._busy: set[MessageRef] = set()
        self.sent = 0

    def submit(self, ref: MessageRef, card: CardSource) -> None:
        """Ask for `ref` to show `card`; returns at once, the edit happens soon."""
        self._waiting[ref] = card
        if ref not in self._busy:
            self._busy.add(ref)
            self._spawn(self._drain(ref))

    async def _drain(self, ref: MessageRef) -> None:
        try:
            while ref in self._waiting:
                source = self._waiting.pop(ref)
                try:
                    await self._edit(ref, source if isinstance(source, Card) else await source())
                    self.sent += 1
                except Exception:
                    log.exception("edit failed message=%s", ref.encode())
                if self.min_interval:
                    await asyncio.sleep(self.min_interval)  # cool down before this message's next edit
        finally:
            self._busy.discard(ref)

"""Coalesced message edits that converge on the latest card.

Per message, at most one edit is in flight, and the next one waits until the message's
minimum interval has passed; meanwhile newer cards replace the waiting one, and only the
latest is sent. The first edit of a quiet message goes out at once. This keeps the bot
inside Discord's and Slack's per-channel rate limits (a burst of 1,000 votes costs a
handful of edits).

A failed edit is retried with exponential backoff (1 s doubling to 5 minutes), honouring
the platform's `Retry-After` when the error carries one, until it lands, a newer card
replaces it, or MAX_ATTEMPTS; a final edit (a closed poll, a revealed answer) is retried
without that limit. `MessageGone` (the message was deleted) stops the retries at once.
Across a restart, cogs re-render their live messages from the database at start-up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bot.cards import Card
from bot.errors import MessageGone
from bot.model import MessageRef

log = logging.getLogger(__name__)

EditFn = Callable[[MessageRef, Card], Awaitable[None]]
Spawn = Callable[[Awaitable[None]], object]
CardSource = Card | Callable[[], Awaitable[Card]]
"""A card, or a function that builds the latest one when the edit is finally sent."""

MAX_ATTEMPTS = 8
FIRST_BACKOFF = 1.0  # seconds
LONGEST_BACKOFF = 300.0


def retry_after(exc: BaseException) -> float | None:
    """Seconds the platform asked us to wait: an error's `retry_after` (discord.py's
    RateLimited) or the `Retry-After` header of its response (RFC 9110 §10.2.3; Slack)."""
    value: Any = getattr(exc, "retry_after", None)
    if value is None:
        headers = getattr(getattr(exc, "response", None), "headers", None)
        if headers is not None:
            try:
                value = headers.get("Retry-After") or headers.get("retry-after")
            except Exception:
                value = None
    try:
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


class EditCoalescer:
    def __init__(
        self, edit: EditFn, spawn: Spawn, *, min_interval: float = 1.0, first_backoff: float = FIRST_BACKOFF
    ) -> None:
        self._edit = edit
        self._spawn = spawn
        self.min_interval = min_interval
        self.first_backoff = first_backoff
        self._waiting: dict[MessageRef, tuple[CardSource, bool]] = {}
        self._busy: set[MessageRef] = set()
        self.sent = 0
        self.failed = 0  # attempts that raised
        self.dropped = 0  # cards given up on

    def submit(self, ref: MessageRef, card: CardSource, *, final: bool = False) -> None:
        """Ask for `ref` to show `card`; returns at once, the edit happens soon. A `final`
        card is retried until it lands (or the message is gone)."""
        _, was_final = self._waiting.get(ref, (None, False))
        self._waiting[ref] = (card, final or was_final)
        if ref not in self._busy:
            self._busy.add(ref)
            self._spawn(self._drain(ref))

    async def _drain(self, ref: MessageRef) -> None:
        attempts = 0
        try:
            while ref in self._waiting:
                source, final = self._waiting.pop(ref)
                try:
                    await self._edit(ref, source if isinstance(source, Card) else await source())
                    self.sent += 1
                    attempts = 0
                except MessageGone:
                    self._waiting.pop(ref, None)
                    log.info("message gone, no more edits message=%s", ref.encode())
                    return
                except Exception as exc:
                    self.failed += 1
                    attempts += 1
                    if attempts >= MAX_ATTEMPTS and not final:
                        self.dropped += 1
                        log.error("edit dropped after %d attempts message=%s", attempts, ref.encode(), exc_info=exc)
                        attempts = 0
                        continue
                    newer, newer_final = self._waiting.get(ref, (source, False))  # a newer card wins
                    self._waiting[ref] = (newer, final or newer_final)
                    delay = retry_after(exc)
                    if delay is None:
                        delay = min(LONGEST_BACKOFF, self.first_backoff * 2 ** (attempts - 1))
                    log.warning("edit failed, retrying in %.1fs message=%s attempt=%d error=%r",
                                delay, ref.encode(), attempts, exc)  # fmt: skip
                    await asyncio.sleep(delay)
                    continue
                if self.min_interval:
                    await asyncio.sleep(self.min_interval)  # cool down before this message's next edit
        finally:
            self._busy.discard(ref)

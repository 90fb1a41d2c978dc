"""Message edits converge on the latest card: coalesced, retried with backoff, honouring
Retry-After, never giving up on a final card, stopping when the message is gone."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from bot.cards import Card
from bot.edits import MAX_ATTEMPTS, EditCoalescer, retry_after
from bot.errors import MessageGone
from bot.model import MessageRef

REF = MessageRef("fake", "C1", "42")


class FlakyPlatform:
    """Fails the first `failures` edits with `error`, then shows what it was sent."""

    def __init__(self, failures: int, error: BaseException | None = None) -> None:
        self.failures = failures
        self.error = error or RuntimeError("HTTP 500")
        self.attempts = 0
        self.shown: Card | None = None

    async def edit(self, ref: MessageRef, card: Card) -> None:
        self.attempts += 1
        if self.attempts <= self.failures:
            raise self.error
        self.shown = card


def coalescer(platform: FlakyPlatform) -> tuple[EditCoalescer, set[asyncio.Task[Any]]]:
    tasks: set[asyncio.Task[Any]] = set()
    edits = EditCoalescer(platform.edit, lambda coro: tasks.add(asyncio.ensure_future(coro)),
                          min_interval=0, first_backoff=0.001)  # fmt: skip
    return edits, tasks


async def settle(tasks: set[asyncio.Task[Any]]) -> None:
    while any(not task.done() for task in tasks):
        await asyncio.gather(*tasks)


async def test_a_failed_edit_is_retried_until_it_lands() -> None:
    platform = FlakyPlatform(failures=3)
    edits, tasks = coalescer(platform)
    edits.submit(REF, Card(title="3 votes"))
    await settle(tasks)
    assert platform.shown == Card(title="3 votes") and platform.attempts == 4
    assert edits.failed == 3 and edits.dropped == 0


async def test_a_newer_card_replaces_the_one_being_retried() -> None:
    platform = FlakyPlatform(failures=1)
    edits, tasks = coalescer(platform)
    edits.submit(REF, Card(title="1 vote"))
    await asyncio.sleep(0)
    edits.submit(REF, Card(title="2 votes"))
    await settle(tasks)
    assert platform.shown == Card(title="2 votes") and platform.attempts == 2


async def test_live_cards_are_given_up_after_a_limit_but_final_cards_are_not() -> None:
    platform = FlakyPlatform(failures=MAX_ATTEMPTS + 2)
    edits, tasks = coalescer(platform)
    edits.submit(REF, Card(title="live"))
    await settle(tasks)
    assert platform.shown is None and edits.dropped == 1

    platform = FlakyPlatform(failures=MAX_ATTEMPTS + 2)
    edits, tasks = coalescer(platform)
    edits.submit(REF, Card(title="closed"), final=True)
    edits.submit(REF, Card(title="closed, again"))  # a later non-final card keeps it final
    await settle(tasks)
    assert platform.shown == Card(title="closed, again") and edits.dropped == 0


async def test_a_deleted_message_stops_the_retries() -> None:
    platform = FlakyPlatform(failures=100, error=MessageGone("deleted"))
    edits, tasks = coalescer(platform)
    edits.submit(REF, Card(title="closed"), final=True)
    await settle(tasks)
    assert platform.attempts == 1


def test_retry_after_is_read_from_the_error_or_its_response() -> None:
    assert retry_after(SimpleNamespace(retry_after=2.5)) == 2.5  # type: ignore[arg-type]
    slack = SimpleNamespace(response=SimpleNamespace(headers={"Retry-After": "30"}))
    assert retry_after(slack) == 30.0  # type: ignore[arg-type]
    assert retry_after(RuntimeError("x")) is None
    assert retry_after(SimpleNamespace(retry_after="soon")) is None  # type: ignore[arg-type]


async def test_the_retry_waits_as_long_as_the_platform_asks() -> None:
    class RateLimited(Exception):
        retry_after = 0.2

    platform = FlakyPlatform(failures=1, error=RateLimited())
    edits, tasks = coalescer(platform)
    loop = asyncio.get_running_loop()
    began = loop.time()
    edits.submit(REF, Card(title="x"))
    await settle(tasks)
    assert loop.time() - began >= 0.2 and platform.shown is not None

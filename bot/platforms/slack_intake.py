"""How the Slack adapter takes in work: acknowledged means durable, bounded, drained.

Slack does not redeliver a click or a slash command, so the adapter acknowledges one only
after handling it: each listener runs `Bot.dispatch` first and acks when it has finished,
or when ACK_BUDGET has passed (Slack's own limit is 3 s). Every handler commits its effect
within milliseconds and before any slow Web API call, so an ack that follows the dispatch
follows the commit. If the budget passes anyway (a users.info lookup stuck behind Slack's
rate limits, say) the ack goes out and the dispatch finishes in the background, tracked
here and drained on shutdown.

Answers that nobody waits for (ephemeral ones, whose delivery returns no message to edit)
are held by the interaction's `AckGate` and sent once the ack is on its way, so a slow
`response_url` or `chat.postEphemeral` never makes an ack late. An answer whose message
the handler needs (a poll's live card: its `ts` is stored for later edits) goes out at
once, within the budget.

At most MAX_IN_FLIGHT interactions are in flight (from admission until the handler and
its answers are done); beyond that, and while shutting down, a command or click is
answered at once with BUSY (or CLOSING) and nothing is written. An event is refused with
HTTP 503 so that Slack redelivers it (see `Intake.refusal`).

`Intake.drain` (called by `SlackPlatform.close`) refuses new work, then waits up to
DRAIN_LIMIT seconds for every interaction in flight, answers included.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError

from bot.model import MessageRef

log = logging.getLogger("bot.platforms.slack")

ACK_BUDGET = 2.5  # seconds a listener may handle an interaction before it acks anyway
MAX_IN_FLIGHT = 200  # interactions admitted and not finished (handler and answers)
DRAIN_LIMIT = 60.0  # seconds close() waits for interactions in flight
NOTICES_MAX = 50  # "busy" notices posted to response_urls at once; beyond, the ack alone says it
REPORT_EVERY = 10.0  # seconds between log lines about refusals and late acks
BUSY = "The bot is busy right now; nothing was recorded. Please try again in a moment."
CLOSING = "The bot is restarting; nothing was recorded. Please try again in a moment."

Deliver = Callable[[], Awaitable[MessageRef | None]]


class AckGate:
    """One interaction's answers: held while it is not yet acknowledged, then in order."""

    def __init__(self) -> None:
        self._held: list[Deliver] | None = []
        self._order = asyncio.Lock()

    @property
    def opened(self) -> bool:
        return self._held is None

    async def send(self, deliver: Deliver, *, needs_ref: bool) -> MessageRef | None:
        """Deliver now if the ack is done or the caller needs the message it makes (first
        sending what was held before it, to keep the order); otherwise hold it."""
        if self._held is not None and not needs_ref:
            self._held.append(deliver)
            return None
        async with self._order:
            await self._send_held(keep_holding=True)
            return await deliver()

    async def release(self) -> None:
        """The ack is done: send what was held; later answers go at once."""
        async with self._order:
            await self._send_held(keep_holding=False)

    async def _send_held(self, *, keep_holding: bool) -> None:
        while self._held:
            deliver = self._held.pop(0)
            try:
                await deliver()
            except Exception as exc:  # the handler has moved on; nobody else can report it
                log.warning("an answer could not be delivered error=%s", describe(exc))
        if not keep_holding:
            self._held = None


class Intake:
    """Admission, the ack budget and the drain, for every listener of one platform."""

    def __init__(self, *, limit: int = MAX_IN_FLIGHT, budget: float = ACK_BUDGET) -> None:
        self.limit = limit
        self.budget = budget
        self.closing = False
        self.in_flight = 0
        self.peak = 0  # the most in flight at once, for benchmarks and logs
        self._tasks: set[asyncio.Task[Any]] = set()
        self._notices = 0
        self._busy = self._closing = self._late = 0
        self._reported = float("-inf")

    def admit(self) -> bool:
        """Take one more interaction, or False: busy or closing (see `refusal`)."""
        if self.closing or self.in_flight >= self.limit:
            if self.closing:
                self._closing += 1
            else:
                self._busy += 1
            self._report()
            return False
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        return True

    def release(self) -> None:
        """Give back an admission that was not run (a replayed request, acknowledged only)."""
        self.in_flight -= 1

    def refusal(self) -> str:
        return CLOSING if self.closing else BUSY

    async def run(self, ack: Callable[[], Awaitable[Any]], work: Coroutine[Any, Any, None], gate: AckGate,
                  what: str) -> None:  # fmt: skip
        """An admitted interaction: handle it, within the budget, then ack, then send the
        answers it held. The handling is a task of its own, so neither the budget nor a
        cancelled request cuts it short."""
        task = self._track(asyncio.create_task(_logged(work, what)))
        try:
            done, _ = await asyncio.wait({task}, timeout=self.budget)
            if not done:
                self._late += 1
                self._report()
            await ack()
        finally:
            self._track(asyncio.create_task(self._finish(task, gate)))

    async def _finish(self, task: asyncio.Task[None], gate: AckGate) -> None:
        try:
            await gate.release()
            await asyncio.wait({task})
        finally:
            self.in_flight -= 1

    def notify(self, send: Callable[[], Awaitable[object]]) -> None:
        """Post a refusal where the member sees it (a click's response_url), a few at once."""
        if self._notices >= NOTICES_MAX:
            return
        self._notices += 1

        async def notice() -> None:
            try:
                await send()
            except Exception as exc:
                log.info("a busy notice could not be posted error=%s", describe(exc))
            finally:
                self._notices -= 1

        self._track(asyncio.create_task(notice()))

    async def drain(self, limit: float = DRAIN_LIMIT) -> None:
        """Refuse new work; wait for what is in flight, up to `limit` seconds, then cancel
        the rest (a handler cut short rolls its transaction back)."""
        self.closing = True
        deadline = time.monotonic() + limit
        if self._tasks:
            log.info("slack: finishing %d interactions in flight", self.in_flight)
        while self._tasks and (left := deadline - time.monotonic()) > 0:
            await asyncio.wait(set(self._tasks), timeout=left)
        self._report(force=True)
        if self._tasks:
            log.error("slack: %d interactions still running after %.0fs; cancelled", self.in_flight, limit)
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def idle(self) -> None:
        """Until nothing is in flight (tests, benchmarks)."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    def _track(self, task: asyncio.Task[Any]) -> asyncio.Task[Any]:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _report(self, *, force: bool = False) -> None:
        """At most one log line per REPORT_EVERY seconds, not one per click in a burst."""
        now = time.monotonic()
        if now - self._reported < REPORT_EVERY and not force:
            return
        if self._busy:
            log.warning("slack busy: refused %d interactions (limit %d in flight)", self._busy, self.limit)
        if self._closing:
            log.info("slack closing: refused %d interactions", self._closing)
        if self._late:
            log.warning("slack: %d interactions took over %.1fs; acknowledged before they finished",
                        self._late, self.budget)  # fmt: skip
        self._busy = self._closing = self._late = 0
        self._reported = now


async def _logged(work: Awaitable[None], what: str) -> None:
    """Nobody else awaits the handling, so its failure is logged here: in one line when
    Slack or the network failed or the payload lacked a field, with a traceback otherwise."""
    try:
        await work
    except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
        log.warning("handling a slack %s failed error=%s", what, describe(exc))
    except (KeyError, TypeError, AttributeError) as exc:
        log.warning("slack %s ignored: malformed payload (%s)", what, describe(exc))
    except Exception:
        log.exception("handling a slack %s failed", what)


def describe(exc: BaseException) -> str:
    """One line about a failure, without a token or a response_url."""
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error"))
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"HTTP {exc.status}"
    if isinstance(exc, aiohttp.ClientError):  # its text may name the URL
        return type(exc).__name__
    return f"{type(exc).__name__}: {exc}"[:200]

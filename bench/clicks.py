"""What the Discord and Slack vote benchmarks share: the fake's process, the polls, paired
burst rounds, the steady run and the figures.

A round: a new poll (made untimed, through the core, its message posted on the fake), then
a burst of clicks on it to the floor (a bare library handler that answers each click
"Your vote: ...") and a burst to the bot (a real vote: stored, answered, the poll message
edited), back to back, alternating which goes first. Every member clicks once, so every
vote is new. The fake process sends the clicks and times them (see bench/fakes.py).

`--adapter-only` puts `AdapterOnly` in the bot's place: the platform adapter, whole, in
front of a core that answers each vote at once and stores nothing. Its figures
(`<platform>.adapter_only.*`, no goals) show how near the floor the adapter alone comes:
the ceiling of the vote_burst ratio, since everything the core does comes on top of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bench.common import Figure, alternate, figure, median, paired, percentile
from bot.app import Bot
from bot.cards import Card, notice
from bot.model import ButtonPressed, CommandInvoked, Interaction, Member, MessageRef, Place, Role
from bot.platforms.base import Platform, Responder

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-poll-secret-0123456789"
LABELS = ("MARC", "RDA", "BIBFRAME")
POLL = 'poll create "Best standard?" ' + " ".join(LABELS)
ANSWER = "Your vote"
BURST_GOAL = "ratio >= 0.8"
DEADLINE_GOAL = "value < 3000"  # both platforms' 3 s
STEADY_GOAL = "value < 50"


def answer_text(custom_id: str) -> str:
    """What a bare handler answers to `poll.vote:<poll>:<option>` (what the bot says too)."""
    return f"{ANSWER}: {LABELS[int(custom_id.rsplit(':', 1)[1]) % len(LABELS)]}."


class AdapterOnly(Bot):
    """The bot with a core that answers a vote at once ("Your vote: ...", as the floor
    does) and stores nothing; anything else goes through the real core (the bench's polls)."""

    async def dispatch(self, event: Interaction, responder: Responder) -> bool:
        if isinstance(event, ButtonPressed) and event.custom_id.startswith("poll.vote:"):
            await responder.respond(notice(answer_text(event.custom_id)))
            return True
        return await super().dispatch(event, responder)


def quiet() -> None:
    logging.basicConfig(level=logging.WARNING)
    for name in ("discord", "slack_bolt", "slack_sdk", "bot", "aiohttp"):
        logging.getLogger(name).setLevel(logging.WARNING)


class FakeProcess:
    """`python -m bench.fakes KIND` in a process of its own, driven over its control port."""

    def __init__(self, process: asyncio.subprocess.Process, hello: dict[str, Any]) -> None:
        self.process = process
        self.hello = hello
        self.control = f"http://127.0.0.1:{hello['control']}/_control"
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=300))

    @classmethod
    async def start(cls, kind: str, *args: str) -> FakeProcess:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.fakes", kind, *args, cwd=ROOT,
            stdout=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 60)
        if not line:
            raise SystemExit(f"bench.fakes {kind} did not start")
        return cls(process, json.loads(line))

    async def call(self, path: str, spec: dict[str, Any] | None = None) -> dict[str, Any]:
        method = "POST" if spec is not None else "GET"
        async with self.http.request(method, f"{self.control}/{path}", json=spec) as response:
            response.raise_for_status()
            result: dict[str, Any] = await response.json()
            return result

    async def burst(self, **spec: Any) -> Burst:
        return Burst(**(await self.call("burst", spec)))

    async def close(self) -> None:
        await self.http.close()
        if self.process.returncode is None:
            self.process.terminate()
        await self.process.wait()


@dataclass
class Burst:
    """One burst as the fake saw it (see bench/fakes.py); `stored`: votes the bot stored."""

    sent: int
    acked: int
    answered: int
    refused: int
    wrong: int
    seconds: float
    cpu: float
    ack_ms: list[float]
    answer_ms: list[float]
    edits: int
    converged_ms: float | None
    stored: int = 0

    @property
    def rate(self) -> float:
        return self.answered / self.seconds if self.seconds > 0 else 0.0

    @property
    def answer_p99(self) -> float:
        return percentile(self.answer_ms, 0.99)

    @property
    def ack_p99(self) -> float:
        return percentile(self.ack_ms, 0.99)

    def line(self, label: str) -> str:
        return (f"{label:<30} {self.answered:>5}/{self.sent:<5} {self.refused:>5} {self.rate:>8.0f} "
                f"{percentile(self.ack_ms, 0.5):>7.1f} {self.ack_p99:>7.1f} {percentile(self.answer_ms, 0.5):>7.1f} "
                f"{self.answer_p99:>7.1f} {self.edits:>5} {self.converged_ms or float('nan'):>9.0f} "
                f"{self.cpu / self.seconds if self.seconds else 0:>5.2f}")  # fmt: skip


HEADER = (f"{'':<30} {'answered':>11} {'busy':>5} {'votes/s':>8} {'ack p50':>7} {'ack p99':>7} {'ans p50':>7} "
          f"{'ans p99':>7} {'edits':>5} {'conv. ms':>9} {'fake':>5}")  # fmt: skip


class Posting:
    """The answer to `poll create`, posted in the channel through the platform."""

    def __init__(self, platform: Platform, place: Place) -> None:
        self.platform = platform
        self.place = place
        self.ref: MessageRef | None = None

    async def respond(self, card: Card) -> MessageRef | None:
        self.ref = await self.platform.send(self.place, card)
        return self.ref


async def new_poll(bot: Bot, platform: Platform, place: Place) -> tuple[int, str]:
    """A poll in `place`, posted on the fake: (its id, its message id or ts)."""
    creator = Member(place.platform, "900", "Moderator", Role.MODERATOR)  # moderators have no poll quota
    posting = Posting(platform, place)
    await bot.dispatch(CommandInvoked(creator, place, text=POLL), posting)
    await bot.idle()
    if posting.ref is None:
        raise SystemExit("the bench poll was not posted")
    return int(await bot.db.scalar("SELECT MAX(id) FROM polls")), posting.ref.message_id


async def stored(bot: Bot, poll: int) -> int:
    return int(await bot.db.scalar("SELECT COUNT(*) FROM poll_votes WHERE poll_id = ?", (poll,)))


Send = Callable[[int, str, int, float], Awaitable[Burst]]  # (poll, message, count, rate) -> burst


@dataclass
class Results:
    pairs: list[tuple[Burst, Burst]]  # (floor, bot) per round
    steady: tuple[Burst, Burst]


async def rounds(bot: Bot, platform: Platform, place: Place, floor: Send, load: Send, *, clicks: int, count: int,
                 rate: float, seconds: float) -> Results:  # fmt: skip
    """A warm-up pair, `count` paired burst rounds, then one steady pair at `rate`."""

    async def run(send: Send, size: int, at: float, poll: tuple[int, str] | None = None) -> Burst:
        poll = poll or await new_poll(bot, platform, place)
        burst = await send(*poll, size, at)
        await bot.idle()  # the coalesced edits land and cool down before the next burst
        burst.stored = await stored(bot, poll[0])
        return burst

    await run(floor, clicks, 0)  # warm: connections, caches (Slack's users), Bolt's auth.test
    await run(load, clicks, 0)
    polls: dict[int, tuple[int, str]] = {}

    async def poll_of(r: int) -> tuple[int, str]:  # both sides of a round click on one poll's message
        if r not in polls:
            polls[r] = await new_poll(bot, platform, place)
        return polls[r]

    async def floor_round(r: int) -> Burst:
        return await run(floor, clicks, 0, await poll_of(r))

    async def load_round(r: int) -> Burst:
        return await run(load, clicks, 0, await poll_of(r))

    pairs = await alternate(count, floor_round, load_round)
    steady_n = max(1, int(rate * seconds))
    steady = (await run(floor, steady_n, rate), await run(load, steady_n, rate))
    return Results(pairs, steady)


def figures(prefix: str, results: Results, *, ack_deadline: bool,
            adapter_only: bool = False) -> tuple[list[Figure], list[str]]:  # fmt: skip
    """The figures of one platform, and notes for the human table. `adapter_only` (the
    load was `AdapterOnly`): named `<prefix>.adapter_only.*`, without goals but two: every
    vote answered, and none stored (the core was not in the way)."""
    pairs, (steady_floor, steady_load) = results.pairs, results.steady
    floors, loads = [f for f, _ in pairs], [lo for _, lo in pairs]

    def goal(text: str) -> str | None:
        return None if adapter_only else text

    if adapter_only:
        prefix = f"{prefix}.adapter_only"
    out = [
        paired(f"{prefix}.vote_burst", "votes/s", [b.rate for b in loads], [b.rate for b in floors], goal(BURST_GOAL)),
        paired(f"{prefix}.vote_burst_answer_p99", "ms", [b.answer_p99 for b in loads], [b.answer_p99 for b in floors],
               None if ack_deadline else goal(DEADLINE_GOAL)),
    ]  # fmt: skip
    if ack_deadline:
        out.append(paired(f"{prefix}.vote_burst_ack_p99", "ms", [b.ack_p99 for b in loads],
                          [b.ack_p99 for b in floors], goal(DEADLINE_GOAL)))  # fmt: skip
    if not adapter_only:  # no votes, so no tally to converge on
        out += [
            figure(f"{prefix}.vote_burst_converged", median(b.converged_ms or float("nan") for b in loads), "ms"),
            figure(f"{prefix}.vote_burst_edits", median(b.edits for b in loads), "edits"),
        ]
    out.append(figure(f"{prefix}.vote_steady_answer_p99", steady_load.answer_p99, "ms", steady_floor.answer_p99,
                      goal=goal(STEADY_GOAL)))  # fmt: skip
    every = [*loads, steady_load]
    sent = sum(b.sent for b in every)
    out.append(figure(f"{prefix}.votes_answered", sum(b.answered for b in every), "votes", sent, goal="ratio == 1"))
    if adapter_only:  # its core stored nothing: the adapter alone was timed
        out.append(figure(f"{prefix}.votes_stored", sum(b.stored for b in every), "votes", goal="value == 0"))
    else:
        out.append(figure(f"{prefix}.votes_stored", sum(b.stored for b in every), "votes", sent, goal="ratio == 1"))
    notes = [HEADER]
    for r, (floor, load) in enumerate(pairs):
        notes.append(floor.line(f"round {r + 1} floor"))
        notes.append(load.line(f"round {r + 1} bot") + f"  ratio {load.rate / floor.rate if floor.rate else 0:.2f}")
    notes.append(steady_floor.line(f"steady {steady_floor.sent} floor"))
    notes.append(steady_load.line(f"steady {steady_load.sent} bot"))
    busy = [b for f, lo in pairs for b in (f, lo) if b.seconds and b.cpu / b.seconds > 0.8]
    if busy:
        notes.append(f"note: the fake's process was busy over {len(busy)} bursts (CPU > 0.8 of the burst): "
                     "there, the fake may bound both sides, and the ratio flatters the bot")  # fmt: skip
    return out, notes


@contextlib.asynccontextmanager
async def fake_process(kind: str, *args: str) -> AsyncIterator[FakeProcess]:
    fake = await FakeProcess.start(kind, *args)
    try:
        yield fake
    finally:
        await fake.close()

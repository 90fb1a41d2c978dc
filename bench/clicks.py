"""What the Discord and Slack vote benchmarks share: the fake's process, the polls, the
burst rounds, the steady run and the figures.

A round: a new poll (made untimed, through the core, its message posted on the fake), then
bursts of clicks on it, back to back, to three contestants in an order that rotates from
round to round: the floor (a bare library handler that answers each click "Your vote:
..."), the bot (a real vote: stored, answered, the poll message edited), and the adapter
alone (`AdapterOnly`: the bot's real platform adapter, with a database of its own, in
front of a core that answers each vote at once with the floor's text and stores nothing).
Every member clicks once a burst, so every vote is new.

The adapter alone shows how near the floor a bot could come if its core cost nothing: the
ceiling of the vote_burst ratio, measured in the same rounds (`<platform>.adapter_only.*`,
no speed goal). Its database is empty (with `--history` the bot's is a copy of the
history); all it writes is what the adapter writes (Slack's request-identity claims). The
order of the three changes from round to round (ORDERS). The fake process sends the clicks
and times them (see bench/fakes.py).
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

from bench.common import Figure, figure, median, paired, percentile
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
    does) and stores nothing; anything else goes through the real core."""

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
    rounds: list[tuple[Burst, Burst, Burst]]  # (floor, bot, adapter alone) per round, run in ORDERS[r % 6]
    steady: tuple[Burst, Burst]  # (floor, bot)


# Round r runs the contestants in ORDERS[r % 6]: each block of three rounds puts each one
# first, second and third once; the second block reverses the first's cycle, so each
# follows each of the others as often over six rounds.
ORDERS = ((0, 1, 2), (1, 2, 0), (2, 0, 1), (0, 2, 1), (2, 1, 0), (1, 0, 2))
NAMES = ("floor", "bot", "adapter alone")


async def rounds(bot: Bot, platform: Platform, place: Place, floor: Send, load: Send, adapter: Send, *,
                 clicks: int, count: int, rate: float, seconds: float) -> Results:  # fmt: skip
    """A warm-up burst each, `count` rounds of one burst each on one poll, in the orders
    of ORDERS (balanced when `count` is a multiple of 3), then one steady pair (floor,
    bot) at `rate`."""

    async def run(send: Send, size: int, at: float, poll: tuple[int, str] | None = None) -> Burst:
        poll = poll or await new_poll(bot, platform, place)
        burst = await send(*poll, size, at)
        await bot.idle()  # the coalesced edits land and cool down before the next burst
        burst.stored = await stored(bot, poll[0])
        return burst

    for warm in (floor, load, adapter):  # connections, caches (Slack's users), Bolt's auth.test
        await run(warm, clicks, 0)
    timed: list[tuple[Burst, Burst, Burst]] = []
    sides = (floor, load, adapter)
    for r in range(count):
        poll = await new_poll(bot, platform, place)  # every contestant of a round clicks on its message
        bursts: dict[int, Burst] = {}
        for side in ORDERS[r % len(ORDERS)]:
            bursts[side] = await run(sides[side], clicks, 0, poll)
        timed.append((bursts[0], bursts[1], bursts[2]))
    steady_n = max(1, int(rate * seconds))
    steady = (await run(floor, steady_n, rate), await run(load, steady_n, rate))
    return Results(timed, steady)


def figures(prefix: str, results: Results, *, ack_deadline: bool) -> tuple[list[Figure], list[str]]:
    """The figures of one platform, and notes for the human table. The adapter alone's
    (`<prefix>.adapter_only.*`) carry no goal on speed; every vote it was sent answered."""
    (steady_floor, steady_load) = results.steady
    floors = [f for f, _, _ in results.rounds]
    loads = [lo for _, lo, _ in results.rounds]
    alone = [a for _, _, a in results.rounds]
    out = [
        paired(f"{prefix}.vote_burst", "votes/s", [b.rate for b in loads], [b.rate for b in floors], BURST_GOAL),
        paired(f"{prefix}.vote_burst_answer_p99", "ms", [b.answer_p99 for b in loads], [b.answer_p99 for b in floors],
               None if ack_deadline else DEADLINE_GOAL),
    ]  # fmt: skip
    if ack_deadline:
        out.append(paired(f"{prefix}.vote_burst_ack_p99", "ms", [b.ack_p99 for b in loads],
                          [b.ack_p99 for b in floors], DEADLINE_GOAL))  # fmt: skip
    out += [
        figure(f"{prefix}.vote_burst_converged", median(b.converged_ms or float("nan") for b in loads), "ms"),
        figure(f"{prefix}.vote_burst_edits", median(b.edits for b in loads), "edits"),
        figure(f"{prefix}.vote_steady_answer_p99", steady_load.answer_p99, "ms", steady_floor.answer_p99, goal=STEADY_GOAL),
    ]
    every = [*loads, steady_load]
    sent = sum(b.sent for b in every)
    out.append(figure(f"{prefix}.votes_answered", sum(b.answered for b in every), "votes", sent, goal="ratio == 1"))
    out.append(figure(f"{prefix}.votes_stored", sum(b.stored for b in every), "votes", sent, goal="ratio == 1"))
    out += [
        paired(f"{prefix}.adapter_only.vote_burst", "votes/s", [b.rate for b in alone], [b.rate for b in floors]),
        paired(f"{prefix}.adapter_only.vote_burst_answer_p99", "ms", [b.answer_p99 for b in alone],
               [b.answer_p99 for b in floors]),  # fmt: skip
        figure(f"{prefix}.adapter_only.votes_answered", sum(b.answered for b in alone), "votes",
               sum(b.sent for b in alone), goal="ratio == 1"),  # fmt: skip
    ]
    if ack_deadline:
        out.append(paired(f"{prefix}.adapter_only.vote_burst_ack_p99", "ms", [b.ack_p99 for b in alone],
                          [b.ack_p99 for b in floors]))  # fmt: skip
    notes = [HEADER]
    for r, bursts in enumerate(results.rounds):
        floor_rate = bursts[0].rate
        for side in ORDERS[r % len(ORDERS)]:  # as they ran
            ratio = f"  ratio {bursts[side].rate / floor_rate if floor_rate else 0:.2f}" if side else ""
            notes.append(bursts[side].line(f"round {r + 1} {NAMES[side]}") + ratio)
    notes.append(steady_floor.line(f"steady {steady_floor.sent} floor"))
    notes.append(steady_load.line(f"steady {steady_load.sent} bot"))
    busy = [b for burst in results.rounds for b in burst if b.seconds and b.cpu / b.seconds > 0.8]
    if busy:
        notes.append(f"note: the fake's process was busy over {len(busy)} bursts (CPU > 0.8 of the burst): "
                     "there, the fake may bound the contestants, and a ratio flatters the slower one")  # fmt: skip
    notes.append("a ratio is the median of the per-round ratios, so it can differ from value / baseline (two medians); "
                 "with small bursts, the adapter alone can come out above the floor")  # fmt: skip
    return out, notes


@contextlib.asynccontextmanager
async def fake_process(kind: str, *args: str) -> AsyncIterator[FakeProcess]:
    fake = await FakeProcess.start(kind, *args)
    try:
        yield fake
    finally:
        await fake.close()

"""Poll votes through the core next to raw single-row commits of the same vote rows, in
paired rounds, on an empty database and on a copy of a database holding a history of
prior events (1 million by default).

    python -m bench.polls [--votes 1000] [--rounds 5] [--history PATH | --history-events N] [--json]

Load, the core: a burst of `--votes` votes, one per member (the options in turn), all
dispatched at once as `poll.vote` button presses through `Bot.dispatch` into the polls
cog: each vote read, decided and committed in its transaction, its engagement rows
buffered, its answer given, and the poll message's edit coalesced (sent to a platform whose
edit takes 50 ms, as a round trip would). Timed from the first dispatch until every vote
is answered and `db.flush()` has returned. Each round votes on a new poll, made untimed.

Floor, warm: the same vote rows as concurrent single-row autocommit INSERTs into
`poll_votes` (the table the core writes, with its keys) for a poll made for the purpose,
through a bare aiosqlite connection to the same database with the same pragmas, opened
and warmed with a burst before the first round.

Rounds alternate which side goes first; one database per variant serves every round.

Figures:
- polls.votes_per_s (and _<history size>): core votes/s, raw rows/s, the median of
  per-round ratios. Goal (issue 15): ratio >= 0.8.
- polls.edits_per_burst: message edits the platform received for one burst (coalesced).
- polls.votes_stored: votes stored / votes sent, over every round; goal ratio == 1.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiosqlite

from bench import history as hist
from bench.common import arguments, emit, figure, history_arguments, median, paired, ratios
from bench.dispatch import PRAGMAS, SECRET, size_label
from bot import heap
from bot.app import Bot
from bot.cards import Card
from bot.clock import ManualClock, iso
from bot.config import Settings
from bot.model import ButtonPressed, CommandInvoked, Community, Member, MessageRef, Place, Role
from storage.db import Database

GOAL = "ratio >= 0.8"
START = datetime(2026, 12, 1, 15, tzinfo=UTC)
COMMUNITY = Community("discord", "g1", "bench")
PLACE = Place(COMMUNITY, "general", "general")
CREATOR = Member("discord", "mod", "Moderator", Role.MODERATOR)  # moderators have no poll quota
OPTIONS = 3
EDIT_SECONDS = 0.05


class CountingPlatform:
    """Takes edits as a platform would (after coalescing), each a 50 ms round trip."""

    name = COMMUNITY.platform

    def __init__(self) -> None:
        self.edits = 0
        self.posted = 0

    async def start(self) -> None: ...

    async def send(self, place: Place, card: Card, **keyed: object) -> MessageRef:  # key=, since=: no history here
        self.posted += 1
        return MessageRef(self.name, place.channel_id, str(self.posted))

    async def edit(self, ref: MessageRef, card: Card) -> None:
        self.edits += 1
        await asyncio.sleep(EDIT_SECONDS)

    async def close(self) -> None: ...


class Posting:
    """The answer to `poll create`: posted as a message the poll's edits will target."""

    def __init__(self, platform: CountingPlatform) -> None:
        self.platform = platform

    async def respond(self, card: Card) -> MessageRef | None:
        return await self.platform.send(PLACE, card)


class Answers:
    def __init__(self) -> None:
        self.cards: list[Card] = []

    async def respond(self, card: Card) -> MessageRef | None:
        self.cards.append(card)
        return None


@dataclass
class Side:
    bot: Bot
    clock: ManualClock
    platform: CountingPlatform
    raw: aiosqlite.Connection
    prior: int = 0  # engagement events in the database before the benchmark wrote any

    async def close(self) -> None:
        await self.raw.close()
        await self.bot.close()


async def open_side(path: Path, votes: int) -> Side:
    settings = Settings(_env_file=None, bot_database=path, bot_poll_secret=SECRET)  # type: ignore[call-arg]
    clock = ManualClock(START)
    bot = Bot(settings, Database(path), clock)
    bot.load_cogs()
    platform = CountingPlatform()
    bot.add_platform(platform)
    await bot.open()
    heap.settle()  # as `alcts-bot run` does once started (bot/heap.py)
    raw = await aiosqlite.connect(path, isolation_level=None)
    for pragma in PRAGMAS:
        await raw.execute(pragma)
    side = Side(bot, clock, platform, raw, int(await bot.db.scalar("SELECT COUNT(*) FROM engagement_events")))
    await core_round(side, votes)  # warm both: caches, pages, the connection's thread
    await raw_round(side, votes)
    return side


async def new_poll(side: Side) -> int:
    await side.bot.dispatch(CommandInvoked(CREATOR, PLACE, text='poll create "Best standard?" MARC RDA BIBFRAME'),
                            Posting(side.platform))  # fmt: skip
    await side.bot.idle()
    side.clock.advance(timedelta(seconds=1))
    return int(await side.bot.db.scalar("SELECT MAX(id) FROM polls"))


def voters(votes: int) -> list[Member]:
    return [Member(COMMUNITY.platform, f"u{3 * i}", f"Member {3 * i}") for i in range(votes)]


@dataclass
class Burst:
    seconds: float
    stored: int
    answered: int
    edits: int


async def core_round(side: Side, votes: int) -> Burst:
    poll = await new_poll(side)
    bot, answers = side.bot, Answers()
    presses = [ButtonPressed(m, PLACE, custom_id=f"poll.vote:{poll}:{i % OPTIONS}") for i, m in enumerate(voters(votes))]
    edits = side.platform.edits
    await bot.db.flush()
    started = time.perf_counter()
    await asyncio.gather(*(bot.dispatch(press, answers) for press in presses))
    await bot.db.flush()
    seconds = time.perf_counter() - started
    await bot.idle()  # the coalesced edits land (and cool down) before anything else is timed
    stored = int(await bot.db.scalar("SELECT COUNT(*) FROM poll_votes WHERE poll_id = ?", (poll,)))
    answered = sum(1 for c in answers.cards if c.text.startswith("Your vote"))
    side.clock.advance(timedelta(seconds=5))
    return Burst(seconds, stored, answered, side.platform.edits - edits)


async def raw_round(side: Side, votes: int) -> Burst:
    poll = await new_poll(side)
    at = iso(side.clock.now())
    rows = [(poll, m.id, i % OPTIONS, at) for i, m in enumerate(voters(votes))]
    raw = side.raw
    insert = "INSERT INTO poll_votes (poll_id, voter, position, voted_at) VALUES (?, ?, ?, ?)"
    started = time.perf_counter()
    await asyncio.gather(*(raw.execute(insert, row) for row in rows))  # each its own commit (autocommit)
    seconds = time.perf_counter() - started
    stored = int(await side.bot.db.scalar("SELECT COUNT(*) FROM poll_votes WHERE poll_id = ?", (poll,)))
    return Burst(seconds, stored, votes, 0)


async def run(votes: int, rounds: int, history: str | None, history_events: int, as_json: bool) -> None:
    results: dict[str, list[tuple[Burst, Burst]]] = {}
    async with hist.prepared(history, history_events) as (source, about):
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            sides = [("empty", await open_side(tmp / "empty.sqlite3", votes))]
            if source is not None:
                large = await open_side(hist.copy(source, tmp / "history.sqlite3"), votes)
                sides.append((size_label(large.prior), large))
            try:
                for r in range(rounds):
                    for k, (variant, side) in enumerate(sides if r % 2 == 0 else sides[::-1]):
                        if (r + k) % 2 == 0:
                            floor = await raw_round(side, votes)
                            load = await core_round(side, votes)
                        else:
                            load = await core_round(side, votes)
                            floor = await raw_round(side, votes)
                        results.setdefault(variant, []).append((floor, load))
            finally:
                for _, side in sides:
                    await side.close()

    figures, notes = [], [f"{votes:,} votes a burst, {rounds} paired rounds; {about}"]
    for variant, pairs in results.items():
        loads = [votes / load.seconds for _, load in pairs]
        floors = [votes / floor.seconds for floor, _ in pairs]
        name = "polls.votes_per_s" + ("" if variant == "empty" else f"_{variant}")
        figures.append(paired(name, "votes/s", loads, floors, GOAL))
        notes.append(f"per-round ratio, {variant} database: " + " ".join(f"{x:.2f}" for x in ratios(loads, floors)))
    every = [pair for pairs in results.values() for pair in pairs]
    figures.append(figure("polls.edits_per_burst", median(load.edits for _, load in every), "edits"))
    sent = len(every) * votes
    stored = sum(load.stored for _, load in every)
    figures.append(figure("polls.votes_stored", stored, "votes", sent, goal="ratio == 1"))
    unanswered = sent - sum(load.answered for _, load in every)
    if unanswered or any(floor.stored != votes for floor, _ in every):
        notes.append(f"WARNING: {unanswered} votes not answered 'Your vote'; raw rows stored: "
                     + " ".join(str(floor.stored) for floor, _ in every))  # fmt: skip
    emit(figures, as_json, notes)


def main() -> None:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--votes", type=int, default=1000, help="votes a burst (one per member)")
    history_arguments(parser)
    args = parser.parse_args()
    asyncio.run(run(args.votes, args.rounds, args.history, args.history_events, args.json))


if __name__ == "__main__":
    main()

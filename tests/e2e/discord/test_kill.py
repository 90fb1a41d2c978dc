"""Acknowledged means durable, through the real `alcts-bot run` and the fake Discord: bursts
of 1,000 vote clicks from distinct members, the process killed with SIGKILL at several
moments (or stopped with SIGTERM while interaction callbacks are slow), then restarted on
the same database.

Discord does not redeliver an interaction, so every click the bot acknowledged (any
interaction callback the fake received: a reply, or a deferral) must be stored exactly
once; the database must pass `PRAGMA integrity_check`; and after the restart the poll
message shows the tally computed from the stored rows. A click that was never
acknowledged may or may not have counted (the member saw "This interaction failed").
"""

from __future__ import annotations

import asyncio
import logging
import re
import signal
import sqlite3
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.discord.conftest import ALICE, StartBot
from tests.e2e.discord.fake_discord import Answer, FakeDiscord, FakeUser
from tests.e2e.discord.test_events import eventually
from tests.e2e.discord.test_process import read, run_bot

OPTIONS = ("Red", "Green", "Blue")
BURST = 1000
DEFERRED_UPDATE = 6  # a click acknowledged silently (discord.py's response.defer())
# bounds, not measurements: generous, so a loaded 2-core CI machine does not flake
ACKS_WITHIN = 45.0
EXIT_WITHIN = 30.0
CONVERGE_WITHIN = 30.0
STALL = 2.6  # seconds another writer holds the database: past the 2 s deferral, within the 5 s busy timeout


@dataclass
class Burst:
    """One burst: who clicked what, and what Discord (the fake) saw acknowledged."""

    clicks: dict[int, tuple[FakeUser, int]] = field(default_factory=dict)  # interaction id -> (member, option)
    acked: dict[int, Answer] = field(default_factory=dict)  # interaction id -> its callback

    def acks(self) -> int:
        return len(self.acked)


def poll_number(answer: Answer) -> int:
    match = re.match(r"Poll #(\d+) ", answer.data["embeds"][0]["title"])
    assert match, answer.data
    return int(match[1])


def tally(message: dict[str, Any]) -> dict[str, str]:
    return {f["name"]: f["value"] for f in message["embeds"][0]["fields"]}


def stored(database: Path, poll: int) -> dict[str, list[int]]:
    """Voter id -> the positions stored for them (read with the bot stopped)."""
    with sqlite3.connect(database) as conn:
        rows = conn.execute("SELECT voter, position FROM poll_votes WHERE poll_id = ?", (poll,)).fetchall()
    votes: dict[str, list[int]] = {}
    for voter, position in rows:
        votes.setdefault(voter, []).append(position)
    return votes


def integrity(database: Path) -> str:
    with sqlite3.connect(database) as conn:
        return "; ".join(row[0] for row in conn.execute("PRAGMA integrity_check"))


def counts(votes: dict[str, list[int]]) -> dict[str, str]:
    """The tally the poll message should show, computed from the rows."""
    per_option = Counter(p for positions in votes.values() for p in positions)
    return {label: str(per_option[i]) for i, label in enumerate(OPTIONS)}


async def create_poll(fake: FakeDiscord) -> tuple[int, dict[str, Any]]:
    answer = await fake.reply(await fake.slash("poll create", ALICE, question="Best colour?", options="; ".join(OPTIONS)))
    assert answer.message is not None, answer.body
    return poll_number(answer), answer.message


async def fire(fake: FakeDiscord, poll: int, message: dict[str, Any], first_user: int, burst: Burst) -> None:
    """1,000 clicks from distinct members, sent back to back through the gateway."""
    for n in range(BURST):
        member = FakeUser(first_user + n, f"voter{first_user + n}")
        option = n % len(OPTIONS)
        interaction = await fake.click(f"poll.vote:{poll}:{option}", member, message)
        burst.clicks[interaction] = (member, option)


def watch(fake: FakeDiscord, burst: Burst, at: int, act: Any) -> None:
    """Record each acknowledgement; call `act()` the moment the `at`-th arrives. Only the
    burst's clicks are in flight while it is watched (a callback can reach the fake before
    `fire` has noted its click id, so every callback counts)."""

    def on_callback(interaction: int, answer: Answer) -> None:
        if interaction in burst.acked:  # a second answer to one click: `act` (a SIGTERM) only once
            return
        burst.acked[interaction] = answer
        if len(burst.acked) == at:
            act()

    fake.on_callback = on_callback


def slowest_ack_ms(fake: FakeDiscord, burst: Burst) -> int:
    """From INTERACTION_CREATE sent to its callback received, the slowest in the burst."""
    return round(1000 * max((fake.answered_at[i] - fake.sent_at[i] for i in burst.acked), default=0.0))


def check(database: Path, poll: int, bursts: list[Burst]) -> dict[str, int]:
    """Every acknowledged vote is stored once, as clicked; returns the figures."""
    assert integrity(database) == "ok"
    votes = stored(database, poll)
    assert all(len(positions) == 1 for positions in votes.values()), "a single-choice voter with two rows"
    lost, wrong, unacked_stored, unacked, deferred, errors = [], [], 0, 0, 0, []
    for burst in bursts:
        for interaction, (member, option) in burst.clicks.items():
            answer = burst.acked.get(interaction)
            positions = votes.get(str(member.id))
            if answer is None:
                unacked += 1
                unacked_stored += positions is not None
                continue
            if answer.type == DEFERRED_UPDATE:
                deferred += 1
            elif not answer.text.startswith("Your vote:"):
                errors.append(answer.text)
                continue
            if positions is None:
                lost.append(member.id)
            elif positions != [option]:
                wrong.append(member.id)
    assert not errors, f"acknowledged with an error: {Counter(errors).most_common(3)}"
    assert not lost, f"{len(lost)} acknowledged votes are not stored, e.g. voters {lost[:5]}"
    assert not wrong, f"{len(wrong)} acknowledged votes are stored for another option, e.g. {wrong[:5]}"
    return {"acked": sum(b.acks() for b in bursts), "deferred": deferred, "rows": len(votes),
            "unacked": unacked, "unacked_stored": unacked_stored}  # fmt: skip


async def converged(fake: FakeDiscord, message: dict[str, Any], database: Path, poll: int, edits_before: int) -> None:
    """After a restart the poll message is re-rendered from the stored rows."""
    votes = stored(database, poll)
    expected = counts(votes)
    message_id = int(message["id"])

    def done() -> bool:
        edited = any(mid == message_id for mid, _ in fake.message_edits[edits_before:])
        return edited and tally(message) == expected

    try:
        await fake.wait_for(done, within=CONVERGE_WITHIN)
    except TimeoutError:
        raise AssertionError(f"poll message shows {tally(message)}, stored {expected}") from None
    voters = len(votes)
    assert message["embeds"][0]["footer"]["text"].startswith(f"{voters} voter{'s' if voters != 1 else ''} so far")
    # Let the start-up timer's end wake the scheduler before any SIGTERM: on Python 3.11 a
    # cancel landing as `_wake` is set is swallowed by asyncio.wait_for in
    # Scheduler.run_forever, and Bot.close() then waits for the scheduler for ever (reported;
    # not this suite's subject).
    await asyncio.sleep(1.0)


async def terminate(process: asyncio.subprocess.Process, log: Path) -> int:
    """SIGTERM; the exit code, or a failure showing the log if it does not exit in time."""
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    try:
        return await asyncio.wait_for(process.wait(), EXIT_WITHIN)
    except TimeoutError:
        process.kill()
        raise AssertionError(f"no exit {EXIT_WITHIN}s after SIGTERM\n{read(log)[-5000:]}") from None


async def settle(fake: FakeDiscord) -> None:
    """Let the fake finish reading requests that arrived before the process died."""
    await asyncio.sleep(0.3 + fake.callback_delay)


async def test_sigkill_during_vote_bursts_loses_no_acknowledged_vote(fake: FakeDiscord, tmp_path: Path) -> None:
    log, database = tmp_path / "bot.log", tmp_path / "bot.sqlite3"
    process = await run_bot(fake, tmp_path, log)
    poll, message = await create_poll(fake)
    bursts: list[Burst] = []
    figures = []
    try:
        for number, kill_at in enumerate((100, 500, BURST)):  # acks in the burst when SIGKILL lands
            burst = Burst()
            bursts.append(burst)
            watch(fake, burst, kill_at, process.kill)
            await fire(fake, poll, message, 100_000 * (number + 1), burst)
            try:
                await asyncio.wait_for(process.wait(), ACKS_WITHIN)
            except TimeoutError:
                raise AssertionError(f"only {burst.acks()} of {BURST} clicks acknowledged\n{read(log)[-3000:]}") from None
            assert process.returncode == -signal.SIGKILL
            await settle(fake)
            fake.on_callback = None
            figures.append((kill_at, check(database, poll, bursts), slowest_ack_ms(fake, burst)))

            edits_before = len(fake.message_edits)
            process = await run_bot(fake, tmp_path, log)
            await converged(fake, message, database, poll, edits_before)
    finally:
        fake.on_callback = None
        rc = await terminate(process, log)
    assert rc == 0, read(log)[-3000:]
    print("\nSIGKILL at N acks ->", figures)
    assert "Traceback" not in read(log), read(log)[-3000:]


async def test_sigterm_mid_burst_with_slow_callbacks_drains_every_acknowledged_vote(
    fake: FakeDiscord, tmp_path: Path
) -> None:
    log, database = tmp_path / "bot.log", tmp_path / "bot.sqlite3"
    process = await run_bot(fake, tmp_path, log)
    poll, message = await create_poll(fake)
    fake.callback_delay = 0.5
    burst = Burst()
    signalled: list[float] = []

    def sigterm_now() -> None:
        signalled.append(time.monotonic())
        process.send_signal(signal.SIGTERM)

    watch(fake, burst, 100, sigterm_now)
    try:
        await fire(fake, poll, message, 100_000, burst)
        rc = await asyncio.wait_for(process.wait(), ACKS_WITHIN + EXIT_WITHIN)
    finally:
        if process.returncode is None:
            process.kill()
    assert signalled, f"only {burst.acks()} clicks acknowledged"
    took = time.monotonic() - signalled[0]
    assert rc == 0, read(log)[-3000:]
    await settle(fake)
    fake.on_callback = None
    figures = check(database, poll, [burst])
    print(f"\nSIGTERM after 100 acks: exit {rc} in {took:.1f}s ->", figures, slowest_ack_ms(fake, burst))
    assert took < EXIT_WITHIN
    assert "Traceback" not in read(log), read(log)[-3000:]

    fake.callback_delay = 0.0
    edits_before = len(fake.message_edits)
    process = await run_bot(fake, tmp_path, log)
    try:
        await converged(fake, message, database, poll, edits_before)
    finally:
        assert await terminate(process, log) == 0, read(log)[-3000:]


async def test_sigkill_while_the_database_stalls_loses_no_acknowledged_vote(fake: FakeDiscord, tmp_path: Path) -> None:
    """Another writer holds the database for longer than the bot's deferral delay (2 s), as
    a long `alcts-bot` command on the same file or a stalled disk would: a click must not
    be acknowledged while its vote waits for the database."""
    log, database = tmp_path / "bot.log", tmp_path / "bot.sqlite3"
    process = await run_bot(fake, tmp_path, log)
    poll, message = await create_poll(fake)
    stall = sqlite3.connect(database, timeout=10, isolation_level=None)
    burst = Burst()
    watch(fake, burst, 100, process.kill)
    try:
        stall.execute("BEGIN IMMEDIATE")  # the bot's writes now wait (its busy timeout is 5 s)
        release = asyncio.get_running_loop().call_later(STALL, stall.rollback)
        await fire(fake, poll, message, 100_000, burst)
        try:
            await asyncio.wait_for(process.wait(), ACKS_WITHIN)
        except TimeoutError:
            raise AssertionError(f"only {burst.acks()} of {BURST} clicks acknowledged\n{read(log)[-3000:]}") from None
        release.cancel()
    finally:
        if stall.in_transaction:
            stall.rollback()
        stall.close()
        if process.returncode is None:
            process.kill()
    await settle(fake)
    fake.on_callback = None
    figures = check(database, poll, [burst])
    print(f"\nSIGKILL at 100 acks, database stalled {STALL}s ->", figures, slowest_ack_ms(fake, burst))

    edits_before = len(fake.message_edits)
    process = await run_bot(fake, tmp_path, log)
    try:
        await converged(fake, message, database, poll, edits_before)
    finally:
        assert await terminate(process, log) == 0, read(log)[-3000:]


async def test_a_click_answered_after_discords_limit_is_stored_and_logged_once(
    fake: FakeDiscord, start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    """Clicks are not deferred on a timer, so one held up past Discord's 3 s is refused by
    Discord (10062): the vote still counts, and the late answer is one warning, not a
    handler failure and a failed error notice."""
    running = await start_bot()
    poll, message = await create_poll(fake)
    fake.interaction_ttl = 0.0  # every answer is too late
    voter = FakeUser(7001, "late")
    with caplog.at_level(logging.WARNING, logger="bot"):
        interaction = await fake.click(f"poll.vote:{poll}:1", voter, message)
        votes = "SELECT voter, position FROM poll_votes WHERE poll_id = ?"
        await eventually(lambda: running.rows(votes, (poll,)), lambda found: found == [(str(voter.id), 1)])

        async def warnings() -> list[str]:
            await asyncio.sleep(0)
            return [r.getMessage() for r in caplog.records if "answered after Discord's 3 s" in r.getMessage()]

        await eventually(warnings, lambda found: len(found) > 0)
        await asyncio.sleep(0.2)  # room for a second, unwanted, attempt to answer
    assert fake.answers[interaction] == []
    assert len(await warnings()) == 1
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text

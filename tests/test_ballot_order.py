"""Issue #14's attack on anonymous polls, for real: 30 members vote, the data folder is
copied (database, -wal, -shm) where an attacker could copy it, and the attacker, without the
key but knowing who clicked in what order, replays the write-ahead log commit by commit and
reads the page layout (tests/wal_attack.py). A ballot is *linked* when the attack pins its
choice on one member. Before the ballots were batched, shuffled and checkpointed away, the
replay linked 30 of 30 and the layout gave the click order exactly."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from pathlib import Path

from bot.cards import Card
from bot.model import ButtonPressed, Member, MessageRef
from cogs.polls import Polls
from tests.harness import TestBot
from tests.wal_attack import FolderCopy, ballots_in, images, insertion_order, occurrences, replay

MEMBERS = [f"member{n:02d}" for n in range(30)]
CHOICE = {member: (n * 7) % 3 for n, member in enumerate(MEMBERS)}  # every option, mixed in any stretch of 3
QUESTION = '/poll create "Your salary band?" "Under 50k" "50k to 80k" "Over 80k" anonymous=yes'


class Answers:
    """A responder that checks, as each answer goes out, that the member's ballot is
    already committed (read from the file by a connection of its own)."""

    def __init__(self, db_path: Path, polls: Polls, member: Member, poll_id: int) -> None:
        self.db_path, self.polls, self.member, self.poll_id = db_path, polls, member, poll_id
        self.texts: list[str] = []
        self.stored_before_answer: list[bool] = []

    async def respond(self, card: Card) -> MessageRef | None:
        voter = self.polls.anonymous_voter(self.poll_id, self.member)
        with closing(sqlite3.connect(self.db_path)) as conn:
            found = conn.execute("SELECT COUNT(*) FROM poll_votes WHERE voter = ?", (voter,)).fetchall()[0][0]
        self.stored_before_answer.append(found > 0 or "removed" in (card.text or ""))
        self.texts.append(card.text or "")
        return None


def polls_of(testbot: TestBot) -> Polls:
    return next(cog for cog in testbot.bot.cogs if isinstance(cog, Polls))


async def click(testbot: TestBot, name: str, position: int) -> Answers:
    member = Member("console", name, name)
    answers = Answers(testbot.settings.bot_database, polls_of(testbot), member, 1)
    event = ButtonPressed(member, testbot.console.place, custom_id=f"poll.vote:1:{position}")
    await testbot.bot.dispatch(event, answers)
    return answers


def attack(copy: FolderCopy, clickers: list[str], true_voter: dict[str, str]) -> tuple[int, int]:
    """(ballots the replay links, ballots the layout puts in click order) for one copy."""
    pinned = replay(copy, 1, clickers)
    linked = sum(1 for member, choice in pinned.items() if choice == (CHOICE[member],))  # a wrong pin links nothing
    final = images(copy)[-1]
    voted = [m for m in clickers if m in true_voter and final.find(true_voter[m].encode()) >= 0]
    order = insertion_order(final, [true_voter[m] for m in voted])
    in_order = sum(1 for member, voter in zip(voted, order, strict=True) if true_voter[member] == voter)
    return linked, in_order


async def test_one_member_after_another_the_replay_links_no_ballot(tmp_path: Path) -> None:
    testbot = await TestBot(tmp_path).start()
    db_path = testbot.settings.bot_database
    await testbot.push(QUESTION)
    polls = polls_of(testbot)
    for member in MEMBERS:  # each click answered before the next: the worst case for batching
        answers = await click(testbot, member, CHOICE[member])
        assert answers.texts[-1].startswith("Your vote:") and answers.stored_before_answer == [True]
    withdrawn = MEMBERS[:3]
    for member in withdrawn:  # three take their vote back: nothing of it may stay on disk
        assert "Vote removed" in (await click(testbot, member, CHOICE[member])).texts[-1]
    clickers = MEMBERS + withdrawn
    true_voter = {m: polls.anonymous_voter(1, Member("console", m, m)) for m in MEMBERS}
    kept = {m: v for m, v in true_voter.items() if m not in withdrawn}

    settled = FolderCopy.take(db_path)  # right after the last click was answered
    await testbot.stop()
    closed = FolderCopy.take(db_path)

    for copy in (settled, closed):
        linked, in_order = attack(copy, clickers, kept)
        assert linked == 0
        assert in_order <= 8  # a shuffle agrees by chance (1 expected, 9 or more: p < 1e-5); unshuffled: 27 of 27
        for member, voter in true_voter.items():  # no stale copy of a ballot in free space
            assert occurrences(copy, voter) == (0 if member in withdrawn else 1), member
        assert copy.wal == b""  # checkpointed and truncated (after close: removed)
    assert polls.store.ballots.batches == len(clickers)


async def test_a_burst_shares_one_commit_and_the_worst_moment_links_no_ballot(tmp_path: Path) -> None:
    testbot = await TestBot(tmp_path).start()
    db_path = testbot.settings.bot_database
    await testbot.push(QUESTION)
    polls = polls_of(testbot)
    polls.store.ballots.gather_seconds = 1.0  # generous, so a slow machine still gathers the burst
    worst: list[FolderCopy] = []
    checkpoint = testbot.db.checkpoint

    async def copy_then_checkpoint() -> bool:  # the attacker copies between commit and checkpoint
        worst.append(FolderCopy.take(db_path))
        return await checkpoint()

    testbot.db.checkpoint = copy_then_checkpoint  # type: ignore[method-assign]
    answers = await asyncio.gather(*(click(testbot, member, CHOICE[member]) for member in MEMBERS))
    settled = FolderCopy.take(db_path)
    await testbot.stop()
    closed = FolderCopy.take(db_path)

    assert all(a.stored_before_answer == [True] and a.texts[-1].startswith("Your vote:") for a in answers)
    true_voter = {m: polls.anonymous_voter(1, Member("console", m, m)) for m in MEMBERS}
    for copy in (*worst, settled, closed):  # the attacker's record: the clicks before the copy
        linked, in_order = attack(copy, MEMBERS[: len(ballots_in(images(copy)[-1], 1) or {})], true_voter)
        assert linked == 0
        assert in_order <= 8
    assert polls.store.ballots.batches == 1  # 30 concurrent clicks, one commit
    assert len(worst) == 1 and worst[0].wal  # the one moment the log holds ballots
    with closing(sqlite3.connect(db_path)) as conn:
        stored = dict(conn.execute("SELECT voter, position FROM poll_votes").fetchall())
    assert stored == {true_voter[m]: CHOICE[m] for m in MEMBERS}


async def test_forget_me_leaves_no_trace_of_the_ballot_it_takes(tmp_path: Path) -> None:
    testbot = await TestBot(tmp_path).start()
    await testbot.push(QUESTION)
    polls = polls_of(testbot)
    for member in MEMBERS[:5]:
        await click(testbot, member, CHOICE[member])
    gone = polls.anonymous_voter(1, Member("console", MEMBERS[2], MEMBERS[2]))
    out = await testbot.push(f":as {MEMBERS[2]}", "/privacy forget-me", ":click 1")
    assert "polls 1" in out
    copy = FolderCopy.take(testbot.settings.bot_database)
    assert copy.wal == b"" and occurrences(copy, gone) == 0  # no log frame, no zeroed-out cell left readable
    assert len(ballots_in(copy.db, 1) or {}) == 4
    await testbot.stop()

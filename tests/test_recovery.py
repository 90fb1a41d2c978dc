"""Crash recovery and reconciliation through the real cogs: every state that blocks a
channel or promises a deadline has a pending timer that will end it, or is ended."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.cards import Card
from bot.commands import button
from bot.platforms.console import ConsoleResponder
from tests.harness import TestBot
from tests.test_trivia import MINI_PACK

Q = 'poll create "Which metadata standard do you use most?" MARC RDA "Dublin Core"'


def packs(tmp_path: Path) -> Path:
    folder = tmp_path / "packs"
    folder.mkdir(exist_ok=True)
    (folder / "mini.yaml").write_text(MINI_PACK)
    return folder


async def crash_during(testbot: TestBot, seconds: float, hang_on: str) -> None:
    """Let `seconds` pass; when the bot sends a card whose text contains `hang_on`, the
    process "dies": the send never returns, timers in flight stay 'running' in the
    database, and nothing is closed gracefully (as with kill -9)."""
    hung = asyncio.Event()
    real_send = testbot.console.send

    async def send(place: Any, card: Card) -> Any:
        if hang_on in card.plain_text():
            hung.set()
            await asyncio.sleep(3600)
        return await real_send(place, card)

    testbot.console.send = send  # type: ignore[method-assign]
    testbot.clock.advance(timedelta(seconds=seconds))
    runner = asyncio.create_task(testbot.bot.scheduler.run_due())
    await asyncio.wait_for(hung.wait(), 5)
    await testbot.bot.scheduler.stop(grace=0)
    runner.cancel()
    await asyncio.gather(runner, return_exceptions=True)
    await testbot.db.close()


async def test_an_interrupted_reveal_runs_again_and_the_round_ends_once(tmp_path: Path) -> None:
    first = await TestBot(tmp_path, bot_trivia_packs=packs(tmp_path)).start()
    await first.push("/trivia start mini questions=2", ":click 1")
    await crash_during(first, 21, hang_on="Answer:")  # the reveal is stored, its post hangs
    assert await first_status(tmp_path, "trivia.reveal") == "running"

    second = TestBot(tmp_path, bot_trivia_packs=packs(tmp_path))
    second.clock.set(first.clock.now())
    await second.start()
    out = await second.wait(60)
    assert "Question 2 of 2" in out  # the round went on
    out += await second.push(":click 1") + await second.wait(60)
    assert out.count("That was the last of 2 questions.") == 1
    rounds = await second.db.fetchall("SELECT status FROM trivia_rounds")
    assert [row[0] for row in rounds] == ["completed"]
    assert "2 questions from Mini" in await second.push("/trivia start mini questions=2")  # channel free
    await second.stop()


async def first_status(tmp_path: Path, name: str) -> str:
    from storage.db import Database

    db = Database(tmp_path / "bot.sqlite3")
    await db.open()
    try:
        return str(await db.scalar("SELECT status FROM timers WHERE name = ? ORDER BY id LIMIT 1", (name,)))
    finally:
        await db.close()


async def test_an_interrupted_poll_close_runs_again_and_closes_once(tmp_path: Path) -> None:
    first = await TestBot(tmp_path).start()
    await first.push(f"/{Q} closes=1h", ":click 2", ":as ann", ":click 1")
    await first.db.execute("UPDATE timers SET status = 'running', attempts = 1 WHERE name = 'poll.close'")
    await first.db.close()  # killed right after claiming the close

    second = TestBot(tmp_path)
    second.clock.advance(timedelta(hours=2))
    await second.start()
    await second.bot.scheduler.run_due()
    await second.bot.idle()
    out = second.out.getvalue()
    assert out.count("Poll #1 closed.") == 1
    assert await second.db.scalar("SELECT closed_at IS NOT NULL FROM polls") == 1
    assert await second.db.scalar("SELECT status FROM timers WHERE name = 'poll.close'") == "done"
    await second.stop()


async def test_an_open_poll_whose_close_timer_is_gone_gets_one_at_start(tmp_path: Path) -> None:
    first = await TestBot(tmp_path).start()
    await first.push(f"/{Q} closes=1h")
    await first.db.execute("UPDATE timers SET status = 'failed' WHERE name = 'poll.close'")
    await first.stop()

    second = TestBot(tmp_path)
    await second.start()
    assert await second.db.scalar("SELECT status FROM timers WHERE name = 'poll.close'") == "pending"
    assert "Poll #1 closed." in await second.wait(3600)
    await second.stop()


async def test_a_running_round_with_nothing_pending_is_reconciled_at_start(tmp_path: Path) -> None:
    first = await TestBot(tmp_path, bot_trivia_packs=packs(tmp_path)).start()
    await first.push("/trivia start mini questions=3")
    await first.db.execute("UPDATE timers SET status = 'cancelled'")  # lost, somehow
    await first.stop()

    second = TestBot(tmp_path, bot_trivia_packs=packs(tmp_path))
    await second.start()
    assert await second.db.scalar("SELECT COUNT(*) FROM timers WHERE status = 'pending' AND name LIKE 'trivia.%'") == 1
    assert "Answer:" in await second.wait(21)  # the open question is revealed after all
    await second.db.execute("UPDATE timers SET status = 'cancelled' WHERE status = 'pending' AND name LIKE 'trivia.%'")
    await second.stop()

    third = TestBot(tmp_path, bot_trivia_packs=packs(tmp_path))  # nothing open and nothing pending
    await third.start()
    assert await third.db.scalar("SELECT status FROM trivia_rounds") == "abandoned"
    assert "3 questions from Mini" in await third.push("/trivia start mini questions=3")
    await third.stop()


async def test_a_first_question_that_cannot_be_posted_frees_the_channel(tmp_path: Path) -> None:
    testbot = await TestBot(tmp_path, bot_trivia_packs=packs(tmp_path)).start()
    real = ConsoleResponder.respond

    async def refuse_questions(self: ConsoleResponder, card: Card) -> Any:
        if card.buttons:
            raise RuntimeError("missing_scope")
        return await real(self, card)

    ConsoleResponder.respond = refuse_questions  # type: ignore[method-assign]
    try:
        out = await testbot.push("/trivia start mini")
    finally:
        ConsoleResponder.respond = real  # type: ignore[method-assign]
    assert "Something went wrong on our side" in out
    assert await testbot.db.scalar("SELECT status FROM trivia_rounds") == "abandoned"
    assert "3 questions from Mini" in await testbot.push("/trivia start mini")
    await testbot.stop()


async def test_a_zone_change_moves_the_next_daily_post(tmp_path: Path) -> None:
    testbot = await TestBot(tmp_path, bot_trivia_packs=packs(tmp_path)).start()  # 09:00 in Chicago
    await testbot.push(":as mo moderator", "/trivia daily on at=10:00")
    pending = "SELECT due_at FROM timers WHERE name = 'trivia.daily_post' AND status = 'pending'"
    assert await testbot.db.scalar(pending) == "2026-11-27T16:00:00.000000Z"
    out = await testbot.push(":as olga organizer", "/config set timezone Europe/London")
    assert "timezone is now Europe/London." in out
    assert await testbot.db.scalar(pending) == "2026-11-28T10:00:00.000000Z"  # 15:00Z is past 10:00 in London
    assert "Question of the day" not in await testbot.wait(3 * 3600)
    assert "Question of the day" in await testbot.wait(17 * 3600)
    await testbot.stop()


async def test_the_daily_post_uses_the_trivia_channel_setting(tmp_path: Path) -> None:
    testbot = await TestBot(tmp_path, bot_trivia_packs=packs(tmp_path)).start()
    await testbot.push(":as olga organizer", "/config set trivia_channel quiz", "/trivia daily on at=10:00")
    assert "[#quiz] Question of the day" in await testbot.wait(3600)
    await testbot.stop()


async def test_config_show_lists_declared_settings_by_feature(tmp_path: Path) -> None:
    testbot = await TestBot(tmp_path).start()
    out = await testbot.push(":as olga organizer", "/config show", "/config set newsletter_channel talks")
    assert "General" in out and "timezone" in out and "trivia_channel" in out and "follower_role" in out
    assert "Play technical-services trivia" in out and "Follow association updates" in out
    assert "newsletter_channel" not in out.split("There is no setting")[0]  # not declared by any feature yet
    assert "There is no setting newsletter_channel" in out
    out = await testbot.push("/config set timezone " + "A" * 100)
    assert "is not a time zone" in out
    await testbot.stop()


async def test_background_task_failures_are_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    testbot = await TestBot(tmp_path).start()

    async def broken() -> None:
        raise RuntimeError("edit refused")

    with caplog.at_level(logging.ERROR):
        testbot.bot.spawn(broken(), "edit message 7")
        await testbot.bot.idle()
    assert "background task failed: edit message 7" in caplog.text and "edit refused" in caplog.text
    await testbot.stop()


async def test_a_button_registered_twice_fails_at_start_up(tmp_path: Path) -> None:
    class Copycat:
        @button("poll.vote")
        async def vote(self, ctx: Any, poll_id: int, option: int) -> None: ...

    testbot = TestBot(tmp_path)
    with pytest.raises(ValueError, match="registered twice"):
        testbot.bot.add_cog(Copycat())


async def test_the_deadline_decides_not_the_close_timer(tmp_path: Path) -> None:
    testbot = await TestBot(tmp_path).start()
    await testbot.push(f"/{Q} closes=1m", ":click 2")
    testbot.clock.advance(timedelta(minutes=5))  # the bot was busy or down: the close timer has not run
    assert "#1 Which metadata standard do you use most? (1 voted, closing now)" in await testbot.push("/poll list")
    out = await testbot.push(":as ann", ":click 1")
    assert "Poll #1 is closed; votes are no longer counted." in out
    assert out.count("Poll #1 closed.") == 1  # the click closed it and the results went out once
    assert await testbot.db.scalar("SELECT COUNT(*) FROM poll_votes") == 1  # ann's late vote excluded
    assert "Poll #1 closed." not in await testbot.wait(60)  # the timer finds it done
    await testbot.stop()


async def test_a_row_sqlite_cannot_store_is_set_aside_and_the_rest_are_written(tmp_path: Path) -> None:
    from bot.model import CommandInvoked, Member
    from storage.engagement import INSERT_EVENT

    testbot = await TestBot(tmp_path).start()
    db = testbot.db
    db.enqueue(INSERT_EVENT, ("2026-11-27T15:00:00Z", "slack", "T1", "U\udcff", "command", "follow", None))
    db.enqueue(INSERT_EVENT, ("2026-11-27T15:00:00Z", "slack", "T1", 10**20, "command", "follow", None))
    db.enqueue(INSERT_EVENT, ("2026-11-27T15:00:00Z", "slack", "T1", "U2", None, "follow", None))  # NOT NULL
    db.enqueue(INSERT_EVENT, ("2026-11-27T15:00:00Z", "slack", "T1", "U3", "command", "follow", None))
    await db.flush()
    assert db.rejected == 3
    assert await db.scalar("SELECT COUNT(*) FROM engagement_events WHERE member_id = 'U3'") == 1
    huge = Member("console", 10**20, "big\udcffname")  # what a platform might hand over
    await testbot.bot.dispatch(CommandInvoked(huge, testbot.console.place, text="follow"), testbot.console._responder())
    assert "You now follow ALCTS here" in testbot.out.getvalue()
    out = await testbot.push("/follow", "/privacy forget-me")
    assert "Something went wrong" not in out
    await asyncio.wait_for(testbot.stop(), 5)  # shutdown is not held up


async def test_a_round_the_bot_was_down_for_ends_with_a_note(tmp_path: Path) -> None:
    first = await TestBot(tmp_path, bot_trivia_packs=packs(tmp_path)).start()
    await first.push("/trivia start mini questions=3")
    await first.stop()
    second = TestBot(tmp_path, bot_trivia_packs=packs(tmp_path))
    second.clock.advance(timedelta(days=1))
    await second.start()
    out = await second.push("/trivia start mini questions=2")
    assert "2 questions from Mini" in out  # the channel is free at once
    out = await second.wait(1)
    assert "This round was interrupted while the bot was offline, so it has ended." in out
    assert "Question 2 of 3" not in out + await second.wait(60)
    await second.stop()


async def test_a_round_whose_last_questions_go_unanswered_is_completed(tmp_path: Path) -> None:
    testbot = await TestBot(tmp_path, bot_trivia_packs=packs(tmp_path)).start()
    await testbot.push("/trivia start mini questions=3", ":click 1")
    out = await testbot.wait(200)
    assert "That was the last of 3 questions." in out and "Two questions in a row" not in out
    assert await testbot.db.scalar("SELECT status FROM trivia_rounds") == "completed"
    await testbot.stop()


async def test_daily_channel_must_name_a_channel_and_off_says_when_it_was_not_on(tmp_path: Path) -> None:
    testbot = await TestBot(tmp_path, member="mo", role=_moderator(), bot_trivia_packs=packs(tmp_path)).start()
    assert "channel= needs a channel" in await testbot.push("/trivia daily on channel=#")
    assert "was not on" in await testbot.push("/trivia daily off channel=nosuch")
    assert "give a value, or none to clear it" in await testbot.push(":as olga organizer", '/config set trivia_channel " "')
    await testbot.stop()


def _moderator() -> Any:
    from bot.model import Role

    return Role.MODERATOR

"""Turning the daily question off stops the posts, not the answer: the last question's
answer comes out at the next would-be posting time, across restarts too."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.harness import TestBot
from tests.trivia_support import correct_button_daily, start_with_pack


async def test_turning_the_daily_question_off_still_reveals_the_last_answer(tmp_path: Path) -> None:
    testbot = await start_with_pack(tmp_path)  # 09:00 in Chicago
    await testbot.push(":as mo moderator", "/trivia daily on at=10:00")
    assert "Question of the day" in await testbot.wait(3600)
    right = await correct_button_daily(testbot)
    await testbot.push(":as ann", f":click {right}", ":as ben", f":click {right % 4 + 1}")
    await testbot.wait(3600)  # 11:00
    out = await testbot.push(":as mo moderator", "/trivia daily off")
    assert "The daily question in #general is off. The last question's answer still comes out in 23 hours" in out
    assert "Yesterday's question:" not in await testbot.wait(22 * 3600)
    out = await testbot.wait(3600)  # 10:00 the next day
    assert "Yesterday's question:" in out and "2 answered." in out
    assert "Question of the day" not in out  # nothing new is posted
    assert await testbot.db.scalar("SELECT COUNT(*) FROM trivia_daily") == 1
    assert "Yesterday's question:" not in await testbot.wait(3 * 86400)  # once
    await testbot.stop()


async def test_a_reveal_still_owed_after_a_restart_is_scheduled_again(tmp_path: Path) -> None:
    first = await start_with_pack(tmp_path)
    await first.push(":as mo moderator", "/trivia daily on at=10:00")
    await first.wait(3600)
    await first.push(":as ann", f":click {await correct_button_daily(first)}", ":as mo moderator", "/trivia daily off")
    await first.db.execute("DELETE FROM timers WHERE name = 'trivia.daily_reveal'")  # as if turned off by an older bot
    await first.stop()

    second = TestBot(tmp_path, bot_trivia_packs=tmp_path / "packs")
    second.clock.advance(timedelta(hours=2))  # 11:00 in Chicago
    await second.start()
    assert await second.db.scalar("SELECT COUNT(*) FROM timers WHERE name = 'trivia.daily_reveal'") == 1
    assert "Yesterday's question:" not in await second.wait(22 * 3600)
    out = await second.wait(3600)  # 10:00 the next day
    assert "Yesterday's question:" in out and "1 answered." in out
    await second.stop()


async def test_off_before_anything_was_posted_promises_no_answer(tmp_path: Path) -> None:
    testbot = await start_with_pack(tmp_path)
    out = await testbot.push(":as mo moderator", "/trivia daily on at=10:00", "/trivia daily off")
    assert "The daily question in #general is off." in out and "answer" not in out.split("is off.")[1]
    assert "was not on" in await testbot.push("/trivia daily off")
    await testbot.stop()

"""Trivia disputes through the console: one flag per member (flagging again updates the
reason), the queue shows how many members flagged each question and why, reasons have a
length cap, a moderator's flag sets a question aside and a moderator's restore puts it back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.harness import TestBot
from tests.trivia_support import start_with_pack


@pytest.fixture
async def mini(tmp_path: Path) -> AsyncIterator[TestBot]:
    testbot = await start_with_pack(tmp_path)
    yield testbot
    await testbot.stop()


async def test_members_flag_once_each_and_the_queue_counts_members_and_shows_why(mini: TestBot) -> None:
    out = await mini.push("/trivia flag mini-001 the field is 246 now")
    assert "Thanks: mini-001 is flagged for the moderators to check." in out
    out = await mini.push("/trivia flag mini-001 actually the indicator is wrong")
    assert "You had already flagged mini-001; your reason is updated. Thanks." in out
    await mini.push(":as ann", "/trivia flag MINI-001 ambiguous wording", "/trivia flag mini-002 typo")
    assert await mini.db.scalar("SELECT COUNT(*) FROM trivia_flags WHERE question_id = 'mini-001'") == 2
    assert "Only moderators can use /trivia flags." in await mini.push("/trivia flags")
    out = await mini.push(":as mo moderator", "/trivia flags")
    assert "mini-001 · 2 members" in out and "mini-002 · 1 member " in out
    assert "you: actually the indicator is wrong" in out and "ann: ambiguous wording" in out
    assert "the field is 246 now" not in out  # the member's earlier reason was replaced
    assert "set aside" not in out


async def test_reasons_are_required_and_capped(mini: TestBot) -> None:
    assert "say what is wrong" in await mini.push("/trivia flag mini-001")
    out = await mini.push("/trivia flag mini-001 " + "x" * 201)
    assert "trivia flag: the reason is 201 characters; keep it to 200 (a sentence or two)" in out
    assert await mini.db.scalar("SELECT COUNT(*) FROM trivia_flags") == 0
    assert "Thanks" in await mini.push("/trivia flag mini-001 " + "y" * 200)
    assert "There is no question nope-001" in await mini.push("/trivia flag nope-001 what")


async def test_a_moderator_sets_a_question_aside_and_restores_it(mini: TestBot) -> None:
    await mini.push("/trivia flag mini-001 the field is 246 now")
    out = await mini.push(":as mo moderator", "/trivia flag mini-001 confirmed wrong")
    assert "mini-001 is set aside here and will not be asked again." in out
    out = await mini.push("/trivia flags")
    assert "mini-001 · 2 members · set aside" in out and "mo (moderator): confirmed wrong" in out
    out = await mini.push("/trivia start mini questions=5")
    assert "Mini has 2 to ask here, so this round has 2." in out and "(mini-001)" not in out
    await mini.push("/trivia stop")

    assert "Only moderators can use /trivia restore." in await mini.push(":as ann", "/trivia restore mini-001")
    out = await mini.push(":as mo moderator", "/trivia restore mini-001")
    assert "mini-001 is back in play here; its 2 flags are cleared." in out
    assert "No question has been flagged here." in await mini.push("/trivia flags")
    assert "3 questions from Mini" in await mini.push("/trivia start mini questions=3")
    out = await mini.push("/trivia restore mini-001")
    assert "mini-001 has no flags here; /trivia flags lists the questions that do." in out


async def test_restoring_a_question_only_members_flagged_clears_its_flags(mini: TestBot) -> None:
    await mini.push("/trivia flag mini-002 typo")
    out = await mini.push(":as mo moderator", "/trivia restore mini-002")
    assert "mini-002 was not set aside; its 1 flag is cleared." in out
    assert await mini.db.scalar("SELECT COUNT(*) FROM trivia_flags") == 0


async def test_flag_reasons_lose_masked_links_and_invisible_controls(mini: TestBot) -> None:
    await mini.push("/trivia flag mini-001 see [official form](https://evil.example/form)\u202e now")
    out = await mini.push(":as mo moderator", "/trivia flags")
    assert "official form (https://evil.example/form) now" in out and "\u202e" not in out


async def test_nested_masked_links_are_unwrapped(mini: TestBot) -> None:
    await mini.push("/trivia flag mini-001 see [[the errata](https://ala.org/errata)](https://evil.example/phish)")
    out = await mini.push(":as mo moderator", "/trivia flags")
    assert "the errata (https://ala.org/errata) (https://evil.example/phish)" in out and "](" not in out


async def test_flags_of_a_forgotten_member_stay_anonymous(mini: TestBot) -> None:
    await mini.push(":as ann", "/trivia flag mini-001 wrong tag", "/privacy forget-me", ":click 1")
    out = await mini.push(":as mo moderator", "/trivia flags")
    assert "mini-001 · 1 member" in out and "a former member: wrong tag" in out


async def test_a_long_queue_fits_one_message_and_counts_the_rest(tmp_path: Path) -> None:
    testbot = await TestBot(tmp_path, bot_quota_scale=0).start()
    for number in range(1, 21):
        for member in ("ann", "ben", "cat", "dan"):
            await testbot.push(f":as {member}", f"/trivia flag marc21-{number:03d} " + "why " * 49 + member)
    out = await testbot.push(":as mo moderator", "/trivia flags")
    assert "marc21-020 · 4 members" in out and "and 1 more" in out  # newest first, three reasons each
    assert "more not shown. /trivia restore ID puts a question back in play and clears its flags." in out
    assert len(out) < 6000  # a Discord embed holds 6,000 characters
    await testbot.stop()

"""Trivia rounds, played through the console: equal scores share a rank on standings and
leaderboards, a win decided by a tie-break says which one, a round that runs out of
questions says so, and questions that give each other away never share a round."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.harness import TestBot
from tests.trivia_support import MINI_PACK, correct_button, in_id_order, start_with_pack


@pytest.fixture
async def mini(tmp_path: Path) -> AsyncIterator[TestBot]:
    testbot = await start_with_pack(tmp_path)
    in_id_order(testbot)
    yield testbot
    await testbot.stop()


def standings(out: str) -> list[str]:
    """The ranked lines of the standings card."""
    return [line for line in out.split("Round over: standings")[1].splitlines() if line[:1].isdigit()]


async def test_equal_scores_share_a_rank_and_a_full_tie_wins_nothing(mini: TestBot) -> None:
    await mini.push("/trivia start mini questions=1")
    right = await correct_button(mini)
    await mini.push(f":click {right}", ":as ann", f":click {right}", ":as ben", f":click {right % 4 + 1}")
    out = await mini.wait(21)
    lines = standings(out)
    assert [line.split()[:2] for line in lines] == [["1.", "ann"], ["1.", "you"], ["3.", "ben"]]  # a tie: by name
    assert "ann and you tied for first on points, right answers and time, so no win is counted." in out
    assert await mini.db.scalar("SELECT winner_id FROM trivia_rounds") is None
    board = (await mini.push("/trivia leaderboard")).splitlines()
    ranked = [line.split()[:2] for line in board if line[:1].isdigit()]
    assert ranked == [["1.", "ann"], ["1.", "you"], ["3.", "ben"]]


async def test_a_win_on_more_right_answers_says_it_was_a_tie_break(mini: TestBot) -> None:
    """ann: 90 (easy, 4 s) + 210 (hard, 12 s) = 300 with 2 right; you: 300 (hard, at once)
    with 1 right; ben answers wrong. Level on points, ann wins on right answers."""
    await mini.push("/trivia start mini questions=3 seconds=20")  # mini-001 (easy) first
    right = await correct_button(mini)
    await mini.wait(4)
    await mini.push(":as ann", f":click {right}", ":as ben", f":click {right % 4 + 1}")
    await mini.wait(16 + 5)  # reveal, then question 2 (medium): nobody answers
    await mini.push(":as ben", f":click {await correct_button(mini) % 4 + 1}")
    await mini.wait(20 + 5)  # question 3 (hard)
    right = await correct_button(mini)
    await mini.push(":as you", f":click {right}")
    await mini.wait(12)
    out = await mini.push(":as ann", f":click {right}")
    out += await mini.wait(10)
    lines = standings(out)
    assert lines[0].split()[:3] == ["1.", "ann", "300"] and lines[1].split()[:3] == ["1.", "you", "300"]
    assert "Winner: ann, on a tie-break: level with you on 300 points, with more right answers (2 to 1)." in out
    assert await mini.db.scalar("SELECT winner_id FROM trivia_rounds") == "ann"
    assert "Wins 1" in await mini.push("/trivia stats")


async def test_a_win_on_getting_there_first_says_so(mini: TestBot) -> None:
    """you: medium at 1 s = 195; ann: hard at 14 s = 195; one right each: you reached 195 first."""
    await mini.push("/trivia start mini questions=3 seconds=20")
    await mini.push(":as ben", f":click {await correct_button(mini)}")  # ben: 100 on question 1
    await mini.wait(20 + 5)
    right = await correct_button(mini)
    await mini.wait(1)
    await mini.push(":as you", f":click {right}")
    await mini.wait(19 + 5)
    right = await correct_button(mini)
    await mini.wait(14)
    out = await mini.push(":as ann", f":click {right}")
    out += await mini.wait(10)
    lines = standings(out)
    assert lines[0].split()[:3] == ["1.", "you", "195"] and lines[1].split()[:3] == ["1.", "ann", "195"]
    assert "Winner: you, on a tie-break: level with ann on points and right answers, and got there first." in out


async def test_a_clear_win_mentions_no_tie_break(mini: TestBot) -> None:
    await mini.push("/trivia start mini questions=1")
    right = await correct_button(mini)
    await mini.push(f":click {right}", ":as ann", f":click {right % 4 + 1}", ":as ben", f":click {right % 4 + 1}")
    out = await mini.wait(21)
    assert "Winner: you." in out and "tie-break" not in out
    assert [line.split()[0] for line in standings(out)] == ["1.", "2.", "2."]


async def test_a_short_category_says_how_many_it_has(mini: TestBot) -> None:
    out = await mini.push("/trivia start mini questions=10")
    assert "Mini has 3 to ask here, so this round has 3. 3 questions from Mini" in out


GIVEAWAY_PACK = MINI_PACK.replace(
    '  - id: mini-003\n    question: "Which organisation maintains the Dewey Decimal Classification?"',
    '  - id: mini-003\n    question: "In MARC field 245, which subfield holds the statement of responsibility?"',
).replace('answer: "OCLC"', 'answer: "$c"').replace('["Library of Congress", "IFLA", "NISO"]', '["$a", "$b", "$h"]')


async def test_a_stem_that_names_another_answer_is_never_in_its_round(tmp_path: Path) -> None:
    testbot = await start_with_pack(tmp_path, GIVEAWAY_PACK)
    for _ in range(4):
        await testbot.push("/trivia start mini questions=3")
        await testbot.push(f":click {await correct_button(testbot)}")
        out = await testbot.wait(30)
        await testbot.push(f":click {await correct_button(testbot)}")
        out += await testbot.wait(30)
        asked = {row["question_id"] for row in await testbot.db.fetchall(
            "SELECT question_id FROM trivia_asked WHERE round_id = (SELECT MAX(id) FROM trivia_rounds)")}  # fmt: skip
        assert not {"mini-001", "mini-003"} <= asked, asked
        assert len(asked) == 2
        assert "We ran out of questions after 2: every other question in Mini has been set aside, " \
               "or would give away an answer from this round." in out  # fmt: skip
    await testbot.stop()


RELATED_PACK = MINI_PACK.replace('source: "https://www.oclc.org/en/dewey.html"',
                                 'source: "https://www.oclc.org/en/dewey.html"\n    related: [mini-002]')  # fmt: skip


async def test_declared_related_questions_never_share_a_round_and_running_out_is_said(tmp_path: Path) -> None:
    """mini-003 and mini-002 are related, so a round has two questions at most; nobody
    answers, and the round still says it ran out (not two unanswered in a row)."""
    testbot = await start_with_pack(tmp_path, RELATED_PACK)
    in_id_order(testbot)  # mini-001, then mini-002: mini-003 is then excluded
    await testbot.push("/trivia start mini questions=3")
    out = await testbot.wait(60)
    asked = [row["question_id"] for row in await testbot.db.fetchall("SELECT question_id FROM trivia_asked")]
    assert asked == ["mini-001", "mini-002"]
    assert "We ran out of questions after 2" in out
    assert "Two questions in a row went unanswered" not in out
    await testbot.stop()

"""Trivia: the question bank, answer matching, scoring, live rounds, the daily question,
leaderboards and disputes, played through the console."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.model import ButtonPressed, Member
from cogs.trivia import speed_points
from cogs.trivia.bank import SHIPPED, load_bank
from cogs.trivia.check import check_pack
from cogs.trivia.matching import letter_choice, matches, normalise
from storage.trivia import streak_bonus
from tests.harness import TestBot
from tests.trivia_support import ANSWERS, correct_button, correct_button_daily, start_with_pack
from tests.trivia_support import MINI_PACK as MINI_PACK  # other test modules import it from here

BANK = load_bank([SHIPPED])
ACCEPTED = [q.accepted for q in BANK.questions()]

# -- the question bank ----------------------------------------------------------------------


def test_shipped_packs_pass_the_check_and_are_big_enough() -> None:
    for path in sorted(SHIPPED.glob("*.yaml")):
        problems, pack = check_pack(path)
        assert problems == [] and pack is not None, problems
    assert len(BANK.packs) >= 8
    assert len(BANK.questions()) >= 200
    assert all(q.source.startswith(("https://", "http://")) for q in BANK.questions())
    difficulties = {q.difficulty.value for q in BANK.questions()}
    assert difficulties == {"easy", "medium", "hard"}


# -- matching -------------------------------------------------------------------------------


def variants(text: str) -> st.SearchStrategy[str]:
    """The same answer typed differently: case, punctuation, spacing, an article."""
    takes_article = normalise("the " + text) == normalise(text)  # not when it starts with one
    return st.tuples(
        st.sampled_from([str.lower, str.upper, str.title, lambda s: s]),
        st.sampled_from(["", " ", "  "]),
        st.sampled_from(["", ".", "!", "?", " ."]),
        st.sampled_from(["", "the ", "The "]),
    ).map(lambda p: (p[3] if takes_article else "") + p[1] + p[0](text).replace(" ", p[1] or " ") + p[2] + p[1])


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(ACCEPTED).flatmap(lambda acc: st.tuples(st.just(acc), st.sampled_from(acc).flatmap(variants))))
def test_accepted_answers_match_however_they_are_typed(case: tuple[tuple[str, ...], str]) -> None:
    accepted, typed = case
    assert matches(typed, accepted), (typed, accepted)


@pytest.mark.parametrize(
    ("typed", "answer"),
    [("chair", "air"), ("air", "chair"), ("246", "245"), ("245a", "245"), ("reservation", "preservation"),
     ("conservation", "preservation"), ("MARC", "MODS"), ("LCSH", "LCC"), ("", "245"), ("!!!", "OCLC"),
     ("Library of Commerce", "Library of Congress"), ("Dublin", "Dublin Core")],
)  # fmt: skip
def test_near_misses_are_rejected(typed: str, answer: str) -> None:
    assert not matches(typed, (answer,))


@pytest.mark.parametrize(
    ("typed", "answer"),
    [("Libary of Congress", "Library of Congress"), ("preservaton", "preservation"),
     ("Resource Description & Access", "Resource Description and Access"), ("cote", "Côté"),
     ("non-filing characters", "nonfiling characters"), ("remainder of titel", "Remainder of title")],
)  # fmt: skip
def test_small_typos_in_long_answers_are_forgiven(typed: str, answer: str) -> None:
    assert matches(typed, (answer,))


def test_normalise_and_letters() -> None:
    assert normalise("  The  Dublin-Core  Metadata & Terms! ") == "dublin core metadata and terms"
    assert [letter_choice(t) for t in ["b", "(C)", "D.", " a ", "e", "ab"]] == [1, 2, 3, 0, None, None]


# -- scoring --------------------------------------------------------------------------------


def test_points_scale_with_speed_and_streaks() -> None:
    assert speed_points(300, 0, 20) == 300
    assert speed_points(300, 10, 20) == 225
    assert speed_points(300, 20, 20) == 150
    assert speed_points(100, 99, 20) == 50
    assert [streak_bonus(n) for n in (0, 1, 2, 3, 5, 9)] == [0, 0, 25, 50, 100, 100]


# -- live rounds ----------------------------------------------------------------------------


@pytest.fixture
async def mini(tmp_path: Path) -> AsyncIterator[TestBot]:
    testbot = await start_with_pack(tmp_path)
    yield testbot
    await testbot.stop()


async def test_a_three_question_round_with_three_members(mini: TestBot) -> None:
    out = await mini.push("/trivia start mini questions=3 seconds=20")
    assert "3 questions from Mini, 20 seconds each." in out
    assert "Question 1 of 3 · Mini" in out and "[1 A. " in out
    right = await correct_button(mini)
    wrong = right % 4 + 1
    await mini.push(f":click {right}", ":as ann", f":click {wrong}", ":as ben", f":click {right}")
    out = await mini.wait(25)
    assert "Answer: " in out and "Right: you +" in out and "ben +" in out and "Wrong: 1." in out
    assert "Source: https://" in out and "Question 2 of 3" in out
    for _ in range(2):
        right = await correct_button(mini)
        await mini.push(":as you", f":click {right}", ":as ann", f":click {right}")
        out = await mini.wait(25)
    assert "Round over: standings" in out and "That was the last of 3 questions." in out
    lines = out.split("Round over: standings")[1].splitlines()
    assert lines[2].startswith("1. you") and "(3 of 3 right)" in lines[2]
    assert "Winner: you." in out
    wins = await mini.db.scalar("SELECT winner_id FROM trivia_rounds WHERE id = 1")
    assert wins == "you"


async def test_one_answer_each_and_answers_after_time_are_refused(mini: TestBot) -> None:
    await mini.push("/trivia start mini questions=2")
    out = await mini.push(":click 1", ":click 2")
    assert "You already answered this question; one answer each." in out
    await mini.wait(21)
    console = mini.console
    await mini.bot.dispatch(ButtonPressed(Member("console", "late", "late"), console.place,
                                          custom_id="trivia.answer:1:0:1"), console._responder())  # fmt: skip
    assert "Time's up for that question." in mini.out.getvalue()


async def test_typed_answers_count_and_chatter_is_ignored(mini: TestBot) -> None:
    await mini.push("/trivia start mini questions=1")
    question = await mini.db.scalar("SELECT question_id FROM trivia_asked")
    answer = ANSWERS[question]
    out = await mini.push("hello everyone", "what a question", ":as ann", answer.lower() + "!", ":as ben", "c")
    assert out.count("Locked in") == 2
    assert "hello" not in out.replace("hello everyone", "")
    out = await mini.wait(21)
    assert "Right: ann +" in out
    await mini.db.flush()
    taken = await mini.db.scalar("SELECT COUNT(*) FROM engagement_events WHERE kind = 'message' AND cog = 'trivia'")
    assert taken == 2


async def test_one_round_per_channel_and_bad_categories(mini: TestBot) -> None:
    await mini.push("/trivia start mini")
    out = await mini.push("/trivia start")
    assert "A round is already running in this channel; /trivia stop ends it." in out
    out = await mini.push(":channel other", "/trivia start cooking")
    assert "There is no category cooking. Categories: acquisitions, alcts-history," in out and "mini" in out


async def test_two_unanswered_questions_end_the_round(mini: TestBot) -> None:
    await mini.push("/trivia start mini questions=3")
    out = await mini.wait(60)
    assert out.count("Nobody answered.") == 2
    assert "Two questions in a row went unanswered, so the round ends here." in out
    assert "Nobody scored this time." in out


async def test_stop_is_for_the_starter_or_a_moderator(mini: TestBot) -> None:
    await mini.push("/trivia start mini", ":click 1")
    out = await mini.push(":as ann", "/trivia stop")
    assert "Only the member who started this round or a moderator can stop it." in out
    out = await mini.push(":as mo moderator", "/trivia stop")
    assert "Round stopped by mo." in out
    out = await mini.wait(60)
    assert "Question 2" not in out and "Answer:" not in out
    assert "No round is running in this channel." in await mini.push("/trivia stop")


async def test_wins_count_only_with_three_players(mini: TestBot) -> None:
    await mini.push("/trivia start mini questions=1")
    right = await correct_button(mini)
    await mini.push(f":click {right}", ":as ann", f":click {right}")
    out = await mini.wait(21)
    assert "Wins count in rounds with 3 or more players and a score above 0." in out
    assert await mini.db.scalar("SELECT winner_id FROM trivia_rounds") is None
    assert "Wins 0" in await mini.push(":as you", "/trivia stats")


async def test_leaderboards_by_period_category_and_scope(mini: TestBot) -> None:
    await mini.push("/trivia start mini questions=1")
    right = await correct_button(mini)
    await mini.push(f":click {right}", ":as ann", f":click {right % 4 + 1}")
    await mini.wait(21)
    out = await mini.push("/trivia leaderboard")
    assert "Trivia leaderboard, this week, here" in out
    assert out.index("1. you") < out.index("2. ann")
    assert "1. you" in await mini.push("/trivia leaderboard all category=mini scope=everywhere")
    assert "No answers yet" in await mini.push("/trivia leaderboard category=marc21")
    mini.clock.advance(timedelta(days=8))
    assert "No answers yet in this period" in await mini.push("/trivia leaderboard week")
    assert "1. you" in await mini.push("/trivia leaderboard month")
    assert "There is no category nope" in await mini.push("/trivia leaderboard category=nope")
    stats = await mini.push(":as you", "/trivia stats")
    assert "Answered 1, right 1 (100%)." in stats and "Best streak 1." in stats


async def test_forget_me_removes_trivia_answers(mini: TestBot) -> None:
    await mini.push(":as ann", "/trivia start mini questions=1", ":click 1", ":click 1")
    await mini.push("/privacy forget-me", ":click 1")
    assert await mini.db.scalar("SELECT COUNT(*) FROM trivia_answers WHERE member_id = 'ann'") == 0


# -- the daily question ----------------------------------------------------------------------


async def test_daily_question_posts_at_the_local_time_and_reveals_next_day(tmp_path: Path) -> None:
    first = await start_with_pack(tmp_path)  # 09:00 in Chicago
    assert "Only moderators can use /trivia daily." in await first.push("/trivia daily on")
    out = await first.push(":as mo moderator", "/trivia daily on at=10:00")
    assert "every day at 10:00 (America/Chicago), the next in 1 hour." in out
    out = await first.wait(3600)
    assert "Question of the day" in out and "[1 A. " in out
    right = await correct_button_daily(first)
    await first.push(":as ann", f":click {right}", ":as ben", f":click {right % 4 + 1}")
    assert "You already answered today's question" in await first.push(":as ann", ":click 1")
    await first.stop()  # a restart in the middle of the day

    second = TestBot(tmp_path, bot_trivia_packs=tmp_path / "packs")
    second.clock.advance(timedelta(hours=2))
    await second.start()
    daily_id = await second.db.scalar("SELECT id FROM trivia_daily")
    console = second.console
    await second.bot.dispatch(ButtonPressed(Member("console", "cat", "cat"), console.place,
                                            custom_id=f"trivia.daily:{daily_id}:{right - 1}"),
                              console._responder())  # the old message's button still works  # fmt: skip
    assert "Locked in" in second.out.getvalue()
    out = await second.wait(23 * 3600)
    assert "Yesterday's question:" in out
    assert "<- answer" in out and "3 answered." in out
    assert out.count("Question of the day") == 1  # today's new one (the old one is edited, not reposted)
    shares = [line for line in out.splitlines() if "<- answer" in line][0]
    assert " 2  " in shares and "67%" in shares
    await second.bot.dispatch(ButtonPressed(Member("console", "dan", "dan"), console.place,
                                            custom_id=f"trivia.daily:{daily_id}:0"), console._responder())  # fmt: skip
    assert "That daily question is closed; its answer is out." in second.out.getvalue()
    out = await second.push(":as mo moderator", "/trivia daily off")
    assert "The daily question in #general is off." in out
    assert "Question of the day" not in await second.wait(48 * 3600)
    await second.stop()


def test_a_choice_that_is_just_a_button_letter_is_rejected() -> None:
    from pydantic import ValidationError

    from cogs.trivia.bank import Question

    fields = {"id": "x-001", "question": "Which LC class covers philosophy?", "answer": "B",
              "wrong": ["P", "Q", "R"], "difficulty": "easy", "explanation": "Class B is philosophy.",
              "source": "https://www.loc.gov/catdir/cpso/lcco/"}  # fmt: skip
    with pytest.raises(ValidationError, match="would be read as picking button B"):
        Question.model_validate(fields)


def test_channels_can_be_named_or_mentioned() -> None:
    from bot.text import channel_from_text

    assert channel_from_text("#cataloging") == ("cataloging", "cataloging")
    assert channel_from_text("<#1234567890>") == ("1234567890", "1234567890")
    assert channel_from_text("<#C0123|trivia>") == ("C0123", "trivia")


async def test_no_winner_when_nobody_scored(mini: TestBot) -> None:
    await mini.push("/trivia start mini questions=1")
    wrong = await correct_button(mini) % 4 + 1
    await mini.push(f":click {wrong}", ":as ann", f":click {wrong}", ":as ben", f":click {wrong}")
    out = await mini.wait(21)
    assert "Winner:" not in out and "a score above 0" in out
    assert await mini.db.scalar("SELECT winner_id FROM trivia_rounds") is None


async def test_a_round_the_platform_cannot_post_to_ends_and_frees_the_channel(mini: TestBot) -> None:
    await mini.push("/trivia start mini questions=3")

    async def refuse(place: object, card: object) -> None:
        raise RuntimeError("not_in_channel")

    real_send, mini.console.send = mini.console.send, refuse  # type: ignore[method-assign]
    await mini.wait(21)  # the reveal cannot be posted
    assert await mini.db.scalar("SELECT status FROM trivia_rounds") == "abandoned"
    assert await mini.db.scalar("SELECT status FROM timers WHERE name = 'trivia.reveal'") == "failed"
    mini.console.send = real_send  # type: ignore[method-assign]
    assert "3 questions from Mini" in await mini.push("/trivia start mini questions=3")


async def test_new_rounds_prefer_questions_not_asked_here_lately(mini: TestBot) -> None:
    trivia = mini.bot.registry.commands["trivia start"].handler.__self__
    trivia.rng.choice = lambda seq: seq[0]  # always the first candidate: only recency can vary it
    await mini.push("/trivia start mini questions=1", "/trivia stop")
    first = await mini.db.scalar("SELECT question_id FROM trivia_asked")
    out = await mini.push("/trivia start mini questions=3")
    assert "3 questions from Mini" in out
    assert first not in out.split("Question 1 of 3")[1].split("[1 ")[0]

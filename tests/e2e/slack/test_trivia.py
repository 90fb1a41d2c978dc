"""Trivia end to end on Slack: a round played with button clicks (private "Locked in"
answers, the reveal, the question message updated without buttons, standings), typed
answers from `message` events, and the daily question (roles, local time, a click after a
restart, yesterday's shares with the next question, another channel).

Time is the harness's ManualClock: a test moves it and runs the scheduler's due jobs, so a
10-second question and a day between daily questions take no real time. The questions are
the three of `tests.test_trivia.MINI_PACK`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.platforms.slack_blocks import HEADER_TEXT, fit
from tests.e2e.slack.conftest import ANN, BEA, DEE, EVE, GENERAL, MOD, NEWS, SECRET, SlackHarness
from tests.e2e.slack.fake_slack import BOT_USER, TEAM_ID, FakeSlack, Post
from tests.e2e.timers import run_due
from tests.test_trivia import MINI_PACK

MINI = {q["id"]: q for q in yaml.safe_load(MINI_PACK)["questions"]}
POINTS = {"easy": 100, "medium": 200, "hard": 300}  # in full for an instant answer
LETTERS = "ABCD"


class TriviaHarness(SlackHarness):
    """The harness with helpers for time and chat. Updates of one message go out without the
    harness's 0.2 s cool-down between them: no burst of updates is under test here."""

    async def start(self) -> TriviaHarness:
        await super().start()
        self.bot.edits.min_interval = 0.0
        return self

    async def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        await self.bot.db.flush()
        return [tuple(row) for row in await self.bot.db.fetchall(sql, params)]

    async def one(self, sql: str, *params: Any) -> Any:
        (row,) = await self.rows(sql, *params)
        return row[0] if len(row) == 1 else row

    async def wait(self, **delta: float) -> int:
        """Let time pass: run every job that fell due, and the message updates they started."""
        self.clock.advance(timedelta(**delta))
        ran = await run_due(self.bot)
        await self.bot.idle()
        return ran

    async def say(self, text: str, user: str, channel: str = GENERAL) -> None:
        """A member's message in a channel, as the Events API delivers it."""
        message = {"type": "message", "channel": channel, "channel_type": "channel", "user": user,
                   "text": text, "ts": self.fake._ts(), "team": TEAM_ID}  # fmt: skip
        assert await self.event(message) == 200


@pytest.fixture
async def trivia(tmp_path: Path, fake_slack: FakeSlack) -> AsyncIterator[TriviaHarness]:
    """The bot with the `mini` pack (BOT_TRIVIA_PACKS); restart() keeps the clock and database."""
    packs = tmp_path / "packs"
    packs.mkdir()
    (packs / "mini.yaml").write_text(MINI_PACK)
    harness = await TriviaHarness(tmp_path, fake_slack, bot_trivia_packs=packs).start()
    yield harness
    await harness.stop()


def points(question_id: str) -> int:
    return POINTS[MINI[question_id]["difficulty"]]


def contexts(post: Post) -> list[str]:
    return [e["text"] for b in post.blocks if b["type"] == "context" for e in b["elements"]]


def sections(post: Post) -> list[str]:
    return [b["text"]["text"] for b in post.blocks if b["type"] == "section" and "text" in b]


def buttons(post: Post) -> list[tuple[str, str]]:
    return [(b["text"]["text"], b["value"]) for b in post.buttons()]


async def start_round(trivia: TriviaHarness, questions: int = 2) -> tuple[Post, Post]:
    """ANN runs `/alcts trivia start mini`; returns the intro and the first question."""
    intro, question = await trivia.command(f"trivia start mini questions={questions} seconds=10")
    return intro, question


async def open_question(trivia: TriviaHarness, position: int) -> tuple[str, int, list[str]]:
    """(question id, index of the right choice, choices) of the round's question `position`."""
    question_id, correct, choices = await trivia.one(
        "SELECT question_id, correct, choices FROM trivia_asked WHERE position = ?", position
    )
    return question_id, correct, json.loads(choices)


async def click(trivia: TriviaHarness, value: str, user: str, message: Post) -> Post:
    """Click a button on `message`; returns the one (private) answer."""
    [answer] = await trivia.click(value, user=user, channel=message.channel, message_ts=message.ts)
    assert answer.ephemeral and answer.user == user and answer.via == "response_url"
    return answer


# -- a round played with buttons ----------------------------------------------------------------


async def test_a_round_played_by_buttons_reveals_each_answer_and_ends_with_standings(trivia: TriviaHarness) -> None:
    intro, first = await start_round(trivia)

    assert [(p.via, p.channel, p.ephemeral) for p in (intro, first)] == [("chat.postMessage", GENERAL, False)] * 2
    assert intro.headers() == ["Trivia time!"]
    assert sections(intro) == ["2 questions from Mini, 10 seconds each. Click a letter, or type the answer in the channel."]
    round_id = await trivia.one("SELECT id FROM trivia_rounds")
    question_id, right, choices = await open_question(trivia, 0)
    level = MINI[question_id]["difficulty"]
    assert first.headers() == [f"Question 1 of 2 · Mini · {level} ({POINTS[level]})"]
    assert sections(first) == [MINI[question_id]["question"]]
    assert contexts(first) == [f"10 seconds. Click a letter, or type the answer. ({question_id})"]
    assert buttons(first) == [(f"{LETTERS[i]}. {c}", f"trivia.answer:{round_id}:0:{i}") for i, c in enumerate(choices)]
    assert await trivia.one("SELECT message_ref FROM trivia_asked") == f"slack:{GENERAL}:{first.ts}"
    wrong = (right + 1) % 4

    locked = await click(trivia, f"trivia.answer:{round_id}:0:{right}", ANN, first)
    assert locked.text == f"Locked in: {LETTERS[right]}. {choices[right]}"
    assert (await click(trivia, f"trivia.answer:{round_id}:0:{wrong}", EVE, first)).text.startswith("Locked in: ")
    assert (await click(trivia, f"trivia.answer:{round_id}:0:{right}", DEE, first)).text.startswith("Locked in: ")
    twice = await click(trivia, f"trivia.answer:{round_id}:0:{wrong}", ANN, first)
    assert twice.text == "You already answered this question; one answer each."
    assert trivia.fake.in_channel(GENERAL) == [intro, first] and first.edits == 0  # nothing public yet

    assert await trivia.wait(seconds=9) == 0  # not yet
    assert await trivia.wait(seconds=1) == 1  # the reveal

    [reveal] = trivia.fake.in_channel(GENERAL)[2:]
    assert reveal.via == "chat.postMessage" and reveal.headers() == [f"Answer: {LETTERS[right]}. {choices[right]}"]
    full = points(question_id)
    assert sections(reveal)[0].endswith(f"\nRight: Ann +{full}, Dee +{full}. Wrong: 1.")
    assert contexts(reveal)[0].startswith("Source: https://")
    assert first.edits == 1 and first.buttons() == []  # chat.update: the choices stay, the buttons go
    assert contexts(first) == [f"Time's up. ({question_id})"]
    assert all(f"{LETTERS[i]}. {choice}" in sections(first)[0] for i, choice in enumerate(choices))
    late = await click(trivia, f"trivia.answer:{round_id}:0:{right}", EVE, first)
    assert late.text == "Time's up for that question."

    await trivia.wait(seconds=5)  # the pause between questions
    second = trivia.fake.in_channel(GENERAL)[-1]
    second_id, right2, _ = await open_question(trivia, 1)
    assert second.headers()[0].startswith("Question 2 of 2 · Mini · ") and second_id != question_id
    assert [value for _, value in buttons(second)] == [f"trivia.answer:{round_id}:1:{i}" for i in range(4)]
    assert (await click(trivia, f"trivia.answer:{round_id}:1:{right2}", ANN, second)).text.startswith("Locked in: ")
    await click(trivia, f"trivia.answer:{round_id}:1:{(right2 + 1) % 4}", EVE, second)

    await trivia.wait(seconds=10)

    reveal2, standings = trivia.fake.in_channel(GENERAL)[-2:]
    streak = 25  # Ann's second right answer in a row
    assert f"Right: Ann +{points(second_id) + streak}. Wrong: 1." in sections(reveal2)[0]
    assert second.buttons() == [] and second.edits == 1
    assert standings.headers() == ["Round over: standings"]
    lines = sections(standings)[0].splitlines()
    assert lines[0] == "That was the last of 2 questions."
    assert [line.split()[:2] for line in lines[1:]] == [["1.", "Ann"], ["2.", "Dee"], ["3.", "Eve"]]
    assert "(2 of 2 right)" in lines[1] and "(0 of 2 right)" in lines[3]
    assert contexts(standings) == ["Winner: Ann."]
    assert await trivia.one("SELECT status, players, winner_id FROM trivia_rounds") == ("completed", 3, ANN)
    assert await trivia.rows("SELECT DISTINCT status FROM timers WHERE name LIKE 'trivia.%'") == [("done",)]
    assert len(trivia.fake.in_channel(GENERAL)) == 6  # intro, question, reveal, question, reveal, standings
    assert len(trivia.fake.called("chat.update")) == 2
    clicks = "SELECT COUNT(*) FROM engagement_events WHERE kind = 'button' AND subject = 'trivia.answer'"
    assert await trivia.one(clicks) == 7  # every click is engagement, even the refused ones


# -- typed answers --------------------------------------------------------------------------------


async def test_typed_answers_from_message_events_count_and_chatter_is_ignored(trivia: TriviaHarness) -> None:
    await start_round(trivia, questions=1)
    question_id, right, choices = await open_question(trivia, 0)
    other = (right + 1) % 4

    await trivia.say("good morning all", ANN)
    await trivia.say(MINI[question_id]["answer"].lower() + "!", EVE)  # the answer, typed loosely
    await trivia.say("abcd", ANN)  # not a letter on its own: chatter
    await trivia.say(f"({LETTERS[other]})", DEE)  # a letter picks a choice
    await trivia.say(MINI[question_id]["answer"], DEE)  # a second answer does not count
    await trivia.say("<@U0EVE0001> nice one", BEA)  # a mention is chatter too

    answers = "SELECT member_name, choice, correct FROM trivia_answers ORDER BY member_name"
    assert await trivia.rows(answers) == [("Dee", other, 0), ("Eve E.", right, 1)]
    private = [(p.user, p.via, p.text) for p in trivia.fake.posts if p.ephemeral]
    assert private == [  # a message has no response_url: chat.postEphemeral, to the one who typed
        (EVE, "chat.postEphemeral", f"Locked in: {LETTERS[right]}. {choices[right]}"),
        (DEE, "chat.postEphemeral", f"Locked in: {LETTERS[other]}. {choices[other]}"),
        (DEE, "chat.postEphemeral", "You already answered this question; one answer each."),
    ]  # fmt: skip
    assert len(trivia.fake.in_channel(GENERAL)) == 2  # the intro and the question: no public replies
    taken = "SELECT cog, COUNT(*) FROM engagement_events WHERE kind = 'message' GROUP BY cog ORDER BY cog"
    assert await trivia.rows(taken) == [(None, 3), ("trivia", 3)]  # chatter is engagement, but no cog took it

    await trivia.wait(seconds=10)
    reveal, standings = trivia.fake.in_channel(GENERAL)[2:]
    assert f"Right: Eve E. +{points(question_id)}. Wrong: 1." in sections(reveal)[0]
    assert "That was the last of 1 questions." in sections(standings)[0]
    assert contexts(standings) == ["Wins count in rounds with 3 or more players and a score above 0."]

    await trivia.say(MINI[question_id]["answer"], ANN)  # no round running: just chat
    assert len([p for p in trivia.fake.posts if p.ephemeral]) == 3


# -- the daily question ---------------------------------------------------------------------------


async def test_the_daily_question_survives_a_restart_and_reveals_the_shares_next_day(trivia: TriviaHarness) -> None:
    # the harness starts at 09:00 in Chicago
    [refused] = await trivia.command("trivia daily on")
    assert refused.ephemeral and refused.text == "Only moderators can use /alcts trivia daily."
    [on] = await trivia.command("trivia daily on at=10:00", user=BEA)  # a workspace admin, by users.info
    assert on.via == "chat.postMessage" and not on.ephemeral
    assert on.text.startswith(
        "The daily question in #general is on: every day at 10:00 (America/Chicago), the next in 1 hour."
    )
    audit = "SELECT member_id, action, allowed FROM audit_log ORDER BY id"
    assert await trivia.rows(audit) == [(ANN, "/trivia daily", 0), (BEA, "/trivia daily", 1)]

    await trivia.wait(minutes=59)
    assert len(trivia.fake.in_channel(GENERAL)) == 1
    await trivia.wait(minutes=1)
    [posted] = trivia.fake.in_channel(GENERAL)[1:]
    daily_id, right, stored = await trivia.one("SELECT id, correct, choices FROM trivia_daily")
    choices = json.loads(stored)
    assert posted.via == "chat.postMessage" and posted.headers()[0].startswith("Question of the day · ")
    assert contexts(posted)[0].startswith("Answer any time today; the answer comes out tomorrow.")
    assert [value for _, value in buttons(posted)] == [f"trivia.daily:{daily_id}:{i}" for i in range(4)]
    assert await trivia.one("SELECT message_ref FROM trivia_daily") == f"slack:{GENERAL}:{posted.ts}"
    wrong = (right + 1) % 4

    locked = await click(trivia, f"trivia.daily:{daily_id}:{right}", ANN, posted)
    assert locked.text.startswith(f"Locked in: {LETTERS[right]}. ") and locked.text.endswith("The answer comes out tomorrow.")
    await click(trivia, f"trivia.daily:{daily_id}:{wrong}", EVE, posted)
    twice = await click(trivia, f"trivia.daily:{daily_id}:{wrong}", ANN, posted)
    assert twice.text == "You already answered today's question; one answer each."

    trivia.clock.advance(timedelta(hours=2))
    await trivia.restart()  # a new process on the same database, at 12:00
    after_restart = await click(trivia, f"trivia.daily:{daily_id}:{right}", DEE, posted)
    assert after_restart.text.startswith("Locked in: ")
    assert posted.buttons() and posted.edits == 0  # still open until tomorrow's question

    await trivia.wait(hours=22)  # 10:00 the next day

    results, today = trivia.fake.in_channel(GENERAL)[2:]
    assert results.headers()[0].startswith("Yesterday's question: ")
    shares = dict(section.split("\n", 1) for section in sections(results)[1:])
    def label(letter: str, choice: str) -> str:  # as Slack shows a field's name: escaped (&amp;), in bold
        return f"*{fit(f'{letter}. {choice}', HEADER_TEXT)}*"

    assert list(shares) == [label(letter, choice) for letter, choice in zip(LETTERS, choices, strict=True)]
    answer_line = shares[label(LETTERS[right], choices[right])]
    assert answer_line.split()[0] == "2" and "67%" in answer_line and answer_line.endswith("&lt;- answer")
    assert shares[label(LETTERS[wrong], choices[wrong])].split()[0] == "1"
    assert contexts(results)[0].startswith("3 answered. Source: https://")
    assert posted.buttons() == [] and contexts(posted)[0].startswith("Time's up.")  # chat.update
    today_id = await trivia.one("SELECT id FROM trivia_daily WHERE revealed_at IS NULL")
    assert today_id != daily_id and today.headers()[0].startswith("Question of the day · ")
    assert [value for _, value in buttons(today)] == [f"trivia.daily:{today_id}:{i}" for i in range(4)]

    closed = await click(trivia, f"trivia.daily:{daily_id}:{right}", EVE, posted)
    assert closed.text == "That daily question is closed; its answer is out."
    [off] = await trivia.command("trivia daily off", user=MOD)  # in SLACK_MODERATORS
    assert off.text.startswith("The daily question in #general is off. The last question's answer still comes out in ")
    await trivia.wait(days=2)
    assert len(trivia.fake.in_channel(GENERAL)) == 6  # off means no more questions, only the last answer
    assert trivia.fake.in_channel(GENERAL)[-1].headers()[0].startswith("Yesterday's question: ")


async def test_the_daily_question_goes_to_a_mentioned_channel(trivia: TriviaHarness) -> None:
    # Slack escapes a channel typed in a command (should_escape) as <#ID|name>
    [on] = await trivia.command("trivia daily on at=09:30 channel=<#C0NEWS001|announcements>", user=MOD)
    assert on.channel == GENERAL and not on.ephemeral
    assert on.text.startswith("The daily question in #announcements is on: every day at 09:30 (America/Chicago), the next in 30 minutes.")

    await trivia.wait(minutes=30)

    [posted] = trivia.fake.in_channel(NEWS)
    assert posted.via == "chat.postMessage" and posted.headers()[0].startswith("Question of the day · ")
    assert await trivia.one("SELECT message_ref FROM trivia_daily") == f"slack:{NEWS}:{posted.ts}"
    assert trivia.fake.in_channel(GENERAL) == [on]
    daily_id, right = await trivia.one("SELECT id, correct FROM trivia_daily")
    locked = await click(trivia, f"trivia.daily:{daily_id}:{right}", ANN, posted)
    assert locked.channel == NEWS and locked.text.startswith("Locked in: ")


async def test_a_failed_daily_post_does_not_end_the_series(trivia: TriviaHarness) -> None:
    # a private channel the bot has not been invited to yet (Slack may leave out the name): refused
    [refused] = await trivia.command("trivia daily on at=10:00 channel=<#G0SECRET1|>", user=MOD)
    assert refused.ephemeral and refused.text.startswith("I cannot post in that channel")
    assert "/invite @alcts-bot" in refused.text and await trivia.rows("SELECT * FROM trivia_daily") == []
    trivia.fake.channels[SECRET].members.add(BOT_USER)  # invited: now it is on
    [on] = await trivia.command("trivia daily on at=10:00 channel=<#G0SECRET1|>", user=MOD)
    assert on.channel == GENERAL and "every day at 10:00 (America/Chicago)" in on.text
    trivia.fake.channels[SECRET].members.discard(BOT_USER)  # ...and removed again before the first post

    await trivia.wait(hours=1)  # chat.postMessage: channel_not_found

    assert trivia.fake.in_channel(SECRET) == []
    jobs = "SELECT timer_key, status FROM timers WHERE name LIKE 'trivia.%' ORDER BY id"
    assert await trivia.rows(jobs) == [(f"slack|{TEAM_ID}|{SECRET}@2026-11-27T16:00:00.000000Z", "failed"),
                                       (f"slack|{TEAM_ID}|{SECRET}@2026-11-28T16:00:00.000000Z", "pending")]  # fmt: skip
    trivia.fake.channels[SECRET].members.add(BOT_USER)  # a member invites the bot
    assert await trivia.wait(days=1) == 1  # the next day's question comes as usual

    [today] = trivia.fake.in_channel(SECRET)  # and no "Yesterday's question" that nobody saw
    assert today.headers()[0].startswith("Question of the day · ") and today.buttons()
    shown = "SELECT message_ref IS NOT NULL, revealed_at IS NOT NULL FROM trivia_daily ORDER BY id"
    assert await trivia.rows(shown) == [(0, 1), (1, 0)]

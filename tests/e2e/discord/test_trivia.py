"""Trivia end to end: `/trivia start` with typed options, answer buttons, the timed reveal
(the question loses its buttons), typed answers with the message-content intent, and the
daily question across a restart.

Time is a ManualClock: a test moves it and runs the scheduler's due jobs, so a 10-second
question and a day between daily questions take no real time.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.app import Bot
from bot.clock import ManualClock
from bot.platforms.discord import DiscordPlatform
from storage.db import Database
from tests.e2e.discord.conftest import ALICE
from tests.e2e.discord.fake_discord import CHANNEL_ID, MANAGE_GUILD, Answer, FakeDiscord, FakeUser
from tests.e2e.discord.test_events import eventually
from tests.e2e.timers import run_due
from tests.harness import START, make_settings
from tests.test_trivia import MINI_PACK

STRING, INTEGER = 3, 4
MESSAGE, BUTTON = 4, 2
BOB = FakeUser(5201, "bob")
CAROL = FakeUser(5202, "carol")
MANAGER = FakeUser(5203, "manny", permissions=MANAGE_GUILD)  # Manage Server: a moderator
MINI = {q["id"]: q for q in yaml.safe_load(MINI_PACK)["questions"]}
POINTS = {"easy": 100, "medium": 200, "hard": 300}  # in full for an instant answer


class TriviaBot:
    """A running bot whose time moves only when the test says so."""

    def __init__(self, bot: Bot, clock: ManualClock) -> None:
        self.bot = bot
        self.clock = clock

    async def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        await self.bot.db.flush()
        return [tuple(row) for row in await self.bot.db.fetchall(sql, params)]

    async def one(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        (row,) = await self.rows(sql, params)
        return row[0] if len(row) == 1 else row

    async def wait(self, **delta: float) -> int:
        """Let time pass: run every job that fell due, and the message edits they started."""
        self.clock.advance(timedelta(**delta))
        ran = await run_due(self.bot)
        await self.bot.idle()
        return ran


StartTrivia = Callable[..., Awaitable[TriviaBot]]


@pytest.fixture
async def start_trivia(tmp_path: Path, fake: FakeDiscord) -> AsyncIterator[StartTrivia]:
    """Like conftest's `start_bot`, with a ManualClock (no scheduler loop: tests run due jobs)
    and the three-question `mini` pack. Started again, it is a restart on the same database."""
    packs = tmp_path / "packs"
    packs.mkdir()
    (packs / "mini.yaml").write_text(MINI_PACK)
    running: list[Bot] = []

    async def start(*, at: timedelta = timedelta(0), **settings: Any) -> TriviaBot:
        values = {"discord_token": fake.token, "discord_api_base": fake.api_base,
                  "discord_gateway_url": fake.gateway_url, "bot_trivia_packs": packs, **settings}  # fmt: skip
        config = make_settings(tmp_path, **values)
        clock = ManualClock(START + at)
        bot = Bot(config, Database(config.bot_database), clock, edit_interval=0.0)
        bot.load_cogs()
        await bot.open()
        running.append(bot)
        platform = DiscordPlatform(bot, config, ready_timeout=0.05)
        bot.add_platform(platform)
        await platform.start()
        return TriviaBot(bot, clock)

    yield start
    for bot in running:
        await bot.close()


def points(question_id: str) -> int:
    return POINTS[MINI[question_id]["difficulty"]]


def embed(message: dict[str, Any]) -> dict[str, Any]:
    (only,) = message["embeds"]
    return only


def buttons(message: dict[str, Any]) -> list[tuple[int, str, str]]:
    return [(b["type"], b["label"], b["custom_id"]) for row in message.get("components") or [] for b in row["components"]]


async def start_round(fake: FakeDiscord, running: TriviaBot, questions: int = 2) -> tuple[Answer, Answer]:
    """ALICE runs `/trivia start mini`; returns the intro and the first question, once the
    handler has also stored the question's message and scheduled its reveal."""
    interaction = await fake.slash("trivia start", ALICE, category="mini", questions=questions, seconds=10)
    intro, question = await fake.answers_for(interaction, 2)
    reveal = "SELECT COUNT(*) FROM timers WHERE name = 'trivia.reveal'"
    await eventually(lambda: running.rows(reveal), lambda found: found == [(1,)])
    return intro, question


async def open_question(running: TriviaBot, position: int) -> tuple[str, int, list[str]]:
    """(question id, index of the right choice, choices) of the round's question `position`."""
    question_id, correct, choices = await running.one(
        "SELECT question_id, correct, choices FROM trivia_asked WHERE position = ?", (position,)
    )
    return question_id, correct, json.loads(choices)


async def click(fake: FakeDiscord, custom_id: str, user: FakeUser, message: dict[str, Any]) -> Answer:
    return await fake.reply(await fake.click(custom_id, user, message))


# -- /trivia start --------------------------------------------------------------------------


async def test_trivia_start_takes_typed_options_and_asks_with_letter_buttons(
    fake: FakeDiscord, start_trivia: StartTrivia
) -> None:
    running = await start_trivia()
    start = fake.synced("trivia start")
    options = [(o["name"], o["type"], o["required"], o.get("min_value"), o.get("max_value")) for o in start["options"]]
    assert options == [
        ("category", STRING, False, None, None), ("questions", INTEGER, False, 1, 50),
        ("seconds", INTEGER, False, 10, 120),
    ]  # fmt: skip
    trivia = next(c for c in fake.commands[None] if c["name"] == "trivia")
    assert trivia["default_member_permissions"] is None  # members play; /trivia daily checks its role itself
    subcommands = {o["name"] for o in trivia["options"]}
    assert {"start", "stop", "categories", "leaderboard", "stats", "flag", "daily"} <= subcommands
    daily = {o["name"]: o for o in fake.synced("trivia daily")["options"]}
    assert daily["state"]["required"] and [c["value"] for c in daily["state"]["choices"]] == ["on", "off"]
    assert list(daily) == ["state", "at", "channel"]

    intro, question = await start_round(fake, running)

    assert intro.kind == "callback" and intro.type == MESSAGE and not intro.ephemeral
    assert embed(intro.data)["title"] == "Trivia time!"
    assert embed(intro.data)["description"] == (
        "2 questions from Mini, 10 seconds each. Click a letter, or type the answer in the channel."
    )
    assert question.kind == "followup" and not question.ephemeral and question.message is not None
    round_id = await running.one("SELECT id FROM trivia_rounds")
    question_id, _, choices = await open_question(running, 0)
    shown = embed(question.data)
    level = MINI[question_id]["difficulty"]
    assert shown["title"] == f"Question 1 of 2 · Mini · {level} ({POINTS[level]})"
    assert shown["description"] == MINI[question_id]["question"]
    assert shown["footer"]["text"] == f"10 seconds. Click a letter, or type the answer. ({question_id})"
    assert buttons(question.data) == [
        (BUTTON, f"{letter}. {choice}", f"trivia.answer:{round_id}:0:{i}")
        for i, (letter, choice) in enumerate(zip("ABCD", choices, strict=True))
    ]
    assert len(question.data["components"]) == 1  # one row of four
    assert question.data["allowed_mentions"] == {"parse": []}

    assert await running.one("SELECT message_ref FROM trivia_asked") == f"discord:{CHANNEL_ID}:{question.message['id']}"
    jobs = await running.rows("SELECT name, timer_key, status, due_at FROM timers WHERE name LIKE 'trivia.%'")
    assert jobs == [("trivia.reveal", f"{round_id}:0", "pending", "2026-11-27T15:00:10.000000Z")]

    again = await fake.reply(await fake.slash("trivia start", BOB))
    assert again.ephemeral and again.text == "A round is already running in this channel; /trivia stop ends it."
    unknown = await fake.reply(await fake.slash("trivia start", BOB, category="cooking"))
    assert unknown.ephemeral and unknown.text.startswith("There is no category cooking.")


# -- a round played with buttons --------------------------------------------------------------


async def test_a_round_played_by_buttons_reveals_each_answer_and_ends_with_standings(
    fake: FakeDiscord, start_trivia: StartTrivia
) -> None:
    running = await start_trivia()
    _, first = await start_round(fake, running)
    message = first.message
    assert message is not None
    round_id = await running.one("SELECT id FROM trivia_rounds")
    question_id, right, choices = await open_question(running, 0)
    wrong = (right + 1) % 4

    locked = await click(fake, f"trivia.answer:{round_id}:0:{right}", ALICE, message)
    assert locked.kind == "callback" and locked.type == MESSAGE and locked.ephemeral
    assert locked.text == f"Locked in: {'ABCD'[right]}. {choices[right]}"
    assert (await click(fake, f"trivia.answer:{round_id}:0:{wrong}", BOB, message)).ephemeral
    assert (await click(fake, f"trivia.answer:{round_id}:0:{right}", CAROL, message)).ephemeral
    twice = await click(fake, f"trivia.answer:{round_id}:0:{wrong}", ALICE, message)
    assert twice.ephemeral and twice.text == "You already answered this question; one answer each."
    assert fake.channel_posts == [] and buttons(message)  # nothing public until time is up

    assert await running.wait(seconds=9) == 0  # not yet
    assert await running.wait(seconds=1) == 1  # the reveal

    (reveal,) = fake.channel_posts
    assert embed(reveal)["title"] == f"Answer: {'ABCD'[right]}. {choices[right]}"
    full = points(question_id)
    assert embed(reveal)["description"].endswith(f"\nRight: alice +{full}, carol +{full}. Wrong: 1.")
    assert embed(reveal)["footer"]["text"].startswith("Source: https://")
    assert message["components"] == []  # the question message was edited: no more buttons
    assert embed(message)["footer"]["text"] == f"Time's up. ({question_id})"
    assert all(f"{'ABCD'[i]}. {choice}" in embed(message)["description"] for i, choice in enumerate(choices))
    assert ("PATCH", f"/api/v10/channels/{CHANNEL_ID}/messages/{message['id']}") in fake.requests
    late = await click(fake, f"trivia.answer:{round_id}:0:{right}", BOB, message)
    assert late.ephemeral and late.text == "Time's up for that question."

    await running.wait(seconds=5)  # the pause between questions
    second = fake.channel_posts[-1]
    second_id, right2, _ = await open_question(running, 1)
    assert embed(second)["title"].startswith("Question 2 of 2 · Mini · ") and second_id != question_id
    assert [b[2] for b in buttons(second)] == [f"trivia.answer:{round_id}:1:{i}" for i in range(4)]
    assert await running.one("SELECT message_ref FROM trivia_asked WHERE position = 1") == (
        f"discord:{CHANNEL_ID}:{second['id']}"
    )
    assert (await click(fake, f"trivia.answer:{round_id}:1:{right2}", ALICE, second)).text.startswith("Locked in: ")
    await click(fake, f"trivia.answer:{round_id}:1:{(right2 + 1) % 4}", CAROL, second)

    await running.wait(seconds=10)

    reveal2, standings = fake.channel_posts[-2:]
    streak = 25  # alice's second right answer in a row
    assert f"Right: alice +{points(second_id) + streak}. Wrong: 1." in embed(reveal2)["description"]
    assert second["components"] == []
    assert embed(standings)["title"] == "Round over: standings"
    lines = embed(standings)["description"].splitlines()
    assert lines[0] == "That was the last of 2 questions."
    assert [line.split()[:2] for line in lines[1:]] == [["1.", "alice"], ["2.", "carol"], ["3.", "bob"]]
    assert "(2 of 2 right)" in lines[1] and "(0 of 1 right)" in lines[3]
    assert embed(standings)["footer"]["text"] == "Winner: alice."
    assert await running.one("SELECT status, players, winner_id FROM trivia_rounds") == ("completed", 3, str(ALICE.id))
    assert await running.rows("SELECT DISTINCT status FROM timers WHERE name LIKE 'trivia.%'") == [("done",)]
    assert len(fake.channel_posts) == 4  # reveal, question 2, reveal, standings
    clicks = await running.rows(
        "SELECT COUNT(*) FROM engagement_events WHERE kind = 'button' AND cog = 'trivia' AND subject = 'trivia.answer'"
    )
    assert clicks == [(7,)]  # every click is engagement, even the refused ones


async def test_stop_ends_a_round_and_its_timers(fake: FakeDiscord, start_trivia: StartTrivia) -> None:
    running = await start_trivia()
    _, question = await start_round(fake, running, questions=3)
    refused = await fake.reply(await fake.slash("trivia stop", BOB))
    assert refused.ephemeral and refused.text == "Only the member who started this round or a moderator can stop it."

    stopped = await fake.reply(await fake.slash("trivia stop", MANAGER))
    assert not stopped.ephemeral and stopped.text.startswith("Round over\nRound stopped by manny.")

    message = question.message
    assert message is not None
    await fake.wait_for(lambda: message["components"] == [])  # the open question loses its buttons
    assert embed(message)["footer"]["text"].startswith("Time's up.")
    late = await click(fake, "trivia.answer:1:0:0", BOB, message)  # a click already on its way
    assert late.ephemeral and late.text == "Time's up for that question."

    await running.wait(minutes=5)
    assert fake.channel_posts == []  # no reveal, no next question
    assert await running.rows("SELECT DISTINCT status FROM timers WHERE name LIKE 'trivia.%'") == [("cancelled",)]
    assert await running.one("SELECT status FROM trivia_rounds") == "stopped"


# -- typed answers ------------------------------------------------------------------------------


async def test_typed_answers_count_with_the_message_content_intent_and_chatter_is_ignored(
    fake: FakeDiscord, start_trivia: StartTrivia
) -> None:
    running = await start_trivia(discord_message_content_intent=True)
    await start_round(fake, running, questions=1)
    question_id, right, _ = await open_question(running, 0)

    await fake.chat("good morning all", ALICE)
    await fake.chat(MINI[question_id]["answer"].lower() + "!", BOB)  # the answer, typed loosely
    await fake.chat("abcd", ALICE)  # not a letter on its own: chatter
    await fake.chat(f"({'ABCD'[(right + 1) % 4]})", CAROL)  # a letter picks a choice
    await fake.chat(MINI[question_id]["answer"], CAROL)  # a second answer does not count
    answers = "SELECT member_name, choice, correct FROM trivia_answers ORDER BY member_name"
    await eventually(lambda: running.rows(answers), lambda rows: len(rows) == 2)
    await fake.reply(await fake.slash("trivia stats", ALICE))  # a later event: the chat has had its turn
    await eventually(
        lambda: running.rows("SELECT COUNT(*) FROM engagement_events WHERE kind = 'message'"), lambda r: r == [(5,)]
    )

    assert await running.rows(answers) == [("bob", right, 1), ("carol", (right + 1) % 4, 0)]
    assert fake.channel_posts == []  # "Locked in" is private; Discord has no private reply to chat
    taken = await running.rows(
        "SELECT cog, COUNT(*) FROM engagement_events WHERE kind = 'message' GROUP BY cog ORDER BY cog"
    )
    assert taken == [(None, 2), ("trivia", 3)]  # chatter is engagement, but no cog took it

    await running.wait(seconds=10)
    reveal, standings = fake.channel_posts
    assert f"Right: bob +{points(question_id)}. Wrong: 1." in embed(reveal)["description"]
    assert "That was the last of 1 questions." in embed(standings)["description"]
    assert embed(standings)["footer"]["text"] == "Wins count in rounds with 3 or more players and a score above 0."


async def test_without_the_message_content_intent_typed_answers_never_arrive(
    fake: FakeDiscord, start_trivia: StartTrivia
) -> None:
    running = await start_trivia()
    await start_round(fake, running, questions=1)
    question_id, _, _ = await open_question(running, 0)

    await fake.chat(MINI[question_id]["answer"], BOB)  # (Discord would send no content; the adapter does not listen)
    await fake.reply(await fake.slash("trivia stats", BOB))  # a later event: the chat would have had its turn

    assert fake.identifies[0]["intents"] & (1 << 15) == 0  # no message content
    assert await running.rows("SELECT COUNT(*) FROM trivia_answers") == [(0,)]
    assert "Answered 0, right 0" in (await fake.reply(await fake.slash("trivia stats", BOB))).text


# -- the daily question -------------------------------------------------------------------------


async def test_the_daily_question_survives_a_restart_and_reveals_the_shares_next_day(
    fake: FakeDiscord, start_trivia: StartTrivia
) -> None:
    first = await start_trivia()  # 09:00 in Chicago
    refused = await fake.reply(await fake.slash("trivia daily", ALICE, state="on"))
    assert refused.ephemeral and refused.text == "Only moderators can use /trivia daily."
    on = await fake.reply(await fake.slash("trivia daily", MANAGER, state="on", at="10:00"))
    assert not on.ephemeral and on.text.startswith(
        "The daily question in #general is on: every day at 10:00 (America/Chicago), the next in 1 hour."
    )
    audit = await first.rows("SELECT member_id, action, allowed FROM audit_log ORDER BY id")
    assert audit == [(str(ALICE.id), "/trivia daily", 0), (str(MANAGER.id), "/trivia daily", 1)]

    await first.wait(minutes=59)
    assert fake.channel_posts == []
    await first.wait(minutes=1)
    (posted,) = fake.channel_posts
    daily_id, right, stored = await first.one("SELECT id, correct, choices FROM trivia_daily")
    choices = json.loads(stored)
    assert embed(posted)["title"].startswith("Question of the day · ")  # from any category
    assert embed(posted)["footer"]["text"].startswith("Answer any time today; the answer comes out tomorrow.")
    assert [b[2] for b in buttons(posted)] == [f"trivia.daily:{daily_id}:{i}" for i in range(4)]
    wrong = (right + 1) % 4

    locked = await click(fake, f"trivia.daily:{daily_id}:{right}", ALICE, posted)
    assert locked.ephemeral and locked.text.startswith(f"Locked in: {'ABCD'[right]}. ")
    assert locked.text.endswith("The answer comes out tomorrow.")
    assert (await click(fake, f"trivia.daily:{daily_id}:{wrong}", BOB, posted)).ephemeral
    twice = await click(fake, f"trivia.daily:{daily_id}:{wrong}", ALICE, posted)
    assert twice.text == "You already answered today's question; one answer each."
    await first.bot.close()

    second = await start_trivia(at=timedelta(hours=3))  # a new process on the same database, at 12:00
    after_restart = await click(fake, f"trivia.daily:{daily_id}:{right}", CAROL, posted)
    assert after_restart.ephemeral and after_restart.text.startswith("Locked in: ")
    assert buttons(posted)  # still open until tomorrow's question

    await second.wait(hours=22)  # 10:00 the next day

    results, today = fake.channel_posts[1:]
    assert embed(results)["title"].startswith("Yesterday's question: ")
    shares = {f["name"]: f["value"] for f in embed(results)["fields"]}
    assert list(shares) == [f"{letter}. {choice}" for letter, choice in zip("ABCD", choices, strict=True)]
    answer_line = shares[f"{'ABCD'[right]}. {choices[right]}"]
    assert answer_line.split()[0] == "2" and "67%" in answer_line and answer_line.endswith("<- answer")
    assert shares[f"{'ABCD'[wrong]}. {choices[wrong]}"].split()[0] == "1"
    assert "33%" in shares[f"{'ABCD'[wrong]}. {choices[wrong]}"]
    assert embed(results)["footer"]["text"].startswith("3 answered. Source: https://")
    assert posted["components"] == [] and embed(posted)["footer"]["text"].startswith("Time's up.")
    today_id = await second.one("SELECT id FROM trivia_daily WHERE revealed_at IS NULL")
    assert today_id != daily_id and embed(today)["title"].startswith("Question of the day · ")
    assert [b[2] for b in buttons(today)] == [f"trivia.daily:{today_id}:{i}" for i in range(4)]

    closed = await click(fake, f"trivia.daily:{daily_id}:{right}", BOB, posted)
    assert closed.ephemeral and closed.text == "That daily question is closed; its answer is out."
    off = await fake.reply(await fake.slash("trivia daily", MANAGER, state="off"))
    assert off.text.startswith("The daily question in #general is off. The last question's answer still comes out in ")
    await second.wait(days=2)
    assert len(fake.channel_posts) == 4  # off means no more questions, only the last answer
    assert embed(fake.channel_posts[-1])["title"].startswith("Yesterday's question: ")


async def test_the_daily_question_goes_to_a_mentioned_channel(fake: FakeDiscord, start_trivia: StartTrivia) -> None:
    elsewhere = CHANNEL_ID + 9  # picked with Discord's channel picker: it reaches the core as <#id>
    fake.guilds[0].channels[elsewhere] = "trivia"  # a channel of the server, where the bot may post
    running = await start_trivia()
    on = await fake.reply(await fake.slash("trivia daily", MANAGER, state="on", at="09:30", channel=elsewhere))
    assert not on.ephemeral and "every day at 09:30 (America/Chicago), the next in 30 minutes." in on.text

    await running.wait(minutes=30)

    (posted,) = fake.channel_posts
    assert posted["channel_id"] == str(elsewhere) and embed(posted)["title"].startswith("Question of the day · ")
    assert await running.one("SELECT message_ref FROM trivia_daily") == f"discord:{elsewhere}:{posted['id']}"

"""Forms on Discord end to end, through the real discord.py and the fake Discord: a command
with a form used alone opens a modal (`/poll create`, `/webinar add`, `/jobs subscribe`); its
submission runs the command in the member's channel; problems come back as a private list
with "Fix and send again", which reopens the modal filled in; options typed on the slash
command keep working, and a member who may not use a command is refused, not shown a form."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.platforms.discord_forms import DRAFTS_MAX, STALE_FORM, Drafts, form_modal
from cogs.polls import POLL_FORM
from tests.e2e.discord.conftest import ALICE, MODS_ROLE, StartBot
from tests.e2e.discord.fake_discord import (
    ADMINISTRATOR,
    CHANNEL_ID,
    MANAGE_GUILD,
    Answer,
    FakeDiscord,
    FakeUser,
    buttons,
)
from tests.e2e.discord.fake_modals import inputs, modal_error
from tests.e2e.discord.test_events import eventually
from tests.e2e.discord.test_jobs import FeedServer, feeds  # noqa: F401 (the fixture)
from tests.test_jobs import rss, rss_item

MODAL, MESSAGE, THINKING = 9, 4, 5
TEXT_INPUT, STRING_SELECT, CHANNEL_SELECT, LABEL, CHECKBOX_GROUP = 4, 3, 8, 18, 22
SHORT, PARAGRAPH = 1, 2
MANAGER = FakeUser(5601, "manny", permissions=MANAGE_GUILD)  # Manage Server: a moderator
BOB = FakeUser(5602, "bob")
ELSEWHERE = CHANNEL_ID + 7  # another text channel of the server
QUESTION = "Which metadata standard do you use most?"
POLLS = "SELECT question, (SELECT group_concat(label, '|') FROM poll_options WHERE poll_id = polls.id), multi, " \
        "anonymous, hidden, closes_at IS NOT NULL, message_ref FROM polls"  # fmt: skip


async def open_form(fake: FakeDiscord, name: str, user: FakeUser = ALICE) -> dict[str, Any]:
    """Run `/name` alone; the modal it answered with (callback type 9)."""
    answer = await fake.reply(await fake.slash(name, user))
    assert answer.kind == "callback" and answer.type == MODAL, answer.body
    return answer.data


async def send(fake: FakeDiscord, modal: dict[str, Any], values: dict[str, Any], user: FakeUser = ALICE,
               **where: Any) -> Answer:  # fmt: skip
    return await fake.reply(await fake.submit(modal, user, values, **where))


def fields(modal: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """custom_id -> the input, with its Label's text as `label`."""
    return {item["custom_id"]: item for item in inputs(modal)}


def poll_number(answer: Answer) -> int:
    match = re.match(r"Poll #(\d+) ", answer.data["embeds"][0]["title"])
    assert match, answer.data
    return int(match[1])


async def test_poll_create_alone_opens_its_form_as_a_modal(fake: FakeDiscord, start_bot: StartBot) -> None:
    running = await start_bot()
    synced = fake.synced("poll create")["options"]
    assert {o["name"] for o in synced} >= {"question", "options"}
    assert all(o["required"] is False and o["description"] for o in synced), synced  # alone is allowed

    modal = await open_form(fake, "poll create")

    assert modal["custom_id"] == "form:poll create" and modal["title"] == "Create a poll"
    assert modal_error(modal) is None
    assert [(c["type"], c["label"]) for c in modal["components"]] == [
        (LABEL, "Question"), (LABEL, "Options"), (LABEL, "Settings"), (LABEL, "Voting ends")]  # fmt: skip
    found = fields(modal)
    question, options, settings, closes = (found[n] for n in ("question", "options", "settings", "closes"))
    assert (question["type"], question["style"], question["max_length"], question["required"]) == (TEXT_INPUT, SHORT, 300, True)
    assert (options["type"], options["style"], options["required"]) == (TEXT_INPUT, PARAGRAPH, True)
    assert options["max_length"] == 25 * 76 and options["placeholder"] == "One per line"
    assert modal["components"][1]["description"].startswith("2 to 25 answers")
    assert settings["type"] == CHECKBOX_GROUP and settings["required"] is False
    assert [o["value"] for o in settings["options"]] == ["multi", "anonymous", "hidden"]
    assert (closes["type"], closes["style"], closes["placeholder"]) == (TEXT_INPUT, SHORT, '2h, 3d or "friday 5pm"')
    assert "value" not in question and not any(o.get("default") for o in settings["options"])
    assert await running.rows("SELECT id FROM polls") == []
    assert ("form_opened",) in await running.rows("SELECT kind FROM engagement_events")


async def test_problems_are_listed_privately_and_fix_and_send_again_reopens_the_form_filled_in(
    fake: FakeDiscord, start_bot: StartBot
) -> None:
    running = await start_bot()
    modal = await open_form(fake, "poll create")
    long_question = ("Which standard do we teach first? " * 10)[:301]

    answer = await send(fake, modal, {"question": long_question, "options": "Only one", "settings": ["hidden"]})

    assert answer.kind == "callback" and answer.type == MESSAGE and answer.ephemeral
    assert "**Question**: " in answer.text and "300" in answer.text
    assert "**Options**: " in answer.text and "at least 2 options" in answer.text
    assert "Voting ends" not in answer.text and "Settings" not in answer.text
    (retry,) = buttons(answer.message or {})
    assert retry["label"] == "Fix and send again" and retry["custom_id"].startswith("form.retry:poll create:")
    assert await running.rows("SELECT id FROM polls") == []

    reopened = await fake.reply(await fake.click(retry["custom_id"], ALICE, message=answer.message))
    assert reopened.type == MODAL and reopened.data["custom_id"] == "form:poll create"
    assert modal_error(reopened.data) is None
    filled = fields(reopened.data)
    assert filled["question"]["value"] == long_question[:300]  # cut to what the input holds
    assert filled["options"]["value"] == "Only one" and "value" not in filled["closes"]
    assert [o["value"] for o in filled["settings"]["options"] if o.get("default")] == ["hidden"]

    someone_else = await fake.reply(await fake.click(retry["custom_id"], BOB, message=answer.message))
    assert someone_else.type == MODAL and "value" not in fields(someone_else.data)["options"]  # a draft is its author's

    fixed = await send(fake, reopened.data, {"options": "Only one\nAnother one"})  # the rest as it was filled in
    assert fixed.type == MESSAGE and not fixed.ephemeral and poll_number(fixed) >= 1
    ((question, options, multi, anonymous, hidden, closes, _),) = await running.rows(POLLS)
    assert (question, options, multi, anonymous, hidden, closes) == (long_question[:300], "Only one|Another one", 1, 0, 1, 0)


async def test_a_valid_form_creates_the_poll_in_the_members_channel_and_posts_its_card(
    fake: FakeDiscord, start_bot: StartBot
) -> None:
    running = await start_bot()
    modal = await open_form(fake, "poll create")
    values = {"question": QUESTION, "options": "MARC\nRDA\n\n Dublin Core ", "settings": ["multi", "anonymous"], "closes": "2h"}

    answer = await send(fake, modal, values, channel_id=ELSEWHERE)

    assert answer.kind == "callback" and answer.type == MESSAGE and not answer.ephemeral
    number = poll_number(answer)
    (embed,) = answer.data["embeds"]
    assert embed["title"] == f"Poll #{number}  {QUESTION}"
    assert "closes in 2 hours" in embed["description"] and "choose up to 3" in embed["description"]
    assert "anonymous" in embed["description"]
    assert [b["custom_id"] for b in buttons(answer.data)] == [f"poll.vote:{number}:{i}" for i in range(3)]
    assert answer.message is not None
    stored = await eventually(lambda: running.rows(POLLS), lambda found: bool(found) and found[0][-1] is not None)
    assert stored == [(QUESTION, "MARC|RDA|Dublin Core", 3, 1, 0, 1, f"discord:{ELSEWHERE}:{answer.message['id']}")]
    timers = await running.rows("SELECT name, timer_key, status FROM timers WHERE name = 'poll.close'")
    assert timers == [("poll.close", str(number), "pending")]


async def test_webinar_add_opens_its_first_five_fields_for_a_moderator_and_schedules_it(
    fake: FakeDiscord, start_bot: StartBot
) -> None:
    running = await start_bot()
    assert not any(o["required"] for o in fake.synced("webinar add")["options"])

    modal = await open_form(fake, "webinar add", MANAGER)

    assert modal["title"] == "Schedule a webinar" and modal_error(modal) is None
    assert [c["label"] for c in modal["components"]] == ["Title", "Starts", "Link to join", "What it is about", "How long"]
    found = fields(modal)
    assert found["when"]["style"] == SHORT and found["when"]["placeholder"] == '"Dec 3 2pm" or 2026-12-03 14:00'
    assert (found["description"]["style"], found["description"]["max_length"]) == (PARAGRAPH, 2000)
    assert [k for k, v in found.items() if v["required"]] == ["title", "when"]
    when = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%d 14:00")

    answer = await send(fake, modal, {"title": "Linked data for catalogers", "when": when,
                                      "url": "https://meet.example.org/ld", "description": "Bring questions."}, MANAGER)  # fmt: skip

    assert answer.type == MESSAGE and not answer.ephemeral and "Linked data for catalogers" in answer.text
    rows = await running.rows("SELECT title, url, description, local_start, duration_seconds, reminders, channel_id FROM webinars")
    ((title, url, description, local_start, seconds, reminders, channel),) = rows
    assert (title, url, description, seconds, channel) == ("Linked data for catalogers", "https://meet.example.org/ld",
                                                           "Bring questions.", 3600, str(CHANNEL_ID))  # fmt: skip
    assert local_start.startswith(when.replace(" ", "T")) and reminders  # the fields Discord does not show keep defaults


async def test_a_member_is_refused_instead_of_shown_a_moderators_form(fake: FakeDiscord, start_bot: StartBot) -> None:
    running = await start_bot()
    answer = await fake.reply(await fake.slash("webinar add", ALICE))
    assert answer.type == MESSAGE and answer.ephemeral and "Only moderators can use /webinar add." in answer.text
    assert [a.type for a in fake.answers[max(fake.answers)]] == [MESSAGE]
    assert await running.rows("SELECT id FROM webinars") == []


async def test_a_member_who_sends_a_moderators_form_or_its_retry_is_refused_with_a_plain_notice(
    fake: FakeDiscord, start_bot: StartBot
) -> None:
    running = await start_bot()
    modal = await open_form(fake, "webinar add", MANAGER)
    when = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%d 14:00")
    sent = await send(fake, modal, {"title": "By Alice", "when": when}, ALICE)
    assert sent.type == MESSAGE and sent.ephemeral and sent.text == "Only moderators can use /webinar add."
    assert buttons(sent.message or {}) == []  # no "Fix and send again": no field can fix a role
    refused = await fake.reply(await fake.click("form.retry:webinar add:0123456789abcdef", ALICE))
    assert refused.type == MESSAGE and refused.ephemeral and refused.text == "Only moderators can use /webinar add."
    reopened = await fake.reply(await fake.click("form.retry:webinar add:0123456789abcdef", MANAGER))
    assert reopened.type == MODAL and reopened.data["custom_id"] == "form:webinar add"
    assert await running.rows("SELECT id FROM webinars") == []


async def test_a_channel_the_bot_cannot_see_or_write_in_is_refused_before_anything_is_stored(
    fake: FakeDiscord, start_bot: StartBot
) -> None:
    hidden, read_only, open_channel = CHANNEL_ID + 31, CHANNEL_ID + 32, CHANNEL_ID + 33
    guild = fake.guilds[0]
    guild.channels.update({hidden: "mods", read_only: "rules", open_channel: "webinars"})
    guild.private[hidden] = MODS_ROLE  # only the Mods role sees it; the bot does not hold it
    guild.read_only.add(read_only)
    running = await start_bot()
    when = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%d 14:00")
    said = []
    for channel in (hidden, read_only):
        answer = await fake.reply(await fake.slash("webinar add", MANAGER, title="RDA", when=when, channel=channel))
        assert answer.type == MESSAGE and answer.ephemeral, answer.text
        said.append(answer.text)
    assert said == [f"I cannot post in <#{hidden}>: I lack View Channel and Send Messages there. Give the bot's role "
                    "that in the channel's permissions, or pick another channel.",
                    f"I cannot post in <#{read_only}>: I lack Send Messages there. Give the bot's role that in the "
                    "channel's permissions, or pick another channel."]  # fmt: skip
    modal = await open_form(fake, "jobs subscribe", MANAGER)  # a form: the sentence on the channel's field
    refused = await send(fake, modal, {"url": "https://jobs.example.org/feed", "channel": hidden}, MANAGER)
    assert refused.ephemeral and f"**Post jobs in**: I cannot post in <#{hidden}>" in refused.text
    assert await running.rows("SELECT COUNT(*) FROM webinars") == [(0,)]
    assert await running.rows("SELECT COUNT(*) FROM job_feeds") == [(0,)] and fake.channel_posts == []

    added = await fake.reply(await fake.slash("webinar add", MANAGER, title="RDA", when=when, channel=open_channel))
    assert added.ephemeral and added.text.startswith("Webinar #1 is set for ")
    await fake.wait_for(lambda: fake.channel_posts)
    assert [m["channel_id"] for m in fake.channel_posts] == [str(open_channel)]


async def test_options_typed_on_the_slash_command_still_work(fake: FakeDiscord, start_bot: StartBot) -> None:
    running = await start_bot()
    answer = await fake.reply(await fake.slash("poll create", ALICE, question="Q?", options="a;b"))
    assert answer.type == MESSAGE and not answer.ephemeral and answer.data["embeds"][0]["title"].endswith("Q?")
    assert [row[:2] for row in await running.rows(POLLS)] == [("Q?", "a|b")]

    some = await fake.reply(await fake.slash("poll create", ALICE, question="Only a question?"))
    assert some.type == MESSAGE and some.ephemeral and "at least 2 options" in some.text  # not a form: options were given


async def test_jobs_subscribe_picks_a_channel_and_a_choice_and_a_retry_keeps_them(
    fake: FakeDiscord, start_bot: StartBot, feeds: FeedServer,  # noqa: F811 (the fixture)
) -> None:
    fake.guilds[0].channels[ELSEWHERE] = "jobs"  # a channel of the server, where the bot may post
    running = await start_bot(bot_allow_private_urls=True)
    url = feeds.serve("/feed", rss([rss_item(n) for n in (3, 2, 1)]))
    modal = await open_form(fake, "jobs subscribe", MANAGER)
    assert modal_error(modal) is None and len(modal["components"]) == 5
    found = fields(modal)
    channel, backfill = found["channel"], found["backfill"]
    assert channel["type"] == CHANNEL_SELECT and channel["channel_types"] == [0, 5] and channel["required"] is False
    assert not channel.get("default_values")  # left empty: the jobs channel, else where the form was opened
    assert backfill["type"] == STRING_SELECT and [o["value"] for o in backfill["options"]] == ["0", "3", "5", "10", "20"]

    refused = await send(fake, modal, {"url": "not an address", "channel": ELSEWHERE, "backfill": ["3"]}, MANAGER)
    assert refused.ephemeral and "**Feed address (RSS or Atom)**: " in refused.text
    (retry,) = buttons(refused.message or {})
    reopened = await fake.reply(await fake.click(retry["custom_id"], MANAGER, message=refused.message))
    filled = fields(reopened.data)
    assert filled["url"]["value"] == "not an address"
    assert [(int(d["id"]), d["type"]) for d in filled["channel"]["default_values"]] == [(ELSEWHERE, "channel")]
    assert [o["value"] for o in filled["backfill"]["options"] if o.get("default")] == ["3"]

    answer = await send(fake, reopened.data, {"url": url}, MANAGER)

    assert answer.type == MESSAGE and f"new jobs go to <#{ELSEWHERE}>" in answer.text, answer.text
    assert await running.rows("SELECT channel_id, url FROM job_feeds") == [(str(ELSEWHERE), url)]
    posted = await fake.wait_for(lambda: [m for m in fake.channel_posts if m["channel_id"] == str(ELSEWHERE)])
    assert len(posted) >= 1


async def test_an_unknown_or_expired_draft_reopens_the_form_empty(fake: FakeDiscord, start_bot: StartBot) -> None:
    await start_bot()
    answer = await fake.reply(await fake.click("form.retry:poll create:0123456789abcdef", ALICE))
    assert answer.type == MODAL and answer.data["custom_id"] == "form:poll create"
    assert not any("value" in item for item in inputs(answer.data))
    gone = await fake.reply(await fake.click("form.retry:no such command:0123456789abcdef", ALICE))
    assert gone.type == MESSAGE and gone.ephemeral and gone.text == STALE_FORM


def test_drafts_are_kept_fifteen_minutes_and_at_most_a_thousand() -> None:
    now = [0.0]
    drafts = Drafts(clock=lambda: now[0])
    token = drafts.put("5001", "poll create", {"question": "Q?"})
    assert drafts.get(token, "5001", "poll create") is not None
    assert drafts.get(token, "5002", "poll create") is None and drafts.get(token, "5001", "webinar add") is None
    now[0] = 15 * 60 - 1
    assert drafts.get(token, "5001", "poll create") is not None
    now[0] = 15 * 60
    assert drafts.get(token, "5001", "poll create") is None and len(drafts) == 0
    tokens = [drafts.put("5001", "poll create", {}) for _ in range(DRAFTS_MAX + 5)]
    assert len(drafts) == DRAFTS_MAX and drafts.get(tokens[0], "5001", "poll create") is None
    assert drafts.get(tokens[-1], "5001", "poll create") is not None


async def test_a_slow_submission_is_deferred_as_a_slash_command_is(fake: FakeDiscord, start_bot: StartBot) -> None:
    running = await start_bot(defer_after=0.0)
    modal = form_modal("poll create", POLL_FORM, {}).to_dict()  # the modal, as /poll create opens it

    interaction = await fake.submit(modal, ALICE, {"question": QUESTION, "options": "MARC\nRDA"})
    thinking, card = await fake.answers_for(interaction, 2)
    assert (thinking.kind, thinking.type, card.kind) == ("callback", THINKING, "edit_original")
    assert card.message is not None and card.message["embeds"][0]["title"].endswith(QUESTION)
    assert len(await running.rows("SELECT id FROM polls")) == 1


async def test_whatever_a_client_submits_is_answered_without_a_traceback(
    fake: FakeDiscord, start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    running = await start_bot()
    stale = await fake.reply(await fake.modal_submit({"custom_id": "form:no such command", "components": []}, ALICE))
    assert stale.ephemeral and stale.text == STALE_FORM
    garbage = {"custom_id": "form:poll create", "components": [
        5, {"type": 18, "component": "x"}, {"type": 1, "components": [{"custom_id": "question", "value": 7}]},
        {"type": 18, "component": {"type": 4, "custom_id": "options", "value": "a\nb"}},
        {"type": 18, "component": {"type": 22, "custom_id": "settings", "values": [{"x": 1}, "multi", "evil"]}},
    ]}  # fmt: skip
    answer = await fake.reply(await fake.modal_submit(garbage, ALICE))
    assert answer.ephemeral and "**Question**: " in answer.text
    assert await running.rows("SELECT id FROM polls") == []
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records if r.exc_info]


async def test_a_channel_setting_the_bot_cannot_write_in_is_refused_when_set(
    fake: FakeDiscord, start_bot: StartBot
) -> None:
    """/config set checks a channel as the commands that post there do: a jobs_channel the
    bot may not write in would fail at the first post, so it is refused when set."""
    read_only, open_channel = CHANNEL_ID + 32, CHANNEL_ID + 33
    guild = fake.guilds[0]
    guild.channels.update({read_only: "rules", open_channel: "jobs"})
    guild.read_only.add(read_only)
    running = await start_bot()
    admin = FakeUser(5603, "ada", permissions=ADMINISTRATOR)
    refused = await fake.reply(await fake.slash("config set", admin, key="jobs_channel", value=f"<#{read_only}>"))
    assert refused.ephemeral and f"I cannot post in <#{read_only}>: I lack Send Messages there" in refused.text
    assert await running.rows("SELECT COUNT(*) FROM community_settings WHERE key = 'jobs_channel'") == [(0,)]
    taken = await fake.reply(await fake.slash("config set", admin, key="jobs_channel", value=f"<#{open_channel}>"))
    assert "jobs_channel is now" in taken.text


async def test_a_problem_with_a_field_the_modal_cannot_show_is_said_plainly_without_a_retry(
    fake: FakeDiscord, start_bot: StartBot
) -> None:
    """The webinar form from a channel the bot cannot write in, with no webinars_channel: the
    problem is the channel, which Discord's five fields do not include, so "Fix and send
    again" could not fix it; the member is told to type the option instead."""
    read_only = CHANNEL_ID + 32
    guild = fake.guilds[0]
    guild.channels[read_only] = "rules"
    guild.read_only.add(read_only)
    running = await start_bot()
    modal = await open_form(fake, "webinar add", MANAGER)
    when = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%d 14:00")
    answer = await send(fake, modal, {"title": "RDA", "when": when}, MANAGER, channel_id=read_only)
    assert answer.ephemeral and answer.text.startswith(f"I cannot post in <#{read_only}>")
    assert "Type /webinar add with channel: to choose it." in answer.text and buttons(answer.data) == []
    assert await running.rows("SELECT COUNT(*) FROM webinars") == [(0,)]

"""Webinars end to end on Discord: `/webinar add` with typed options, the announcement as an
embed with a native time, a Join link button and Going / Not going / Remind me buttons with
live (coalesced) counts; the webinar mirrored as an external Guild Scheduled Event (created,
moved, cancelled); reminders in the channel and as direct messages, each exactly once, and a
single channel notice for a member whose DMs are closed; "Interested" on the scheduled event
counted as going; and a server where the bot lacks Manage Events.

Time is a ManualClock: a test moves it and runs the scheduler's due timers, so a reminder a
day ahead takes no real time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.app import Bot
from bot.clock import ManualClock
from bot.platforms.discord import NEEDS_MANAGE_EVENTS, DiscordPlatform
from storage.db import Database
from tests.e2e.discord.fake_discord import (
    CHANNEL_ID,
    GUILD_ID,
    MANAGE_GUILD,
    Answer,
    FakeDiscord,
    FakeUser,
    buttons,
    message_text,
)
from tests.e2e.timers import run_due
from tests.harness import START, make_settings

STRING, INTEGER = 3, 4
LINK_STYLE, SUCCESS_STYLE, PRIMARY_STYLE = 5, 3, 1
EXTERNAL, GUILD_ONLY, SCHEDULED, CANCELED = 3, 2, 1, 4
GUILD_SCHEDULED_EVENTS_INTENT = 1 << 16
MANAGER = FakeUser(5401, "manny", permissions=MANAGE_GUILD)  # Manage Server: a moderator
BOB = FakeUser(5402, "bob")
CARA = FakeUser(5403, "cara")
DAN = FakeUser(5404, "dan")
ERIN = FakeUser(5405, "erin")
TITLE = "Linked data for catalogers"
URL = "https://meet.example.org/linked-data"
WHEN = "2026-11-29T14:00 America/Chicago"  # two days and five hours after START
STARTS = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)


class WebinarBot:
    """A running bot whose time moves only when the test says so."""

    def __init__(self, bot: Bot, clock: ManualClock) -> None:
        self.bot = bot
        self.clock = clock

    async def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        await self.bot.db.flush()
        return [tuple(row) for row in await self.bot.db.fetchall(sql, params)]

    async def until(self, when: datetime) -> int:
        """Let time pass up to `when`: run every timer that fell due (reminders) and what they started."""
        self.clock.set(when)
        ran = await run_due(self.bot)
        await self.bot.idle()
        return ran


@pytest.fixture
async def webinar_bot(tmp_path: Path, fake: FakeDiscord) -> AsyncIterator[Callable[[], Awaitable[WebinarBot]]]:
    running: list[Bot] = []

    async def start() -> WebinarBot:
        config = make_settings(tmp_path, discord_token=fake.token, discord_api_base=fake.api_base,
                               discord_gateway_url=fake.gateway_url)  # fmt: skip
        clock = ManualClock(START)
        bot = Bot(config, Database(config.bot_database), clock, edit_interval=0.0)
        bot.load_cogs()
        await bot.open()
        running.append(bot)
        platform = DiscordPlatform(bot, config, ready_timeout=0.05)
        bot.add_platform(platform)
        await platform.start()
        return WebinarBot(bot, clock)

    yield start
    for bot in running:
        await bot.close()


async def add(fake: FakeDiscord, **options: Any) -> list[Answer]:
    """`/webinar add` by the moderator: the announcement (the public reply) and the moderator's note."""
    values = {"title": TITLE, "when": WHEN, "url": URL, **options}
    return await fake.answers_for(await fake.slash("webinar add", MANAGER, **values), 2)


def embed(message: dict[str, Any]) -> dict[str, Any]:
    (only,) = message["embeds"]
    return only


def fields(message: dict[str, Any]) -> dict[str, str]:
    return {f["name"]: f["value"] for f in embed(message)["fields"]}


def heading(message: dict[str, Any]) -> str:
    """The embed's title; one with a native time (which titles cannot show) heads the description in bold."""
    shown = embed(message)
    if shown.get("title"):
        return str(shown["title"])
    first = (shown.get("description") or "").split("\n")[0]
    return first.removeprefix("**").removesuffix("**")


def titled(messages: list[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    return [m for m in messages if m["embeds"] and heading(m).startswith(prefix)]


def the_event(fake: FakeDiscord) -> dict[str, Any]:
    (event,) = fake.scheduled_events.values()
    return event


async def test_add_announces_mirrors_as_a_scheduled_event_and_reminds_each_once(
    fake: FakeDiscord, webinar_bot: Callable[[], Awaitable[WebinarBot]]
) -> None:
    running = await webinar_bot()
    assert fake.identifies[0]["intents"] & GUILD_SCHEDULED_EVENTS_INTENT  # not privileged; Interested arrives
    options = {o["name"]: o for o in fake.synced("webinar add")["options"]}
    assert list(options)[:2] == ["title", "when"] and not any(o["required"] for o in options.values())  # alone: a form
    assert {"duration", "url", "description", "reminders", "channel"} <= set(options)

    announced, note = await add(fake, reminders="24h,1h", description="Bring your questions about BIBFRAME.")

    # the announcement: an embed with the reader's own time, a Join link and the RSVP buttons
    message = announced.message
    assert message is not None and announced.kind == "callback" and not announced.ephemeral
    assert embed(message)["title"] == TITLE
    stamp = int(STARTS.timestamp())
    assert fields(message)["When"] == f"<t:{stamp}:F> (<t:{stamp}:R>)"
    assert fields(message)["RSVPs"] == "0 going · 0 not going"
    going, not_going, remind, join = buttons(message)
    assert (going["label"], going["custom_id"], going["style"]) == ("Going (0)", "webinar.rsvp:1:going", SUCCESS_STYLE)
    assert (not_going["label"], not_going["custom_id"]) == ("Not going (0)", "webinar.rsvp:1:not")
    assert (remind["label"], remind["custom_id"], remind["style"]) == ("Remind me", "webinar.remind:1", PRIMARY_STYLE)
    assert join == {"type": 2, "style": LINK_STYLE, "label": "Join webinar", "url": URL, "disabled": False}
    assert note.ephemeral and note.text.startswith("Webinar #1 is set for Sunday 29 November 2026, 14:00 CST (20:00 UTC)")
    assert "Manage Events" not in note.text

    # mirrored as an external scheduled event, its id kept with the webinar
    (created,) = fake.events_changed("create")
    event = the_event(fake)
    assert (created["entity_type"], created["privacy_level"]) == (EXTERNAL, GUILD_ONLY)
    assert created["name"] == TITLE and created["description"] == "Bring your questions about BIBFRAME."
    assert created["entity_metadata"] == {"location": URL}
    assert datetime.fromisoformat(created["scheduled_start_time"]) == STARTS
    assert datetime.fromisoformat(created["scheduled_end_time"]) == STARTS + timedelta(hours=1)
    assert event["status"] == SCHEDULED and event["guild_id"] == str(GUILD_ID)
    assert await running.rows("SELECT discord_event_id FROM webinars") == [(event["id"],)]

    # RSVPs: Going, and Remind me (which counts as going); the message's counts follow
    fake.close_dms(DAN)
    said = await fake.reply(await fake.click("webinar.rsvp:1:going", BOB, message))
    assert said.ephemeral and said.text == f"You're going to {TITLE}. Click Remind me for a private reminder."
    for member in (CARA, DAN):
        asked = await fake.reply(await fake.click("webinar.remind:1", member, message))
        assert asked.ephemeral and asked.text == f"I'll send you a direct message before {TITLE} starts."
    await fake.wait_for(lambda: fields(message)["RSVPs"] == "3 going · 0 not going")
    assert buttons(message)[0]["label"] == "Going (3)"
    assert len([mid for mid, _ in fake.message_edits if mid == int(message["id"])]) <= 3  # coalesced, never more

    # a day before: the channel, Cara's DMs, and one notice for Dan (whose DMs are closed)
    posts_before = len(fake.channel_posts)
    await running.until(STARTS - timedelta(hours=24))
    posted = fake.channel_posts[posts_before:]
    (day_before,) = titled(posted, f"Reminder: {TITLE}")
    assert day_before["channel_id"] == str(CHANNEL_ID)
    assert heading(day_before) == f"Reminder: {TITLE}"
    assert embed(day_before)["description"].startswith(f"Starts <t:{stamp}:R>.")  # each reader's own "in 1 day"
    assert [b.get("url") for b in buttons(day_before)] == [URL]
    (closed,) = [m for m in posted if "direct messages are closed" in message_text(m)]
    assert message_text(closed) == (f"dan: I could not send your reminder for {TITLE} as a direct message because "
                                    "your direct messages are closed; reminders will appear here.")  # fmt: skip
    (cara_dm,) = fake.dms_to(CARA)
    assert heading(cara_dm) == f"Reminder: {TITLE}"
    assert embed(cara_dm)["footer"]["text"] == "You asked to be reminded."
    assert fake.dms_to(BOB) == [] and fake.dms_to(DAN) == []

    # nothing twice: running the timers again at the same moment sends nothing
    assert await running.until(STARTS - timedelta(hours=24)) == 0
    assert len(fake.channel_posts) == posts_before + 2 and len(fake.dms_to(CARA)) == 1

    # an hour before, then the start: one more each, and no second closed-DM notice
    await running.until(STARTS - timedelta(hours=1))
    await running.until(STARTS)
    after = fake.channel_posts[posts_before:]
    assert len(titled(after, f"Reminder: {TITLE}")) == 2
    assert len(titled(after, f"Starting now: {TITLE}")) == 1
    assert len([m for m in after if "direct messages are closed" in message_text(m)]) == 1
    cara_dms = [heading(m) for m in fake.dms_to(CARA)]
    assert cara_dms == [f"Reminder: {TITLE}"] * 2 + [f"Starting now: {TITLE}"]
    await running.until(STARTS + timedelta(minutes=10))
    assert len(fake.channel_posts) == posts_before + 4 and len(fake.dms_to(CARA)) == 3


async def test_edit_moves_the_scheduled_event_and_tells_those_going_cancel_cancels_it_and_its_reminders(
    fake: FakeDiscord, webinar_bot: Callable[[], Awaitable[WebinarBot]]
) -> None:
    running = await webinar_bot()
    announced, _ = await add(fake, reminders="1h")
    message = announced.message
    assert message is not None
    await fake.reply(await fake.click("webinar.rsvp:1:going", BOB, message))
    event_id = the_event(fake)["id"]

    options = {o["name"]: o for o in fake.synced("webinar edit")["options"]}
    assert options["id"]["type"] == INTEGER and options["id"]["required"]
    moved = await fake.reply(await fake.slash("webinar edit", MANAGER, id=1, when="2026-11-29T16:00 America/Chicago"))
    assert moved.text == "Webinar #1 is now Sunday 29 November 2026, 16:00 CST (22:00 UTC)."

    new_start = STARTS + timedelta(hours=2)
    (edit,) = fake.events_changed("edit", event_id)
    assert datetime.fromisoformat(edit["scheduled_start_time"]) == new_start
    assert datetime.fromisoformat(edit["scheduled_end_time"]) == new_start + timedelta(hours=1)
    assert edit["entity_metadata"] == {"location": URL}
    assert datetime.fromisoformat(the_event(fake)["scheduled_start_time"]) == new_start
    (told,) = fake.dms_to(BOB)
    assert heading(told) == f"New time: {TITLE}"
    assert fields(told)["When"].startswith(f"<t:{int(new_start.timestamp())}:F>")
    await fake.wait_for(lambda: fields(message)["When"].startswith(f"<t:{int(new_start.timestamp())}:F>"))

    cancelled = await fake.reply(await fake.slash("webinar cancel", MANAGER, id=1))
    assert cancelled.text == f"Webinar #1 ({TITLE}) is cancelled; its reminders will not go out."
    assert the_event(fake)["status"] == CANCELED
    assert fake.events_changed("edit", event_id)[-1] == {"status": CANCELED}
    assert [heading(m) for m in fake.dms_to(BOB)] == [f"New time: {TITLE}", f"Cancelled: {TITLE}"]
    await fake.wait_for(lambda: heading(message) == f"Cancelled: {TITLE}")
    assert buttons(message) == []

    # the old and the moved reminders: none goes out
    posts_before = len(fake.channel_posts)
    for when in (STARTS - timedelta(hours=1), STARTS, new_start - timedelta(hours=1), new_start):
        await running.until(when)
    assert fake.channel_posts[posts_before:] == [] and len(fake.dms_to(BOB)) == 2
    again = await fake.reply(await fake.slash("webinar cancel", MANAGER, id=1))
    assert again.text == "Webinar #1 was already cancelled." and len(fake.events_changed("edit", event_id)) == 2


async def test_interested_on_the_scheduled_event_counts_as_going(
    fake: FakeDiscord, webinar_bot: Callable[[], Awaitable[WebinarBot]]
) -> None:
    running = await webinar_bot()
    announced, _ = await add(fake)
    message = announced.message
    assert message is not None
    event_id = the_event(fake)["id"]

    await fake.event_interest(event_id, ERIN)
    await fake.wait_for(lambda: fields(message)["RSVPs"] == "1 going · 0 not going")
    assert buttons(message)[0]["label"] == "Going (1)"
    rows = await running.rows("SELECT member_id, going FROM webinar_rsvps")
    assert rows == [(str(ERIN.id), 1)]
    kinds = await running.rows("SELECT kind, member_id FROM engagement_events WHERE kind = 'event_interest'")
    assert kinds == [("event_interest", str(ERIN.id))]

    await fake.event_interest(event_id, ERIN, interested=False)
    await fake.wait_for(lambda: fields(message)["RSVPs"] == "0 going · 0 not going")

    await fake.event_interest(9999, BOB)  # an event the bot did not create: nothing changes
    await fake.reply(await fake.slash("help", BOB))
    assert fields(message)["RSVPs"] == "0 going · 0 not going"


async def test_without_manage_events_the_moderator_is_told_and_the_webinar_still_works(
    fake: FakeDiscord, webinar_bot: Callable[[], Awaitable[WebinarBot]]
) -> None:
    running = await webinar_bot()
    fake.refuse_events = True

    announced, note = await add(fake, reminders="1h")

    assert note.ephemeral and note.text.endswith(NEEDS_MANAGE_EVENTS)
    assert note.text.startswith("Webinar #1 is set for")
    assert fake.scheduled_events == {} and await running.rows("SELECT discord_event_id FROM webinars") == [(None,)]
    message = announced.message
    assert message is not None
    said = await fake.reply(await fake.click("webinar.remind:1", BOB, message))
    assert said.text == f"I'll send you a direct message before {TITLE} starts."
    moved = await fake.reply(await fake.slash("webinar edit", MANAGER, id=1, title="Linked data, part 1"))
    assert moved.text == "Webinar #1 is updated."
    await running.until(STARTS - timedelta(hours=1))
    assert len(titled(fake.channel_posts, "Reminder: Linked data, part 1")) == 1 and len(fake.dms_to(BOB)) == 1


async def test_a_long_link_goes_in_the_description_and_a_refused_cancel_deletes_the_event(
    fake: FakeDiscord, webinar_bot: Callable[[], Awaitable[WebinarBot]]
) -> None:
    await webinar_bot()
    long_url = "https://meet.example.org/" + "x" * 120
    await add(fake, url=long_url, title="T" * 200)

    (created,) = fake.events_changed("create")
    assert created["entity_metadata"] == {"location": "Online"}
    assert created["description"] == f"Join: {long_url}"
    assert len(created["name"]) == 100 and created["name"].endswith("…")

    fake.refuse_event_cancel = True
    event_id = the_event(fake)["id"]
    await fake.reply(await fake.slash("webinar cancel", MANAGER, id=1))
    assert fake.scheduled_events == {} and len(fake.events_changed("delete", event_id)) == 1

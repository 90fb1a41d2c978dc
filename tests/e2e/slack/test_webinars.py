"""Webinars end to end on Slack: `/alcts webinar add "Title" "Dec 3 2pm ET" url=...` in the
text grammar, the announcement as Block Kit with Slack's native date, a url button and RSVP
buttons whose counts follow by `chat.update`; Going and Remind me answered privately;
reminders in the channel and as direct messages (conversations.open, then chat.postMessage
to the D... channel), each exactly once, and one channel notice for a member whose DMs are
closed; `/alcts webinar ics 1` as a .ics file through the files API, parsed back with
icalendar.

Everything goes through the real slack-bolt app (signed HTTP requests) to the fake Slack;
time is the harness's ManualClock, moved by the test, which then runs the due timers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import icalendar
import pytest

from tests.e2e.slack.conftest import ANN, DEE, EVE, GENERAL, MOD, SlackHarness
from tests.e2e.slack.fake_slack import FakeSlack, Post, dm_channel
from tests.e2e.timers import run_due

TITLE = "Linked data for catalogers"
URL = "https://meet.example.org/linked-data"
STARTS = datetime(2026, 12, 3, 19, 0, tzinfo=UTC)  # Dec 3 2pm ET (EST) is 19:00 UTC
ADD = f'webinar add "{TITLE}" "Dec 3 2pm ET" url=<{URL}> reminders=24h,1h'


class WebinarHarness(SlackHarness):
    """The harness with time that moves when told, and quick edits of one message."""

    async def start(self) -> WebinarHarness:
        await super().start()
        self.bot.edits.min_interval = 0.01
        return self

    async def until(self, when: datetime) -> int:
        """Let time pass up to `when`: run every timer that fell due (reminders) and what they started."""
        self.clock.set(when)
        ran = await run_due(self.bot)
        await self.bot.idle()
        await self.settle()
        return ran


@pytest.fixture
async def slack(tmp_path: Path, fake_slack: FakeSlack) -> AsyncIterator[WebinarHarness]:
    """Overrides conftest's `slack` in this module."""
    harness = await WebinarHarness(tmp_path, fake_slack).start()
    yield harness
    await harness.stop()


def reminders(posts: list[Post], prefix: str) -> list[Post]:
    return [p for p in posts if prefix in p.everything() and p.via == "chat.postMessage"]


def slack_date(when: datetime, style: str) -> str:
    return f"<!date^{int(when.timestamp())}^{style}"


async def test_add_rsvp_and_reminders_in_the_channel_and_by_direct_message_each_once(slack: WebinarHarness) -> None:
    fake = slack.fake
    refused = await slack.command(ADD, user=ANN)
    assert [p.text for p in refused] == ["Only moderators can use /alcts webinar add."]

    posts = await slack.command(ADD, user=MOD)

    [announcement] = [p for p in posts if not p.ephemeral]
    [note] = [p for p in posts if p.ephemeral]
    assert announcement.via == "chat.postMessage" and announcement.channel == GENERAL and announcement.ts
    assert announcement.headers() == [TITLE]
    assert slack_date(STARTS, "{date_long}") in announcement.everything()  # each reader's own zone
    going, not_going, remind, join = announcement.buttons()
    assert [going["value"], not_going["value"], remind["value"]] == [
        "webinar.rsvp:1:going", "webinar.rsvp:1:not", "webinar.remind:1"]  # fmt: skip
    assert [going["text"]["text"], not_going["text"]["text"], remind["text"]["text"]] == [
        "Going (0)", "Not going (0)", "Remind me"]  # fmt: skip
    assert join["url"] == URL and join["text"]["text"] == "Join webinar" and "value" not in join
    assert note.user == MOD
    assert note.text.startswith("Webinar #1 is set for Thursday 3 December 2026, 14:00 EST (19:00 UTC), 1 hour")
    assert "Manage Events" not in note.text  # Slack has no event listings

    # RSVPs, answered privately; the announcement's counts follow
    fake.refuse_dms(DEE)
    [said] = await slack.click("webinar.rsvp:1:going", ANN, message_ts=announcement.ts)
    assert said.ephemeral and said.user == ANN
    assert said.text == f"You're going to {TITLE}. Click Remind me for a private reminder."
    for user in (EVE, DEE):
        [asked] = await slack.click("webinar.remind:1", user, message_ts=announcement.ts)
        assert asked.ephemeral and asked.text == f"I'll send you a direct message before {TITLE} starts."
    assert announcement.buttons()[0]["text"]["text"] == "Going (3)"
    assert "3 going · 0 not going" in announcement.everything()

    # a day before: the channel, Eve's DMs, and one notice for Dee (whose DMs are closed)
    opened = len(fake.called("conversations.open"))
    before = len(fake.posts)
    await slack.until(STARTS - timedelta(hours=24))
    posted = fake.posts[before:]
    [day_before] = reminders(fake.in_channel(GENERAL), f"Reminder: {TITLE}")
    assert day_before.headers() == [f"Reminder: {TITLE}"]  # a header is plain text: the time is in the text
    assert "<!date^" in day_before.everything()
    assert f"{slack_date(STARTS, '{date_long} {time}')}|Thursday 3 December 2026, 19:00 UTC>" in day_before.everything()
    assert f"{slack_date(STARTS, '{ago}')}|" in day_before.everything()
    assert [b.get("url") for b in day_before.buttons()] == [URL]
    [eve_dm] = fake.dms_to(EVE)
    assert eve_dm.channel == dm_channel(EVE) == "D0EVE0001" and eve_dm.via == "chat.postMessage"
    assert f"Reminder: {TITLE}" in eve_dm.everything() and "You asked to be reminded." in eve_dm.everything()
    assert {c["users"] for c in fake.called("conversations.open")[opened:]} == {EVE, DEE}
    [closed] = [p for p in posted if "direct messages are closed" in p.everything()]
    assert closed.channel == GENERAL
    assert closed.text.startswith(f"Dee: I could not send your reminder for {TITLE} as a direct message")
    assert fake.dms_to(ANN) == [] and fake.dms_to(DEE) == []

    # nothing twice, then the hour before and the start: one more each, no second notice
    assert await slack.until(STARTS - timedelta(hours=24)) == 0
    await slack.until(STARTS - timedelta(hours=1))
    await slack.until(STARTS)
    await slack.until(STARTS + timedelta(minutes=10))
    channel = fake.posts[before:]
    assert len(reminders(channel, f"Reminder: {TITLE}")) == 2 + 2  # two in the channel, two in Eve's DMs
    assert len([p for p in fake.in_channel(GENERAL) if f"Starting now: {TITLE}" in p.everything()]) == 1
    assert len([p for p in channel if "direct messages are closed" in p.everything()]) == 1
    eve = [p.everything() for p in fake.dms_to(EVE)]
    assert len(eve) == 3 and f"Starting now: {TITLE}" in eve[2]
    assert all(f"Reminder: {TITLE}" in text for text in eve[:2])


async def test_ics_shares_a_calendar_file_whose_start_is_the_webinars(slack: WebinarHarness) -> None:
    fake = slack.fake
    await slack.command(ADD, user=MOD)

    posts = await slack.command("webinar ics 1", user=ANN)

    assert [p.text for p in posts if p.via != "file"] == ["1 webinar as webinar-1.ics; open it to add to your calendar."]
    [upload] = [f for f in fake.files.values() if f["filename"] == "webinar-1.ics"]
    assert upload["shared_in"] == dm_channel(ANN)  # the answer was private: the file goes to Ann's DM
    calendar = icalendar.Calendar.from_ical(upload["data"])
    [event] = calendar.walk("VEVENT")
    start = event.decoded("DTSTART")
    assert start.tzinfo is not None and start == STARTS
    assert event.decoded("DTEND") == STARTS + timedelta(hours=1)
    assert str(event["SUMMARY"]) == TITLE and URL in event.to_ical().decode()
    assert str(event["UID"]).endswith("@alcts-bot")

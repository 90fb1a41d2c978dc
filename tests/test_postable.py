"""A channel the bot cannot post in is refused before anything that will post there later is
stored (a webinar and its reminders, a job feed, the daily question), in one sentence on
the channel's field: never stored, then failing. The platform decides (`can_post`: Slack's
conversations.info, Discord's cached permissions; tests/e2e covers both); here the console
is told to refuse one channel, so the rule every command shares is checked in one place."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.model import Place, Role
from tests.harness import TestBot

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
CANNOT = "I cannot post in that channel: invite me there first."
STORED = {
    "webinars": "SELECT COUNT(*) FROM webinars",
    "calendars": "SELECT COUNT(*) FROM webinar_calendars",
    "reminders": "SELECT COUNT(*) FROM timers WHERE name LIKE 'webinar.%'",
    "feeds": "SELECT COUNT(*) FROM job_feeds",
    "jobs": "SELECT COUNT(*) FROM job_items",
    "daily": "SELECT COUNT(*) FROM trivia_daily_channels",
}


@pytest.fixture
async def moderator(tmp_path: Path) -> AsyncIterator[TestBot]:
    testbot = TestBot(tmp_path, member="mo", role=Role.MODERATOR)
    testbot.clock.set(NOW)
    await testbot.start()
    shut: set[str] = {"secret"}

    async def can_post(place: Place) -> str | None:
        return CANNOT if place.channel_id in shut else None

    testbot.console.can_post = can_post  # type: ignore[method-assign]
    testbot.shut = shut  # type: ignore[attr-defined]
    yield testbot
    await testbot.stop()


async def stored(bot: TestBot) -> dict[str, int]:
    await bot.db.flush()
    return {name: int(await bot.db.scalar(sql) or 0) for name, sql in STORED.items()}


@pytest.mark.parametrize(
    "line",
    [
        '/webinar add "Intro to BIBFRAME" "Dec 2 2pm" channel=#secret',
        "/webinar import https://calendar.example.org/cal.ics channel=#secret",
        "/jobs subscribe https://jobs.example.org/feed.xml channel=#secret",
        "/trivia daily on at=09:30 channel=#secret",
    ],
)
async def test_a_channel_the_bot_cannot_post_in_is_refused_and_nothing_is_stored(
    moderator: TestBot, line: str
) -> None:
    before = await stored(moderator)
    out = await moderator.push(line)
    assert out.startswith("(only you)") and CANNOT in out and out.count("\n") == 1, out
    assert await stored(moderator) == before


async def test_the_default_channel_is_checked_too(moderator: TestBot) -> None:
    """With no channel= the setting's channel (else here) is where things go: checked alike."""
    await moderator.push(":as ora organizer", "/config set webinars_channel #secret", "/config set jobs_channel #secret",
                         ":as mo moderator")  # fmt: skip
    before = await stored(moderator)
    out = await moderator.push(
        '/webinar add "Intro" "Dec 2 2pm"', "/jobs post Cataloger https://jobs.example.org/1"
    )
    assert out.count(CANNOT) == 2 and "Job posts go to #secret (the jobs_channel setting)" in out
    assert await stored(moderator) == before


async def test_an_edit_is_refused_once_the_bot_can_no_longer_post_where_the_webinar_is(
    moderator: TestBot,
) -> None:
    out = await moderator.push('/webinar add "Intro" "Dec 2 2pm" channel=#talks')
    assert "Webinar #1 is set for" in out
    moderator.shut.add("talks")  # type: ignore[attr-defined]
    out = await moderator.push('/webinar edit 1 title="Intro, moved"')
    assert "where I can no longer post" in out
    assert await moderator.db.scalar("SELECT title FROM webinars") == "Intro"


async def test_a_channel_the_bot_can_post_in_works_as_before(moderator: TestBot) -> None:
    out = await moderator.push(
        '/webinar add "Intro" "Dec 2 2pm" channel=#talks',
        "/trivia daily on at=09:30 channel=#talks",
    )
    assert "Webinar #1 is set for" in out and "The daily question in #talks is on" in out

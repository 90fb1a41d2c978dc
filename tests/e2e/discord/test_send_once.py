"""Sent once across a crash in the window between the platform taking a message and the bot
recording it, through the real discord.py and the fake Discord: a job post and a webinar
reminder are posted, then the bot "dies" before its 'sent' mark (the mark hangs; the
scheduler is stopped and the database closed, as a kill leaves it). The restarted bot on
the same database finds the delivery 'sending' and sends it with the same idempotency
key; Discord (the fake honours `nonce` + `enforce_nonce`) answers with the message
already posted, so each appears once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.app import Bot
from bot.clock import ManualClock
from bot.platforms.discord import DiscordPlatform
from storage.db import Database
from storage.job_posts import JobPostStore
from storage.webinars import WebinarStore
from tests.e2e.discord.fake_discord import MANAGE_GUILD, FakeDiscord, FakeUser
from tests.e2e.discord.test_jobs import FeedServer, embed, feeds, job_titles  # noqa: F401 (a fixture)
from tests.e2e.timers import run_due
from tests.harness import START, make_settings
from tests.test_jobs import rss, rss_item

MANAGER = FakeUser(5401, "manny", permissions=MANAGE_GUILD)


class Running:
    def __init__(self, bot: Bot, clock: ManualClock, platform: DiscordPlatform) -> None:
        self.bot, self.clock, self.platform = bot, clock, platform

    async def wait(self, **delta: float) -> None:
        self.clock.advance(timedelta(**delta))
        await run_due(self.bot)
        await self.bot.idle()

    async def die_while(self, hanging: Callable[[], Awaitable[None]], **delta: float) -> None:
        """Let time pass; once `hanging` is entered (after the platform took the message),
        stop as a kill would: nothing after it runs, and the database is closed as is."""
        self.clock.advance(timedelta(**delta))
        runner = asyncio.create_task(self.bot.scheduler.run_due())
        await asyncio.wait_for(hanging(), 10)
        await self.bot.scheduler.stop(grace=0)
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        await self.platform.close()
        await self.bot.db.close()
        if self.bot._fetcher is not None:  # the test process lives on: no open sockets left behind
            await self.bot._fetcher.close()


@pytest.fixture
async def start(tmp_path: Path, fake: FakeDiscord) -> AsyncIterator[Callable[[datetime], Awaitable[Running]]]:
    running: list[Running] = []

    async def start(now: datetime) -> Running:
        config = make_settings(tmp_path, discord_token=fake.token, discord_api_base=fake.api_base,
                               discord_gateway_url=fake.gateway_url, bot_allow_private_urls=True)  # fmt: skip
        clock = ManualClock(now)
        bot = Bot(config, Database(config.bot_database), clock, edit_interval=0.0)
        bot.load_cogs()
        await bot.open()
        platform = DiscordPlatform(bot, config, ready_timeout=0.05)
        bot.add_platform(platform)
        await platform.start()
        running.append(Running(bot, clock, platform))
        return running[-1]

    yield start
    if running:
        await running[-1].bot.close()


def hang(monkeypatch: pytest.MonkeyPatch, cls: type, name: str) -> Callable[[], Awaitable[None]]:
    """Make `cls.name` hang for ever (the kill comes while it runs); returns a waiter for it."""
    entered = asyncio.Event()

    async def hung(*args: Any, **kwargs: Any) -> None:
        entered.set()
        await asyncio.sleep(3600)

    monkeypatch.setattr(cls, name, hung)
    return entered.wait


async def test_a_job_post_sent_but_not_recorded_is_posted_once_after_a_restart(
    fake: FakeDiscord, start: Callable[[datetime], Awaitable[Running]], feeds: FeedServer,  # noqa: F811 (the fixture)
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    first = await start(START)
    url = feeds.serve("/feed", rss([rss_item(n) for n in (2, 1)]))
    await fake.reply(await fake.slash("jobs subscribe", MANAGER, url=url))
    feeds.serve("/feed", rss([rss_item(n) for n in (4, 3, 2, 1)]))
    entered = hang(monkeypatch, JobPostStore, "posted")
    await first.die_while(entered, minutes=31)  # 'Metadata Librarian 3' went out; then the kill
    assert job_titles(fake) == ["Metadata Librarian 3"]

    monkeypatch.undo()
    second = await start(first.clock.now() + timedelta(seconds=30))
    await second.wait(seconds=1)  # the start-up flush
    await second.wait(minutes=31)  # and a poll
    assert job_titles(fake) == ["Metadata Librarian 3", "Metadata Librarian 4"]
    rows = await second.bot.db.fetchall("SELECT title, status FROM job_items WHERE status <> 'seen' ORDER BY title")
    assert [tuple(r) for r in rows] == [("Metadata Librarian 3", "posted"), ("Metadata Librarian 4", "posted")]


async def test_a_webinar_reminder_sent_but_not_recorded_goes_out_once_after_a_restart(
    fake: FakeDiscord, start: Callable[[datetime], Awaitable[Running]], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    first = await start(now)
    await fake.reply(await fake.slash("webinar add", MANAGER, title="Intro to BIBFRAME", when="2026-12-01 15:00 UTC",
                                      reminders="1h,30m"))  # fmt: skip
    announced = len(fake.channel_posts)
    entered = hang(monkeypatch, WebinarStore, "deliver")
    await first.die_while(entered, hours=2)  # 14:00: "Starts in 1 hour" went out; then the kill

    def reminders() -> list[str]:
        return [embed(m).get("title", "") for m in fake.channel_posts[announced:]]

    sent = reminders()
    assert len(sent) == 1 and "Intro to BIBFRAME" in sent[0]

    monkeypatch.undo()
    second = await start(first.clock.now() + timedelta(seconds=30))
    await second.wait(seconds=1)  # the interrupted reminder runs again: Discord knows its nonce
    assert reminders() == sent
    await second.wait(minutes=30)  # the 30-minute reminder: a new delivery
    assert len(reminders()) == 2
    rows = await second.bot.db.fetchall("SELECT offset_seconds, target, state FROM webinar_deliveries ORDER BY 1 DESC")
    assert [tuple(r) for r in rows] == [(3600, "channel", "sent"), (1800, "channel", "sent")]

"""Job posts end to end on Discord: `/jobs subscribe` with typed options, the first fetch
posting nothing, new feed items arriving as job cards (embed, native date, a link button
and a Save button), Save and `/jobs saved`, nothing posted twice, `channel=` with a picked
channel, `/jobs feeds`, and a page that is not a feed.

The feeds come from an aiohttp server on 127.0.0.1 (hence `bot_allow_private_urls=True`),
fetched by the bot's real safe fetcher and parsed by feedparser. Time is a ManualClock: a
test moves it and runs the scheduler's due timers, so a 30-minute poll takes no real time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.app import Bot
from bot.clock import ManualClock
from bot.platforms.discord import DiscordPlatform
from storage.db import Database
from tests.e2e.discord.conftest import ALICE
from tests.e2e.discord.fake_discord import CHANNEL_ID, MANAGE_GUILD, FakeDiscord, FakeUser, buttons
from tests.e2e.timers import run_due
from tests.harness import START, make_settings
from tests.test_jobs import HTML_WITH_FEED, rss, rss_item

STRING, INTEGER = 3, 4
MESSAGE, BUTTON, LINK_STYLE = 4, 2, 5
MANAGER = FakeUser(5301, "manny", permissions=MANAGE_GUILD)  # Manage Server: a moderator
BOB = FakeUser(5302, "bob")
MENTIONS = "Call @everyone and @here now &amp;lt;@&amp;amp;42&amp;gt; &amp;lt;@77&amp;gt; &amp;lt;!channel&amp;gt;"


class FeedServer:
    """Serves whatever `serve()` last put at a path; counts the requests."""

    def __init__(self) -> None:
        self.url = ""
        self.pages: dict[str, tuple[int, bytes, dict[str, str]]] = {}
        self.requests: list[str] = []

    def serve(self, path: str, body: str, content_type: str = "application/rss+xml") -> str:
        self.pages[path] = (200, body.encode(), {"Content-Type": content_type})
        return self.url + path

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append(request.path)
        status, body, headers = self.pages.get(request.path, (404, b"", {}))
        return web.Response(status=status, body=body, headers=headers)


@pytest.fixture
async def feeds() -> AsyncIterator[FeedServer]:
    server = FeedServer()
    app = web.Application()
    app.router.add_get("/{tail:.*}", server.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    yield server
    await runner.cleanup()


class JobsBot:
    """A running bot whose time moves only when the test says so."""

    def __init__(self, bot: Bot, clock: ManualClock) -> None:
        self.bot = bot
        self.clock = clock

    async def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        await self.bot.db.flush()
        return [tuple(row) for row in await self.bot.db.fetchall(sql, params)]

    async def wait(self, **delta: float) -> int:
        """Let time pass: run every timer that fell due (the feed polls) and what they started."""
        self.clock.advance(timedelta(**delta))
        ran = await run_due(self.bot)
        await self.bot.idle()
        return ran


@pytest.fixture
async def jobs_bot(tmp_path: Path, fake: FakeDiscord) -> AsyncIterator[Callable[[], Awaitable[JobsBot]]]:
    running: list[Bot] = []

    async def start() -> JobsBot:
        config = make_settings(tmp_path, discord_token=fake.token, discord_api_base=fake.api_base,
                               discord_gateway_url=fake.gateway_url, bot_allow_private_urls=True)  # fmt: skip
        clock = ManualClock(START)
        bot = Bot(config, Database(config.bot_database), clock, edit_interval=0.0)
        bot.load_cogs()
        await bot.open()
        running.append(bot)
        platform = DiscordPlatform(bot, config, ready_timeout=0.05)
        bot.add_platform(platform)
        await platform.start()
        return JobsBot(bot, clock)

    yield start
    for bot in running:
        await bot.close()


def embed(message: dict[str, Any]) -> dict[str, Any]:
    (only,) = message["embeds"]
    return only


def fields(message: dict[str, Any]) -> dict[str, str]:
    return {f["name"]: f["value"] for f in embed(message)["fields"]}


def posted_on(when: datetime) -> str:
    return f"<t:{int(when.timestamp())}:D>"


def item_date(n: int) -> datetime:
    """The date `rss_item(n)` gives its item."""
    return datetime(2026, 11, 20, tzinfo=UTC) + timedelta(hours=n)


def job_titles(fake: FakeDiscord) -> list[str]:
    return [embed(m)["title"] for m in fake.channel_posts if m["embeds"] and m["embeds"][0].get("title")]


async def test_subscribe_then_new_items_arrive_once_as_job_cards_with_save_and_link_buttons(
    fake: FakeDiscord, jobs_bot: Callable[[], Awaitable[JobsBot]], feeds: FeedServer
) -> None:
    running = await jobs_bot()
    options = {o["name"]: o for o in fake.synced("jobs subscribe")["options"]}
    assert list(options)[0] == "url" and not options["url"]["required"] and options["url"]["type"] == STRING  # alone: a form
    assert {"keywords", "exclude", "channel", "backfill"} <= set(options)
    assert options["backfill"]["type"] == INTEGER
    url = feeds.serve("/feed", rss([rss_item(n) for n in (3, 2, 1)]))

    refused = await fake.reply(await fake.slash("jobs subscribe", ALICE, url=url))
    assert refused.ephemeral and refused.text == "Only moderators can use /jobs subscribe."
    assert feeds.requests == [] and await running.rows("SELECT COUNT(*) FROM job_feeds") == [(0,)]

    subscribed = await fake.reply(await fake.slash("jobs subscribe", MANAGER, url=url))
    assert subscribed.type == MESSAGE and not subscribed.ephemeral
    assert subscribed.text == ("Subscribed feed #1: Library Jobs (3 jobs in it now; only new jobs will be posted). "
                               "Checked every 30 minutes; new jobs go to #general.")  # fmt: skip
    assert fake.channel_posts == []  # the first fetch remembers everything and posts nothing
    assert await running.rows("SELECT status, COUNT(*) FROM job_items GROUP BY status") == [("seen", 3)]

    feeds.serve("/feed", rss([rss_item(5, description=f"&lt;p&gt;{MENTIONS}&lt;/p&gt;"),
                              rss_item(4, title="Boston, MA: @everyone Cataloger 4, Big U"),
                              *[rss_item(n) for n in (3, 2, 1)]]))  # fmt: skip
    assert await running.wait(minutes=29) == 0  # not yet
    assert await running.wait(minutes=2) == 1  # the poll

    assert job_titles(fake) == ["everyone Cataloger 4", "Metadata Librarian 5"]  # oldest first
    four, five = fake.channel_posts
    assert {m["channel_id"] for m in (four, five)} == {str(CHANNEL_ID)}
    item_id = (await running.rows("SELECT id FROM job_items WHERE link = ?", ("https://jobs.example.org/5",)))[0][0]
    assert fields(five) == {"Employer": "University of Chicago", "Location": "Chicago, IL",
                            "Posted": posted_on(item_date(5))}  # fmt: skip
    assert fields(four)["Employer"] == "Big U" and fields(four)["Location"] == "Boston, MA"
    assert [(b["type"], b["style"], b["label"], b.get("custom_id"), b.get("url")) for b in buttons(five)] == [
        (BUTTON, 2, "Save", f"jobs.save:{item_id}", None),
        (BUTTON, LINK_STYLE, "View posting", None, "https://jobs.example.org/5"),
    ]  # fmt: skip
    assert embed(five)["footer"]["text"] == "Job post via Library Jobs. /jobs saved lists what you saved."
    # mass mentions in the feed reach Discord as plain words, and nothing may ping anyway
    assert embed(five)["description"] == "Call everyone and here now @42 @77 channel"
    for message in (four, five):
        shown = str(message["embeds"]) + message["content"]
        assert not any(ping in shown for ping in ("@everyone", "@here", "<@", "<!channel>"))
        assert message["allowed_mentions"] == {"parse": []}

    saved = await fake.reply(await fake.click(f"jobs.save:{item_id}", BOB, five))
    assert saved.type == MESSAGE and saved.ephemeral
    assert saved.text == "Saved: Metadata Librarian 5. /jobs saved lists your saved jobs."
    listed = await fake.reply(await fake.slash("jobs saved", BOB))
    assert listed.ephemeral and embed(listed.data)["title"] == "Your saved jobs"
    assert embed(listed.data)["description"] == (
        "• Metadata Librarian 5 (University of Chicago, Chicago, IL): https://jobs.example.org/5"
    )
    nothing = await fake.reply(await fake.slash("jobs saved", ALICE))
    assert nothing.ephemeral and nothing.text == "You have no saved jobs; click Save on a job post."

    assert await running.wait(minutes=31) == 1  # fetched again: the same items
    assert await running.wait(minutes=31) == 1
    assert len(fake.channel_posts) == 2 and feeds.requests.count("/feed") == 4  # one request a poll
    assert await running.rows("SELECT status, COUNT(*) FROM job_items GROUP BY status ORDER BY status") == [
        ("posted", 2), ("seen", 3),
    ]  # fmt: skip
    events = await running.rows("SELECT kind, channel_id FROM content_events ORDER BY id")
    assert events == [("job_posted", str(CHANNEL_ID))] * 2


async def test_channel_option_posts_in_the_picked_channel_and_feeds_shows_the_state(
    fake: FakeDiscord, jobs_bot: Callable[[], Awaitable[JobsBot]], feeds: FeedServer
) -> None:
    elsewhere = CHANNEL_ID + 7  # picked with Discord's channel picker: it reaches the core as <#id>
    fake.guilds[0].channels[elsewhere] = "jobs"  # a channel of the server, where the bot may post
    running = await jobs_bot()
    url = feeds.serve("/feed", rss([rss_item(1)]))
    subscribed = await fake.reply(await fake.slash("jobs subscribe", MANAGER, url=url, channel=elsewhere,
                                                   keywords="metadata"))  # fmt: skip
    assert not subscribed.ephemeral and subscribed.text.startswith("Subscribed feed #1: Library Jobs (1 job in it now")
    assert subscribed.text.endswith(f"new jobs go to <#{elsewhere}>.")

    feeds.serve("/feed", rss([rss_item(3, title="Archivist"), rss_item(2), rss_item(1)]))
    await running.wait(minutes=31)

    (card,) = fake.channel_posts  # the Archivist is filtered out by keywords=metadata
    assert card["channel_id"] == str(elsewhere) and embed(card)["title"] == "Metadata Librarian 2"

    state = await fake.reply(await fake.slash("jobs feeds", MANAGER))
    assert state.ephemeral and embed(state.data)["title"] == "Job feeds"
    ((name, value),) = fields(state.data).items()
    assert name == "#1 Library Jobs"
    lines = value.splitlines()
    assert lines[0] == f"{url} → <#{elsewhere}>" and lines[1] == "keywords=metadata"
    last_fetch = int((START + timedelta(minutes=31)).timestamp())
    assert lines[2] == f"last fetch <t:{last_fetch}:R>, 3 items seen, every 30 min"
    assert lines[3] == f"next try <t:{last_fetch + 30 * 60}:R>"
    refused = await fake.reply(await fake.slash("jobs feeds", ALICE))
    assert refused.ephemeral and refused.text == "Only moderators can use /jobs feeds."


async def test_a_page_that_is_not_a_feed_gets_one_sentence_and_nothing_is_stored(
    fake: FakeDiscord, jobs_bot: Callable[[], Awaitable[JobsBot]], feeds: FeedServer
) -> None:
    running = await jobs_bot()
    page = feeds.serve("/jobs.html", HTML_WITH_FEED, "text/html")

    answer = await fake.reply(await fake.slash("jobs subscribe", MANAGER, url=page))

    assert answer.ephemeral
    assert answer.text == (f"{page} is a web page, not an RSS or Atom feed. "
                           f"It names a feed: {feeds.url}/feed (subscribe to that).")  # fmt: skip
    assert await running.rows("SELECT COUNT(*) FROM job_feeds") == [(0,)]
    assert await running.rows("SELECT COUNT(*) FROM timers WHERE name LIKE 'jobs.%'") == [(0,)]
    assert fake.channel_posts == []

"""Job posts end to end on Slack: `/alcts jobs subscribe URL` (the URL as Slack escapes it),
the first fetch posting nothing, new feed items arriving as Block Kit job cards (a header,
fields with Slack's native date, a Save button and a url button), Save answered privately
and `/alcts jobs saved`, nothing posted twice, `channel=` with a picked channel,
`/alcts jobs feeds`, and a page that is not a feed.

The feeds come from an aiohttp server on 127.0.0.1 (hence `bot_allow_private_urls=True`),
fetched by the bot's real safe fetcher and parsed by feedparser. Time is the harness's
ManualClock: a test moves it and runs the scheduler's due timers.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.e2e.slack.conftest import ANN, EVE, GENERAL, MOD, NEWS, SlackHarness
from tests.e2e.slack.fake_slack import FakeSlack, Post
from tests.e2e.timers import run_due
from tests.harness import START
from tests.test_jobs import HTML_WITH_FEED, rss, rss_item

MENTIONS = "Call @everyone and @here now &amp;lt;!channel&amp;gt; &amp;lt;!here&amp;gt; &amp;lt;!everyone&amp;gt; &amp;lt;@U0ANN0001&amp;gt;"
PINGS = ("@everyone", "@here", "@channel", "<!channel", "<!here", "<!everyone", "<@U")


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


class JobsHarness(SlackHarness):
    """The harness with time that moves when told, and database reads."""

    async def wait(self, **delta: float) -> int:
        """Let time pass: run every timer that fell due (the feed polls) and what they started."""
        self.clock.advance(timedelta(**delta))
        ran = await run_due(self.bot)
        await self.bot.idle()
        return ran

    async def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        await self.bot.db.flush()
        return [tuple(row) for row in await self.bot.db.fetchall(sql, params)]


@pytest.fixture
async def slack(tmp_path: Path, fake_slack: FakeSlack) -> AsyncIterator[JobsHarness]:
    """Overrides conftest's `slack` in this module: feeds on 127.0.0.1 are allowed."""
    harness = await JobsHarness(tmp_path, fake_slack, bot_allow_private_urls=True).start()
    yield harness
    await harness.stop()


def escaped(url: str) -> str:
    """A URL typed in a slash command, as Slack sends it (should_escape): `<http://...>`."""
    return f"<{url}>"


def sections(post: Post) -> list[str]:
    return [b["text"]["text"] for b in post.blocks if b["type"] == "section" and "text" in b]


def fields(post: Post) -> list[str]:
    return [f["text"] for b in post.blocks if b["type"] == "section" for f in b.get("fields", [])]


def contexts(post: Post) -> list[str]:
    return [e["text"] for b in post.blocks if b["type"] == "context" for e in b["elements"]]


def job_cards(fake: FakeSlack, channel: str = GENERAL) -> list[Post]:
    return [p for p in fake.in_channel(channel) if p.via == "chat.postMessage" and any(
        b.get("value", "").startswith("jobs.save:") for b in p.buttons())]  # fmt: skip


def slack_date(n: int) -> str:
    """The `<!date^...>` of `rss_item(n)`'s posted date, style D."""
    when = datetime(2026, 11, 20, tzinfo=UTC) + timedelta(hours=n)
    return f"<!date^{int(when.timestamp())}^{{date}}|{when.day} {when:%B %Y}>"


async def test_subscribe_then_new_items_arrive_once_as_job_cards_with_save_and_link_buttons(
    slack: JobsHarness, feeds: FeedServer
) -> None:
    url = feeds.serve("/feed", rss([rss_item(n) for n in (3, 2, 1)]))

    [refused] = await slack.command(f"jobs subscribe {escaped(url)}", user=ANN)
    assert refused.ephemeral and refused.user == ANN
    assert refused.text == "Only moderators can use /alcts jobs subscribe."
    assert feeds.requests == [] and await slack.rows("SELECT COUNT(*) FROM job_feeds") == [(0,)]

    [subscribed] = await slack.command(f"jobs subscribe {escaped(url)}", user=MOD)
    assert not subscribed.ephemeral and subscribed.channel == GENERAL
    assert subscribed.text == ("Subscribed feed #1: Library Jobs (3 jobs in it now; only new jobs will be posted). "
                               "Checked every 30 minutes; new jobs go to #general.")  # fmt: skip
    assert job_cards(slack.fake) == []  # the first fetch remembers everything and posts nothing
    assert await slack.rows("SELECT url, status FROM job_feeds JOIN job_items ON feed_id = job_feeds.id"
                            " GROUP BY status") == [(url, "seen")]  # fmt: skip

    feeds.serve("/feed", rss([rss_item(5, description=f"&lt;p&gt;{MENTIONS}&lt;/p&gt;"),
                              rss_item(4, title="Boston, MA: @here Cataloger 4, Big U"),
                              *[rss_item(n) for n in (3, 2, 1)]]))  # fmt: skip
    assert await slack.wait(minutes=29) == 0  # not yet
    assert await slack.wait(minutes=2) == 1  # the poll

    four, five = job_cards(slack.fake)
    assert [four.headers(), five.headers()] == [["here Cataloger 4"], ["Metadata Librarian 5"]]  # oldest first
    item_id = (await slack.rows("SELECT id FROM job_items WHERE link = ?", "https://jobs.example.org/5"))[0][0]
    assert fields(five) == ["*Employer*\nUniversity of Chicago", "*Location*\nChicago, IL",
                            f"*Posted*\n{slack_date(5)}"]  # fmt: skip
    assert fields(four)[:2] == ["*Employer*\nBig U", "*Location*\nBoston, MA"]
    assert [(b["text"]["text"], b.get("value"), b.get("url")) for b in five.buttons()] == [
        ("Save", f"jobs.save:{item_id}", None), ("View posting", None, "https://jobs.example.org/5"),
    ]  # fmt: skip
    assert contexts(five) == ["Job post via Library Jobs. /alcts jobs saved lists what you saved."]
    # mass mentions in the feed reach Slack as plain words: nothing pings the channel
    assert sections(five) == ["Call everyone and here now channel here everyone @U0ANN0001"]
    for post in (four, five):
        assert not any(ping in post.everything() for ping in PINGS), post.everything()

    [saved] = await slack.click(f"jobs.save:{item_id}", user=EVE, channel=GENERAL, message_ts=five.ts)
    assert saved.ephemeral and saved.user == EVE and saved.via == "response_url"
    assert saved.text == "Saved: Metadata Librarian 5. /alcts jobs saved lists your saved jobs."
    assert five.edits == 0  # the card itself is unchanged
    [listed] = await slack.command("jobs saved", user=EVE)
    assert listed.ephemeral and listed.user == EVE and listed.headers() == ["Your saved jobs"]
    assert sections(listed) == ["• Metadata Librarian 5 (University of Chicago, Chicago, IL): https://jobs.example.org/5"]
    [nothing] = await slack.command("jobs saved", user=ANN)
    assert nothing.ephemeral and nothing.text == "You have no saved jobs; click Save on a job post."

    link = slack.wire.link_click("link:0", EVE, GENERAL, five.ts)  # the url button: Slack opens the page
    assert await slack.send("interactive", link) == 200

    assert await slack.wait(minutes=31) == 1  # fetched again: the same items
    assert await slack.wait(minutes=31) == 1
    assert len(job_cards(slack.fake)) == 2 and feeds.requests.count("/feed") == 4  # one request a poll
    assert await slack.rows("SELECT status, COUNT(*) FROM job_items GROUP BY status ORDER BY status") == [
        ("posted", 2), ("seen", 3),
    ]  # fmt: skip
    assert await slack.rows("SELECT COUNT(*) FROM saved_jobs") == [(1,)]  # the link click saved nothing


async def test_channel_option_posts_in_the_picked_channel_and_feeds_shows_the_state(
    slack: JobsHarness, feeds: FeedServer
) -> None:
    url = feeds.serve("/feed", rss([rss_item(1)]))
    [typed] = await slack.command(f"jobs subscribe {escaped(url)} channel=jobs", user=MOD)
    assert typed.ephemeral and typed.text.startswith("Pick the channel from the # list")
    # Slack escapes a channel typed in a command as <#ID|name>
    [subscribed] = await slack.command(f"jobs subscribe {escaped(url)} channel=<#{NEWS}|announcements> "
                                       "exclude=archivist", user=MOD)  # fmt: skip
    assert subscribed.channel == GENERAL and not subscribed.ephemeral
    assert subscribed.text.endswith("new jobs go to #announcements.")

    feeds.serve("/feed", rss([rss_item(3, title="Digital Archivist"), rss_item(2), rss_item(1)]))
    await slack.wait(minutes=31)

    [card] = job_cards(slack.fake, NEWS)  # the archivist is excluded
    assert card.headers() == ["Metadata Librarian 2"] and job_cards(slack.fake, GENERAL) == []
    assert await slack.rows("SELECT message_ref FROM job_items WHERE status = 'posted'") == [(f"slack:{NEWS}:{card.ts}",)]

    [state] = await slack.command("jobs feeds", user=MOD)
    assert state.ephemeral and state.headers() == ["Job feeds"]
    [feed] = sections(state)
    lines = feed.splitlines()
    last_fetch = int((START + timedelta(minutes=31)).timestamp())
    assert lines[0] == "*#1 Library Jobs*"
    assert lines[1] == f"{url} → #announcements" and lines[2] == "exclude=archivist"
    assert lines[3].startswith(f"last fetch <!date^{last_fetch}^{{ago}}|") and lines[3].endswith(", 3 items seen, every 30 min")
    assert lines[4].startswith(f"next try <!date^{last_fetch + 30 * 60}^{{ago}}|")
    [refused] = await slack.command("jobs feeds", user=ANN)
    assert refused.ephemeral and refused.text == "Only moderators can use /alcts jobs feeds."


async def test_a_page_that_is_not_a_feed_gets_one_sentence_and_nothing_is_stored(
    slack: JobsHarness, feeds: FeedServer
) -> None:
    page = feeds.serve("/jobs.html", HTML_WITH_FEED, "text/html")

    [answer] = await slack.command(f"jobs subscribe {escaped(page)}", user=MOD)

    assert answer.ephemeral and answer.user == MOD
    assert answer.text == (f"{page} is a web page, not an RSS or Atom feed. "
                           f"It names a feed: {feeds.url}/feed (subscribe to that).")  # fmt: skip
    assert await slack.rows("SELECT COUNT(*) FROM job_feeds") == [(0,)]
    assert await slack.rows("SELECT COUNT(*) FROM timers WHERE name LIKE 'jobs.%'") == [(0,)]
    assert json.dumps(answer.blocks).count(feeds.url) == 2  # both addresses, nothing else

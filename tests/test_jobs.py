"""Job posts through the console: a local feed server, the real fetcher, feedparser and
the scheduler on a ManualClock."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.fetch import Fetcher
from cogs.jobs.feed import parse_feed
from tests.harness import TestBot

ROOT = Path(__file__).resolve().parents[1]


def rss_item(n: int, *, guid: str | None = "", title: str | None = None, date: datetime | None = None,
             description: str = "A role in technical services.") -> str:  # fmt: skip
    guid_tag = "" if guid is None else f"<guid>{guid or f'job-{n}'}</guid>"
    when = (date or datetime(2026, 11, 20, tzinfo=UTC) + timedelta(hours=n)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    title = title or f"Chicago, IL: Metadata Librarian {n}, University of Chicago"
    return (f"<item><title>{title}</title><link>https://jobs.example.org/{n}</link>{guid_tag}"
            f"<pubDate>{when}</pubDate><description>{description}</description></item>")  # fmt: skip


def rss(items: list[str], title: str = "Library Jobs") -> str:
    return f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>{title}</title>{''.join(items)}</channel></rss>"


RSS1 = """<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="https://hr.example.edu/"><title>University HR</title><link>https://hr.example.edu/</link><description>x</description></channel>
<item rdf:about="https://hr.example.edu/j/1"><title>Serials Librarian</title><link>https://hr.example.edu/j/1</link><dc:date>2026-11-20T10:00:00Z</dc:date></item>
</rdf:RDF>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>ArchivesGig</title><id>urn:gig</id><updated>2026-11-20T10:00:00Z</updated>
<entry><title>Digital Archivist</title><id>urn:gig:1</id><link href="https://gig.example.org/1"/><updated>2026-11-20T10:00:00Z</updated>
<summary type="html">&lt;p&gt;Ping &lt;b&gt;@here&lt;/b&gt; &amp;amp; &amp;lt;!channel&amp;gt; &amp;lt;@&amp;amp;123&amp;gt;&lt;/p&gt;</summary></entry></feed>"""

LATIN1 = ("<?xml version='1.0' encoding='iso-8859-1'?><rss version='2.0'><channel><title>Bibliothèque</title>"
          "<item><title>Catalogueur à Montréal</title><link>https://jobs.example.ca/1</link><guid>q1</guid></item>"
          "</channel></rss>").encode("latin-1")  # fmt: skip

HTML_WITH_FEED = "<!doctype html><html><head><link rel='alternate' type='application/rss+xml' href='/feed'></head><body>Jobs</body></html>"


@dataclass
class FeedServer:
    """Routes answer from `pages` (path -> (status, body, headers)); requests are counted."""

    url: str = ""
    pages: dict[str, tuple[int, bytes, dict[str, str]]] = field(default_factory=dict)
    requests: list[dict[str, str]] = field(default_factory=list)
    delay: float = 0.0

    def serve(self, path: str, body: str | bytes, status: int = 200, **headers: str) -> str:
        data = body.encode() if isinstance(body, str) else body
        headers.setdefault("Content-Type", "application/rss+xml")
        self.pages[path] = (status, data, headers)
        return self.url + path


@pytest.fixture
async def feeds() -> AsyncIterator[FeedServer]:
    server = FeedServer()

    async def handle(request: web.Request) -> web.StreamResponse:
        server.requests.append({"path": request.path, **dict(request.headers)})
        if server.delay:
            await asyncio.sleep(server.delay)
        status, body, headers = server.pages.get(request.path, (404, b"", {}))
        if headers.get("ETag") and request.headers.get("If-None-Match") == headers["ETag"]:
            return web.Response(status=304, headers={"ETag": headers["ETag"]})
        return web.Response(status=status, body=body, headers=headers)

    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    yield server
    await runner.cleanup()


@pytest.fixture
async def jobs(tmp_path: Path) -> AsyncIterator[TestBot]:
    testbot = await TestBot(tmp_path, member="mo", role=_moderator(), bot_allow_private_urls=True).start()
    yield testbot
    await testbot.stop()


def _moderator() -> Any:
    from bot.model import Role

    return Role.MODERATOR


async def fast_fetcher(testbot: TestBot, total: float = 0.5) -> None:
    """Short timeouts, so a slow server fails in a test-sized time."""
    fetcher = Fetcher(allow_private=True, total_timeout=total, connect_timeout=total)
    await fetcher.start()
    testbot.bot._fetcher = fetcher


async def next_fetch(testbot: TestBot) -> datetime:
    """When the feed is next fetched (other timers, such as the hourly snapshot, aside)."""
    due = await testbot.db.scalar("SELECT MIN(due_at) FROM timers WHERE name = 'jobs.fetch' AND status = 'pending'")
    assert due is not None
    return datetime.fromisoformat(due.replace("Z", "+00:00"))


def cards(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("Metadata Librarian") or line.startswith("Digital")]


# -- parsing ----------------------------------------------------------------------------------


def test_rss1_atom_and_latin1_feeds_parse() -> None:
    hr = parse_feed(RSS1.encode(), "https://hr.example.edu/rss", "application/rdf+xml")
    assert hr.title == "University HR" and hr.entries[0].title == "Serials Librarian"
    gig = parse_feed(ATOM.encode(), "https://gig.example.org/atom", "application/atom+xml")
    entry = gig.entries[0]
    assert entry.link == "https://gig.example.org/1" and entry.published == datetime(2026, 11, 20, 10, tzinfo=UTC)
    assert "@here" not in entry.summary and "<!channel>" not in entry.summary and "<@&123>" not in entry.summary
    assert entry.summary == "Ping here & channel @123"
    french = parse_feed(LATIN1, "https://jobs.example.ca/rss", "application/rss+xml")
    assert french.title == "Bibliothèque" and french.entries[0].title == "Catalogueur à Montréal"


def test_the_job_board_title_pattern_gives_employer_and_location() -> None:
    entry = parse_feed(rss([rss_item(1)]).encode(), "https://x.org/rss", None).entries[0]
    assert (entry.title, entry.employer, entry.location) == ("Metadata Librarian 1", "University of Chicago", "Chicago, IL")


def test_identity_is_guid_else_link_else_title_and_date() -> None:
    with_guid = parse_feed(rss([rss_item(1, guid="g")]).encode(), "https://x.org", None).entries[0]
    same_guid = parse_feed(rss([rss_item(2, guid="g")]).encode(), "https://x.org", None).entries[0]
    no_guid = parse_feed(rss([rss_item(1, guid=None)]).encode(), "https://x.org", None).entries[0]
    assert with_guid.identity == same_guid.identity != no_guid.identity


def test_summaries_are_plain_short_and_free_of_invisible_controls() -> None:
    long_html = "&lt;script&gt;alert(1)&lt;/script&gt;&lt;p&gt;Hello\u200b \u202eworld&lt;/p&gt;" + "x" * 500
    entry = parse_feed(rss([rss_item(1, description=long_html)]).encode(), "https://x.org", None).entries[0]
    assert entry.summary.startswith("Hello world") and "alert" not in entry.summary
    assert len(entry.summary) <= 300


# -- subscribing ------------------------------------------------------------------------------


async def test_first_fetch_posts_nothing_then_new_items_appear_once(jobs: TestBot, feeds: FeedServer) -> None:
    url = feeds.serve("/feed", rss([rss_item(n) for n in (3, 2, 1)]))
    out = await jobs.push(f"/jobs subscribe {url}")
    assert "Subscribed feed #1: Library Jobs (3 jobs in it now; only new jobs will be posted)" in out
    assert cards(out) == []
    feeds.serve("/feed", rss([rss_item(n) for n in (5, 4, 3, 2, 1)]))
    out = await jobs.wait(31 * 60)
    assert cards(out) == ["Metadata Librarian 4", "Metadata Librarian 5"]  # oldest first
    assert "[1 Save] [View posting → https://jobs.example.org/5]" in out
    assert "Employer  University of Chicago" in out and "Location  Chicago, IL" in out
    assert cards(await jobs.wait(31 * 60)) == []  # fetched again: nothing twice
    assert len(feeds.requests) == 3  # one request per feed per poll


async def test_backfill_posts_the_newest_n(jobs: TestBot, feeds: FeedServer) -> None:
    url = feeds.serve("/feed", rss([rss_item(n) for n in (3, 2, 1)]))
    out = await jobs.push(f"/jobs subscribe {url} backfill=2")
    assert cards(out) == ["Metadata Librarian 2", "Metadata Librarian 3"]


async def test_an_edited_item_is_not_posted_again_and_reused_guids_do_not_flood(jobs: TestBot, feeds: FeedServer) -> None:
    url = feeds.serve("/feed", rss([rss_item(1)]))
    await jobs.push(f"/jobs subscribe {url}")
    feeds.serve("/feed", rss([rss_item(1, title="Metadata Librarian 1 (salary raised)"),
                              *[rss_item(n, guid="same") for n in range(2, 40)]]))  # fmt: skip
    out = await jobs.wait(31 * 60)
    assert "salary raised" not in out
    assert len(cards(out)) == 1  # 38 items sharing one guid are one item


async def test_a_feed_that_regenerates_its_guids_does_not_flood(jobs: TestBot, feeds: FeedServer) -> None:
    items = [rss_item(n, date=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=n)) for n in range(1, 21)]
    url = feeds.serve("/feed", rss(items))
    await jobs.push(f"/jobs subscribe {url}")
    regenerated = [rss_item(n, guid=f"new-{n}", date=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=n)) for n in range(1, 21)]
    feeds.serve("/feed", rss(regenerated))
    out = await jobs.wait(31 * 60)
    assert cards(out) == [] and "more new job" not in out
    assert "came back with new ids but old dates" in await jobs.push("/jobs feeds")


async def test_many_new_items_give_five_cards_and_one_digest(jobs: TestBot, feeds: FeedServer) -> None:
    url = feeds.serve("/feed", rss([rss_item(1)]))
    await jobs.push(f"/jobs subscribe {url}")
    feeds.serve("/feed", rss([rss_item(n) for n in range(12, 0, -1)]))
    out = await jobs.wait(31 * 60)
    assert len(cards(out)) == 5
    assert "6 more new jobs from Library Jobs" in out and "• Metadata Librarian 12" in out


async def test_keywords_and_exclude_filters(jobs: TestBot, feeds: FeedServer) -> None:
    url = feeds.serve("/feed", rss([rss_item(1)]))
    await jobs.push(f'/jobs subscribe {url} keywords="serials, metadata librarian" exclude="re:librarian (7|9)"')
    feeds.serve("/feed", rss([rss_item(n) for n in range(9, 0, -1)] + [rss_item(50, title="Archivist")]))
    out = await jobs.wait(31 * 60)
    posted = [*cards(out), *[line for line in out.splitlines() if line.startswith("• ")]]
    assert not any("7" in line or "9" in line or "Archivist" in line for line in posted)
    assert len(posted) == 6


@pytest.mark.parametrize(
    ("path", "body", "headers", "message"),
    [
        ("/page", HTML_WITH_FEED, {"Content-Type": "text/html"}, "is a web page, not an RSS or Atom feed. It names a feed: {url}/feed"),
        ("/plain", "<!doctype html><html><body>no feed</body></html>", {"Content-Type": "text/html"}, "is a web page, not an RSS or Atom feed."),
        ("/broken", "<rss><channel><item>", {}, "not readable as a feed"),
        ("/gone", None, {}, "404"),
    ],
)
async def test_pages_that_are_not_feeds_get_one_sentence_and_store_nothing(
    jobs: TestBot, feeds: FeedServer, path: str, body: str | None, headers: dict[str, str], message: str,
) -> None:  # fmt: skip
    url = feeds.serve(path, body, **headers) if body is not None else feeds.url + path
    out = await jobs.push(f"/jobs subscribe {url}")
    assert message.format(url=feeds.url) in out and "Traceback" not in out
    assert out.count("\n") == 1
    assert await jobs.db.scalar("SELECT COUNT(*) FROM job_feeds") == 0


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("/jobs subscribe ftp://example.org/feed", "is not a web address"),
        ("/jobs subscribe https://example.org/feed keywords=re:(", "not a valid regular expression"),
        ("/jobs subscribe https://example.org/feed backfill=99", "backfill"),
        ("/jobs unsubscribe 9", "There is no job feed #9 here"),
        ("/jobs post Cataloger javascript:alert(1)", "is not a web address"),
        ('/jobs post "\u200b\ufeff" https://jobs.example.org/1', "the title has nothing visible in it"),
    ],
)
async def test_bad_input_is_one_sentence(jobs: TestBot, line: str, message: str) -> None:
    out = await jobs.push(line)
    assert message in out and out.startswith("(only you)") and out.count("\n") == 1


async def test_private_addresses_are_refused_without_the_setting(tmp_path: Path, feeds: FeedServer) -> None:
    testbot = await TestBot(tmp_path, member="mo", role=_moderator()).start()
    url = feeds.serve("/feed", rss([rss_item(1)]))
    out = await testbot.push(f"/jobs subscribe {url}")
    assert "private" in out.lower() and feeds.requests == []
    await testbot.stop()


async def test_jobs_test_shows_without_posting_or_storing(jobs: TestBot, feeds: FeedServer) -> None:
    url = feeds.serve("/feed", rss([rss_item(n) for n in (2, 1)]))
    out = await jobs.push(f"/jobs test {url}")
    assert "Library Jobs: 2 jobs" in out and "• Metadata Librarian 2 (University of Chicago, Chicago, IL)" in out
    assert await jobs.db.scalar("SELECT COUNT(*) FROM job_items") == 0


# -- polling politely --------------------------------------------------------------------------


async def test_conditional_get_304_posts_nothing(jobs: TestBot, feeds: FeedServer) -> None:
    url = feeds.serve("/feed", rss([rss_item(1)]), ETag='"v1"')
    await jobs.push(f"/jobs subscribe {url}")
    out = await jobs.wait(31 * 60)
    assert feeds.requests[-1].get("If-None-Match") == '"v1"' and cards(out) == []
    assert await jobs.db.scalar("SELECT failures FROM job_feeds") == 0


async def test_failures_back_off_and_ten_in_a_row_disable_the_feed(jobs: TestBot, feeds: FeedServer) -> None:
    url = feeds.serve("/feed", rss([rss_item(1)]))
    await jobs.push(f"/jobs subscribe {url}")
    feeds.serve("/feed", "oops", status=500)
    await jobs.wait(31 * 60)  # failure 1, then retries after 5, 10, 20... minutes
    times = []
    for _ in range(8):
        due = await next_fetch(jobs)
        times.append(due)
        await jobs.wait((due - jobs.clock.now()).total_seconds())
    gaps = [round((b - a).total_seconds() / 60) for a, b in zip(times, times[1:], strict=False)]
    assert gaps[:4] == [10, 20, 40, 80]
    out = await jobs.wait(3 * 24 * 3600)
    assert "failed 10 times in a row, so I stopped checking it" in out
    assert "DISABLED" in await jobs.push("/jobs feeds")
    assert await jobs.db.scalar("SELECT COUNT(*) FROM timers WHERE name = 'jobs.fetch' AND status = 'pending'") == 0


async def test_a_success_resets_the_failures_and_retry_after_is_honoured(jobs: TestBot, feeds: FeedServer) -> None:
    url = feeds.serve("/feed", rss([rss_item(1)]))
    await jobs.push(f"/jobs subscribe {url}")
    feeds.serve("/feed", "slow down", status=429, **{"Retry-After": "7200"})
    await jobs.wait(31 * 60)
    due = await next_fetch(jobs)
    assert due - jobs.clock.now() > timedelta(minutes=110)
    feeds.serve("/feed", rss([rss_item(2), rss_item(1)]))
    assert cards(await jobs.wait(2 * 3600)) == ["Metadata Librarian 2"]
    assert await jobs.db.scalar("SELECT failures FROM job_feeds") == 0


async def test_a_slow_feed_delays_no_other_timer(jobs: TestBot, feeds: FeedServer) -> None:
    await fast_fetcher(jobs, total=1.0)
    url = feeds.serve("/feed", rss([rss_item(1)]))
    await jobs.push(f"/jobs subscribe {url}", '/poll create "Coffee?" yes no closes=30m')
    feeds.delay = 0.9
    loop = asyncio.get_running_loop()
    began = loop.time()
    closed_at: list[float] = []
    real_send = jobs.console.send

    async def send(place: Any, card: Any, **keyed: Any) -> Any:
        if "closed" in card.title:
            closed_at.append(loop.time() - began)
        return await real_send(place, card, **keyed)

    jobs.console.send = send  # type: ignore[method-assign]
    jobs.clock.advance(timedelta(minutes=31))  # the feed and the poll's deadline fall due together
    await jobs.bot.scheduler.run_due()
    assert closed_at and closed_at[0] < 0.5


# -- exactly once, across restarts and crashes ---------------------------------------------------


async def test_dedup_holds_across_a_restart(tmp_path: Path, feeds: FeedServer) -> None:
    url = feeds.serve("/feed", rss([rss_item(1)]))
    first = await TestBot(tmp_path, member="mo", role=_moderator(), bot_allow_private_urls=True).start()
    await first.push(f"/jobs subscribe {url}")
    feeds.serve("/feed", rss([rss_item(2), rss_item(1)]))
    assert cards(await first.wait(31 * 60)) == ["Metadata Librarian 2"]
    await first.stop()
    second = TestBot(tmp_path, member="mo", role=_moderator(), bot_allow_private_urls=True)
    second.clock.set(first.clock.now())
    await second.start()
    assert cards(await second.wait(2 * 3600)) == []
    await second.stop()


async def test_a_crash_between_deciding_and_posting_posts_once_after_restart(tmp_path: Path, feeds: FeedServer) -> None:
    url = feeds.serve("/feed", rss([rss_item(1)]))
    first = await TestBot(tmp_path, member="mo", role=_moderator(), bot_allow_private_urls=True).start()
    await first.push(f"/jobs subscribe {url}")
    feeds.serve("/feed", rss([rss_item(2), rss_item(1)]))
    hung = asyncio.Event()

    async def hang(place: Any, card: Any, **keyed: Any) -> Any:
        hung.set()
        await asyncio.sleep(3600)

    first.console.send = hang  # type: ignore[method-assign]
    first.clock.advance(timedelta(minutes=31))
    runner = asyncio.create_task(first.bot.scheduler.run_due())
    await asyncio.wait_for(hung.wait(), 5)
    await first.bot.scheduler.stop(grace=0)  # killed while posting
    runner.cancel()
    await asyncio.gather(runner, return_exceptions=True)
    await first.db.close()

    second = TestBot(tmp_path, member="mo", role=_moderator(), bot_allow_private_urls=True)
    second.clock.set(first.clock.now())
    await second.start()
    out = await second.wait(1)
    assert cards(out) == ["Metadata Librarian 2"]
    assert cards(await second.wait(2 * 3600)) == []
    await second.stop()


# -- members --------------------------------------------------------------------------------------


async def test_save_latest_post_and_forget_me(jobs: TestBot, feeds: FeedServer) -> None:
    out = await jobs.push('/jobs post "Head of Cataloging" https://jobs.example.org/h employer="Big U" location="Boston, MA" closes=2026-12-31')
    assert "Head of Cataloging" in out and "[View posting → https://jobs.example.org/h]" in out
    assert "Closes" in out
    out = await jobs.push(":as ann", ":click Save", "/jobs saved")
    assert "Saved: Head of Cataloging" in out and "• Head of Cataloging (Big U, Boston, MA): https://jobs.example.org/h" in out
    assert "Only moderators can use /jobs post." in await jobs.push("/jobs post X https://x.org")
    assert "Head of Cataloging" in await jobs.push("/jobs latest keywords=cataloging")
    assert "No job posts match yet." in await jobs.push("/jobs latest keywords=serials")
    await jobs.push("/privacy forget-me", ":click 1")
    assert "You have no saved jobs" in await jobs.push("/jobs saved")


async def test_mass_mentions_in_feeds_are_neutralised(jobs: TestBot, feeds: FeedServer) -> None:
    url = feeds.serve("/atom", ATOM.replace("urn:gig:1", "urn:gig:0"), **{"Content-Type": "application/atom+xml"})
    await jobs.push(f"/jobs subscribe {url}")
    feeds.serve("/atom", ATOM, **{"Content-Type": "application/atom+xml"})
    out = await jobs.wait(31 * 60)
    assert "Digital Archivist" in out and "@here" not in out and "<!channel>" not in out


# -- the piped console, as a new user would run it ----------------------------------------------


def test_piped_console_subscribe_wait_and_nothing_twice(tmp_path: Path) -> None:
    """Done means: subscribe to a feed on 127.0.0.1, let time pass, new items once."""
    script = tmp_path / "serve.py"
    script.write_text(
        "import sys\nfrom aiohttp import web\nhits = {'n': 0}\n"
        "async def feed(request):\n"
        "    hits['n'] += 1\n"
        "    items = ''.join(f'<item><title>Cataloger {i}</title><link>https://x.org/{i}</link><guid>{i}</guid></item>' for i in range(hits['n'], 0, -1))\n"
        "    return web.Response(text=f'<rss version=\"2.0\"><channel><title>Jobs</title>{items}</channel></rss>', content_type='application/rss+xml')\n"
        "app = web.Application(); app.router.add_get('/feed', feed)\n"
        "web.run_app(app, host='127.0.0.1', port=int(sys.argv[1]), print=lambda *a: print('ready', flush=True))\n"
    )  # fmt: skip
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, str(script), str(port)], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None and "ready" in server.stdout.readline()
        env = {"BOT_DATABASE": str(tmp_path / "bot.sqlite3"), "BOT_ALLOW_PRIVATE_URLS": "true", "PYTHONPATH": str(ROOT),
               "PATH": "/usr/bin:/bin"}  # fmt: skip
        session = f"/jobs subscribe http://127.0.0.1:{port}/feed\n:wait 31m\n:wait 31m\n:wait 31m\n"
        result = subprocess.run([sys.executable, "-m", "bot", "shell", "--role", "moderator"], input=session,
                                capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60)  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert result.returncode == 0, result.stderr
    titles = [line for line in result.stdout.splitlines() if line.startswith("Cataloger")]
    assert titles == ["Cataloger 2", "Cataloger 3", "Cataloger 4"]
    with sqlite3.connect(tmp_path / "bot.sqlite3") as db:
        assert db.execute("SELECT COUNT(*) FROM job_items WHERE status = 'posted'").fetchone()[0] == 3


async def test_a_post_the_console_printed_but_the_bot_did_not_record_is_not_printed_again(
    tmp_path: Path, feeds: FeedServer
) -> None:
    """The crash window in one process: the platform took the post, then recording it failed
    (the database refused the write). The item stays 'sending' with its key; the next poll
    resolves it by the key (the console remembers what it printed) instead of posting again."""
    url = feeds.serve("/feed", rss([rss_item(1)]))
    jobs = await TestBot(tmp_path, member="mo", role=_moderator(), bot_allow_private_urls=True).start()
    await jobs.push(f"/jobs subscribe {url}")
    feeds.serve("/feed", rss([rss_item(2), rss_item(1)]))
    cog = next(c for c in jobs.bot.cogs if getattr(c, "name", "") == "jobs")
    real_posted = cog.store.posted  # type: ignore[attr-defined]
    failures = [RuntimeError("database is locked")]

    async def posted(*args: Any) -> None:
        if failures:
            raise failures.pop()
        await real_posted(*args)

    cog.store.posted = posted  # type: ignore[attr-defined]
    assert cards(await jobs.wait(31 * 60)) == ["Metadata Librarian 2"]
    assert cards(await jobs.wait(31 * 60)) == []  # resolved by its key, not printed again
    assert await jobs.db.scalar("SELECT status FROM job_items WHERE title = 'Metadata Librarian 2'") == "posted"
    await jobs.stop()


async def test_on_the_console_a_post_interrupted_by_a_crash_is_printed_again_once(tmp_path: Path, feeds: FeedServer) -> None:
    """Across processes the console cannot tell what an earlier one printed: the documented
    rule (bot/platforms/base.py) is to send again, once: at-least-once, never lost."""
    url = feeds.serve("/feed", rss([rss_item(1)]))
    first = await TestBot(tmp_path, member="mo", role=_moderator(), bot_allow_private_urls=True).start()
    await first.push(f"/jobs subscribe {url}")
    feeds.serve("/feed", rss([rss_item(2), rss_item(1)]))
    hung = asyncio.Event()
    cog = next(c for c in first.bot.cogs if getattr(c, "name", "") == "jobs")

    async def hang(*args: Any) -> None:
        hung.set()
        await asyncio.sleep(3600)

    cog.store.posted = hang  # type: ignore[attr-defined]
    first.clock.advance(timedelta(minutes=31))
    runner = asyncio.create_task(first.bot.scheduler.run_due())
    await asyncio.wait_for(hung.wait(), 5)
    await first.bot.scheduler.stop(grace=0)  # killed after printing, before recording
    runner.cancel()
    await asyncio.gather(runner, return_exceptions=True)
    await first.db.close()
    assert cards(first.out.getvalue()) == ["Metadata Librarian 2"]

    second = TestBot(tmp_path, member="mo", role=_moderator(), bot_allow_private_urls=True)
    second.clock.set(first.clock.now())
    await second.start()
    assert cards(await second.wait(1)) == ["Metadata Librarian 2"]
    assert cards(await second.wait(2 * 3600)) == []
    await second.stop()


async def test_an_application_deadline_years_ahead_is_refused_as_a_typo(jobs: TestBot) -> None:
    far = await jobs.push('/jobs post "Cataloger" https://example.org/j closes="Dec 1 9999"')
    assert "closes is more than two years ahead" in far
    assert await jobs.db.scalar("SELECT COUNT(*) FROM job_items") == 0
    near = await jobs.push('/jobs post "Cataloger" https://example.org/j closes="Dec 1 2027"')
    assert "Closes  1 December 2027" in near
    assert await jobs.db.scalar("SELECT COUNT(*) FROM job_items") == 1

"""The association's other platforms: Mastodon and Bluesky follower counts fetched from
loopback fakes of their public APIs, handle rules, the store, and `alcts-bot stats import`."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web

from bot.config import Settings
from bot.errors import UserError
from bot.fetch import Fetcher, HttpStatus
from bot.fetched import FetchResult, Unreachable
from bot.model import Member, Role
from cogs.stats.social import (
    BadAnswer,
    UnknownAccount,
    accounts_lines,
    add_account,
    fetch_followers,
    record_count,
    refresh_again,
    refresh_all,
)
from cogs.stats.social_csv import parse_counts_csv
from cogs.stats.social_names import check_account, normalise_handle, normalise_network
from storage.db import Database
from storage.social import SocialStore
from tests.harness import TestBot

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
TODAY = "2026-03-02"


@dataclass
class FakeNetworks:
    """Mastodon's account lookup and Bluesky's getProfile, as their public APIs answer."""

    mastodon: dict[str, int] = field(default_factory=lambda: {"alcts": 1234, "alcts@other.example": 77})
    bluesky: dict[str, int] = field(default_factory=lambda: {"alcts.bsky.social": 567})
    busy: set[str] = field(default_factory=set)  # who answers 429
    garbled: set[str] = field(default_factory=set)  # who answers with a body that is not JSON
    seen: list[str] = field(default_factory=list)  # the raw query strings asked
    base: str = ""

    async def lookup(self, request: web.Request) -> web.Response:
        self.seen.append(request.raw_path.partition("?")[2])
        acct = request.query.get("acct", "")
        return self._answer(acct, self.mastodon.get(acct), "followers_count",
                            web.json_response({"error": "Record not found"}, status=404))  # fmt: skip

    async def profile(self, request: web.Request) -> web.Response:
        self.seen.append(request.raw_path.partition("?")[2])
        actor = request.query.get("actor", "")
        missing = web.json_response({"error": "InvalidRequest", "message": "Profile not found"}, status=400)
        return self._answer(actor, self.bluesky.get(actor), "followersCount", missing)

    def _answer(self, who: str, count: int | None, key: str, missing: web.Response) -> web.Response:
        if who in self.busy:
            return web.json_response({"error": "Too many requests"}, status=429, headers={"Retry-After": "120"})
        if who in self.garbled:
            return web.Response(text="<html>maintenance</html>", content_type="text/html")
        if count is None:
            return missing
        return web.json_response({"id": "1", "acct": who, key: count})


@pytest.fixture
async def fake() -> AsyncIterator[FakeNetworks]:
    networks = FakeNetworks()
    app = web.Application()
    app.router.add_get("/api/v1/accounts/lookup", networks.lookup)
    app.router.add_get("/xrpc/app.bsky.actor.getProfile", networks.profile)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    networks.base = f"http://127.0.0.1:{port}"
    yield networks
    await runner.cleanup()


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    fetcher = Fetcher(allow_private=True)
    await fetcher.start()
    yield fetcher
    await fetcher.close()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SocialStore]:
    db = Database(tmp_path / "bot.sqlite3")
    await db.open()
    yield SocialStore(db)
    await db.close()


def settings_for(fake: FakeNetworks) -> Settings:
    return Settings(bot_mastodon_url=fake.base, bot_bluesky_url=fake.base + "/")


async def followers(fake: FakeNetworks, fetcher: Fetcher, network: str, handle: str) -> int:
    return await fetch_followers(network, handle, fetcher.fetch, mastodon_url=fake.base, bluesky_url=fake.base)


# -- fetching -------------------------------------------------------------------------------


async def test_a_known_accounts_follower_count(fake: FakeNetworks, fetcher: Fetcher) -> None:
    assert await followers(fake, fetcher, "mastodon", "alcts@other.example") == 77
    assert await followers(fake, fetcher, "bluesky", "alcts.bsky.social") == 567
    # with BOT_MASTODON_URL set the whole acct is asked
    assert fake.seen == ["acct=alcts@other.example", "actor=alcts.bsky.social"]


async def test_without_a_mastodon_url_the_handles_own_server_is_asked() -> None:
    asked: list[str] = []

    async def fetch(url: str, **kwargs: object) -> object:
        asked.append(url)
        raise HttpStatus(404)

    with pytest.raises(UnknownAccount):
        await fetch_followers("mastodon", "a_b@mastodon.social", fetch, mastodon_url=None, bluesky_url="x")
    # parameters are percent-encoded whatever they hold (handles are checked before this too)
    with pytest.raises(UnknownAccount):
        await fetch_followers("mastodon", "a&b=c#@x.example", fetch, mastodon_url="http://m/", bluesky_url="x")
    with pytest.raises(UnknownAccount):
        await fetch_followers("bluesky", "a b+c/d", fetch, mastodon_url=None, bluesky_url="http://b/")
    assert asked == [
        "https://mastodon.social/api/v1/accounts/lookup?acct=a_b",
        "http://m/api/v1/accounts/lookup?acct=a%26b%3Dc%23%40x.example",
        "http://b/xrpc/app.bsky.actor.getProfile?actor=a%20b%2Bc%2Fd",
    ]


@pytest.mark.parametrize(
    ("network", "handle", "sentence"),
    [
        ("mastodon", "nobody@mastodon.social", "Mastodon has no account nobody@mastodon.social."),
        ("bluesky", "nobody.bsky.social", "Bluesky has no account nobody.bsky.social."),
    ],
)
async def test_an_unknown_handle_is_one_sentence(
    fake: FakeNetworks, fetcher: Fetcher, network: str, handle: str, sentence: str
) -> None:
    with pytest.raises(UnknownAccount) as caught:
        await followers(fake, fetcher, network, handle)
    assert str(caught.value) == sentence
    assert isinstance(caught.value, UserError)


def answering(body: bytes) -> Callable[..., Awaitable[FetchResult]]:
    async def fetch(url: str, **kwargs: object) -> FetchResult:
        return FetchResult(url, 200, body, False, None, None, "application/json", None, None)

    return fetch


async def test_an_error_answer_with_status_200_is_an_unknown_account() -> None:
    fetch = answering(b'{"error": "NotFound", "message": "Profile not found"}')
    with pytest.raises(UnknownAccount, match="^Bluesky has no account missing.example.$"):
        await fetch_followers("bluesky", "missing.example", fetch, mastodon_url=None, bluesky_url="http://x")


@pytest.mark.parametrize(("network", "handle"), [("mastodon", "alcts@other.example"), ("bluesky", "alcts.bsky.social")])
async def test_a_429_passes_through_with_retry_after(
    fake: FakeNetworks, fetcher: Fetcher, network: str, handle: str
) -> None:
    fake.busy.add(handle)
    with pytest.raises(HttpStatus) as caught:
        await followers(fake, fetcher, network, handle)
    assert caught.value.status == 429
    assert caught.value.retry_after == timedelta(seconds=120)


@pytest.mark.parametrize(("network", "handle"), [("mastodon", "alcts@other.example"), ("bluesky", "alcts.bsky.social")])
async def test_an_answer_that_is_not_json_is_one_sentence(
    fake: FakeNetworks, fetcher: Fetcher, network: str, handle: str
) -> None:
    fake.garbled.add(handle)
    with pytest.raises(BadAnswer) as caught:
        await followers(fake, fetcher, network, handle)
    message = str(caught.value)
    assert "not readable JSON" in message and handle in message
    assert message.count(". ") == 0 and message.endswith("?")


@pytest.mark.parametrize("body", [b'{"followersCount": -3}', b'{"followersCount": "12"}', b"[]", b'{"followersCount": true}'])
async def test_json_without_a_count_is_one_sentence(body: bytes) -> None:
    with pytest.raises(BadAnswer, match="^The answer for Bluesky a.example had no follower count.$"):
        await fetch_followers("bluesky", "a.example", answering(body), mastodon_url=None, bluesky_url="http://x")


# -- handles --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("network", "given", "stored"),
    [
        ("mastodon", "@alcts@mastodon.social", "alcts@mastodon.social"),
        ("mastodon", " alcts@Mastodon.Social ", "alcts@mastodon.social"),
        ("mastodon", "https://mastodon.social/@ALCTS", "alcts@mastodon.social"),
        ("mastodon", "https://mastodon.social/@alcts@glammr.us", "alcts@glammr.us"),
        ("mastodon", "tech_services@xn--bcher-kva.example", "tech_services@xn--bcher-kva.example"),
        ("bluesky", "@alcts.bsky.social", "alcts.bsky.social"),
        ("bluesky", "ALCTS.org", "alcts.org"),
        ("bluesky", "https://bsky.app/profile/alcts.bsky.social", "alcts.bsky.social"),
        ("bluesky", "did:plc:abcdefghijklmnopqrstuvwx", "did:plc:abcdefghijklmnopqrstuvwx"),
        ("facebook", "@ALCTS.page", "alcts.page"),  # manual networks: any case is one account
    ],
)
def test_handles_are_normalised(network: str, given: str, stored: str) -> None:
    assert normalise_handle(network, given) == stored


@pytest.mark.parametrize(
    ("network", "given", "words"),
    [
        ("mastodon", "alcts", "with its server"),
        ("mastodon", "@alcts", "with its server"),
        ("mastodon", "a@b@c.example", "with its server"),
        ("mastodon", "al cts@mastodon.social", "not a Mastodon user name"),
        ("mastodon", "alcts@localhost", "not a Mastodon server name"),
        ("mastodon", "alcts@127.0.0.1", "not a Mastodon server name"),
        ("mastodon", "alcts@mastodon.social/path", "not a Mastodon server name"),
        ("mastodon", "x" * 65 + "@mastodon.social", "not a Mastodon user name"),
        ("mastodon", "https://mastodon.social/users/alcts", "profile address"),
        ("bluesky", "alcts", "not a Bluesky handle"),
        ("bluesky", "-alcts.bsky.social", "not a Bluesky handle"),
        ("bluesky", "alcts.bsky.123", "not a Bluesky handle"),
        ("bluesky", "a" * 64 + ".bsky.social", "not a Bluesky handle"),
        ("bluesky", "alcts.bsky.social?x=1", "not a Bluesky handle"),
        ("bluesky", "did:plc:short", "did:plc:"),
        ("facebook", "two words", "without spaces"),
        ("x", "", "1 to 100 characters"),
    ],
)
def test_bad_handles_are_one_sentence(network: str, given: str, words: str) -> None:
    with pytest.raises(ValueError, match=words) as caught:
        normalise_handle(network, given)
    message = str(caught.value)
    assert message.endswith(".") and "\n" not in message


def test_base_urls_are_checked_and_lose_a_trailing_slash() -> None:
    from bot.config import ConfigError, load_settings

    assert load_settings(bot_bluesky_url="http://127.0.0.1:9/").bot_bluesky_url == "http://127.0.0.1:9"
    assert load_settings().bot_mastodon_url is None
    with pytest.raises(ConfigError) as caught:
        load_settings(bot_mastodon_url="mastodon.social")
    assert caught.value.lines == ["config: BOT_MASTODON_URL: 'mastodon.social' is not a base URL like https://example.org (got 'mastodon.social')"]


def test_networks_and_which_can_be_added() -> None:
    assert normalise_network(" Twitter ") == "x" and normalise_network("BlueSky") == "bluesky"
    with pytest.raises(ValueError, match="'myspace' is not a platform the bot knows; use one of facebook, x,"):
        normalise_network("myspace")
    assert check_account("Mastodon", "@alcts@mastodon.social") == ("mastodon", "alcts@mastodon.social")
    with pytest.raises(ValueError, match="^Facebook has no public follower count .* /stats record facebook COUNT.$"):
        check_account("facebook", "alcts")


# -- the store and what the commands do ---------------------------------------------------


async def test_the_same_day_twice_keeps_the_latest(store: SocialStore) -> None:
    await store.record("facebook", "", TODAY, 100, "manual", NOW)
    await store.record("facebook", "", TODAY, 120, "import", NOW + timedelta(minutes=1))
    await store.record("facebook", "", "2026-03-01", 90, "manual", NOW)
    await store.record("x", "", "2026-02-01", 40, "manual", NOW)
    latest = await store.latest()
    assert [(c.network, c.day, c.followers, c.source) for c in latest] == [
        ("facebook", TODAY, 120, "import"), ("x", "2026-02-01", 40, "manual"),
    ]  # fmt: skip
    series = await store.series("2026-03-01", TODAY)
    assert [(c.network, c.day, c.followers) for c in series] == [("facebook", "2026-03-01", 90), ("facebook", TODAY, 120)]


async def test_accounts_are_added_once_fetched_daily_and_forget_me_unattributes(
    store: SocialStore, fake: FakeNetworks, fetcher: Fetcher
) -> None:
    ann = Member("console", "ann", "ann")
    settings = settings_for(fake)
    reply = await add_account(store, fetcher.fetch, settings, "mastodon", "@alcts@other.example", ann, NOW, TODAY)
    assert reply == "Added Mastodon alcts@other.example: 77 followers today. Its count is fetched daily."
    again = await add_account(store, fetcher.fetch, settings, "Mastodon", "alcts@OTHER.example", ann, NOW, TODAY)
    assert again == "Mastodon alcts@other.example is already fetched daily."
    with pytest.raises(UnknownAccount, match="^Mastodon has no account ghost@other.example.$"):
        await add_account(store, fetcher.fetch, settings, "mastodon", "ghost@other.example", ann, NOW, TODAY)
    with pytest.raises(UserError, match="^Instagram has no public follower count"):
        await add_account(store, fetcher.fetch, settings, "instagram", "alcts", ann, NOW, TODAY)
    fake.busy.add("alcts.bsky.social")  # a busy network still registers the account
    reply = await add_account(store, fetcher.fetch, settings, "bluesky", "alcts.bsky.social", None, NOW, TODAY)
    assert reply.startswith("Added Bluesky alcts.bsky.social; the first fetch failed (The site is busy")
    assert [(a.network, a.handle) for a in await store.accounts()] == [
        ("bluesky", "alcts.bsky.social"), ("mastodon", "alcts@other.example"),
    ]  # fmt: skip

    # the daily fetch: one account fails (and says so), the other is recorded
    fake.mastodon["alcts@other.example"] = 80
    tomorrow = NOW + timedelta(days=1)
    problems = await refresh_all(store, fetcher.fetch, settings, tomorrow, "2026-03-03")
    assert problems == [
        "Bluesky alcts.bsky.social: The site is busy or having problems (HTTP 429); try again later (it asked for 2 minutes)."
    ]
    counts = {(c.network, c.day): c.followers for c in await store.series("2026-03-01", "2026-03-03")}
    assert counts == {("mastodon", TODAY): 77, ("mastodon", "2026-03-03"): 80}
    accounts = {a.network: a for a in await store.accounts()}
    assert accounts["mastodon"].last_error is None and accounts["mastodon"].last_fetch_at == tomorrow
    assert accounts["bluesky"].last_error and "HTTP 429" in accounts["bluesky"].last_error
    # the next day it works again and the error clears
    fake.busy.clear()
    assert await refresh_all(store, fetcher.fetch, settings, tomorrow, "2026-03-03") == []
    assert {a.network: a.last_error for a in await store.accounts()} == {"bluesky": None, "mastodon": None}

    assert await accounts_lines(store) == [
        "Bluesky alcts.bsky.social: 567 followers on 2026-03-03",
        "Mastodon alcts@other.example: 80 followers on 2026-03-03",
    ]
    with pytest.raises(Unreachable):  # a server that is not there: nothing stored
        await add_account(store, fetcher.fetch, settings.model_copy(update={"bot_mastodon_url": None}),
                          "mastodon", "alcts@no-such-server.invalid", ann, NOW, TODAY)  # fmt: skip
    assert len(await store.accounts()) == 2

    assert accounts["mastodon"].added_by == "console:ann"
    assert await store.forget_member(ann) == 1
    assert all(a.added_by is None for a in await store.accounts())


async def test_a_429_for_one_account_waits_for_that_account_alone(
    store: SocialStore, fake: FakeNetworks, fetcher: Fetcher
) -> None:
    fake.mastodon["alcts@third.example"] = 12
    for handle in ("alcts@other.example", "alcts@third.example"):
        await store.add_account("mastodon", handle, None, NOW)
    fake.busy.add("alcts@other.example")  # one server for both (BOT_MASTODON_URL), busy for one lookup
    asked: list[tuple[str, datetime, dict[str, object]]] = []

    async def retry(key: str, due: datetime, payload: dict[str, object]) -> None:
        asked.append((key, due, payload))

    settings = settings_for(fake)
    problems = await refresh_all(store, fetcher.fetch, settings, NOW, TODAY, retry)
    assert len(fake.seen) == 2  # the other account on that server is still asked
    assert problems == ["Mastodon alcts@other.example: The site is busy or having problems (HTTP 429); try again later"
                        " (it asked for 2 minutes); asked again alone at 15:02 UTC."]  # fmt: skip
    accounts = {a.handle: a for a in await store.accounts()}
    assert accounts["alcts@third.example"].last_error is None and accounts["alcts@third.example"].last_fetch_at == NOW
    assert accounts["alcts@other.example"].last_error is None  # not failed: waiting
    (key, due, payload), = asked
    assert due == NOW + timedelta(minutes=2) and payload == {"account": accounts["alcts@other.example"].id,
                                                             "day": TODAY, "attempt": 1}  # fmt: skip

    # still busy at the retries: asked again up to 3 times, then it is marked failed
    for attempt in (2, 3):
        assert await refresh_again(store, fetcher.fetch, settings, due, asked[-1][2], retry) is not None
        assert asked[-1][2]["attempt"] == attempt and asked[-1][0] == f"{payload['account']}:{TODAY}:{attempt}"
    failed = await refresh_again(store, fetcher.fetch, settings, due, asked[-1][2], retry)
    assert len(asked) == 3 and failed is not None and failed.endswith("(it asked for 2 minutes).")
    assert {a.handle: a.last_error for a in await store.accounts()}["alcts@other.example"] is not None

    fake.busy.clear()  # a later retry that works records the day's count and clears the error
    assert await refresh_again(store, fetcher.fetch, settings, due, payload, retry) is None
    counts = {(c.handle, c.day): c.followers for c in await store.series(TODAY, TODAY)}
    assert counts == {("alcts@other.example", TODAY): 77, ("alcts@third.example", TODAY): 12}
    assert all(a.last_error is None for a in await store.accounts())


async def test_the_daily_fetch_retries_a_busy_account_by_itself(tmp_path: Path, fake: FakeNetworks) -> None:
    fake.mastodon["alcts@third.example"] = 12
    testbot = TestBot(tmp_path, member="olga", role=Role.ORGANIZER, bot_mastodon_url=fake.base,
                      bot_allow_private_urls=True)  # fmt: skip
    await testbot.start()
    try:
        await testbot.push("/stats accounts add mastodon alcts@other.example", "/stats accounts add mastodon alcts@third.example")
        fake.busy.add("alcts@other.example")
        fake.mastodon.update({"alcts@other.example": 80, "alcts@third.example": 13})
        next_six = (testbot.clock.now() + timedelta(days=1)).replace(hour=6, minute=0, second=0, microsecond=0)
        await testbot.wait((next_six - testbot.clock.now()).total_seconds() + 1)  # the daily fetch
        day = next_six.date().isoformat()
        counts = dict(await testbot.db.fetchall("SELECT handle, followers FROM social_counts WHERE day = ?", (day,)))
        assert counts == {"alcts@third.example": 13}
        fake.busy.clear()
        await testbot.wait(125)  # the busy account alone, when the server said
        counts = dict(await testbot.db.fetchall("SELECT handle, followers FROM social_counts WHERE day = ?", (day,)))
        assert counts == {"alcts@other.example": 80, "alcts@third.example": 13}
        out = await testbot.push("/stats accounts")
        assert "last fetch failed" not in out
    finally:
        await testbot.stop()


async def test_record_count_resolves_the_handle(store: SocialStore) -> None:
    assert await record_count(store, "LinkedIn", "1,500", TODAY, NOW) == "Recorded 1,500 LinkedIn followers on 2026-03-02."
    await store.add_account("mastodon", "alcts@mastodon.social", None, NOW)
    reply = await record_count(store, "mastodon", 300, "2026-03-01", NOW)
    assert reply == "Recorded 300 Mastodon alcts@mastodon.social followers on 2026-03-01."
    await store.add_account("mastodon", "lita@glammr.us", None, NOW)
    with pytest.raises(UserError, match=r"^Mastodon has 2 accounts; say which with handle="):
        await record_count(store, "mastodon", 300, "2026-03-01", NOW)
    with pytest.raises(UserError, match="is not a whole number of followers"):
        await record_count(store, "x", "12.5", TODAY, NOW)


def test_csv_rows_are_checked_one_by_one() -> None:
    text = "Date,Platform,Followers,notes\n2026-03-01,facebook,100,\n\n2026-13-01,x,5\n2026-03-01,myspace,5\n"
    text += "2026-03-01,FACEBOOK,101\n2026-03-02,instagram,-4\n2026-03-02,tumblr,\n2099-01-01,x,1\n2026-03-02,Twitter,\"1,234\"\n"
    result = parse_counts_csv(text, where="f.csv", today=date(2026, 3, 2))
    assert result.rows == [("facebook", "", "2026-03-01", 100), ("x", "", "2026-03-02", 1234)]
    assert result.skipped == 6 and not result.fatal
    assert [p.split(":")[1] for p in result.problems] == ["4", "5", "6", "7", "8", "9"]
    assert result.problems[0] == "f.csv:4: '2026-13-01' is not a date like 2026-03-01."
    assert "already on line 2" in result.problems[2]


# -- alcts-bot stats import ---------------------------------------------------------------


def alcts(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "SLACK_", "BOT_"))}
    env.update({"BOT_DATABASE": str(tmp_path / "bot.sqlite3"), "PYTHONPATH": str(ROOT)})
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True,
                          cwd=tmp_path, env=env, timeout=60)  # fmt: skip


def counts(db: Path) -> list[tuple[str, str, str, int, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT network, handle, day, followers, source FROM social_counts ORDER BY network, day"
        ).fetchall()


def test_cli_import_good_rows(tmp_path: Path) -> None:
    (tmp_path / "counts.csv").write_text("date,platform,followers\n2025-01-01,facebook,1200\n2025-01-01,x,800\n")
    db = tmp_path / "other.sqlite3"
    missing = alcts(tmp_path, "stats", "import", "counts.csv", "--db", str(db))  # a typo must not start a database
    assert missing.returncode == 2 and missing.stderr == f"alcts-bot: there is no database at {db}\n"
    assert not db.exists()
    alcts(tmp_path, "db", "upgrade", "--db", str(db))
    result = alcts(tmp_path, "stats", "import", "counts.csv", "--db", str(db))
    assert (result.returncode, result.stdout, result.stderr) == (0, "Imported 2 rows (0 skipped)\n", "")
    # again, with a correction: upserted, not doubled
    (tmp_path / "counts.csv").write_text("date,platform,followers\n2025-01-01,facebook,1250\n")
    assert alcts(tmp_path, "stats", "import", "counts.csv", "--db", str(db)).stdout == "Imported 1 row (0 skipped)\n"
    assert counts(db) == [("facebook", "", "2025-01-01", 1250, "import"), ("x", "", "2025-01-01", 800, "import")]


@pytest.fixture
def database(tmp_path: Path) -> None:
    """The CLI import tests write into the default database; it exists, as after any run."""
    alcts(tmp_path, "db", "upgrade")


@pytest.mark.usefixtures("database")
def test_cli_import_names_a_bad_row_and_imports_the_rest(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text("date,platform,followers\n2025-01-01,facebook,1200\n2025-01-02,facebook,lots\n")
    result = alcts(tmp_path, "stats", "import", "c.csv")
    assert result.returncode == 1
    assert result.stdout == "Imported 1 row (1 skipped)\n"
    assert result.stderr == "c.csv:3: 'lots' is not a whole number of followers like 1234.\n"
    assert counts(tmp_path / "bot.sqlite3") == [("facebook", "", "2025-01-01", 1200, "import")]


@pytest.mark.usefixtures("database")
def test_cli_import_without_a_header_imports_nothing(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text("2025-01-01,facebook,1200\n")
    result = alcts(tmp_path, "stats", "import", "c.csv")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == ("c.csv:1: the first line must be the header date,platform,followers"
                             " (missing date, platform, followers); nothing was imported\n")  # fmt: skip
    (tmp_path / "bin.csv").write_bytes(b"date,platform,followers\n2025-01-01,x,\xff\xfe\n")
    result = alcts(tmp_path, "stats", "import", "bin.csv")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == "bin.csv:2: not UTF-8 text; save the file as CSV UTF-8; nothing was imported\n"
    assert counts(tmp_path / "bot.sqlite3") == []


@pytest.mark.usefixtures("database")
def test_cli_import_of_an_unclosed_quote_imports_nothing_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text('date,platform,followers\n2026-11-11,x,1\n"2026-11-12,x,1\n2026-11-13,facebook,5\n')
    result = alcts(tmp_path, "stats", "import", "c.csv")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == "c.csv:3: a quote opened on this line is not closed on it; nothing was imported\n"
    assert counts(tmp_path / "bot.sqlite3") == []


@pytest.mark.usefixtures("database")
def test_cli_import_skips_a_row_with_bad_quotes_and_imports_the_rest(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text('date,platform,followers\n2025-01-01,facebook,1\n2025-01-02,x,"1"2\n'
                                    '2025-01-03,x,"3"\n2025-01-04,x,4,"a\n')  # fmt: skip
    result = alcts(tmp_path, "stats", "import", "c.csv")  # a quote left open at the end: the file's problem
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == "c.csv:5: a quote opened on this line is not closed on it; nothing was imported\n"
    (tmp_path / "c.csv").write_text('date,platform,followers\n2025-01-01,facebook,1\n2025-01-02,x,"1"2\n2025-01-03,x,"3"\n')
    result = alcts(tmp_path, "stats", "import", "c.csv")
    assert (result.returncode, result.stdout) == (1, "Imported 2 rows (1 skipped)\n")
    assert result.stderr == "c.csv:3: not readable as CSV (',' expected after '\"'); skipped\n"
    assert counts(tmp_path / "bot.sqlite3") == [("facebook", "", "2025-01-01", 1, "import"), ("x", "", "2025-01-03", 3, "import")]


@pytest.mark.usefixtures("database")
def test_cli_import_skips_a_row_with_more_cells_than_the_header(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text("date,platform,followers\n2025-11-26,x,1\n2025-11-27,x,1,h,zzz\n"
                                    "2025-11-27,facebook,2,\n")  # fmt: skip
    result = alcts(tmp_path, "stats", "import", "c.csv")  # a trailing empty cell (a spreadsheet's comma) is fine
    assert (result.returncode, result.stdout) == (1, "Imported 2 rows (1 skipped)\n")
    assert result.stderr == "c.csv:3: 5 cells, but the header names 3 columns\n"
    assert counts(tmp_path / "bot.sqlite3") == [("facebook", "", "2025-11-27", 2, "import"), ("x", "", "2025-11-26", 1, "import")]


@pytest.mark.usefixtures("database")
def test_cli_import_matches_manual_handles_without_regard_to_case(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text("date,platform,followers,handle\n2025-01-01,facebook,1,ALCTS\n"
                                    "2025-01-01,Facebook,2,@alcts\n2025-01-02,x,3,@Alcts_Org\n")  # fmt: skip
    result = alcts(tmp_path, "stats", "import", "c.csv")
    assert result.returncode == 1 and result.stdout == "Imported 2 rows (1 skipped)\n"
    assert result.stderr == "c.csv:3: Facebook alcts on 2025-01-01 is already on line 2; skipped\n"
    assert counts(tmp_path / "bot.sqlite3") == [("facebook", "alcts", "2025-01-01", 1, "import"),
                                                ("x", "alcts_org", "2025-01-02", 3, "import")]  # fmt: skip


@pytest.mark.parametrize("what", ["missing", "a folder"])
def test_cli_import_of_an_unreadable_file_is_one_line_and_exit_2(tmp_path: Path, what: str) -> None:
    if what == "a folder":
        (tmp_path / "c.csv").mkdir()
    result = alcts(tmp_path, "stats", "import", "c.csv")
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("alcts-bot: cannot read c.csv: "), result.stderr


def test_cli_import_into_a_corrupt_database_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text("date,platform,followers\n2025-01-01,facebook,1200\n")
    (tmp_path / "bad.sqlite3").write_bytes(os.urandom(50_000))
    result = alcts(tmp_path, "stats", "import", "c.csv", "--db", "bad.sqlite3")
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("alcts-bot: "), result.stderr
    assert "Traceback" not in result.stderr


async def test_an_account_recorded_by_mistake_can_be_removed(testbot: TestBot) -> None:
    await testbot.push(":as olga organizer", "/stats record facebook 1200 date=2026-11-01", "/stats record facebook 1250",
                       "/stats record x 80")  # fmt: skip
    out = await testbot.push("/stats accounts remove facebook")
    assert "(only you) Removed Facebook and its 2 counts." in out
    assert [tuple(r) for r in await testbot.db.fetchall("SELECT network, followers FROM social_counts")] == [("x", 80)]
    gone = await testbot.push("/stats accounts remove mastodon nobody@example.org")
    assert "There is no" in gone and "/stats accounts lists them" in gone
    assert "Only organizers can use /stats accounts." in await testbot.push(":as ann member", "/stats accounts remove x")
    assert await testbot.db.scalar("SELECT COUNT(*) FROM social_counts") == 1

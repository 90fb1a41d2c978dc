"""The safe fetch helper against a real aiohttp server on 127.0.0.1.

No test sends a packet beyond loopback: `no_outside_traffic` fails any test whose code
tries to connect a socket to another address (and refuses the connection)."""

from __future__ import annotations

import asyncio
import gzip
import socket
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from functools import cache
from ipaddress import IPv4Address, ip_address
from typing import Any

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from bot.errors import UserError
from bot.fetch import (
    VERSION,
    BadUrl,
    BlockedAddress,
    Fetcher,
    FetchError,
    FetchTimeout,
    HttpStatus,
    TooLarge,
    TooManyRedirects,
    Unreachable,
    is_forbidden_address,
    parse_max_age,
    parse_retry_after,
)  # fmt: skip

LAST_MODIFIED = "Wed, 21 Oct 2015 07:28:00 GMT"
SERVER_DATE = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@cache
def bomb() -> bytes:
    """About 20 kB of gzip that inflates to 20 MB."""
    return gzip.compress(b"\0" * 20_000_000, compresslevel=6)


@pytest.fixture(autouse=True)
def no_outside_traffic(monkeypatch: pytest.MonkeyPatch) -> Any:
    attempts: list[object] = []
    original = socket.socket.connect

    def connect(self: socket.socket, address: Any) -> None:
        inet = self.family in (socket.AF_INET, socket.AF_INET6)
        if inet and not ip_address(address[0].split("%")[0]).is_loopback:
            attempts.append(address)
            raise ConnectionRefusedError("test: no traffic beyond loopback")
        return original(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    yield attempts
    assert attempts == [], f"tried to connect beyond loopback: {attempts}"


@dataclass
class Site:
    port: int
    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    @property
    def paths(self) -> list[str]:
        return [path for path, _ in self.seen]


def app_for(site: Site) -> web.Application:
    @web.middleware
    async def record(request: web.Request, handler: Any) -> web.StreamResponse:
        site.seen.append((request.path_qs, dict(request.headers)))
        return await handler(request)

    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="hello", content_type="text/plain")

    async def conditional(request: web.Request) -> web.Response:
        validators = {"ETag": '"v1"', "Last-Modified": LAST_MODIFIED}
        if (request.headers.get("If-None-Match") == '"v1"'
                and request.headers.get("If-Modified-Since") == LAST_MODIFIED):  # fmt: skip
            return web.Response(status=304)  # no validators: the ones sent still hold
        return web.Response(text="feed v1", headers=validators)

    async def status(request: web.Request) -> web.Response:
        headers = {"Date": format_datetime(SERVER_DATE, usegmt=True)}
        for param, header in (("ra", "Retry-After"), ("cc", "Cache-Control")):
            if param in request.query:
                headers[header] = request.query[param]
        return web.Response(status=int(request.match_info["code"]), text="x", headers=headers)

    async def to(request: web.Request) -> web.Response:
        raise web.HTTPFound(request.query["url"])

    async def chain(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        if n == 0:
            return web.Response(text="arrived")
        raise web.HTTPMovedPermanently(f"/chain/{n - 1}")

    async def slow_chain(request: web.Request) -> web.Response:
        await asyncio.sleep(0.1)
        n = int(request.match_info["n"])
        if n == 0:
            return web.Response(text="arrived")
        raise web.HTTPFound(f"/slow-chain/{n - 1}")

    async def loop(request: web.Request) -> web.Response:
        raise web.HTTPFound("/loop")

    async def big(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()  # chunked: no Content-Length to refuse early
        await response.prepare(request)
        left = int(request.query["n"])
        while left > 0:
            await response.write(b"a" * min(10_000, left))
            left -= 10_000
        await response.write_eof()
        return response

    async def encoded(request: web.Request) -> web.Response:
        kind = request.match_info["kind"]
        body = {"gzip": gzip.compress(b"hello " * 100), "deflate": zlib.compress(b"hello " * 100),
                "bomb": bomb()}[kind]  # fmt: skip
        encoding = "deflate" if kind == "deflate" else "gzip"
        return web.Response(body=body, headers={"Content-Encoding": encoding})

    async def declared(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": "1000000"})
        await response.prepare(request)
        await response.write(b"a" * 100)
        await site.release.wait()  # the rest never comes while the test runs
        return response

    async def slow(request: web.Request) -> web.Response:
        await site.release.wait()
        return web.Response(text="late")

    async def drip(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(b"first bytes")
        await site.release.wait()
        return response

    async def cut(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": "1000"})
        await response.prepare(request)
        await response.write(b"a" * 10)
        assert request.transport is not None
        request.transport.close()
        return response

    app = web.Application(middlewares=[record])
    app.router.add_get("/ok", ok)
    app.router.add_get("/conditional", conditional)
    app.router.add_get("/status/{code}", status)
    app.router.add_get("/to", to)
    app.router.add_get("/chain/{n}", chain)
    app.router.add_get("/slow-chain/{n}", slow_chain)
    app.router.add_get("/loop", loop)
    app.router.add_get("/big", big)
    app.router.add_get("/encoded/{kind}", encoded)
    app.router.add_get("/declared", declared)
    app.router.add_get("/slow", slow)
    app.router.add_get("/drip", drip)
    app.router.add_get("/cut", cut)
    return app


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    site = Site(port=0)
    runner = web.AppRunner(app_for(site))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    site.port = runner.addresses[0][1]
    yield site
    site.release.set()
    await runner.cleanup()


Make = Callable[..., Awaitable[Fetcher]]


@pytest.fixture
async def make() -> AsyncIterator[Make]:
    """Started Fetchers, closed after the test; allow_private defaults to True here."""
    made: list[Fetcher] = []

    async def start(**options: Any) -> Fetcher:
        options.setdefault("allow_private", True)
        fetcher = Fetcher(**options)
        await fetcher.start()
        made.append(fetcher)
        return fetcher

    yield start
    for fetcher in made:
        await fetcher.close()


class FakeDns(AbstractResolver):
    """Names to addresses; a list of answers is used one lookup at a time."""

    def __init__(self, names: dict[str, list[list[str]] | OSError]) -> None:
        self.names = names
        self.lookups: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.lookups.append(host)
        answers = self.names[host]
        if isinstance(answers, OSError):
            raise answers
        addresses = answers.pop(0) if len(answers) > 1 else answers[0]
        return [{"hostname": host, "host": a, "port": port, "proto": 0, "flags": 0,
                 "family": socket.AF_INET6 if ":" in a else socket.AF_INET}
                for a in addresses]  # fmt: skip

    async def close(self) -> None:
        pass


def only_loopback_1_is_public(ip: Any) -> bool:
    """Lets the test server count as public, so a redirect away from it can be refused."""
    return ip != IPv4Address("127.0.0.1")


# --- addresses -----------------------------------------------------------------------------


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:{port}/ok", "http://[::1]:{port}/ok", "http://0.0.0.0:{port}/ok",
    "http://[::ffff:127.0.0.1]:{port}/ok", "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.1/", "http://192.168.1.1/", "http://172.16.0.1/", "http://100.64.0.1/",
    "http://224.0.0.1/", "http://240.0.0.1/", "http://[::ffff:10.0.0.1]/", "http://[fe80::1]/",
    "http://[fd00::1]/", "http://[ff02::1]/", "http://[64:ff9b::a00:1]/", "http://[2002:a00:1::]/",
])  # fmt: skip
async def test_private_literals_are_refused_before_connecting(
    make: Make, site: Site, url: str
) -> None:
    fetcher = await make(allow_private=False)
    with pytest.raises(BlockedAddress) as caught:
        await fetcher.fetch(url.format(port=site.port))
    assert "private or local network" in caught.value.reason
    assert site.seen == []  # and no_outside_traffic saw no attempt either


async def test_a_name_resolving_to_loopback_is_refused(make: Make, site: Site) -> None:
    fetcher = await make(allow_private=False)  # the real resolver: localhost from /etc/hosts
    with pytest.raises(BlockedAddress):
        await fetcher.fetch(site.url("/ok", host="localhost"))
    assert site.seen == []


@pytest.mark.parametrize("host", ["2130706433", "127.1", "0177.0.0.1", "127.0.0.1."])
async def test_odd_numeric_forms_are_refused(make: Make, site: Site, host: str) -> None:
    """Digits-and-dots hosts skip aiohttp's resolver, and socket would take them as 127.0.0.1."""
    fetcher = await make(allow_private=False)
    with pytest.raises(BadUrl, match="malformed IP address"):
        await fetcher.fetch(site.url("/ok", host=host))
    assert site.seen == []


async def test_a_hex_form_goes_through_the_resolver_and_is_refused(make: Make, site: Site) -> None:
    fetcher = await make(allow_private=False)  # getaddrinfo reads 0x7f.0.0.1 as 127.0.0.1
    with pytest.raises(BlockedAddress):
        await fetcher.fetch(site.url("/ok", host="0x7f.0.0.1"))
    assert site.seen == []


async def test_allow_private_reaches_loopback(make: Make, site: Site) -> None:
    fetcher = await make(allow_private=True)
    assert (await fetcher.fetch(site.url("/ok", host="localhost"))).body == b"hello"


@pytest.mark.parametrize("target", ["http://127.0.0.2:{port}/ok", "http://10.1.2.3/ok",
                                    "http://intranet.test:{port}/ok", "http://[::1]:{port}/ok"])
async def test_a_redirect_to_a_forbidden_address_is_refused(
    make: Make, site: Site, target: str
) -> None:
    dns = FakeDns({"feed.test": [["127.0.0.1"]], "intranet.test": [["10.1.2.3"]]})
    fetcher = await make(allow_private=False, forbidden=only_loopback_1_is_public, resolver=dns)
    assert (await fetcher.fetch(site.url("/ok", host="feed.test"))).body == b"hello"
    start = site.url(f"/to?url={target.format(port=site.port)}", host="feed.test")
    with pytest.raises(BlockedAddress):
        await fetcher.fetch(start)
    assert [path.split("?")[0] for path in site.paths] == ["/ok", "/to"]  # never the target


async def test_the_address_checked_is_the_address_connected_to(make: Make, site: Site) -> None:
    """DNS rebinding: a check that looked the name up separately would see 127.0.0.1 and the
    connection would then get 10.1.2.3 (refused by no_outside_traffic)."""
    dns = FakeDns({"rebind.test": [["127.0.0.1"], ["10.1.2.3"]]})
    fetcher = await make(allow_private=False, forbidden=only_loopback_1_is_public, resolver=dns)
    assert (await fetcher.fetch(site.url("/ok", host="rebind.test"))).body == b"hello"
    assert dns.lookups == ["rebind.test"]


async def test_a_name_with_any_forbidden_address_is_refused(make: Make, site: Site) -> None:
    dns = FakeDns({"mixed.test": [["127.0.0.1", "10.1.2.3"]]})
    fetcher = await make(allow_private=False, forbidden=only_loopback_1_is_public, resolver=dns)
    with pytest.raises(BlockedAddress):
        await fetcher.fetch(site.url("/ok", host="mixed.test"))
    assert site.seen == []


def test_the_address_rule() -> None:
    for text in ["8.8.8.8", "93.184.215.14", "2606:4700:4700::1111", "::ffff:8.8.8.8"]:
        assert not is_forbidden_address(ip_address(text)), text
    for text in ["127.0.0.1", "10.0.0.1", "169.254.1.1", "0.0.0.0", "255.255.255.255", "::",
                 "::1", "fe80::1", "fc00::1", "::ffff:192.168.0.1", "64:ff9b::7f00:1"]:  # fmt: skip
        assert is_forbidden_address(ip_address(text)), text


# --- URLs and schemes ----------------------------------------------------------------------


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/x", "file:///etc/passwd", "gopher://x.test/",
                                 "javascript:alert(1)", "data:text/plain,hi", "example.com/feed",
                                 "//example.com/feed", "ws://x.test/"])  # fmt: skip
async def test_only_http_and_https_are_fetched(make: Make, url: str) -> None:
    dns = FakeDns({})
    fetcher = await make(resolver=dns)
    with pytest.raises(BadUrl) as caught:
        await fetcher.fetch(url)
    assert "http:// or https://" in caught.value.reason
    assert dns.lookups == []


async def test_a_redirect_to_another_scheme_is_refused(make: Make, site: Site) -> None:
    fetcher = await make()
    with pytest.raises(BadUrl, match="http:// or https://"):
        await fetcher.fetch(site.url("/to?url=file:///etc/passwd"))


async def test_a_url_without_a_host_is_refused(make: Make) -> None:
    fetcher = await make()
    with pytest.raises(BadUrl, match="no site name"):
        await fetcher.fetch("http:///feed")


# --- time ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/slow", "/drip"])
async def test_total_timeout(make: Make, site: Site, path: str) -> None:
    fetcher = await make(total_timeout=0.3)
    with pytest.raises(FetchTimeout, match="too long"):
        await asyncio.wait_for(fetcher.fetch(site.url(path)), 3)


async def test_the_total_timeout_covers_all_redirects_together(make: Make, site: Site) -> None:
    fetcher = await make(total_timeout=0.25)  # each hop takes 0.1 s, five of them 0.5 s
    with pytest.raises(FetchTimeout):
        await asyncio.wait_for(fetcher.fetch(site.url("/slow-chain/4")), 3)
    assert len(site.seen) < 5


async def test_connect_timeout_covers_a_slow_lookup(make: Make, site: Site) -> None:
    class SlowDns(FakeDns):
        async def resolve(self, host: str, port: int = 0, family: Any = 0) -> list[ResolveResult]:
            await site.release.wait()
            return await super().resolve(host, port, family)

    fetcher = await make(resolver=SlowDns({"slow.test": [["127.0.0.1"]]}), connect_timeout=0.2)
    with pytest.raises(FetchTimeout):
        await asyncio.wait_for(fetcher.fetch(site.url("/ok", host="slow.test")), 3)
    site.release.set()


# --- size ----------------------------------------------------------------------------------


async def test_a_body_over_the_cap_is_stopped(make: Make, site: Site) -> None:
    fetcher = await make(max_bytes=50_000)
    assert len((await fetcher.fetch(site.url("/big?n=50000"))).body) == 50_000
    with pytest.raises(TooLarge, match="50,000 bytes"):
        await fetcher.fetch(site.url("/big?n=200000"))
    with pytest.raises(TooLarge):  # the per-call cap
        await fetcher.fetch(site.url("/big?n=2000"), max_bytes=1000)


async def test_the_cap_applies_to_the_inflated_body(make: Make, site: Site) -> None:
    fetcher = await make(max_bytes=1_000_000)
    assert len(bomb()) < 100_000  # the wire size is far under the cap
    with pytest.raises(TooLarge, match="1 MB"):
        await fetcher.fetch(site.url("/encoded/bomb"))
    accepted = site.seen[-1][1]["Accept-Encoding"]
    assert {"gzip", "deflate"} <= {coding.strip() for coding in accepted.split(",")}


@pytest.mark.parametrize("kind", ["gzip", "deflate"])
async def test_compressed_bodies_are_decoded(make: Make, site: Site, kind: str) -> None:
    fetcher = await make()
    assert (await fetcher.fetch(site.url(f"/encoded/{kind}"))).body == b"hello " * 100


async def test_a_declared_length_over_the_cap_is_refused_early(make: Make, site: Site) -> None:
    fetcher = await make(max_bytes=1000, total_timeout=2)  # reading would wait out the timeout
    with pytest.raises(TooLarge):
        await asyncio.wait_for(fetcher.fetch(site.url("/declared")), 1)


# --- redirects -----------------------------------------------------------------------------


async def test_redirects_are_followed_up_to_the_cap(make: Make, site: Site) -> None:
    fetcher = await make(max_redirects=2)
    result = await fetcher.fetch(site.url("/chain/2"))
    assert (result.url, result.body) == (site.url("/chain/0"), b"arrived")
    with pytest.raises(TooManyRedirects, match="more than 2 times"):
        await fetcher.fetch(site.url("/chain/3"))


async def test_a_redirect_loop_is_stopped(make: Make, site: Site) -> None:
    fetcher = await make(max_redirects=3)
    with pytest.raises(TooManyRedirects):
        await asyncio.wait_for(fetcher.fetch(site.url("/loop")), 3)
    assert site.paths == ["/loop"] * 4


# --- HTTP semantics ------------------------------------------------------------------------


async def test_conditional_get(make: Make, site: Site) -> None:
    fetcher = await make()
    first = await fetcher.fetch(site.url("/conditional"))
    assert (first.status, first.body, first.not_modified) == (200, b"feed v1", False)
    assert (first.etag, first.last_modified) == ('"v1"', LAST_MODIFIED)
    again = await fetcher.fetch(site.url("/conditional"), etag=first.etag,
                                last_modified=first.last_modified)  # fmt: skip
    assert (again.status, again.body, again.not_modified) == (304, b"", True)
    assert (again.etag, again.last_modified) == ('"v1"', LAST_MODIFIED)
    sent = site.seen[-1][1]
    assert (sent["If-None-Match"], sent["If-Modified-Since"]) == ('"v1"', LAST_MODIFIED)
    assert "If-None-Match" not in site.seen[0][1]


async def test_retry_after_and_max_age_on_a_success(make: Make, site: Site) -> None:
    fetcher = await make()
    result = await fetcher.fetch(site.url("/status/200?ra=30&cc=public,%20max-age=300"))
    assert (result.retry_after, result.max_age) == (timedelta(seconds=30), timedelta(seconds=300))
    assert result.content_type is not None and result.headers["Cache-Control"]
    plain = await fetcher.fetch(site.url("/ok"))
    assert (plain.retry_after, plain.max_age) == (None, None)


async def test_429_and_503_raise_with_retry_after(make: Make, site: Site) -> None:
    fetcher = await make()
    with pytest.raises(HttpStatus) as caught:
        await fetcher.fetch(site.url("/status/429?ra=120"))
    assert (caught.value.status, caught.value.retry_after) == (429, timedelta(seconds=120))
    later = format_datetime(SERVER_DATE + timedelta(seconds=90), usegmt=True)
    with pytest.raises(HttpStatus) as caught:
        await fetcher.fetch(site.url(f"/status/503?ra={later}"))
    assert (caught.value.status, caught.value.retry_after) == (503, timedelta(seconds=90))


@pytest.mark.parametrize("code", [400, 403, 404, 410, 500, 502])
async def test_error_statuses_raise_http_status(make: Make, site: Site, code: int) -> None:
    fetcher = await make()
    with pytest.raises(HttpStatus) as caught:
        await fetcher.fetch(site.url(f"/status/{code}"))
    assert caught.value.status == code and caught.value.retry_after is None
    assert f"(HTTP {code})" in caught.value.reason


async def test_user_agent_and_accept_are_sent(make: Make, site: Site) -> None:
    fetcher = await make()
    await fetcher.fetch(site.url("/ok"), accept="application/rss+xml")
    sent = site.seen[-1][1]
    assert sent["User-Agent"] == f"alcts-bot/{VERSION} (+community bot)"
    assert sent["Accept"] == "application/rss+xml"
    custom = await make(user_agent="other/1.0")
    await custom.fetch(site.url("/ok"))
    assert site.seen[-1][1]["User-Agent"] == "other/1.0"


def test_header_parsers() -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    assert parse_retry_after(" 30 ", None, now) == timedelta(seconds=30)
    assert parse_retry_after("Wed, 01 Jan 2025 00:02:00 GMT", None, now) == timedelta(minutes=2)
    assert parse_retry_after("Tue, 31 Dec 2024 00:00:00 GMT", None, now) == timedelta(0)
    assert parse_retry_after("soon", None, now) is None
    assert parse_retry_after(None, None, now) is None
    assert parse_max_age('no-cache, max-age="60"') == timedelta(seconds=60)
    assert parse_max_age("s-maxage=10, max-age=0") == timedelta(0)
    assert parse_max_age("no-store") is None and parse_max_age("s-maxage=10") is None
    huge = "9" * 30  # clamped, not an OverflowError
    assert parse_max_age(f"max-age={huge}") > timedelta(days=10_000)  # capped, no overflow
    assert parse_retry_after(huge, None, now) == timedelta(days=30)  # a longer wait is 30 days


# --- failures stay in the family -----------------------------------------------------------


async def test_network_failures_are_fetch_errors(make: Make, site: Site) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    dns = FakeDns({"missing.test": socket.gaierror(socket.EAI_NONAME, "not known")})
    fetcher = await make(resolver=dns)
    cases = {f"http://127.0.0.1:{closed}/": "could not connect",
             "http://missing.test/": "No site by that name", site.url("/cut"): "could not be read"}
    for url, words in cases.items():
        with pytest.raises(Unreachable) as caught:
            await fetcher.fetch(url)
        assert words in caught.value.reason and "\n" not in caught.value.reason


async def test_lifecycle_and_the_error_family() -> None:
    fetcher = Fetcher()  # may be built before start; fetching then is a programming error
    with pytest.raises(RuntimeError):
        await fetcher.fetch("http://example.com/")
    await fetcher.start()
    await fetcher.start()
    await fetcher.close()
    await fetcher.close()
    assert issubclass(FetchError, UserError)  # a command handler's fetch error reaches the member
    assert str(TooLarge("The page is too big.")) == "The page is too big."


def test_a_fetcher_can_be_built_outside_an_event_loop() -> None:
    with pytest.raises(RuntimeError):
        asyncio.get_running_loop()
    assert Fetcher(allow_private=True).max_bytes == 5_000_000

"""The one way URLs that members and moderators give (job feeds, calendars) reach the network.

Only http(s). Private, loopback, link-local, multicast, reserved and unspecified addresses
are refused where the connection is made (the connector's resolver checks every address it
returns, so DNS rebinding and redirects cannot slip past; IP literals, which skip the
resolver, are checked before each hop). Time, redirects and the decoded body are bounded.
Every failure is a `FetchError` whose `reason` is one sentence for the person who typed it.
"""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from importlib.metadata import PackageNotFoundError, version
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.http_exceptions import HttpProcessingError
from yarl import URL

from bot.fetched import (  # noqa: F401 - re-exported: the errors and result belong to this API
    BadUrl,
    BlockedAddress,
    FetchError,
    FetchResult,
    FetchTimeout,
    HttpStatus,
    TooLarge,
    TooManyRedirects,
    Unreachable,
)

IPAddress = IPv4Address | IPv6Address
_NAT64 = ip_network("64:ff9b::/96")  # RFC 6052: the low 32 bits are an IPv4 address
_MAX_AGE = re.compile(r'(?:^|,)\s*max-age\s*=\s*"?(\d+)"?\s*(?:,|$)', re.IGNORECASE)
_CHUNK = 64 * 1024

try:
    VERSION = version("alcts-bot")
except PackageNotFoundError:  # running from a source tree that was never installed
    VERSION = "0.0.0"


def is_forbidden_address(ip: IPAddress) -> bool:
    """True for addresses member-given URLs may not reach: anything Python's `ipaddress`
    (the IANA special-purpose registries, RFC 6890) marks private, loopback, link-local,
    multicast, reserved, unspecified or not global (e.g. RFC 6598 shared space). IPv6
    addresses that embed an IPv4 one (mapped, 6to4, Teredo, NAT64) are judged by it too."""
    if isinstance(ip, IPv6Address):
        if ip.ipv4_mapped is not None:
            return is_forbidden_address(ip.ipv4_mapped)
        nat64 = IPv4Address(int(ip) & 0xFFFFFFFF) if ip in _NAT64 else None
        embedded = (ip.sixtofour, ip.teredo[1] if ip.teredo else None, nat64)
        if any(v4 is not None and is_forbidden_address(v4) for v4 in embedded):
            return True
    return (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
            or ip.is_reserved or ip.is_unspecified or not ip.is_global)  # fmt: skip


_BLOCKED = "That address points to a private or local network, which the bot may not reach."


class _GuardedResolver(AbstractResolver):
    """Wraps the connector's resolver: raises BlockedAddress if ANY address is forbidden,
    so the addresses checked are exactly the ones the connection will use."""

    def __init__(self, inner: AbstractResolver, forbidden: Callable[[IPAddress], bool]) -> None:
        self._inner, self._forbidden = inner, forbidden

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        if any(self._forbidden(ip_address(r["host"])) for r in results):
            raise BlockedAddress(_BLOCKED)
        return results

    async def close(self) -> None:
        await self._inner.close()


LONGEST_RETRY_AFTER = timedelta(days=30)  # a server asking for longer gets 30 days (and no overflow)


def parse_retry_after(value: str | None, date: str | None, now: datetime) -> timedelta | None:
    """Retry-After as a delay (RFC 9110 §10.2.3): delay-seconds, or an HTTP-date measured
    from the response's Date header (else from `now`); a past date gives zero."""
    if not value or value.strip().isdigit():
        return min(_seconds(value), LONGEST_RETRY_AFTER) if value else None
    when, base = _http_date(value), _http_date(date) or now
    return None if when is None else min(LONGEST_RETRY_AFTER, max(timedelta(0), when - base))


def _http_date(value: str | None) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value or "")
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_max_age(cache_control: str | None) -> timedelta | None:
    """Cache-Control max-age (RFC 9111 §5.2.2.1) in seconds, as a timedelta."""
    match = _MAX_AGE.search(cache_control or "")
    return _seconds(match.group(1)) if match else None


def _seconds(digits: str) -> timedelta:
    return timedelta(seconds=min(int(digits), 10**9))  # ~31 years; more overflows timedelta


class Fetcher:
    """Owns one aiohttp session. Build it anywhere; `await start()` inside the loop, and
    `await close()` at shutdown. Timeouts are seconds; sizes bytes. `allow_private=True`
    (BOT_ALLOW_PRIVATE_URLS, for tests) turns the address check off; `forbidden` and
    `resolver` replace the address rule and the inner DNS resolver (tests, special sites)."""

    def __init__(
        self, *, allow_private: bool = False,
        user_agent: str = f"alcts-bot/{VERSION} (+community bot)",
        connect_timeout: float = 5.0, total_timeout: float = 15.0,
        max_bytes: int = 5_000_000, max_redirects: int = 5,
        forbidden: Callable[[IPAddress], bool] = is_forbidden_address,
        resolver: AbstractResolver | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:  # fmt: skip
        self.user_agent, self.max_bytes, self.max_redirects = user_agent, max_bytes, max_redirects
        self.connect_timeout, self.total_timeout = connect_timeout, total_timeout
        self._forbidden = None if allow_private else forbidden
        self._inner, self._now = resolver, now
        self._session: aiohttp.ClientSession | None = None
        self._resolver: AbstractResolver | None = None

    async def start(self) -> None:
        if self._session is not None:
            return
        inner, guard = self._inner or aiohttp.resolver.DefaultResolver(), self._forbidden
        self._resolver = inner if guard is None else _GuardedResolver(inner, guard)
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(resolver=self._resolver),
            timeout=aiohttp.ClientTimeout(total=self.total_timeout, connect=self.connect_timeout),
            headers={"User-Agent": self.user_agent, "Accept-Encoding": "gzip, deflate"},
            cookie_jar=aiohttp.DummyCookieJar(), trust_env=False,  # no proxies, no cookies
        )

    async def close(self) -> None:
        session, resolver, self._session, self._resolver = self._session, self._resolver, None, None
        if session is not None:
            await session.close()
        if resolver is not None:  # the connector does not close a resolver it was given
            await resolver.close()

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None,
        max_bytes: int | None = None, accept: str | None = None,
    ) -> FetchResult:  # fmt: skip
        """GET `url`, following up to `max_redirects` redirects (each hop checked), within
        `total_timeout` seconds overall. `etag`/`last_modified` make it conditional
        (If-None-Match / If-Modified-Since, RFC 9110 §13.1): a 304 is a result with
        `not_modified=True`. Reads at most `max_bytes` (default: the Fetcher's) after
        decoding. Raises a FetchError subclass, never anything else from the network."""
        if self._session is None:
            raise RuntimeError("Fetcher.start() has not been called")
        headers = {"If-None-Match": etag, "If-Modified-Since": last_modified, "Accept": accept}
        sent = {k: v for k, v in headers.items() if v}
        limit = self.max_bytes if max_bytes is None else max_bytes
        try:
            async with asyncio.timeout(self.total_timeout):
                return await self._follow(self._session, url, sent, limit)
        except (aiohttp.ClientError, HttpProcessingError, OSError, ValueError) as exc:
            raise _translate(exc) from exc  # (TimeoutError is an OSError)

    async def _follow(
        self, session: aiohttp.ClientSession, url: str, headers: dict[str, str], limit: int
    ) -> FetchResult:
        target = URL(url.strip())
        for _ in range(self.max_redirects + 1):
            self._check(target)
            async with session.get(target, headers=headers, allow_redirects=False) as resp:
                location = resp.headers.get("Location")
                if 300 <= resp.status < 400 and resp.status != 304 and location:
                    try:
                        target = target.join(URL(location))
                    except ValueError:
                        raise BadUrl("The site redirected to an address that is not valid.") from None
                    continue
                return await self._result(resp, headers, limit)
        raise TooManyRedirects(f"The site redirected more than {self.max_redirects} times.")

    def _check(self, url: URL) -> None:
        """Scheme and host rules, before any connection. IP literals never reach the
        resolver (aiohttp connects to them directly), so they are judged here."""
        if url.scheme not in ("http", "https"):
            raise BadUrl("Use a web address that starts with http:// or https://.")
        host = url.raw_host
        if not host:
            raise BadUrl("That web address has no site name in it.")
        if ":" not in host and not host.replace(".", "").isdigit():
            return  # a name: the guarded resolver judges every address it resolves to
        try:
            ip = ip_address(host)
        except ValueError:  # 2130706433, 127.1, 0177.0.0.1: numeric forms socket would take
            raise BadUrl("That web address has a malformed IP address in it.") from None
        if self._forbidden is not None and self._forbidden(ip):
            raise BlockedAddress(_BLOCKED)

    async def _result(
        self, resp: aiohttp.ClientResponse, sent: dict[str, str], limit: int
    ) -> FetchResult:
        h, body, status = resp.headers, bytearray(), resp.status
        retry_after = parse_retry_after(h.get("Retry-After"), h.get("Date"), self._now())
        etag, modified = h.get("ETag"), h.get("Last-Modified")
        if status == 304:  # the validators sent still hold unless new ones came back
            etag = etag or sent.get("If-None-Match")
            modified = modified or sent.get("If-Modified-Since")
        elif status >= 300:
            raise HttpStatus(status, retry_after)
        elif resp.content_length is not None and resp.content_length > limit:
            raise _too_large(limit)
        else:
            async for chunk in resp.content.iter_chunked(_CHUNK):  # decoded (inflated) bytes
                body += chunk
                if len(body) > limit:
                    raise _too_large(limit)
            encoding = h.get("Content-Encoding", "").lower()
            if not body and encoding in ("gzip", "deflate") and resp.content_length:  # a stream cut short
                raise Unreachable("The site sent a compressed page that ends too early.")
        return FetchResult(str(resp.url), status, bytes(body), status == 304, etag, modified,
                           h.get("Content-Type"), retry_after,
                           parse_max_age(h.get("Cache-Control")), h)  # fmt: skip


def _too_large(limit: int) -> TooLarge:
    size = f"{limit / 1e6:g} MB" if limit >= 1_000_000 else f"{limit:,} bytes"
    return TooLarge(f"The page is larger than the {size} the bot will read.")


def _translate(exc: BaseException) -> FetchError:
    """The FetchError for an exception from aiohttp, asyncio, the OS or yarl."""
    if isinstance(cause := exc.__cause__ or exc.__context__, FetchError):
        return cause  # the resolver's BlockedAddress, should aiohttp ever wrap it
    if isinstance(exc, TimeoutError):  # asyncio.TimeoutError and aiohttp's timeouts too
        return FetchTimeout("The site took too long to answer.")
    if isinstance(exc, aiohttp.ClientConnectorError) and isinstance(exc.os_error, socket.gaierror):
        return Unreachable("No site by that name could be found.")
    if isinstance(exc, aiohttp.ClientSSLError):
        return Unreachable("The site's secure (https) connection could not be verified.")
    if isinstance(exc, aiohttp.InvalidURL | ValueError):
        return BadUrl("That web address is not valid.")
    if isinstance(exc, aiohttp.ClientConnectorError):
        return Unreachable("The bot could not connect to that site.")
    return Unreachable("The site's answer could not be read; try again later.")

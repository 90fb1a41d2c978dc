"""What a fetch returns or raises (see `bot.fetch`). Kept apart from the fetcher so that
features can name these types without importing aiohttp at start-up."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from bot.errors import UserError


class FetchError(UserError):
    """A fetch failed; `reason` (also `str(exc)`) is one plain sentence for the member."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, argument="url")  # what members give to fetch is a url=
        self.reason = reason


class BadUrl(FetchError):
    """Not an http(s) URL with a host, or malformed (also a redirect's Location)."""


class BlockedAddress(FetchError):
    """The host is, or resolves to, an address `is_forbidden_address` refuses."""


class Unreachable(FetchError):
    """No such host, connection refused or reset, or a response that could not be read."""


class FetchTimeout(FetchError):
    """Connecting took longer than the connect timeout, or the whole fetch than the total."""


class TooManyRedirects(FetchError):
    """More than `max_redirects` redirects (a loop ends here too)."""


class TooLarge(FetchError):
    """Content-Length, or the body after gzip/deflate decoding, exceeds the byte cap."""


class HttpStatus(FetchError):
    """The final response was HTTP 4xx/5xx (or a 3xx without Location)."""

    def __init__(self, status: int, retry_after: timedelta | None = None) -> None:
        super().__init__(_status_reason(status))
        self.status = status
        self.retry_after = retry_after


def _status_reason(status: int) -> str:
    if status in (404, 410):
        return f"The site has no page at that address (HTTP {status})."
    if status in (401, 403):
        return f"The site refused to share that page (HTTP {status})."
    if status == 429 or status >= 500:
        return f"The site is busy or having problems (HTTP {status}); try again later."
    return f"The site did not give the page (HTTP {status})."


@dataclass(frozen=True)
class FetchResult:
    """One successful fetch. `body` is decoded (gzip/deflate), empty when `not_modified`
    (HTTP 304, RFC 9110 §15.4.5); then `etag`/`last_modified` fall back to the ones sent.
    `retry_after` is Retry-After (RFC 9110 §10.2.3) and `max_age` Cache-Control max-age
    (RFC 9111 §5.2.2.1); both None when absent or unreadable."""

    url: str
    status: int
    body: bytes
    not_modified: bool
    etag: str | None
    last_modified: str | None
    content_type: str | None
    retry_after: timedelta | None
    max_age: timedelta | None
    headers: Mapping[str, str] = field(repr=False, default_factory=dict)

"""Reading job feeds (RSS 2.0, RSS 1.0, Atom) with feedparser, never by hand.

The bytes come from the core's safe fetcher; feedparser is given them (it never fetches)
and parses with external entities off. Each entry becomes a `FeedEntry` with an identity
(a hash of its guid, else its link, else its title and date), a title, employer and
location where they can be found, a posted date, and a short plain-text summary that is
safe to repeat on any platform.
"""

from __future__ import annotations

import calendar
import hashlib
import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin

from bot.errors import UserError
from bot.text import neutralise, truncate

SUMMARY_CHARS = 300
MOST_ENTRIES = 2000  # a feed is read in a worker thread; beyond this, the oldest are not looked at
TITLE_CHARS = 200
FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/xml", "text/xml")
ACCEPT = "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, application/xml;q=0.8, text/xml;q=0.8, */*;q=0.1"
TITLE_PATTERN = re.compile(r"^(?P<location>[^:,]{2,60}, ?[A-Z]{2}): (?P<title>.+), (?P<employer>[^,]{2,120})$")
"""The common job-board title `City, ST: Title, Employer` (ALA JobLIST style)."""


@dataclass(frozen=True)
class FeedEntry:
    identity: str
    title: str
    link: str | None
    employer: str | None
    location: str | None
    summary: str
    published: datetime | None


@dataclass(frozen=True)
class ParsedFeed:
    title: str
    entries: list[FeedEntry]


class NotAFeed(UserError):
    """The page is not a feed; `alternate` is the feed it advertises, if any."""

    def __init__(self, url: str, alternate: str | None, what: str = "a web page") -> None:
        hint = f" It names a feed: {alternate} (subscribe to that)." if alternate else ""
        super().__init__(f"{url} is {what}, not an RSS or Atom feed.{hint}")
        self.alternate = alternate


def parse_feed(body: bytes, url: str, content_type: str | None) -> ParsedFeed:
    """Entries of a feed, newest first as the feed lists them; raises NotAFeed for an HTML
    page (naming the feed it advertises with `<link rel="alternate">`) or unreadable bytes.
    CPU-bound (about 0.5 s for 1,000 items): callers run it in a worker thread."""
    import feedparser  # imported when first needed: it is slow to import and start-up stays light

    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    parsed = feedparser.parse(body, response_headers=headers, resolve_relative_uris=False, sanitize_html=True)
    readable = [e for e in parsed.entries if e.get("title") or e.get("link")]
    if not parsed.get("version") and not parsed.entries:
        looks_html = (content_type or "").startswith("text/html") or body.lstrip()[:200].lower().startswith((b"<!doctype html", b"<html"))
        if looks_html:
            raise NotAFeed(url, find_alternate(body, url))
        raise NotAFeed(url, None, "not readable as a feed (malformed XML)")
    if parsed.get("bozo") and not readable:  # broken XML that yielded nothing usable
        raise NotAFeed(url, None, "not readable as a feed (malformed XML)")
    title = clean(parsed.feed.get("title", "")) or url
    entries = [entry_of(raw, url) for raw in parsed.entries[:MOST_ENTRIES]]
    return ParsedFeed(truncate(title, TITLE_CHARS), entries)


def entry_of(raw: Any, feed_url: str) -> FeedEntry:
    title = clean(raw.get("title", "")) or "(untitled job)"
    link = raw.get("link") or None
    if link is not None:
        link = urljoin(feed_url, link)
        if not link.startswith(("http://", "https://")):
            link = None
    published = _date(raw.get("published_parsed") or raw.get("updated_parsed"))
    employer, location = _field(raw, ("employer", "company", "organization", "hiringorganization")), _field(raw, ("location",))
    pattern = TITLE_PATTERN.match(title)
    if pattern and not (employer or location):
        title, employer, location = pattern["title"], pattern["employer"], pattern["location"]
    summary = truncate(clean(strip_html(raw.get("summary", "") or raw.get("description", ""))), SUMMARY_CHARS)
    return FeedEntry(identity_of(raw, title, published), truncate(title, TITLE_CHARS), link,
                     employer and truncate(employer, 120), location and truncate(location, 120), summary, published)  # fmt: skip


def identity_of(raw: Any, title: str, published: datetime | None) -> str:
    """A stable id for the item: its guid, else its link, else its title and date."""
    if guid := (raw.get("id") or "").strip():
        basis = f"guid:{guid}"
    elif link := (raw.get("link") or "").strip():
        basis = f"link:{link}"
    else:
        basis = f"title:{title}|{published.isoformat() if published else ''}"
    return hashlib.sha256(basis.encode("utf-8", "replace")).hexdigest()[:32]


def clean(text: str) -> str:
    """One line of plain text safe to repeat: entities decoded, mentions neutralised,
    invisible controls removed, whitespace collapsed."""
    return " ".join(neutralise(html.unescape(text)).split())


def strip_html(text: str) -> str:
    extractor = _Text()
    extractor.feed(text)
    extractor.close()
    return " ".join(extractor.parts)


def find_alternate(body: bytes, url: str) -> str | None:
    """The feed an HTML page advertises with `<link rel="alternate" type="application/rss+xml">`."""
    finder = _Alternate()
    finder.feed(body[:500_000].decode("utf-8", "replace"))
    return urljoin(url, finder.href) if finder.href else None


def _field(raw: Any, names: tuple[str, ...]) -> str | None:
    """A namespaced element such as `<job:location>` (feedparser names it `job_location`)."""
    for key, value in raw.items():
        if isinstance(value, str) and value.strip() and key.lower().endswith(names):
            return clean(value)
    return None


def _date(parsed: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), UTC) if parsed else None
    except (OverflowError, ValueError, TypeError, OSError):
        return None


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


class _Alternate(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: (value or "") for name, value in attrs}
        if (tag == "link" and self.href is None and "alternate" in values.get("rel", "").lower().split()
                and values.get("type", "").lower() in FEED_TYPES and values.get("href")):  # fmt: skip
            self.href = values["href"]

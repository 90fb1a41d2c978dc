"""What a handler answers with. Platforms render a Card as a Discord embed and view,
Slack Block Kit, or console text; cogs never see those formats.

Times go inside a card's text, fields, title or footer as `timestamp(when, style)`, which
is Discord's own markup `<t:UNIX:STYLE>`: Discord shows it in each reader's zone, Slack
as `<!date^...>`, the console in the community's zone (`readable_times`). Pages to open
are `Card.links`: link buttons, which reach no handler.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from enum import StrEnum
from urllib.parse import urlsplit

log = logging.getLogger(__name__)


class Style(StrEnum):
    PRIMARY = "primary"
    SECONDARY = "secondary"
    SUCCESS = "success"
    DANGER = "danger"


@dataclass(frozen=True)
class Button:
    """A button whose id carries everything its handler needs: `action:arg:arg`.

    Handlers are found by `action` (e.g. "poll.vote"), so a click still works after a
    restart, when no in-memory object remembers the message.
    """

    label: str
    action: str
    args: tuple[str | int, ...] = ()
    style: Style = Style.SECONDARY

    @property
    def custom_id(self) -> str:
        return ":".join([self.action, *map(str, self.args)])


@dataclass(frozen=True)
class Link:
    """A button that opens a web page (an application form, a webinar room); clicking it
    reaches no handler. Shown after the card's buttons; `url` must be http(s), or the
    platform drops the link with a warning (the rest of the card is still sent)."""

    label: str
    url: str


@dataclass(frozen=True)
class Field:
    name: str
    value: str
    inline: bool = True


@dataclass(frozen=True)
class Image:
    """A picture made by the bot (a chart), as PNG bytes."""

    filename: str
    data: bytes = field(repr=False)
    alt: str = ""


@dataclass(frozen=True)
class File:
    """A file for the member to download (a CSV export)."""

    filename: str
    data: bytes = field(repr=False)
    mime: str = "text/csv"


@dataclass(frozen=True, init=False)
class Card:
    """What a handler answers: a platform makes it a message (an embed, blocks, lines).
    Frozen; `dataclasses.replace` makes a changed copy."""

    title: str = ""
    text: str = ""
    fields: tuple[Field, ...] = ()
    buttons: tuple[Button, ...] = ()
    links: tuple[Link, ...] = ()
    """Link buttons, shown after `buttons` (they count toward the platform's button limits)."""
    image: Image | None = None
    file: File | None = None
    footer: str = ""
    ephemeral: bool = False
    """Shown only to the member who acted ("only you")."""

    def __init__(
        self, title: str = "", text: str = "", fields: tuple[Field, ...] = (), buttons: tuple[Button, ...] = (),
        links: tuple[Link, ...] = (), image: Image | None = None, file: File | None = None, footer: str = "",
        ephemeral: bool = False,
    ) -> None:  # fmt: skip
        # the generated frozen __init__ sets each field through object.__setattr__: 1.45 us a
        # card, one in eight of a trivial command's whole cost; one dict update is a third of that
        self.__dict__.update(title=title, text=text, fields=fields, buttons=buttons, links=links, image=image,
                             file=file, footer=footer, ephemeral=ephemeral)  # fmt: skip

    @property
    def text_only(self) -> bool:
        """No buttons, links, chart or file: all of it is text (which `==` tells apart), so a
        platform may render it once and reuse the result (a thousand voters share three
        answers). Buttons are left out: their args compare loosely (`True == 1`)."""
        return not (self.buttons or self.links or self.image is not None or self.file is not None)

    def plain_text(self) -> str:
        """The card as plain lines, for notifications and the console; times in UTC."""
        lines = [part for part in (self.title, self.text) if part]
        lines += [f"{f.name}: {f.value}" for f in self.fields]
        if self.footer:
            lines.append(self.footer)
        return readable_times("\n".join(lines))


def notice(text: str, *, ephemeral: bool = True) -> Card:
    """A one-line answer, private by default (errors, confirmations)."""
    return Card(text=text, ephemeral=ephemeral)


# -- times -----------------------------------------------------------------------------------

TIMESTAMP_STYLES = "tTdDfFR"
"""Discord's styles: short/long time, short/long date, short/long date and time, relative."""
TIMESTAMP_BODY = r"t:(-?\d{1,12})(?::([tTdDfFR]))?"
"""The inside of the markup (group 1: Unix seconds, group 2: the style, absent means f),
for platforms that match it after escaping `<` and `>` (Slack)."""
TIMESTAMP = re.compile(f"<{TIMESTAMP_BODY}>")
"""Finds `timestamp()` markup in card text: `<t:1796328000:F>`."""


def timestamp(when: datetime, style: str = "F") -> str:
    """`when` as Discord's time markup `<t:UNIX:STYLE>` (naive times count as UTC), for cogs
    to put in a card's text, fields, title or footer; every platform renders it natively.

    Styles: t 14:00, T 14:00:00, d 3 Dec 2026, D 3 December 2026, f 3 December 2026, 14:00,
    F Thursday 3 December 2026, 14:00, R "in 2 hours"."""
    if len(style) != 1 or style not in TIMESTAMP_STYLES:
        raise ValueError(f"timestamp style must be one of {', '.join(TIMESTAMP_STYLES)}, not {style!r}")
    moment = when.replace(tzinfo=UTC) if when.tzinfo is None else when
    return f"<t:{math.floor(moment.timestamp())}:{style}>"


def readable_times(text: str, tz: tzinfo = UTC, now: datetime | None = None) -> str:
    """Every `timestamp()` in `text` as words in zone `tz`: `Thursday 3 December 2026, 14:00
    CST`. Relative times (R) need `now`; without it they are written as absolute times."""
    if "<t:" not in text:
        return text
    return TIMESTAMP.sub(lambda m: describe_time(m.group(1), m.group(2), tz, now) or m.group(0), text)


def describe_time(unix: str | int, style: str | None, tz: tzinfo = UTC, now: datetime | None = None) -> str | None:
    """One time of the markup in words (style None means f, as on Discord); None for a time
    out of range, whose markup is then left as it is."""
    style = style or "f"
    try:
        when = datetime.fromtimestamp(int(unix), UTC)
        local = when.astimezone(tz)
    except (OverflowError, OSError, ValueError):
        return None
    if style == "R":
        if now is not None:
            return relative(when, now)
        style = "f"
    zone = local.strftime("%Z") or local.strftime("%z")
    day = f"{local.day} {local:%B %Y}"
    return {
        "t": f"{local:%H:%M} {zone}",
        "T": f"{local:%H:%M:%S} {zone}",
        "d": f"{local.day} {local:%b %Y}",
        "D": day,
        "f": f"{day}, {local:%H:%M} {zone}",
        "F": f"{local:%A} {day}, {local:%H:%M} {zone}",
    }[style]


RELATIVE_UNITS = (  # (unit, seconds, use it from this many seconds on)
    ("year", 365.25 * 86400, 320 * 86400),
    ("month", 30.44 * 86400, 26 * 86400),
    ("day", 86400, 22 * 3600),
    ("hour", 3600, 45 * 60),
    ("minute", 60, 45),
)


def relative(when: datetime, now: datetime) -> str:
    """`in 2 hours`, `3 days ago`, `in a few seconds`: rounded the way chat apps round."""
    seconds = (when - now).total_seconds()
    span = abs(seconds)
    phrase = "a few seconds"
    for unit, size, threshold in RELATIVE_UNITS:
        if span >= threshold:
            count = max(1, round(span / size))
            phrase = f"{count} {unit}" + ("s" if count != 1 else "")
            break
    return f"in {phrase}" if seconds >= 0 else f"{phrase} ago"


# -- links -----------------------------------------------------------------------------------


def link_url_ok(url: str, limit: int) -> bool:
    """An absolute http(s) address with a host, no spaces or control characters, within `limit`."""
    if not url or len(url) > limit or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        return False
    try:
        parts = urlsplit(url)
        return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    except ValueError:  # a malformed IPv6 host, a bad port
        return False


def usable_links(links: Iterable[Link], url_limit: int) -> list[Link]:
    """The links a platform can show; the others are dropped with a warning (the card is
    still sent). An empty label becomes the page's host name."""
    usable = []
    for link in links:
        if not link_url_ok(link.url, url_limit):
            log.warning("link dropped: not an http(s) URL of at most %d characters label=%r url=%r",
                        url_limit, link.label[:80], link.url[:200])  # fmt: skip
            continue
        usable.append(link if link.label.strip() else Link(urlsplit(link.url).hostname or link.url, link.url))
    return usable

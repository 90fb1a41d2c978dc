"""When a webinar is: a wall time in a zone, as typed ("Dec 3 2pm ET",
`2026-12-03T14:00 America/New_York`, ISO with an offset, "tomorrow 2pm") and echoed back
unambiguously ("Thursday 3 December 2026, 14:00 EST (19:00 UTC)").

The wall time and zone are what is stored, so a webinar set in November for March is at
the hour it was set for after the daylight-saving change. A wall time that does not exist
in the zone (clocks spring forward over it) is refused; one that happens twice (clocks
fall back) is the first of the two, and the echo names its offset.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.timeparse import WHEN_HINT, parse_wall

ZONE_WORDS = {
    "et": "America/New_York", "est": "America/New_York", "edt": "America/New_York", "eastern": "America/New_York",
    "ct": "America/Chicago", "cst": "America/Chicago", "cdt": "America/Chicago", "central": "America/Chicago",
    "mt": "America/Denver", "mst": "America/Denver", "mdt": "America/Denver", "mountain": "America/Denver",
    "pt": "America/Los_Angeles", "pst": "America/Los_Angeles", "pdt": "America/Los_Angeles", "pacific": "America/Los_Angeles",
    "utc": "UTC", "gmt": "UTC", "z": "UTC",
}  # fmt: skip
"""North American abbreviations (the association's members) name the zone, not the
offset: "2pm ET" in July is 14:00 EDT."""


@dataclass(frozen=True)
class Start:
    """A wall time (naive) in an IANA zone."""

    local: datetime
    zone: str

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)

    @property
    def utc(self) -> datetime:
        return self.local.replace(tzinfo=self.tz).astimezone(UTC)

    def describe(self) -> str:
        """`Thursday 3 December 2026, 14:00 EST (19:00 UTC)`."""
        aware = self.local.replace(tzinfo=self.tz)
        utc = aware.astimezone(UTC)
        day = "" if utc.date() == aware.date() else f"{utc:%a} "
        return f"{aware:%A} {aware.day} {aware:%B %Y}, {aware:%H:%M} {aware:%Z} ({day}{utc:%H:%M} UTC)"


def zone_named(word: str) -> str | None:
    """The IANA zone a word names (`America/Chicago`, `ET`, `UTC`), or None."""
    if word.lower() in ZONE_WORDS:
        return ZONE_WORDS[word.lower()]
    if "/" not in word or len(word) > 64:
        return None
    try:
        return ZoneInfo(word).key
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def parse_start(text: str, *, now: datetime, zone: str) -> Start:
    """The wall time and zone `text` names; the community's `zone` unless the text ends
    with another. Raises ValueError (one sentence) for an unreadable, missing or past time."""
    words = text.split()
    if len(words) > 1 and (named := zone_named(words[-1])):
        zone, words = named, words[:-1]
    elif words and "/" in words[-1] and len(words) > 1:
        raise ValueError(f"{words[-1]!r} is not a time zone; use a name like America/Chicago, or ET, CT, MT, PT, UTC")
    tz = ZoneInfo(zone)
    parsed = parse_wall(" ".join(words), now=now, tz=tz)
    if parsed.tzinfo is not None:  # an instant (an ISO offset, "in 2h"): shown in the zone
        local = parsed.astimezone(tz).replace(tzinfo=None)
    else:
        local = parsed.replace(second=0, microsecond=0)
        round_trip = local.replace(tzinfo=tz).astimezone(UTC).astimezone(tz).replace(tzinfo=None)
        if round_trip != local:
            raise ValueError(f"{local:%H:%M} does not exist on {local.day} {local:%B %Y} in {zone} "
                             "(the clocks skip it); pick another time")  # fmt: skip
    start = Start(local, zone)
    if start.utc <= now and parsed.tzinfo is None and not re.search(r"\d{4}", text):
        start = Start(local.replace(year=local.year + 1), zone)  # "Jan 5 9am" in November: the coming January
    if start.utc <= now:
        raise ValueError(f"{start.describe()} is in the past; {WHEN_HINT}")
    return start


def check_offsets(offsets: list[timedelta]) -> list[timedelta]:
    """Reminder offsets before the start: each from 1 minute to 30 days, at most 5."""
    if len(offsets) > 5:
        raise ValueError("at most 5 reminders, e.g. reminders=24h,1h")
    for offset in offsets:
        if not timedelta(minutes=1) <= offset <= timedelta(days=30):
            raise ValueError("each reminder is from 1 minute to 30 days before the start, e.g. reminders=24h,1h,10m")
    return sorted(set(offsets), reverse=True)

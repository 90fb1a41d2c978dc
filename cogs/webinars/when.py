"""When a webinar is: a wall time in a zone, as typed ("Dec 3 2pm ET",
`2026-12-03T14:00 America/New_York`, ISO with an offset, "tomorrow 2pm") and echoed back
unambiguously ("Thursday 3 December 2026, 14:00 EST (19:00 UTC)"). The reading itself is
bot/timeparse.py's `read_time`, shared with every command that takes a time.

The wall time and zone are what is stored, so a webinar set in November for March is at
the hour it was set for after the daylight-saving change. A wall time that does not exist
in the zone (clocks spring forward over it) is refused; one that happens twice (clocks
fall back) is the first of the two, and the echo names its offset.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.forms import exact_instant
from bot.timeparse import FURTHEST_AHEAD, WallTime, read_time

Start = WallTime
"""A webinar's start: a wall time (naive) in an IANA zone."""

__all__ = ["FURTHEST", "Start", "check_offsets", "check_start", "parse_start"]

FURTHEST = FURTHEST_AHEAD
"""How far ahead a webinar may start: about two years (a year typed wrong, 9999, is refused
before anything is stored, and every later date computation stays in range)."""


def parse_start(text: str, *, now: datetime, zone: str) -> Start:
    """The wall time and zone `text` names; the community's `zone` unless the text names
    another. The same reader as every other time a command takes (`/poll create closes=`),
    so a phrase means the same instant everywhere. Raises ValueError (one sentence) for an
    unreadable, ambiguous, missing or past time (how far ahead a webinar may be is
    `check_start`'s, the cog's own rule).

    An exact instant (ISO 8601 with an offset, which is also what a form's date and time
    picker sends) is refused without examples of what to type: whoever picked it needs a
    later or earlier time, not a format."""
    instant = exact_instant(text)
    if instant is None:
        start = read_time(text, now=now, zone=zone)
    else:
        try:
            start = WallTime(instant.astimezone(ZoneInfo(zone)).replace(tzinfo=None), zone)
            start.utc  # noqa: B018  (near year 1 or 9999 this overflows)
        except (OverflowError, ValueError):
            raise ValueError("that time is out of range; pick a time within the next two years") from None
        if start.utc <= now:
            raise ValueError(f"{start.describe()} is in the past; pick a time to come")
    return start


def check_start(start: Start, now: datetime) -> Start:
    """`start`, or ValueError (one sentence) when it is more than FURTHEST ahead."""
    if start.utc > now + FURTHEST:
        raise ValueError(f"{start.describe()} is more than two years ahead; a webinar can be scheduled "
                         "up to two years ahead")  # fmt: skip
    return start


def check_offsets(offsets: list[timedelta]) -> list[timedelta]:
    """Reminder offsets before the start: each from 1 minute to 30 days, at most 5."""
    if len(offsets) > 5:
        raise ValueError("at most 5 reminders, e.g. reminders=24h,1h")
    for offset in offsets:
        if not timedelta(minutes=1) <= offset <= timedelta(days=30):
            raise ValueError("each reminder is from 1 minute to 30 days before the start, e.g. reminders=24h,1h,10m")
    return sorted(set(offsets), reverse=True)

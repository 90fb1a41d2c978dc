"""Durations (`90s 10m 2h 3d 1w`) and times (ISO 8601 or "tomorrow 2pm") as typed in chat."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from dateutil import parser as dateutil_parser

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
UNIT_WORDS = {
    "sec": "s", "secs": "s", "second": "s", "seconds": "s",
    "min": "m", "mins": "m", "minute": "m", "minutes": "m",
    "hr": "h", "hrs": "h", "hour": "h", "hours": "h",
    "day": "d", "days": "d", "week": "w", "weeks": "w",
}  # fmt: skip
DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)")
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]

DURATION_HINT = "durations look like 90s, 10m, 2h, 3d or 1w"
WHEN_HINT = 'times look like 2026-12-01T14:00, "tomorrow 2pm" or "friday 10:30"'


def parse_duration(text: str) -> timedelta:
    """`90s`, `10m`, `2h`, `3d`, `1w`, combinations like `1h30m`, or `2 hours`."""
    raw = text.strip().lower().replace(" ", "")
    if raw.isdigit():
        try:
            return timedelta(seconds=int(raw))
        except OverflowError:
            raise ValueError(f"{text!r} is far too long; {DURATION_HINT}") from None
    for word, unit in sorted(UNIT_WORDS.items(), key=lambda kv: -len(kv[0])):
        raw = raw.replace(word, unit)
    parts = DURATION_PART.findall(raw)
    if not parts or "".join(n + u for n, u in parts) != raw:
        raise ValueError(f"{text!r} is not a duration; {DURATION_HINT}")
    seconds = 0.0
    for number, unit in parts:
        if unit not in UNITS:
            raise ValueError(f"{text!r} is not a duration; {DURATION_HINT}")
        seconds += float(number) * UNITS[unit]
    try:
        return timedelta(seconds=seconds)
    except OverflowError:
        raise ValueError(f"{text!r} is far too long; {DURATION_HINT}") from None


def format_duration(delta: timedelta) -> str:
    """The friendliest short form: `1 hour`, `90 minutes`, `2 days 3 hours` (a negative
    span reads as 0 seconds)."""
    seconds = max(0, int(round(delta.total_seconds())))
    if seconds < 60:
        return _plural(seconds, "second")
    parts = []
    for name, size in (("week", 604800), ("day", 86400), ("hour", 3600), ("minute", 60)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(_plural(count, name))
    return " ".join(parts[:2])


def closes_in(deadline: datetime, now: datetime) -> str:
    """`closes in 2 hours`, or `closing now` once the deadline has come (never negative)."""
    left = deadline - now
    return f"closes in {format_duration(left)}" if left.total_seconds() >= 1 else "closing now"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def parse_when(text: str, *, now: datetime, tz: tzinfo) -> datetime:
    """A point in time, read in the community's time zone and returned in UTC."""
    try:
        return _parse_when(text, now=now, tz=tz)
    except OverflowError:  # near year 1 or 9999, or "in 9999999 days": not a crash, a bad time
        raise ValueError(f"{text!r} is out of range; {WHEN_HINT}") from None


def _parse_when(text: str, *, now: datetime, tz: tzinfo) -> datetime:
    parsed = parse_wall(text, now=now, tz=tz)
    return parsed if parsed.tzinfo is not None else _aware(parsed, tz)


def parse_wall(text: str, *, now: datetime, tz: tzinfo) -> datetime:
    """The time `text` names: a naive wall time in zone `tz` ("tomorrow 2pm", "Dec 3
    14:00", an ISO time without offset), or an aware instant when the text fixes one
    ("in 2h", ISO with an offset or Z). Raises ValueError with a hint."""
    raw = " ".join(text.strip().lower().split())
    if not raw:
        raise ValueError(f"an empty time; {WHEN_HINT}")
    local_now = now.astimezone(tz)
    if raw.startswith("in "):
        return (now + parse_duration(raw[3:])).astimezone(UTC)
    try:
        parsed = datetime.fromisoformat(raw.upper().replace(" ", "T", 1))
    except ValueError:
        parsed = None
    if parsed is not None:
        return parsed.astimezone(UTC) if parsed.tzinfo is not None else parsed

    day, rest = _day_word(raw, local_now)
    try:
        default = datetime.combine(day or local_now.date(), time(0, 0))
        parsed = dateutil_parser.parse(rest or "00:00", default=default)
    except (ValueError, OverflowError):
        raise ValueError(f"{text!r} is not a time I understand; {WHEN_HINT}") from None
    if parsed.tzinfo is not None:
        return parsed.astimezone(UTC)
    if day is None and not _names_a_date(rest) and _aware(parsed, tz) <= now:
        parsed += timedelta(days=1)  # "2pm" after 2pm means tomorrow
    return parsed


def _day_word(raw: str, local_now: datetime) -> tuple[date | None, str]:
    first, _, rest = raw.partition(" ")
    if first == "today":
        return local_now.date(), rest
    if first == "tomorrow":
        return local_now.date() + timedelta(days=1), rest
    if first == "next":
        first, _, rest = rest.partition(" ")
    if first in WEEKDAYS:
        ahead = (WEEKDAYS.index(first) - local_now.weekday()) % 7
        return local_now.date() + timedelta(days=ahead or 7), rest
    return None, raw


def _names_a_date(text: str) -> bool:
    return bool(re.search(r"\d{4}|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|/", text))


def _aware(dt: datetime, tz: tzinfo) -> datetime:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=tz)
    return dt.astimezone(UTC)

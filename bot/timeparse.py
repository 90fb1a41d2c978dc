"""Durations (`90s 10m 2h 3d 1w`) and times (ISO 8601, "tomorrow 2pm", "Dec 3 2pm ET") as typed in
chat: `read_time` is the one reader of times every command uses."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, available_timezones

from dateutil import parser as dateutil_parser

from bot.text import quoted

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
UNIT_WORDS = {
    "sec": "s", "secs": "s", "second": "s", "seconds": "s",
    "min": "m", "mins": "m", "minute": "m", "minutes": "m",
    "hr": "h", "hrs": "h", "hour": "h", "hours": "h",
    "day": "d", "days": "d", "week": "w", "weeks": "w",
}  # fmt: skip
DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)")
BARE_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")  # a number with no unit: 2027, 1.5, 1,5
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]

DURATION_HINT = "durations look like 90s, 10m, 2h, 3d or 1w"
WHEN_HINT = 'times look like "friday 5pm", "Dec 3 2pm ET", "tomorrow 10:30" or 2026-12-01T14:00'


def parse_duration(text: str, *, unit: str | None = None) -> timedelta:
    """`90s`, `10m`, `2h`, `3d`, `1w`, combinations like `1h30m`, or `2 hours`. A number
    without a unit (`2027`) is refused, unless `unit` says what it counts (`:wait 90` in the
    console: `unit="s"`)."""
    raw = text.strip().lower().replace(" ", "")
    if BARE_NUMBER.fullmatch(raw):
        if unit is None:
            raise ValueError(f"{quoted(text)} has no unit; {DURATION_HINT}")
        raw += unit
    for word, unit in sorted(UNIT_WORDS.items(), key=lambda kv: -len(kv[0])):
        raw = raw.replace(word, unit)
    parts = DURATION_PART.findall(raw)
    if not parts or "".join(n + u for n, u in parts) != raw:
        raise ValueError(f"{quoted(text)} is not a duration; {DURATION_HINT}")
    seconds = 0.0
    for number, unit in parts:
        if unit not in UNITS:
            raise ValueError(f"{quoted(text)} is not a duration; {DURATION_HINT}")
        seconds += float(number) * UNITS[unit]
    try:
        return timedelta(seconds=seconds)
    except OverflowError:
        raise ValueError(f"{quoted(text)} is far too long; {DURATION_HINT}") from None


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


# -- times: one reader for every command ---------------------------------------------------
#
# `/poll create closes=`, `/jobs post closes=`, `/webinar add WHEN` and `/webinar edit when=`
# all read times with `read_time`, so a phrase means the same instant everywhere. A time is
# made of at most one of each: a day ("today", "tomorrow", "[next] friday"), a date ("Dec 3",
# "3 December 2027", "12/3", 2026-12-03), a time of day ("5pm", "10:30am", "14:00", "noon",
# "midnight": 00:00, the start of the day, as "12am") and
# a zone ("ET", "America/New_York"), in any order; or ISO 8601 (with or without an offset);
# or "in 2h". Anything else, and anything given twice ("2pm2pm"), is refused in one sentence.

ZONE_WORDS = {
    "et": "America/New_York", "est": "America/New_York", "edt": "America/New_York", "eastern": "America/New_York",
    "ct": "America/Chicago", "cst": "America/Chicago", "cdt": "America/Chicago", "central": "America/Chicago",
    "mt": "America/Denver", "mst": "America/Denver", "mdt": "America/Denver", "mountain": "America/Denver",
    "pt": "America/Los_Angeles", "pst": "America/Los_Angeles", "pdt": "America/Los_Angeles", "pacific": "America/Los_Angeles",
    "utc": "UTC", "gmt": "UTC", "z": "UTC",
}  # fmt: skip
"""North American abbreviations (the association's members) name the zone, not the
offset: "2pm ET" in July is 14:00 EDT."""
ZONE_HINT = "use a name like America/Chicago, or ET, CT, MT, PT, UTC"
WEEKDAY_WORDS = {
    "monday": 0, "mon": 0, "tuesday": 1, "tue": 1, "tues": 1, "wednesday": 2, "wed": 2,
    "thursday": 3, "thu": 3, "thur": 3, "thurs": 3, "friday": 4, "fri": 4, "saturday": 5, "sat": 5,
    "sunday": 6, "sun": 6,
}  # fmt: skip
FILLER_WORDS = {"at", "on", "the"}
MONTH_WORDS = {name for pair in dateutil_parser.parserinfo.MONTHS for name in pair} | {"sept"}
CLOCK = re.compile(
    r"(?<![\d:.])(?:"
    r"(?P<h12>\d{1,2})(?::(?P<m12>\d{2}))?\s*(?P<ampm>[ap])\.?m\.?(?![a-z])"  # 5pm, 10:30 a.m.
    r"|(?P<h24>\d{1,2}):(?P<m24>\d{2})(?::\d{2})?(?![\d:])"  # 14:00, 9:05:30 (seconds ignored)
    r"|(?<![a-z])(?P<noon>noon|midday)(?![a-z])"  # not "afternoon"
    r"|(?<![a-z])(?P<midnight>midnight)(?![a-z])"  # 00:00, the start of the day, like 12am
    r")"
)
_ANY_DAY = (datetime(2000, 1, 1), datetime(2004, 3, 5, 13, 47, 31))
"""Two defaults for dateutil that differ in every field (both leap years, for Feb 29): what
the text names comes out the same from both."""


FURTHEST_AHEAD = timedelta(days=731)
"""How far ahead a webinar start or an application deadline may be: further is a typo."""


class UnreadableTime(ValueError):
    """The text is not a time at all (as opposed to a time that is wrong: in the past, given
    twice, skipped by the clocks)."""


@dataclass(frozen=True)
class WallTime:
    """A wall time (naive; `fold` says which of a repeated hour) in an IANA zone."""

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


@functools.cache
def _zones_by_lower_name() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


def zone_named(word: str) -> str | None:
    """The IANA zone a word names, in any case (`America/Chicago`, `america/chicago`, `ET`,
    `utc`), or None."""
    lowered = word.strip().lower()
    if lowered in ZONE_WORDS:
        return ZONE_WORDS[lowered]
    if "/" not in lowered or len(lowered) > 64:
        return None
    return _zones_by_lower_name().get(lowered)


@functools.cache
def zone_names() -> tuple[str, ...]:
    """The zone database's current names: region/city and UTC (no legacy aliases), read once."""
    return tuple(sorted(z for z in available_timezones()
                        if z == "UTC" or ("/" in z and not z.startswith(("Etc/", "posix/", "right/", "SystemV/")))))  # fmt: skip


def zone_setting(text: str) -> str | None:
    """The IANA zone a setting names (`/config set timezone`, BOT_TIMEZONE), or None: ET, CT,
    MT, PT and their EST, CDT... (the zone, never a fixed offset) and UTC; an IANA name in any
    case, with spaces for underscores (`america/new york`); or a city alone that one zone is
    named after (`new york`, `London`)."""
    wanted = " ".join(text.split()).casefold()
    if not wanted or len(wanted) > 64:
        return None
    if wanted in ZONE_WORDS:
        return ZONE_WORDS[wanted]
    key = wanted.replace(" ", "_")
    found = _zones_by_lower_name().get(key)
    if found is not None or "/" in key:
        return found
    cities = [z for z in zone_names() if z.casefold().rpartition("/")[2] == key]
    return cities[0] if len(cities) == 1 else None


def zone_key(tz: tzinfo | str) -> str:
    """The IANA name of a zone given as a name or a tzinfo (UTC for a fixed UTC offset)."""
    if isinstance(tz, str):
        return tz
    key = getattr(tz, "key", None)
    if key:
        return str(key)
    if tz.utcoffset(None) == timedelta(0):
        return "UTC"
    raise ValueError(f"{tz!r} is not a named time zone")


def parse_when(text: str, *, now: datetime, tz: tzinfo | str) -> datetime:
    """A point in time to come, read in zone `tz` unless the text names another, in UTC
    (`read_time`)."""
    return read_time(text, now=now, zone=tz).utc


def read_time(text: str, *, now: datetime, zone: tzinfo | str) -> WallTime:
    """The one reader of times to come: the wall time `text` names and its zone (`zone`,
    the community's, unless the text names another). Rules:

    - a time of day alone is today, or tomorrow once it has passed; a weekday is the next
      one after today ("friday" on a Friday is a week away); a date without a year is the
      next one to come; a day or date without a time of day is its midnight;
    - "in 90m" and ISO 8601 with an offset or Z are instants, shown in the zone;
    - a wall time the clocks skip is refused; one they repeat is the first of the two;
    - a time in the past, a part given twice, or anything else is refused with one sentence
      (ValueError; UnreadableTime when the text is not a time at all)."""
    try:
        return _read_time(text, now=now, zone=zone_key(zone))
    except OverflowError:  # near year 1 or 9999, or "in 9999999 days": not a crash, a bad time
        raise ValueError(f"{_shown(text)} is out of range; {WHEN_HINT}") from None


def _read_time(text: str, *, now: datetime, zone: str) -> WallTime:
    raw = " ".join(text.strip().lower().split())
    if not raw:
        raise UnreadableTime(f"an empty time; {WHEN_HINT}")
    zone, raw = _take_zone(text, raw, zone)
    tz = ZoneInfo(zone)
    instant = _instant(raw, now)
    if instant is not None:
        wall = WallTime(instant.astimezone(tz).replace(tzinfo=None), zone)  # keeps fold: a repeated hour stays itself
    else:
        wall = WallTime(_wall(text, raw, now.astimezone(tz), tz), zone)
        round_trip = wall.utc.astimezone(tz).replace(tzinfo=None)
        if round_trip != wall.local:
            local = wall.local
            raise ValueError(f"{local:%H:%M} does not exist on {local.day} {local:%B %Y} in {zone} "
                             "(the clocks skip it); pick another time")  # fmt: skip
    if wall.utc <= now:
        raise ValueError(f"{wall.describe()} is in the past; {WHEN_HINT}")
    return wall


def _take_zone(text: str, raw: str, zone: str) -> tuple[str, str]:
    """The zone the text names (one word, anywhere), and the text without it."""
    words, named = [], []
    for typed, word in zip(text.split(), raw.split(" "), strict=True):
        found = zone_named(word.strip(","))
        if found is not None:
            named.append((typed.strip(","), found))
        elif "/" in word and any(part.isalpha() and part not in MONTH_WORDS for part in re.split(r"[/,]", word)):
            raise ValueError(f"{_shown(typed)} is not a time zone; {ZONE_HINT}")
        else:
            words.append(word)
    if len(named) > 1:
        raise ValueError(f"{_shown(text)} names two time zones ({named[0][0]} and {named[1][0]}); give one")
    return (named[0][1] if named else zone), " ".join(words)


def _instant(raw: str, now: datetime) -> datetime | None:
    """An instant the text fixes ("in 2h", ISO 8601 with an offset), as an aware datetime;
    a naive ISO time as a naive one; None for other text."""
    if raw.startswith("in "):
        return now + parse_duration(raw[3:])
    try:
        parsed = datetime.fromisoformat(raw.upper().replace(" ", "T", 1))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None  # a wall time: read like any other (below)
    return parsed


def _wall(text: str, raw: str, local_now: datetime, tz: ZoneInfo) -> datetime:
    """The naive wall time the words name (see `read_time` for the rules)."""
    try:
        return datetime.fromisoformat(raw.upper().replace(" ", "T", 1)).replace(second=0, microsecond=0)
    except ValueError:
        pass
    clocks = list(CLOCK.finditer(raw))
    if len(clocks) > 1:
        raise ValueError(f"{_shown(text)} gives two times of day ({clocks[0].group().strip()} and "
                         f"{clocks[1].group().strip()}); give one, like \"friday 5pm\"")  # fmt: skip
    at = _clock(clocks[0]) if clocks else None
    words = (CLOCK.sub(" ", raw) if clocks else raw).replace(",", " ").split()
    if clocks and (clocks[0]["noon"] or clocks[0]["midnight"]):
        words = _twelve_o_clock(words, len(raw[: clocks[0].start()].replace(",", " ").split()))
    days: list[str] = []  # today, tomorrow, a weekday
    rest: list[str] = []  # the date's words
    for i, word in enumerate(words):
        if word in WEEKDAY_WORDS or word in ("today", "tomorrow"):
            days.append(word)
        elif word == "next" and i + 1 < len(words) and words[i + 1] in WEEKDAY_WORDS:
            continue  # "next friday" is "friday": the next one after today
        elif word not in FILLER_WORDS:
            rest.append(word)
    if len(days) > 1:
        raise ValueError(f"{_shown(text)} gives two days ({days[0]} and {days[1]}); give one, like \"friday 5pm\"")
    day_word = days[0] if days else None
    if not rest and day_word is None and at is None:
        raise UnreadableTime(f"{_shown(text)} is not a time I understand; {WHEN_HINT}")
    at = at or time(0, 0)
    today = local_now.date()
    if rest:
        on = _date(text, " ".join(rest), at, local_now, tz)
        if day_word in ("today", "tomorrow"):
            raise ValueError(f"{_shown(text)} gives two days ({day_word} and a date); give one")
        if day_word is not None and on.weekday() != WEEKDAY_WORDS[day_word]:
            raise ValueError(f"{on.day} {on:%B %Y} is a {on:%A}, not a {WEEKDAYS[WEEKDAY_WORDS[day_word]].capitalize()}")
        return datetime.combine(on, at)
    if day_word == "today":
        return datetime.combine(today, at)
    if day_word == "tomorrow":
        return datetime.combine(today + timedelta(days=1), at)
    if day_word is not None:
        return datetime.combine(today + timedelta(days=(WEEKDAY_WORDS[day_word] - today.weekday()) % 7 or 7), at)
    wall = datetime.combine(today, at)
    if wall.replace(tzinfo=tz) <= local_now:  # "2pm" after 2pm means tomorrow
        wall += timedelta(days=1)
    return wall


def _twelve_o_clock(words: list[str], before: int) -> list[str]:
    """`words` without the 12 of "12 noon" or "12 midnight" (the first `before` words came
    before the noon or midnight), unless that 12 is the day of a date ("Dec 12 noon")."""
    at = before - 1
    if not 0 <= at < len(words) or words[at] != "12":
        return words
    without = words[:at] + words[at + 1 :]
    date_words = [w for w in without if w not in WEEKDAY_WORDS and w not in FILLER_WORDS and w not in ("today", "tomorrow", "next")]
    if date_words:
        try:
            first, second = (dateutil_parser.parse(" ".join(date_words), default=default) for default in _ANY_DAY)
        except (ValueError, OverflowError):
            return words
        if first.month != second.month or first.day != second.day:  # the 12 is the date's day
            return words
    return without


def _clock(match: re.Match[str]) -> time:
    """The time of day a CLOCK match names; ValueError for one that is not (`13pm`, `25:00`)."""
    if match["noon"]:
        return time(12, 0)
    if match["midnight"]:
        return time(0, 0)
    am_pm = match["ampm"]
    hour, minute = (int(match["h12"]), int(match["m12"] or 0)) if am_pm else (int(match["h24"]), int(match["m24"]))
    if (not 1 <= hour <= 12 if am_pm else hour > 23) or minute > 59:
        raise ValueError(f"{_shown(match.group())} is not a time of day; {WHEN_HINT}")
    return time(hour % 12 + (12 if am_pm == "p" else 0) if am_pm else hour, minute)


def _date(text: str, words: str, at: time, local_now: datetime, tz: ZoneInfo) -> date:
    """The date the words name: a month and a day, and maybe a year ("Dec 3", "3 December
    2027", "12/3", 2026-12-03); without a year, the next one to come (at `at`)."""
    try:
        first, second = (dateutil_parser.parse(words, default=default) for default in _ANY_DAY)
    except (ValueError, OverflowError):
        raise UnreadableTime(f"{_shown(text)} is not a time I understand; {WHEN_HINT}") from None
    if first.tzinfo is not None or first.time() != _ANY_DAY[0].time() or second.time() != _ANY_DAY[1].time():
        raise UnreadableTime(f"{_shown(text)} is not a time I understand; {WHEN_HINT}")
    if first.month != second.month or first.day != second.day:  # a year, or a month, alone
        raise ValueError(f"{_shown(text)} needs a month and a day, like \"Dec 3 2pm\"; {WHEN_HINT}")
    if first.year == second.year:  # the year was given
        return first.date()
    for year in range(local_now.year, local_now.year + 9):  # Feb 29: the next leap year
        try:
            candidate = date(year, first.month, first.day)
        except ValueError:
            continue
        if datetime.combine(candidate, at, tzinfo=tz) > local_now:
            return candidate
    raise UnreadableTime(f"{_shown(text)} is not a time I understand; {WHEN_HINT}")  # not reached


def _shown(text: str) -> str:
    """What the member typed, quoted, at most 80 characters (`bot.text.quoted`)."""
    return quoted(text)

"""iCalendar in and out. Import expands recurrences with recurring-ical-events (RRULE,
RDATE, EXDATE, RECURRENCE-ID overrides; RFC 5545), never by hand; export writes VEVENTs
with icalendar in UTC, which Google Calendar, Outlook and Apple Calendar all read."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.errors import UserError
from bot.text import neutralise, truncate
from cogs.jobs.feed import strip_html
from storage.webinars import Webinar

HORIZON = timedelta(days=90)
MOST_EVENTS = 500
DESCRIPTION_CHARS = 1000
DEFAULT_LENGTH = timedelta(hours=1)
URL = re.compile(r"https?://[^\s<>\"]+")


@dataclass(frozen=True)
class Occurrence:
    """One event occurrence from a calendar, keyed by UID and its original start."""

    key: str
    uid: str
    sequence: int
    cancelled: bool
    title: str
    description: str
    url: str | None
    local_start: datetime
    zone: str
    starts_at: datetime
    duration: timedelta
    all_day: bool


@dataclass(frozen=True)
class ImportedCalendar:
    title: str
    occurrences: list[Occurrence]
    skipped: int


class NotACalendar(UserError):
    pass


def read_calendar(body: bytes, url: str, *, now: datetime, zone: str) -> ImportedCalendar:
    """Occurrences from now to HORIZON ahead (at most MOST_EVENTS; `skipped` counts the
    rest). Floating times and all-day dates are read in `zone`. Raises NotACalendar."""
    import icalendar
    import recurring_ical_events

    try:
        calendar = icalendar.Calendar.from_ical(body)
    except (ValueError, IndexError, KeyError, TypeError) as exc:
        raise NotACalendar(f"{url} is not an iCalendar (.ics) file ({str(exc)[:80]}).") from None
    if getattr(calendar, "name", "") != "VCALENDAR":
        raise NotACalendar(f"{url} is not an iCalendar (.ics) file.")
    try:
        events = list(recurring_ical_events.of(calendar).between(now, now + HORIZON))
    except Exception as exc:  # the library raises many kinds for broken rules
        raise NotACalendar(f"{url} has a recurrence I cannot read ({str(exc)[:80]}).") from None
    series = {str(e.get("UID")) for e in calendar.walk("VEVENT")
              if e.get("RRULE") is not None or e.get("RDATE") is not None or e.get("RECURRENCE-ID") is not None}  # fmt: skip
    occurrences = []
    for event in events:
        occurrence = _occurrence(event, zone, str(event.get("UID")) in series)
        if occurrence is not None and occurrence.starts_at > now:
            occurrences.append(occurrence)
    occurrences.sort(key=lambda o: o.starts_at)
    title = truncate(neutralise(str(calendar.get("X-WR-CALNAME", "") or url)), 100)
    return ImportedCalendar(title, occurrences[:MOST_EVENTS], max(0, len(occurrences) - MOST_EVENTS))


def _occurrence(event: Any, zone: str, recurring: bool) -> Occurrence | None:
    start_prop = event.get("DTSTART")
    if start_prop is None or not event.get("UID"):
        return None
    start = start_prop.dt
    all_day = isinstance(start, date) and not isinstance(start, datetime)
    if all_day:
        local, event_zone = datetime.combine(start, datetime.min.time()), zone
    elif start.tzinfo is None:  # floating time: the community's zone
        local, event_zone = start, zone
    else:
        event_zone = getattr(start.tzinfo, "key", None) or _zone_of(start, zone)
        local = start.astimezone(ZoneInfo(event_zone)).replace(tzinfo=None)
    starts_at = local.replace(tzinfo=ZoneInfo(event_zone)).astimezone(UTC)
    duration = _duration(event, start, all_day)
    original = event.get("RECURRENCE-ID")
    uid = str(event.get("UID"))
    # one event is known by its UID (moving it keeps its RSVPs); an occurrence of a series by
    # its UID and original start (RECURRENCE-ID, RFC 5545 §3.8.4.4)
    key = f"{uid}|{_stamp(original.dt if original is not None else start)}" if recurring else uid
    description = truncate(" ".join(neutralise(strip_html(str(event.get("DESCRIPTION", "")))).split()), DESCRIPTION_CHARS)
    return Occurrence(
        key=key, uid=uid, sequence=int(event.get("SEQUENCE", 0) or 0),
        cancelled=str(event.get("STATUS", "")).upper() == "CANCELLED",
        title=truncate(" ".join(neutralise(str(event.get("SUMMARY", "") or "Webinar")).split()), 200),
        description=description, url=_url(event), local_start=local, zone=event_zone, starts_at=starts_at,
        duration=duration, all_day=all_day,
    )  # fmt: skip


def _zone_of(start: datetime, fallback: str) -> str:
    name = str(start.tzinfo)
    if name in ("UTC", "UTC+00:00"):
        return "UTC"
    try:
        return ZoneInfo(name).key
    except Exception:
        return fallback


def _duration(event: Any, start: Any, all_day: bool) -> timedelta:
    end = event.get("DTEND")
    if end is not None:
        length = end.dt - start
        if isinstance(length, timedelta) and length > timedelta(0):
            return min(length, timedelta(days=7))
    if event.get("DURATION") is not None:
        length = event.get("DURATION").dt
        if isinstance(length, timedelta) and length > timedelta(0):
            return min(length, timedelta(days=7))
    return timedelta(days=1) if all_day else DEFAULT_LENGTH


def _url(event: Any) -> str | None:
    for name in ("URL", "LOCATION", "DESCRIPTION"):
        found = URL.search(str(event.get(name, "") or ""))
        if found:
            return found.group(0)[:500]
    return None


def _stamp(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ") if value.tzinfo else value.strftime("%Y%m%dT%H%M%S")
    return value.strftime("%Y%m%d")


def export_ics(webinars: list[Webinar], now: datetime) -> bytes:
    """A calendar of the webinars: stable UIDs, SEQUENCE, times in UTC, join URL included."""
    import icalendar

    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//ALCTS community bot//webinars//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    for webinar in webinars:
        event = icalendar.Event()
        event.add("uid", webinar.uid)
        event.add("dtstamp", now)
        event.add("sequence", webinar.sequence)
        event.add("summary", webinar.title)
        if webinar.all_day:
            event.add("dtstart", webinar.local_start.date())
            event.add("dtend", (webinar.local_start + webinar.duration).date())
        else:
            event.add("dtstart", webinar.starts_at.astimezone(UTC))
            event.add("dtend", webinar.ends_at.astimezone(UTC))
        text = webinar.description + (f"\n\nJoin: {webinar.url}" if webinar.url else "")
        if text.strip():
            event.add("description", text.strip())
        if webinar.url:
            event.add("url", webinar.url)
            event.add("location", webinar.url)
        event.add("status", "CANCELLED" if webinar.status == "cancelled" else "CONFIRMED")
        calendar.add_component(event)
    return calendar.to_ical()

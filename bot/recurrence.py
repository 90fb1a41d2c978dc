"""When a recurring timer fires: daily at a local wall time, every N seconds, or an
RFC 5545 recurrence rule (computed by dateutil.rrule, not by hand).

Local-time recurrences are evaluated in a zone given at the moment of computing (the
community's current zone, unless the series names its own), so a community that changes
its zone moves its schedule, and a daily 10:00 stays at 10:00 across daylight-saving
changes (wall-clock arithmetic, as RFC 5545 §3.3.10 asks for DTSTART with a TZID).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from dateutil.rrule import DAILY, rrule, rrulestr

HH_MM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
SHORTEST_EVERY = timedelta(seconds=1)


@dataclass(frozen=True)
class Recurrence:
    """A rule for the next occurrence. Build one with `daily`, `every` or `rule`.

    Stored as text (`encode`/`decode`): `daily 10:00`, `every 1800`, or
    `rrule 20261203T140000 FREQ=WEEKLY;BYDAY=TH` (the start is local wall time).
    """

    kind: Literal["daily", "every", "rrule"]
    spec: str

    @classmethod
    def daily(cls, at: str) -> Recurrence:
        """Every day at `at` ("HH:MM", 24-hour) local time; raises ValueError otherwise."""
        match = HH_MM.match(at.strip())
        if not match:
            raise ValueError(f"{at!r} is not a time of day like 10:00")
        return cls("daily", f"{int(match.group(1)):02d}:{match.group(2)}")

    @classmethod
    def every(cls, interval: timedelta) -> Recurrence:
        """Every `interval` (at least a second), counted from when the series began."""
        if interval < SHORTEST_EVERY:
            raise ValueError("an interval must be at least one second")
        return cls("every", str(int(interval.total_seconds())))

    @classmethod
    def rule(cls, rrule_text: str, start: datetime) -> Recurrence:
        """An RFC 5545 RRULE (`FREQ=WEEKLY;BYDAY=TH`) from the local wall time `start`;
        raises ValueError for a rule dateutil cannot read."""
        text = f"{start.replace(tzinfo=None):%Y%m%dT%H%M%S} {rrule_text.strip().removeprefix('RRULE:')}"
        cls("rrule", text)._rule(ZoneInfo("UTC"))  # validate now, not when the timer falls due
        return cls("rrule", text)

    def encode(self) -> str:
        return f"{self.kind} {self.spec}"

    @classmethod
    def decode(cls, text: str) -> Recurrence:
        kind, _, spec = text.partition(" ")
        if kind not in ("daily", "every", "rrule"):
            raise ValueError(f"unknown recurrence {text!r}")
        return cls(kind, spec)  # type: ignore[arg-type]

    @property
    def local(self) -> bool:
        """Whether the zone matters (every-N-seconds does not care)."""
        return self.kind != "every"

    def next_after(self, after: datetime, tz: ZoneInfo, anchor: datetime) -> datetime | None:
        """The first occurrence strictly after `after` (aware), as an aware UTC datetime;
        None when an RRULE has run out (COUNT or UNTIL). `anchor` is when the series began
        (the origin of `every`)."""
        utc = after.tzinfo
        if self.kind == "every":
            step = timedelta(seconds=int(self.spec))
            done = max(0, (after - anchor) // step + 1)
            return anchor + done * step
        local_after = after.astimezone(tz).replace(tzinfo=None)  # wall-clock arithmetic, naive
        if self.kind == "daily":
            hour, minute = (int(part) for part in self.spec.split(":"))
            start = datetime.combine(local_after.date() - timedelta(days=1), time(0))
            rule = rrule(DAILY, dtstart=start, byhour=hour, byminute=minute, bysecond=0)
        else:
            rule = self._rule(None)
        candidate = rule.after(local_after - timedelta(hours=3))  # a fall-back hour repeats wall times
        for _ in range(10_000):  # bounded: a rule whose occurrences all fall in the past runs out
            if candidate is None:
                return None
            instant = candidate.replace(tzinfo=tz, fold=0).astimezone(utc)  # a repeated time: the first
            if instant > after:
                return instant
            candidate = rule.after(candidate)
        return None

    def _rule(self, tz: ZoneInfo | None) -> rrule:
        start, _, text = self.spec.partition(" ")
        dtstart = datetime.strptime(start, "%Y%m%dT%H%M%S").replace(tzinfo=tz)
        try:
            rule = rrulestr(f"RRULE:{text}", dtstart=dtstart)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{text!r} is not a recurrence rule ({exc})") from None
        if not isinstance(rule, rrule):
            raise ValueError(f"{text!r} should be one RRULE")
        return rule

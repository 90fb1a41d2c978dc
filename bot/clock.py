"""Time for the whole bot. Cogs ask the clock, never `datetime.now()`, so tests and the
console can move time forward without waiting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


def utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def iso(dt: datetime) -> str:
    """The one text form of a time in the database: UTC, ISO 8601, sortable."""
    return utc(dt).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def from_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class OffsetClock:
    """Wall time plus however far `:wait` (or a test) has jumped ahead."""

    def __init__(self, start: datetime | None = None) -> None:
        self._offset = timedelta(0)
        if start is not None:
            self._offset = utc(start) - datetime.now(UTC)

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def set(self, when: datetime) -> None:
        """Jump to `when`; the clock never goes backwards."""
        ahead = utc(when) - self.now()
        if ahead > timedelta(0):
            self._offset += ahead


class ManualClock:
    """Time that moves only when told: tests and benchmarks."""

    def __init__(self, start: datetime) -> None:
        self._now = utc(start)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    def set(self, when: datetime) -> None:
        self._now = max(self._now, utc(when))


class MovableClock(Clock, Protocol):
    """A clock the console's `:wait` can move forward."""

    def set(self, when: datetime) -> None: ...

"""Backfills of the growth rollups from raw engagement events, in each community's local days.

SQLite has no time zones, so these run in Python inside their migration's transaction
(see `Migration.backfill`). A community's zone is its `timezone` setting, else the default
zone the database was opened with (BOT_TIMEZONE). Events are read in chunks by rowid and
their counts added with upserts, so memory stays bounded whatever the history's size.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import aiosqlite

from storage.activity import counts_as_activity

CHUNK = 50_000

DAILY_SUM = (
    "INSERT INTO engagement_daily (platform, community_id, day, kind, cog, events) VALUES (?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (platform, community_id, day, kind, cog) DO UPDATE SET events = events + excluded.events"
)
ACTIVE_SUM = (
    "INSERT INTO active_members (platform, community_id, day, member_id, events) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (platform, community_id, day, member_id) DO UPDATE SET events = events + excluded.events"
)
FIRST_MIN = (
    "INSERT INTO first_engagement (platform, community_id, member_id, cog, day) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (platform, community_id, member_id, cog) DO UPDATE SET day = min(day, excluded.day)"
)
HOURLY_SUM = (
    "INSERT INTO engagement_hourly (platform, community_id, day, hour, events) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (platform, community_id, day, hour) DO UPDATE SET events = events + excluded.events"
)
FOLLOW_HISTORY = (
    "INSERT INTO follow_history (platform, community_id, member_id, at, day, followed) VALUES (?, ?, ?, ?, ?, 1)"
)
FOLLOW_DAILY_SUM = (
    "INSERT INTO follow_daily (platform, community_id, day, follows) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (platform, community_id, day) DO UPDATE SET follows = follows + excluded.follows"
)


class LocalTimes:
    """UTC timestamps (ISO 8601) to (local day, local hour) in each community's zone."""

    def __init__(self, zones: dict[tuple[str, str], ZoneInfo], default: ZoneInfo) -> None:
        self.zones, self.default = zones, default
        self._cache: dict[tuple[str, str, str], tuple[str, int]] = {}

    @classmethod
    async def load(cls, conn: aiosqlite.Connection, default_zone: str) -> LocalTimes:
        zones = {}
        async with conn.execute("SELECT platform, community_id, value FROM community_settings WHERE key = 'timezone'") as cur:
            for platform, community_id, value in await cur.fetchall():
                try:
                    zones[(platform, community_id)] = ZoneInfo(value)
                except (ZoneInfoNotFoundError, ValueError):
                    continue
        return cls(zones, ZoneInfo(default_zone))

    def local(self, platform: str, community_id: str, at: str) -> tuple[str, int]:
        key = (platform, community_id, at[:16])  # every zone's offset is a whole number of minutes
        found = self._cache.get(key)
        if found is None:
            when = datetime.fromisoformat(at).astimezone(self.zones.get((platform, community_id), self.default))
            found = self._cache[key] = (when.date().isoformat(), when.hour)
        return found


async def _events(conn: aiosqlite.Connection):  # type: ignore[no-untyped-def]
    """The raw events in chunks: lists of (at, platform, community_id, member_id, kind, cog)."""
    last = 0
    while True:
        async with conn.execute(
            "SELECT rowid, at, platform, community_id, member_id, kind, cog FROM engagement_events"
            " WHERE rowid > ? ORDER BY rowid LIMIT ?",
            (last, CHUNK),
        ) as cur:
            rows = await cur.fetchall()
        if not rows:
            return
        last = rows[-1][0]
        yield [tuple(row)[1:] for row in rows]


async def backfill_growth(conn: aiosqlite.Connection, default_zone: str) -> None:
    """Migration 8: the daily rollups, active members, first engagement per feature and the
    follow history, from the raw log and the follows table, in local days."""
    times = await LocalTimes.load(conn, default_zone)
    async for chunk in _events(conn):
        daily: Counter[tuple[str, ...]] = Counter()
        active: Counter[tuple[str, ...]] = Counter()
        first: dict[tuple[str, ...], str] = {}
        for at, platform, community_id, member_id, kind, cog in chunk:
            day, _hour = times.local(platform, community_id, at)
            daily[(platform, community_id, day, kind, cog or "")] += 1
            if member_id is not None and counts_as_activity(kind, cog):
                active[(platform, community_id, day, member_id)] += 1
                if cog:
                    key = (platform, community_id, member_id, cog)
                    first[key] = min(first.get(key, day), day)
        await conn.executemany(DAILY_SUM, [(*k, n) for k, n in daily.items()])
        await conn.executemany(ACTIVE_SUM, [(*k, n) for k, n in active.items()])
        await conn.executemany(FIRST_MIN, [(*k, day) for k, day in first.items()])
    async with conn.execute("SELECT platform, community_id, member_id, followed_at FROM follows") as cur:
        follows = await cur.fetchall()
    per_day: Counter[tuple[str, str, str]] = Counter()
    history = []
    for platform, community_id, member_id, at in follows:
        day, _hour = times.local(platform, community_id, at)
        history.append((platform, community_id, member_id, at, day))
        per_day[(platform, community_id, day)] += 1
    await conn.executemany(FOLLOW_HISTORY, history)
    await conn.executemany(FOLLOW_DAILY_SUM, [(*k, n) for k, n in per_day.items()])


async def backfill_hourly(conn: aiosqlite.Connection, default_zone: str) -> None:
    """Migration 10: events per community, local day and local hour, from the raw log."""
    times = await LocalTimes.load(conn, default_zone)
    async for chunk in _events(conn):
        hourly: Counter[tuple[str, str, str, int]] = Counter()
        for at, platform, community_id, _member_id, _kind, _cog in chunk:
            day, hour = times.local(platform, community_id, at)
            hourly[(platform, community_id, day, hour)] += 1
        await conn.executemany(HOURLY_SUM, [(*k, n) for k, n in hourly.items()])

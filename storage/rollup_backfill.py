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
    "INSERT INTO follow_history (platform, community_id, member_id, at, day, followed) VALUES (?, ?, ?, ?, ?, ?)"
)
FOLLOW_DAILY_SUM = (
    "INSERT INTO follow_daily (platform, community_id, day, follows, unfollows) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (platform, community_id, day) DO UPDATE SET follows = follows + excluded.follows,"
    " unfollows = unfollows + excluded.unfollows"
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
    await _backfill_follows(conn, times)


async def _backfill_follows(conn: aiosqlite.Connection, times: LocalTimes) -> None:
    """The follow history replayed from the logged /follow and /unfollow commands (a command
    that changed nothing, such as /follow when already following, is no change), then
    reconciled with the follows table, which is the truth about who follows now: a current
    follower the replay missed gets a follow at `followed_at`, and one the replay still has
    following gets an unfollow at their last logged event."""
    async with conn.execute(
        "SELECT platform, community_id, member_id, at, subject FROM engagement_events WHERE cog = 'follow'"
        " AND kind = 'command' AND subject IN ('follow', 'unfollow') AND member_id IS NOT NULL ORDER BY at, rowid"
    ) as cur:
        commands = await cur.fetchall()
    async with conn.execute("SELECT platform, community_id, member_id, followed_at FROM follows") as cur:
        current = {(r[0], r[1], r[2]): r[3] for r in await cur.fetchall()}
    following: dict[tuple[str, str, str], str] = {}  # member: the time of their last change
    changes: list[tuple[str, str, str, str, int]] = []  # (platform, community, member, at, followed)
    for platform, community_id, member_id, at, subject in commands:
        key = (platform, community_id, member_id)
        if (subject == "follow") != (key in following):
            changes.append((*key, at, 1 if subject == "follow" else 0))
            if subject == "follow":
                following[key] = at
            else:
                following.pop(key)
    for key, at in current.items():
        if key not in following:
            changes.append((*key, at, 1))
    for key in set(following) - set(current):
        async with conn.execute(
            "SELECT MAX(at) FROM engagement_events WHERE platform = ? AND community_id = ? AND member_id = ?", key
        ) as cur:
            row = await cur.fetchone()
        changes.append((*key, max(str(row[0]) if row and row[0] else following[key], following[key]), 0))
    per_day: dict[tuple[str, str, str], list[int]] = {}
    history = []
    for platform, community_id, member_id, at, followed in sorted(changes, key=lambda c: c[3]):
        day, _hour = times.local(platform, community_id, at)
        history.append((platform, community_id, member_id, at, day, followed))
        counts = per_day.setdefault((platform, community_id, day), [0, 0])
        counts[0 if followed else 1] += 1
    await conn.executemany(FOLLOW_HISTORY, history)
    await conn.executemany(FOLLOW_DAILY_SUM, [(*k, f, u) for k, (f, u) in per_day.items()])


async def backfill_hourly(conn: aiosqlite.Connection, default_zone: str) -> None:
    """Migration 10: events per community, local day and local hour, from the raw log."""
    times = await LocalTimes.load(conn, default_zone)
    async for chunk in _events(conn):
        hourly: Counter[tuple[str, str, str, int]] = Counter()
        for at, platform, community_id, _member_id, kind, cog in chunk:
            if counts_as_activity(kind, cog):
                day, hour = times.local(platform, community_id, at)
                hourly[(platform, community_id, day, hour)] += 1
        await conn.executemany(HOURLY_SUM, [(*k, n) for k, n in hourly.items()])

"""Growth and engagement metrics over a window of local days, per community or combined.

Definitions (the study's question is the follow rate):
- followers on a day: the day's snapshot, else the running total of follows minus
  unfollows (changes of state, not commands); members likewise from snapshots;
- follow rate = followers / members, against the study's 25% reference;
- net growth = followers at the end of the window - at the end of the day before it;
  growth rate = net / that starting count;
- DAU, WAU, MAU: distinct members active on the last day, in the last 7 and 28 days
  (Slack's definitions);
- week-one retention: of members first active in the window (at least a week before its
  end), the share active again within the next 7 days;
- engagement by feature: events per active member of the window and per item offered;
- conversion: of members who first engaged with a feature in the window, the share who
  followed within 14 days after.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.clock import iso
from storage.growth import GrowthQueries, Key

REFERENCE_RATE = 0.25  # the study: fewer than 25% of members follow the association
FEATURES = ("trivia", "polls", "jobs", "webinars")
OFFERED = {  # content events that count as items offered, per feature
    "trivia": ("trivia_asked", "trivia_daily"),
    "polls": ("poll_posted",),
    "jobs": ("job_posted", "job_digest"),
    "webinars": ("webinar_announced",),
}


@dataclass
class Day:
    day: str
    members: int
    followers: int
    follow_rate: float
    follows: int
    unfollows: int
    active: int


@dataclass
class Feature:
    feature: str
    events: int
    per_active_member: float
    items_offered: int
    per_item: float | None
    first_engaged: int
    followed_within_14_days: int
    conversion: float | None


@dataclass
class Metrics:
    scope: str
    since: str
    until: str
    days: list[Day]
    followers_start: int
    followers_end: int
    net_growth: int
    growth_rate: float | None
    members_end: int
    follow_rate_end: float
    reference_rate: float
    dau: int
    wau: int
    mau: int
    new_members: int
    retained_week_one: int
    retention_week_one: float | None
    features: list[Feature]
    hours_of_week: list[int]
    top_members: list[tuple[str, int]] = field(default_factory=list)
    closed_polls: list[dict[str, object]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    @property
    def best_hours(self) -> list[str]:
        """The three busiest hours of the week, e.g. `Tue 14:00`."""
        names = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
        ranked = sorted(range(168), key=lambda h: (-self.hours_of_week[h], h))[:3]
        return [f"{names[h // 24]} {h % 24:02d}:00" for h in ranked if self.hours_of_week[h]]


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


async def compute(
    queries: GrowthQueries, community: Key | None, since: date, until: date, scope: str, zone: str
) -> Metrics:
    """Every figure for `community` (None: all communities combined), local days `since`..`until`
    inclusive in `zone` (raw timestamps are compared with the window's bounds in UTC)."""
    tz = ZoneInfo(zone)
    lo = iso(datetime.combine(since, time(0), tz))  # the window in UTC, for raw timestamps
    hi = iso(datetime.combine(until + timedelta(days=1), time(0), tz))
    days, followers_before = await _days(queries, community, since, until, tz, hi)
    end = days[-1]
    retained = await queries.retention(community, since, until)
    events = await queries.events_by_feature(community, since, until)
    offered = await queries.content_offered(community, lo, hi)
    converted = await queries.conversion(community, since, until)
    active_in_window = await queries.distinct_active(community, since, until)
    features = []
    for feature in FEATURES:
        items = sum(offered.get(kind, 0) for kind in OFFERED[feature])
        first, followed = converted.get(feature, (0, 0))
        count = events.get(feature, 0)
        features.append(Feature(
            feature, count,
            round(count / active_in_window, 2) if active_in_window else 0.0, items,
            round(count / items, 2) if items else None, first, followed, _share(followed, first),
        ))  # fmt: skip
    return Metrics(
        scope=scope, since=since.isoformat(), until=until.isoformat(), days=days,
        followers_start=followers_before, followers_end=end.followers, net_growth=end.followers - followers_before,
        growth_rate=_share(end.followers - followers_before, followers_before), members_end=end.members,
        follow_rate_end=end.follow_rate, reference_rate=REFERENCE_RATE,
        dau=end.active, wau=await queries.distinct_active(community, until - timedelta(days=6), until),
        mau=await queries.distinct_active(community, until - timedelta(days=27), until),
        new_members=retained[0], retained_week_one=retained[1], retention_week_one=_share(retained[1], retained[0]),
        features=features, hours_of_week=await queries.hours(community, since, until),
        top_members=await queries.top_members(community, since, until),
        closed_polls=await queries.closed_polls(community, lo, hi),
    )  # fmt: skip


async def _days(
    queries: GrowthQueries, community: Key | None, since: date, until: date, tz: ZoneInfo, end: str
) -> tuple[list[Day], int]:  # fmt: skip
    """One row per local day, from exact running totals: followers from every change of
    follow state; members from the platform's latest member count by the end of the day
    (Discord's guild count, Slack's workspace), else members first seen, and never fewer
    than the followers. Timestamps are put on local days in `tz`, up to the UTC instant
    `end`. (The hourly snapshots are a record; a snapshot taken early in a day would hide
    what happened later that day, so the figures do not read them.)"""
    running: dict[Key, int] = {}
    changes: dict[str, tuple[int, int]] = {}
    followers_by_day: dict[str, dict[Key, int]] = {}
    for platform, community_id, day, follows, unfollows in await queries.follow_days(community, until):
        key = (platform, community_id)
        running[key] = running.get(key, 0) + follows - unfollows
        followers_by_day.setdefault(day, {})[key] = running[key]
        if day >= since.isoformat():
            f, u = changes.get(day, (0, 0))
            changes[day] = (f + follows, u + unfollows)
    first_seen = await queries.members_first_seen(community, end)
    counted = await queries.member_counts(community, end)
    start = min([rows[0][2] for rows in (first_seen, counted) if rows], default=end)
    midnights = _local_midnights(start, end, tz)

    def local_day(at: str) -> str:
        return midnights[bisect_right(midnights, (at, "\uffff")) - 1][1]

    seen_running: dict[Key, int] = {}
    seen_by_day: dict[str, dict[Key, int]] = {}
    for platform, community_id, at in first_seen:
        key = (platform, community_id)
        seen_running[key] = seen_running.get(key, 0) + 1
        seen_by_day.setdefault(local_day(at), {})[key] = seen_running[key]
    counts_by_day: dict[str, dict[Key, int]] = {}
    for platform, community_id, at, members in counted:  # in time order: the day's last count stays
        counts_by_day.setdefault(local_day(at), {})[(platform, community_id)] = members
    active = await queries.daily_active(community, since, until)
    current_followers: dict[Key, int] = {}
    seen: dict[Key, int] = {}
    platform_count: dict[Key, int] = {}

    def see(day: str) -> None:
        seen.update(seen_by_day.get(day, {}))
        platform_count.update(counts_by_day.get(day, {}))
        current_followers.update(followers_by_day.get(day, {}))

    for day in sorted(set(followers_by_day) | set(seen_by_day) | set(counts_by_day)):
        if day >= since.isoformat():
            break
        see(day)
    followers_before = sum(current_followers.values())  # at the end of the day before the window
    out = []
    cursor = since
    while cursor <= until:
        day = cursor.isoformat()
        see(day)
        followers = sum(current_followers.values())
        members = sum(max(platform_count.get(k, seen.get(k, 0)), current_followers.get(k, 0))
                      for k in set(seen) | set(platform_count) | set(current_followers))  # fmt: skip
        follows, unfollows = changes.get(day, (0, 0))
        out.append(Day(day, members, followers, round(followers / members, 4) if members else 0.0, follows, unfollows,
                       active.get(day, 0)))  # fmt: skip
        cursor += timedelta(days=1)
    return out, followers_before


def _local_midnights(first: str, end: str, tz: ZoneInfo) -> list[tuple[str, str]]:
    """(UTC ISO 8601 instant of a local midnight, that local day) for every local day from
    the one holding `first` to the one holding `end`, in order: a UTC timestamp's local day
    is then a bisection on its ISO string (ISO 8601 UTC strings sort in time order)."""
    day = datetime.fromisoformat(first).astimezone(tz).date()
    last = datetime.fromisoformat(end).astimezone(tz).date()
    out = []
    while day <= last:
        out.append((iso(datetime.combine(day, time(0), tz)), day.isoformat()))
        day += timedelta(days=1)
    return out

"""Read-only queries behind the growth figures, and the daily community snapshot.

Everything here reads the rollups (engagement_daily, engagement_hourly, active_members and
its summaries active_daily and member_activity, first_engagement, follow_daily,
community_snapshots), kept in the same transactions as the
raw events, so a report over a year of history does not scan the raw log. Days are the
community's local days (ISO dates), as recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.clock import iso
from bot.model import Community, Member
from storage.activity import NOT_ACTIVITY, counts_as_activity
from storage.db import Database

Key = tuple[str, str]  # (platform, community_id)


def _where(community: Key | None, alias: str = "") -> tuple[str, tuple[str, ...]]:
    prefix = f"{alias}." if alias else ""
    if community is None:
        return "1 = 1", ()
    return f"{prefix}platform = ? AND {prefix}community_id = ?", community


@dataclass(frozen=True)
class Glance:
    """An organizer's figures at a glance: followers and their net change in the window,
    members now, and members active in the window (a 7-day window: WAU)."""

    followers: int
    change: int
    members: int
    active: int

    @property
    def follow_rate(self) -> float | None:
        return self.followers / self.members if self.members else None


class GrowthQueries:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def communities(self) -> list[Key]:
        rows = await self.db.fetchall(
            "SELECT platform, community_id FROM members_seen UNION SELECT platform, community_id FROM follows"
            " UNION SELECT platform, community_id FROM community_snapshots UNION SELECT platform, community_id"
            " FROM engagement_daily ORDER BY 1, 2"
        )
        return [(row[0], row[1]) for row in rows]

    # -- snapshots --------------------------------------------------------------------------------

    async def snapshot(self, community: Community, day: str, at: datetime) -> tuple[int, int]:
        """Record today's member and follower counts (idempotent per community and local
        day: a later snapshot the same day replaces the earlier). Returns them."""
        key = (community.platform, community.id)
        followers = int(await self.db.scalar("SELECT COUNT(*) FROM follows WHERE platform = ? AND community_id = ?", key) or 0)
        platform_count = await self.db.scalar(
            "SELECT members FROM member_counts WHERE platform = ? AND community_id = ? ORDER BY at DESC, id DESC LIMIT 1", key
        )
        seen = int(await self.db.scalar("SELECT COUNT(*) FROM members_seen WHERE platform = ? AND community_id = ?", key) or 0)
        members = max(int(platform_count) if platform_count is not None else seen, followers)
        await self.db.execute(
            "INSERT INTO community_snapshots (platform, community_id, day, members, followers, taken_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (platform, community_id, day) DO UPDATE SET"
            " members = excluded.members, followers = excluded.followers, taken_at = excluded.taken_at",
            (*key, day, members, followers, iso(at)),
        )
        return members, followers

    async def follow_days(self, community: Key | None, until: date) -> list[tuple[str, str, str, int, int]]:
        """Follows and unfollows per community and local day, from the start of history."""
        where, params = _where(community)
        rows = await self.db.fetchall(
            f"SELECT platform, community_id, day, follows, unfollows FROM follow_daily WHERE {where} AND day <= ?"
            " ORDER BY day",
            (*params, until.isoformat()),
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]

    async def members_first_seen(self, community: Key | None, before: str) -> list[tuple[str, str, str]]:
        """(platform, community_id, first seen: ISO 8601 UTC) of every member seen (anyone
        who did anything) before the UTC instant `before`, in time order: the fallback
        member count on days without a snapshot, put on local days by the caller."""
        where, params = _where(community)
        rows = await self.db.fetchall(
            f"SELECT platform, community_id, first_seen FROM members_seen WHERE {where} AND first_seen < ?"
            " ORDER BY first_seen",
            (*params, before),
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]

    async def member_counts(self, community: Key | None, before: str) -> list[tuple[str, str, str, int]]:
        """(platform, community_id, at: ISO 8601 UTC, members) of every member count the
        platform reported before the UTC instant `before`, in time order."""
        where, params = _where(community)
        rows = await self.db.fetchall(
            f"SELECT platform, community_id, at, members FROM member_counts WHERE {where} AND at < ? ORDER BY at, id",
            (*params, before),
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]

    async def glance(self, community: Key, since: date, until: date) -> Glance:
        """The figures at a glance (an organizer's home): followers now and their net change
        over the local days `since`..`until`, members now (the platform's latest count, else
        members seen; never fewer than the followers) and the members active in the window.
        Primary-key ranges and the member summaries only: no raw events are read."""
        followers = int(await self.db.scalar(
            "SELECT COUNT(*) FROM follows WHERE platform = ? AND community_id = ?", community) or 0)  # fmt: skip
        change = await self.db.scalar(
            "SELECT SUM(follows - unfollows) FROM follow_daily WHERE platform = ? AND community_id = ?"
            " AND day BETWEEN ? AND ?",
            (*community, since.isoformat(), until.isoformat()),
        )
        counted = await self.db.scalar(
            "SELECT members FROM member_counts WHERE platform = ? AND community_id = ? ORDER BY at DESC, id DESC LIMIT 1",
            community,
        )
        if counted is None:
            counted = await self.db.scalar(
                "SELECT COUNT(*) FROM members_seen WHERE platform = ? AND community_id = ?", community
            )
        active = await self.distinct_active(community, since, until)
        return Glance(followers, int(change or 0), max(int(counted or 0), followers), active)

    # -- activity ---------------------------------------------------------------------------------

    async def daily_active(self, community: Key | None, since: date, until: date) -> dict[str, int]:
        """DAU per local day (active_daily, kept by a trigger on active_members)."""
        where, params = _where(community)
        rows = await self.db.fetchall(
            f"SELECT day, SUM(members) FROM active_daily WHERE {where} AND day BETWEEN ? AND ? GROUP BY day",
            (*params, since.isoformat(), until.isoformat()),
        )
        return {row[0]: int(row[1]) for row in rows}

    async def distinct_active(self, community: Key | None, since: date, until: date) -> int:
        """Members active at least once from `since` to `until` (WAU: 7 days, MAU: 28).

        When no member was active after `until` (a window ending today), this is a count of
        member summaries (first day <= until, last day >= since); otherwise a scan of the
        window's member-days, one community at a time (each a range of the primary key)."""
        where, params = _where(community)
        latest = await self.db.scalar(f"SELECT MAX(last_day) FROM member_activity WHERE {where}", params)
        if latest is None or latest <= until.isoformat():
            value = await self.db.scalar(
                f"SELECT COUNT(*) FROM member_activity WHERE {where} AND last_day >= ? AND first_day <= ?",
                (*params, since.isoformat(), until.isoformat()),
            )
            return int(value or 0)
        total = 0
        for key in [community] if community is not None else await self.communities():
            value = await self.db.scalar(
                "SELECT COUNT(DISTINCT member_id) FROM active_members WHERE platform = ? AND community_id = ?"
                " AND day BETWEEN ? AND ?",
                (*key, since.isoformat(), until.isoformat()),
            )
            total += int(value or 0)
        return total

    async def retention(self, community: Key | None, since: date, until: date) -> tuple[int, int]:
        """(members whose first active day falls in the window, those of them active again
        within the 7 days after it). Members newer than a week before `until` are left out."""
        where, params = _where(community)
        row = await self.db.fetchone(
            "SELECT COUNT(*), COALESCE(SUM(second_day IS NOT NULL AND second_day <= date(first_day, '+7 days')), 0)"
            f" FROM member_activity WHERE {where} AND first_day BETWEEN ? AND ?",
            (*params, since.isoformat(), (until - timedelta(days=7)).isoformat()),
        )
        return (int(row[0]), int(row[1])) if row else (0, 0)

    async def events_by_feature(self, community: Key | None, since: date, until: date) -> dict[str, int]:
        where, params = _where(community)
        rows = await self.db.fetchall(
            f"SELECT cog, SUM(events) FROM engagement_daily WHERE {where} AND day BETWEEN ? AND ? AND cog != ''"
            f" AND kind NOT IN ({', '.join('?' * len(NOT_ACTIVITY))}) GROUP BY cog",
            (*params, since.isoformat(), until.isoformat(), *NOT_ACTIVITY),
        )
        return {row[0]: int(row[1]) for row in rows}

    async def content_offered(self, community: Key | None, start: str, end: str) -> dict[str, int]:
        where, params = _where(community)
        rows = await self.db.fetchall(
            f"SELECT kind, COUNT(*) FROM content_events WHERE {where} AND at >= ? AND at < ? GROUP BY kind",
            (*params, start, end),
        )
        return {row[0]: int(row[1]) for row in rows}

    async def conversion(self, community: Key | None, since: date, until: date) -> dict[str, tuple[int, int]]:
        """Per feature: (members who first engaged with it in the window, those of them who
        followed within 14 days after). The follows are few: each is matched to the first
        engagements of its member (a primary-key lookup)."""
        where, params = _where(community, "e")
        window = (since.isoformat(), until.isoformat())
        firsts = await self.db.fetchall(
            f"SELECT e.cog, COUNT(*) FROM first_engagement e WHERE {where} AND e.day BETWEEN ? AND ? GROUP BY e.cog",
            (*params, *window),
        )
        where, params = _where(community, "h")
        followed = await self.db.fetchall(
            # the plan is fixed: follows outside (CROSS JOIN keeps the order), each member's first
            # engagements by primary key (+e.day keeps the planner off the by-day index: that
            # plan scanned the follows once per engagement, 1000 times slower)
            "SELECT e.cog, COUNT(DISTINCT e.platform || ' ' || e.community_id || ' ' || e.member_id)"
            " FROM follow_history h CROSS JOIN first_engagement e ON e.platform = h.platform"
            " AND e.community_id = h.community_id AND e.member_id = h.member_id"
            f" WHERE {where} AND h.followed = 1 AND +e.day BETWEEN ? AND ?"
            " AND h.day >= +e.day AND h.day <= date(e.day, '+14 days') GROUP BY e.cog",
            (*params, *window),
        )
        converted = {row[0]: int(row[1]) for row in followed}
        return {row[0]: (int(row[1]), converted.get(row[0], 0)) for row in firsts}

    async def hours(self, community: Key | None, since: date, until: date) -> list[int]:
        """Events by local hour of the week in the window (0 = Monday 00:00 local)."""
        where, params = _where(community)
        rows = await self.db.fetchall(
            "SELECT ((CAST(strftime('%w', day) AS INTEGER) + 6) % 7) * 24 + hour, SUM(events) FROM engagement_hourly"
            f" WHERE {where} AND day BETWEEN ? AND ? GROUP BY 1",
            (*params, since.isoformat(), until.isoformat()),
        )
        counts = [0] * 168
        for hour, events in rows:
            if 0 <= hour < 168:
                counts[hour] = int(events)
        return counts

    async def top_members(self, community: Key | None, since: date, until: date, limit: int = 10) -> list[tuple[str, int]]:
        """The most active members in the window, as (display name, events), most first,
        ties by name; forgotten and opted-out members left out.

        Per community, candidates come in order of their events over all time (an upper
        bound of their events in the window); their window totals are counted a batch at a
        time until no remaining candidate's all-time total could reach the list."""
        ranked: list[tuple[str, int]] = []
        for key in [community] if community is not None else await self.communities():
            ranked.extend(await self._top_in(key, since, until, limit))
        ranked.sort(key=lambda item: (-item[1], item[0]))
        return ranked[:limit]

    async def _top_in(self, key: Key, since: date, until: date, limit: int) -> list[tuple[str, int]]:
        window = (since.isoformat(), until.isoformat())
        candidates = await self.db.fetchall(
            "SELECT a.member_id, a.events FROM member_activity a WHERE a.platform = ? AND a.community_id = ?"
            " AND a.last_day >= ? AND a.first_day <= ? AND a.member_id NOT LIKE 'forgotten:%' AND NOT EXISTS"
            " (SELECT 1 FROM stats_optouts o WHERE o.platform = a.platform AND o.member_id = a.member_id)"
            " ORDER BY a.events DESC",
            (*key, *window),
        )
        span = await self.db.fetchone(
            "SELECT MIN(first_day), MAX(last_day) FROM member_activity WHERE platform = ? AND community_id = ?", key
        )
        found: dict[str, int] = {}  # member id: events in the window
        if span is not None and span[0] is not None and window[0] <= span[0] and span[1] <= window[1]:
            found = {row[0]: int(row[1]) for row in candidates}  # the window holds all of the history
        else:
            start, batch = 0, max(limit, 16)  # batches double: few round trips however far it goes
            while start < len(candidates):
                if len(found) >= limit and sorted(found.values())[-limit] > int(candidates[start][1]):
                    break  # no one left could reach the list
                chunk = [row[0] for row in candidates[start:start + batch]]
                found.update(await self._events_in(key, chunk, window))
                start, batch = start + len(chunk), batch * 2
        if not found:
            return []
        cutoff = sorted(found.values())[-limit] if len(found) >= limit else 0
        chosen = [member for member, n in found.items() if n >= cutoff]  # with ties at the cut-off
        names = await self._names(key, chosen)
        ranked = sorted(((names.get(m) or m, found[m]) for m in chosen), key=lambda item: (-item[1], item[0]))
        return ranked[:limit]

    async def _events_in(self, key: Key, members: list[str], window: tuple[str, str]) -> dict[str, int]:
        out: dict[str, int] = {}
        for start in range(0, len(members), 500):  # well within SQLite's limit on bound parameters
            part = members[start:start + 500]
            rows = await self.db.fetchall(
                "SELECT member_id, SUM(events) FROM active_members WHERE platform = ? AND community_id = ?"
                f" AND member_id IN ({', '.join('?' * len(part))}) AND day BETWEEN ? AND ? GROUP BY member_id",
                (*key, *part, *window),
            )
            out.update((row[0], int(row[1])) for row in rows)
        return out

    async def _names(self, key: Key, members: list[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for start in range(0, len(members), 500):
            part = members[start:start + 500]
            rows = await self.db.fetchall(
                "SELECT member_id, display_name FROM members_seen WHERE platform = ? AND community_id = ?"
                f" AND member_id IN ({', '.join('?' * len(part))})",
                (*key, *part),
            )
            out.update((row[0], row[1]) for row in rows if row[1])
        return out

    async def closed_polls(self, community: Key | None, start: str, end: str) -> list[dict[str, object]]:
        where, params = _where(community, "p")
        rows = await self.db.fetchall(
            f"SELECT p.id, p.question, (SELECT COUNT(DISTINCT voter) FROM poll_votes v WHERE v.poll_id = p.id) AS voters,"
            " (SELECT o.label FROM poll_options o LEFT JOIN poll_votes v ON v.poll_id = o.poll_id AND v.position ="
            " o.position WHERE o.poll_id = p.id GROUP BY o.position ORDER BY COUNT(v.voter) DESC, o.position LIMIT 1)"
            f" AS leading FROM polls p WHERE {where} AND p.closed_at >= ? AND p.closed_at < ? AND p.deleted_at IS NULL"
            " ORDER BY p.closed_at",
            (*params, start, end),
        )
        return [dict(row) for row in rows]

    async def social(self, since: date, until: date) -> list[dict[str, object]]:
        """Per account on another network: the latest count by `until` and the change since
        the latest count at or before `since`, else since the first count in the window."""
        rows = await self.db.fetchall(
            "SELECT network, handle,"
            " (SELECT followers FROM social_counts c WHERE c.network = a.network AND c.handle = a.handle AND c.day <= ?"
            "  ORDER BY c.day DESC LIMIT 1) AS followers,"
            " (SELECT day FROM social_counts c WHERE c.network = a.network AND c.handle = a.handle AND c.day <= ?"
            "  ORDER BY c.day DESC LIMIT 1) AS day,"
            " COALESCE((SELECT followers FROM social_counts c WHERE c.network = a.network AND c.handle = a.handle"
            "  AND c.day <= ? ORDER BY c.day DESC LIMIT 1), (SELECT followers FROM social_counts c"
            "  WHERE c.network = a.network AND c.handle = a.handle AND c.day > ? ORDER BY c.day LIMIT 1)) AS before"
            " FROM (SELECT DISTINCT network, handle FROM social_counts) a ORDER BY network, handle",
            (until.isoformat(), until.isoformat(), since.isoformat(), since.isoformat()),
        )
        out = []
        for row in rows:
            if row["followers"] is None:
                continue
            change = None if row["before"] is None else int(row["followers"]) - int(row["before"])
            out.append({"network": row["network"], "handle": row["handle"], "followers": int(row["followers"]),
                        "as_of": row["day"], "change": change})  # fmt: skip
        return out

    # -- members --------------------------------------------------------------------------------

    async def member_activity(self, member: Member, community: Community, since: datetime) -> dict[str, int]:
        """The member's events since `since` by feature (or kind), most first; only what
        counts as activity (storage/activity.py), not housekeeping."""
        rows = await self.db.fetchall(
            "SELECT cog, kind, COUNT(*) FROM engagement_events WHERE platform = ? AND community_id = ?"
            " AND member_id = ? AND at >= ? GROUP BY 1, 2",
            (community.platform, community.id, member.id, iso(since)),
        )
        counts: dict[str, int] = {}
        for cog, kind, n in rows:
            if counts_as_activity(kind, cog):
                counts[cog or kind] = counts.get(cog or kind, 0) + int(n)
        return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))

    async def active_days(self, member: Member, community: Community) -> tuple[int, str | None]:
        row = await self.db.fetchone(
            "SELECT COUNT(*), MIN(day) FROM active_members WHERE platform = ? AND community_id = ? AND member_id = ?",
            (community.platform, community.id, member.id),
        )
        return (int(row[0]), row[1]) if row else (0, None)

    async def set_optout(self, member: Member, at: datetime, out: bool) -> None:
        if out:
            await self.db.execute(
                "INSERT OR IGNORE INTO stats_optouts (platform, member_id, at) VALUES (?, ?, ?)",
                (member.platform, member.id, iso(at)),
            )
        else:
            await self.db.execute(
                "DELETE FROM stats_optouts WHERE platform = ? AND member_id = ?", (member.platform, member.id)
            )

    async def opted_out(self, member: Member) -> bool:
        value = await self.db.scalar(
            "SELECT 1 FROM stats_optouts WHERE platform = ? AND member_id = ?", (member.platform, member.id)
        )
        return value is not None

    # -- retention of raw events -------------------------------------------------------------------

    async def prune(self, community: Key, before: datetime) -> int:
        """Delete raw events older than `before`; the rollups keep every figure whole."""
        await self.db.flush()
        return await self.db.execute(
            "DELETE FROM engagement_events WHERE platform = ? AND community_id = ? AND at < ?", (*community, iso(before))
        )

"""Read-only queries behind the growth figures, and the daily community snapshot.

Everything here reads the rollups (engagement_daily, engagement_hours, active_members,
first_engagement, follow_daily, community_snapshots), kept in the same transactions as the
raw events, so a report over a year of history does not scan the raw log. Days are the
community's local days (ISO dates), as recorded.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from bot.clock import iso
from bot.model import Community, Member
from storage.db import Database

Key = tuple[str, str]  # (platform, community_id)


def _where(community: Key | None, alias: str = "") -> tuple[str, tuple[str, ...]]:
    prefix = f"{alias}." if alias else ""
    if community is None:
        return "1 = 1", ()
    return f"{prefix}platform = ? AND {prefix}community_id = ?", community


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

    async def snapshots(self, community: Key | None, until: date) -> list[tuple[str, str, str, int, int]]:
        where, params = _where(community)
        rows = await self.db.fetchall(
            f"SELECT platform, community_id, day, members, followers FROM community_snapshots WHERE {where}"
            " AND day <= ? ORDER BY day",
            (*params, until.isoformat()),
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]

    async def follow_days(self, community: Key | None, until: date) -> list[tuple[str, str, str, int, int]]:
        """Follows and unfollows per community and local day, from the start of history."""
        where, params = _where(community)
        rows = await self.db.fetchall(
            f"SELECT platform, community_id, day, follows, unfollows FROM follow_daily WHERE {where} AND day <= ?"
            " ORDER BY day",
            (*params, until.isoformat()),
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]

    async def members_first_days(self, community: Key | None, until: date) -> list[tuple[str, str, str, int]]:
        """New members per community and local day of their first activity: the fallback
        member count on days without a snapshot."""
        where, params = _where(community)
        rows = await self.db.fetchall(
            f"SELECT platform, community_id, first, COUNT(*) FROM (SELECT platform, community_id, member_id,"
            f" MIN(day) AS first FROM active_members WHERE {where} GROUP BY platform, community_id, member_id)"
            " WHERE first <= ? GROUP BY 1, 2, 3 ORDER BY first",
            (*params, until.isoformat()),
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]

    # -- activity ---------------------------------------------------------------------------------

    async def daily_active(self, community: Key | None, since: date, until: date) -> dict[str, int]:
        where, params = _where(community)
        rows = await self.db.fetchall(
            f"SELECT day, COUNT(*) FROM active_members WHERE {where} AND day BETWEEN ? AND ? GROUP BY day",
            (*params, since.isoformat(), until.isoformat()),
        )
        return {row[0]: int(row[1]) for row in rows}

    async def distinct_active(self, community: Key | None, since: date, until: date) -> int:
        """Members active at least once from `since` to `until` (WAU: 7 days, MAU: 28)."""
        where, params = _where(community)
        value = await self.db.scalar(
            f"SELECT COUNT(*) FROM (SELECT DISTINCT platform, community_id, member_id FROM active_members"
            f" WHERE {where} AND day BETWEEN ? AND ?)",
            (*params, since.isoformat(), until.isoformat()),
        )
        return int(value or 0)

    async def retention(self, community: Key | None, since: date, until: date) -> tuple[int, int]:
        """(members whose first active day falls in the window, those of them active again
        within the 7 days after it). Members newer than a week before `until` are left out."""
        where, params = _where(community)
        last_first = (until - timedelta(days=7)).isoformat()
        row = await self.db.fetchone(
            f"WITH firsts AS (SELECT platform, community_id, member_id, MIN(day) AS first FROM active_members"
            f" WHERE {where} GROUP BY platform, community_id, member_id)"
            " SELECT COUNT(*), COALESCE(SUM(EXISTS (SELECT 1 FROM active_members a WHERE a.platform = f.platform"
            " AND a.community_id = f.community_id AND a.member_id = f.member_id AND a.day > f.first"
            " AND a.day <= date(f.first, '+7 days'))), 0) FROM firsts f WHERE f.first BETWEEN ? AND ?",
            (*params, since.isoformat(), last_first),
        )
        return (int(row[0]), int(row[1])) if row else (0, 0)

    async def events_by_feature(self, community: Key | None, since: date, until: date) -> dict[str, int]:
        where, params = _where(community)
        rows = await self.db.fetchall(
            f"SELECT cog, SUM(events) FROM engagement_daily WHERE {where} AND day BETWEEN ? AND ? AND cog != ''"
            " AND kind NOT IN ('member_joined', 'member_left') GROUP BY cog",
            (*params, since.isoformat(), until.isoformat()),
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
        followed within 14 days after)."""
        where, params = _where(community, "e")
        rows = await self.db.fetchall(
            f"SELECT e.cog, COUNT(*), COALESCE(SUM(EXISTS (SELECT 1 FROM follow_history h WHERE h.platform = e.platform"
            f" AND h.community_id = e.community_id AND h.member_id = e.member_id AND h.followed = 1"
            f" AND h.day >= e.day AND h.day <= date(e.day, '+14 days'))), 0)"
            f" FROM first_engagement e WHERE {where} AND e.day BETWEEN ? AND ? GROUP BY e.cog",
            (*params, since.isoformat(), until.isoformat()),
        )
        return {row[0]: (int(row[1]), int(row[2])) for row in rows}

    async def hours(self, community: Key | None) -> list[int]:
        """Events by hour of the week (0 = Monday 00:00 local), all time."""
        where, params = _where(community)
        rows = await self.db.fetchall(
            f"SELECT hour_of_week, SUM(events) FROM engagement_hours WHERE {where} GROUP BY hour_of_week", params
        )
        counts = [0] * 168
        for hour, events in rows:
            if 0 <= hour < 168:
                counts[hour] = int(events)
        return counts

    async def top_members(self, community: Key | None, since: date, until: date, limit: int = 10) -> list[tuple[str, int]]:
        """The most active members in the window (from the daily rollup), leaving out those
        who opted out."""
        where, params = _where(community)
        rows = await self.db.fetchall(
            f"SELECT COALESCE((SELECT s.display_name FROM members_seen s WHERE s.platform = t.platform"
            f" AND s.community_id = t.community_id AND s.member_id = t.member_id), t.member_id), t.n"
            f" FROM (SELECT platform, community_id, member_id, SUM(events) AS n FROM active_members"
            f" WHERE {where} AND day BETWEEN ? AND ? AND member_id NOT LIKE 'forgotten:%'"
            " GROUP BY platform, community_id, member_id) t"
            " WHERE NOT EXISTS (SELECT 1 FROM stats_optouts o WHERE o.platform = t.platform AND o.member_id = t.member_id)"
            " ORDER BY t.n DESC, 1 LIMIT ?",
            (*params, since.isoformat(), until.isoformat(), limit),
        )
        return [(row[0], int(row[1])) for row in rows]

    async def closed_polls(self, community: Key | None, start: str, end: str) -> list[dict[str, object]]:
        where, params = _where(community, "p")
        rows = await self.db.fetchall(
            f"SELECT p.id, p.question, (SELECT COUNT(DISTINCT voter) FROM poll_votes v WHERE v.poll_id = p.id) AS voters,"
            " (SELECT o.label FROM poll_options o LEFT JOIN poll_votes v ON v.poll_id = o.poll_id AND v.position ="
            " o.position WHERE o.poll_id = p.id GROUP BY o.position ORDER BY COUNT(v.voter) DESC, o.position LIMIT 1)"
            f" AS leading FROM polls p WHERE {where} AND p.closed_at >= ? AND p.closed_at < ? ORDER BY p.closed_at",
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
        rows = await self.db.fetchall(
            "SELECT COALESCE(cog, kind), COUNT(*) FROM engagement_events WHERE platform = ? AND community_id = ?"
            " AND member_id = ? AND at >= ? GROUP BY 1 ORDER BY 2 DESC",
            (community.platform, community.id, member.id, iso(since)),
        )
        return {row[0]: int(row[1]) for row in rows}

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

"""Read-only queries behind `alcts-bot report` and the organizers' growth figures."""

from __future__ import annotations

from datetime import datetime

from bot.clock import iso
from storage.db import Database


class ReportQueries:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def daily_activity(self, since: datetime) -> list[dict[str, object]]:
        """Per UTC day and platform: events, distinct active members, follows and unfollows."""
        await self.db.flush()
        rows = await self.db.fetchall(
            "SELECT substr(at, 1, 10) AS day, platform, COUNT(*) AS events,"
            " COUNT(DISTINCT member_id) AS active_members,"
            " SUM(CASE WHEN subject = 'follow' THEN 1 ELSE 0 END) AS follows,"
            " SUM(CASE WHEN subject = 'unfollow' THEN 1 ELSE 0 END) AS unfollows"
            " FROM engagement_events WHERE at >= ? GROUP BY day, platform ORDER BY day, platform",
            (iso(since),),
        )
        return [dict(row) for row in rows]

    async def events_by_kind(self, since: datetime) -> list[dict[str, object]]:
        rows = await self.db.fetchall(
            "SELECT kind, COALESCE(cog, '') AS cog, COUNT(*) AS events FROM engagement_events"
            " WHERE at >= ? GROUP BY kind, cog ORDER BY events DESC",
            (iso(since),),
        )
        return [dict(row) for row in rows]

    async def communities(self) -> list[dict[str, object]]:
        """Every community the bot knows, with its followers and latest member count."""
        rows = await self.db.fetchall(
            "SELECT c.platform, c.community_id,"
            " (SELECT COUNT(*) FROM follows f WHERE f.platform = c.platform"
            "   AND f.community_id = c.community_id) AS followers,"
            " COALESCE((SELECT m.members FROM member_counts m WHERE m.platform = c.platform"
            "   AND m.community_id = c.community_id ORDER BY m.at DESC, m.id DESC LIMIT 1),"
            "  (SELECT COUNT(*) FROM members_seen s WHERE s.platform = c.platform"
            "   AND s.community_id = c.community_id)) AS members"
            " FROM (SELECT DISTINCT platform, community_id FROM engagement_events"
            "  UNION SELECT platform, community_id FROM follows"
            "  UNION SELECT platform, community_id FROM member_counts) AS c"
            " ORDER BY c.platform, c.community_id"
        )
        return [dict(row) for row in rows]

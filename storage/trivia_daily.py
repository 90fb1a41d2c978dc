"""The daily question's storage: which channels have it on and at what time, each day's
question, and its reveal."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime

from bot.clock import from_iso, iso
from bot.model import Community, MessageRef, Place
from storage.db import Database
from storage.trivia import Asked


class DailyStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def set_daily_channel(self, place: Place, at: str, enabled: bool, by: str) -> None:
        await self.db.execute(
            "INSERT INTO trivia_daily_channels (platform, community_id, channel_id, channel_name, at, enabled,"
            " updated_by) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (platform, community_id, channel_id)"
            " DO UPDATE SET at = excluded.at, enabled = excluded.enabled, updated_by = excluded.updated_by",
            (place.platform, place.community.id, place.channel_id, place.channel_name, at, int(enabled), by),
        )

    async def daily_channel(self, place: Place) -> tuple[str, bool] | None:
        row = await self.db.fetchone(
            "SELECT at, enabled FROM trivia_daily_channels WHERE platform = ? AND community_id = ? AND channel_id = ?",
            (place.platform, place.community.id, place.channel_id),
        )
        return (row["at"], bool(row["enabled"])) if row else None

    async def post_daily(self, place: Place, day: str, question_id: str, choices: list[str], correct: int,
                         at: datetime) -> int | None:  # fmt: skip
        """Today's question for the channel, once; None if it was already posted."""
        try:
            return await self.db.insert(
                "INSERT INTO trivia_daily (platform, community_id, channel_id, channel_name, day, question_id,"
                " choices, correct, posted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (place.platform, place.community.id, place.channel_id, place.channel_name, day, question_id,
                 json.dumps(choices), correct, iso(at)),
            )  # fmt: skip
        except sqlite3.IntegrityError:
            return None

    async def daily_on(self, place: Place, day: str) -> Asked | None:
        """The channel's daily question for `day` (a local ISO date), if one was stored."""
        row = await self.db.fetchone(
            "SELECT * FROM trivia_daily WHERE platform = ? AND community_id = ? AND channel_id = ? AND day = ?",
            (place.platform, place.community.id, place.channel_id, day),
        )
        return _daily(row) if row else None

    async def daily_channels(self) -> list[tuple[Place, str]]:
        """Every channel with the daily question switched on, and its HH:MM."""
        rows = await self.db.fetchall("SELECT * FROM trivia_daily_channels WHERE enabled = 1")
        return [(Place(Community(row["platform"], row["community_id"]), row["channel_id"], row["channel_name"]), row["at"])
                for row in rows]  # fmt: skip

    async def set_daily_message(self, daily_id: int, ref: MessageRef) -> None:
        await self.db.execute("UPDATE trivia_daily SET message_ref = ? WHERE id = ?", (ref.encode(), daily_id))

    async def daily(self, daily_id: int) -> Asked | None:
        row = await self.db.fetchone("SELECT * FROM trivia_daily WHERE id = ?", (daily_id,))
        return _daily(row) if row else None

    async def current(self, community: Community) -> Asked | None:
        """The community's question of the day: the newest daily question that was posted
        (its message stored) and not yet revealed, in any channel; None when none is open.
        A community has at most one a day per channel, so this reads a handful of rows."""
        row = await self.db.fetchone(
            "SELECT * FROM trivia_daily WHERE platform = ? AND community_id = ? AND revealed_at IS NULL"
            " AND message_ref IS NOT NULL ORDER BY posted_at DESC, id DESC LIMIT 1",
            (community.platform, community.id),
        )
        return _daily(row) if row else None

    async def choice_of(self, daily_id: int, member_id: str) -> int | None:
        """The choice the member gave to a daily question, or None if they have not answered
        (one row at most: an answer is unique per daily question and member)."""
        value = await self.db.scalar(
            "SELECT choice FROM trivia_answers WHERE daily_id = ? AND member_id = ?", (daily_id, member_id)
        )
        return int(value) if value is not None else None

    async def unrevealed_dailies(self, place: Place) -> list[Asked]:
        rows = await self.db.fetchall(
            "SELECT * FROM trivia_daily WHERE platform = ? AND community_id = ? AND channel_id = ?"
            " AND revealed_at IS NULL ORDER BY day",
            (place.platform, place.community.id, place.channel_id),
        )
        return [_daily(row) for row in rows]

    async def reveal_daily(self, daily_id: int, at: datetime) -> bool:
        changed = await self.db.execute(
            "UPDATE trivia_daily SET revealed_at = ? WHERE id = ? AND revealed_at IS NULL", (iso(at), daily_id)
        )
        return changed > 0

    async def daily_question_ids(self, place: Place) -> list[str]:
        rows = await self.db.fetchall(
            "SELECT question_id FROM trivia_daily WHERE platform = ? AND community_id = ?",
            (place.platform, place.community.id),
        )
        return [row["question_id"] for row in rows]

    async def awaiting_reveal_when_off(self) -> list[tuple[Asked, str]]:
        """Daily questions not yet revealed in channels where the daily question is now off,
        each with the channel's time of day (its answer comes out then, as it would have)."""
        rows = await self.db.fetchall(
            "SELECT d.*, c.at AS channel_at FROM trivia_daily d JOIN trivia_daily_channels c"
            " ON c.platform = d.platform AND c.community_id = d.community_id AND c.channel_id = d.channel_id"
            " WHERE d.revealed_at IS NULL AND c.enabled = 0 ORDER BY d.id"
        )
        return [(_daily(row), row["channel_at"]) for row in rows]


def _daily(row: sqlite3.Row) -> Asked:
    place = Place(Community(row["platform"], row["community_id"]), row["channel_id"], row["channel_name"])
    return Asked(
        question_id=row["question_id"],
        choices=tuple(json.loads(row["choices"])),
        correct=row["correct"],
        asked_at=from_iso(row["posted_at"]),
        closes_at=None,
        revealed=row["revealed_at"] is not None,
        message=MessageRef.decode(row["message_ref"]) if row["message_ref"] else None,
        daily_id=row["id"],
        place=place,
    )

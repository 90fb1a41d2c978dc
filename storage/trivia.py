"""Trivia rounds, asked questions, daily questions, answers, flags and leaderboards."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime

from bot.clock import from_iso, iso
from bot.model import Community, Member, MessageRef, Place
from storage.db import Database


@dataclass(frozen=True)
class Round:
    id: int
    place: Place
    starter_id: str | None
    category: str | None
    total: int
    seconds: int
    status: str
    winner_id: str | None = None


@dataclass(frozen=True)
class Asked:
    """One question as asked: in a round (round_id, position) or as a daily question (daily_id)."""

    question_id: str
    choices: tuple[str, ...]
    correct: int
    asked_at: datetime
    closes_at: datetime | None
    revealed: bool
    message: MessageRef | None
    round_id: int | None = None
    position: int | None = None
    daily_id: int | None = None
    place: Place | None = None
    reveal_posted: bool = False


@dataclass(frozen=True)
class Score:
    member_id: str | None
    name: str
    points: int
    correct: int
    answered: int


@dataclass(frozen=True)
class MemberStats:
    answered: int
    correct: int
    points: int
    best_streak: int
    wins: int


class TriviaStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- rounds ---------------------------------------------------------------------------

    async def start_round(
        self, place: Place, starter_id: str, category: str | None, total: int, seconds: int, at: datetime
    ) -> int | None:
        """A new round, or None when this channel already has one running."""
        try:
            return await self.db.insert(
                "INSERT INTO trivia_rounds (platform, community_id, channel_id, channel_name, starter_id,"
                " category, total, seconds, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (place.platform, place.community.id, place.channel_id, place.channel_name, starter_id,
                 category, total, seconds, iso(at)),
            )  # fmt: skip
        except sqlite3.IntegrityError:
            return None

    async def round(self, round_id: int) -> Round | None:
        row = await self.db.fetchone("SELECT * FROM trivia_rounds WHERE id = ?", (round_id,))
        return _round(row) if row else None

    async def running_round(self, place: Place) -> Round | None:
        row = await self.db.fetchone(
            "SELECT * FROM trivia_rounds WHERE platform = ? AND community_id = ? AND channel_id = ?"
            " AND status = 'running'",
            (place.platform, place.community.id, place.channel_id),
        )
        return _round(row) if row else None

    async def running_rounds(self) -> list[Round]:
        rows = await self.db.fetchall("SELECT * FROM trivia_rounds WHERE status = 'running' ORDER BY id")
        return [_round(row) for row in rows]

    async def last_activity(self, round_id: int) -> datetime | None:
        """When the round last did something: its latest question's deadline, else its start."""
        value = await self.db.scalar(
            "SELECT COALESCE((SELECT MAX(closes_at) FROM trivia_asked WHERE round_id = r.id), r.started_at)"
            " FROM trivia_rounds r WHERE r.id = ?",
            (round_id,),
        )
        return from_iso(value) if value else None

    async def finish_round(self, round_id: int, status: str, at: datetime) -> bool:
        """End the round once; the winner counts only with three or more players."""
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE trivia_rounds SET status = ?, ended_at = ? WHERE id = ? AND status = 'running'",
                (status, iso(at), round_id),
            )
            if cur.rowcount == 0:
                return False
            async with conn.execute(
                "SELECT member_id, SUM(points) AS points FROM trivia_answers WHERE round_id = ?"
                " GROUP BY member_id ORDER BY points DESC, MIN(answered_at)",
                (round_id,),
            ) as cur:
                scores = list(await cur.fetchall())
            winner = scores[0]["member_id"] if len(scores) >= 3 and scores[0]["points"] > 0 else None
            await conn.execute(
                "UPDATE trivia_rounds SET players = ?, winner_id = ? WHERE id = ?",
                (len(scores), winner, round_id),
            )
        return True

    async def ask(self, round_id: int, position: int, question_id: str, choices: list[str], correct: int,
                  asked_at: datetime, closes_at: datetime) -> None:  # fmt: skip
        await self.db.execute(
            "INSERT INTO trivia_asked (round_id, position, question_id, choices, correct, asked_at, closes_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (round_id, position, question_id, json.dumps(choices), correct, iso(asked_at), iso(closes_at)),
        )

    async def set_asked_message(self, round_id: int, position: int, ref: MessageRef) -> None:
        await self.db.execute(
            "UPDATE trivia_asked SET message_ref = ? WHERE round_id = ? AND position = ?",
            (ref.encode(), round_id, position),
        )

    async def asked(self, round_id: int, position: int) -> Asked | None:
        row = await self.db.fetchone(
            "SELECT * FROM trivia_asked WHERE round_id = ? AND position = ?", (round_id, position)
        )
        return _asked(row) if row else None

    async def open_question(self, place: Place) -> tuple[Round, Asked] | None:
        """The running round's question that is still open for answers in this channel."""
        found = await self.running_round(place)
        if found is None:
            return None
        row = await self.db.fetchone(
            "SELECT * FROM trivia_asked WHERE round_id = ? AND revealed_at IS NULL"
            " ORDER BY position DESC LIMIT 1",
            (found.id,),
        )
        return (found, _asked(row)) if row else None

    async def reveal(self, round_id: int, position: int, at: datetime) -> bool:
        changed = await self.db.execute(
            "UPDATE trivia_asked SET revealed_at = ? WHERE round_id = ? AND position = ? AND revealed_at IS NULL",
            (iso(at), round_id, position),
        )
        return changed > 0

    async def mark_reveal_posted(self, round_id: int, position: int, at: datetime) -> None:
        await self.db.execute(
            "UPDATE trivia_asked SET reveal_posted_at = ? WHERE round_id = ? AND position = ?"
            " AND reveal_posted_at IS NULL",
            (iso(at), round_id, position),
        )

    async def asked_count(self, round_id: int) -> int:
        return int(await self.db.scalar("SELECT COUNT(*) FROM trivia_asked WHERE round_id = ?", (round_id,)) or 0)

    async def recently_asked(self, community: Community, limit: int = 500) -> list[str]:
        rows = await self.db.fetchall(
            "SELECT a.question_id FROM trivia_asked a JOIN trivia_rounds r ON r.id = a.round_id"
            " WHERE r.platform = ? AND r.community_id = ? ORDER BY a.asked_at DESC LIMIT ?",
            (community.platform, community.id, limit),
        )
        return [row["question_id"] for row in rows]

    # -- answers --------------------------------------------------------------------------

    async def answer(
        self, asked: Asked, community: Community, member: Member, category: str, choice: int,
        points_if_right: int, at: datetime,
    ) -> tuple[bool, int] | None:  # fmt: skip
        """Record one answer; None if the member already answered. Returns (correct, points)."""
        correct = choice == asked.correct
        streak = 0
        if correct and asked.round_id is not None and asked.position:
            previous = await self.db.fetchone(
                "SELECT correct, streak FROM trivia_answers WHERE round_id = ? AND position = ? AND member_id = ?",
                (asked.round_id, asked.position - 1, member.id),
            )
            streak = previous["streak"] + 1 if previous and previous["correct"] else 1
        elif correct:
            streak = 1
        points = points_if_right + streak_bonus(streak) if correct else 0
        try:
            await self.db.insert(
                "INSERT INTO trivia_answers (round_id, position, daily_id, platform, community_id, member_id,"
                " member_name, question_id, category, choice, correct, points, streak, answered_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (asked.round_id, asked.position, asked.daily_id, community.platform, community.id, member.id,
                 member.display_name, asked.question_id, category, choice, int(correct), points, streak,
                 iso(at)),
            )  # fmt: skip
        except sqlite3.IntegrityError:
            return None
        return correct, points

    async def answers(self, asked: Asked) -> list[tuple[str, int, bool, int]]:
        """(member name, choice, correct, points) for one asked question, fastest first."""
        if asked.daily_id is not None:
            rows = await self.db.fetchall(
                "SELECT member_name, choice, correct, points FROM trivia_answers WHERE daily_id = ?"
                " ORDER BY answered_at, id",
                (asked.daily_id,),
            )
        else:
            rows = await self.db.fetchall(
                "SELECT member_name, choice, correct, points FROM trivia_answers WHERE round_id = ?"
                " AND position = ? ORDER BY answered_at, id",
                (asked.round_id, asked.position),
            )
        return [(r["member_name"], r["choice"], bool(r["correct"]), r["points"]) for r in rows]

    async def round_scores(self, round_id: int) -> list[Score]:
        rows = await self.db.fetchall(
            "SELECT member_id, MAX(member_name) AS name, SUM(points) AS points, SUM(correct) AS correct,"
            " COUNT(*) AS answered FROM trivia_answers WHERE round_id = ? GROUP BY member_id"
            " ORDER BY points DESC, correct DESC, MIN(answered_at)",
            (round_id,),
        )
        return [_score(r) for r in rows]

    async def leaderboard(
        self, platform: str | None, community_id: str | None, since: datetime | None,
        category: str | None, limit: int = 10,
    ) -> list[Score]:  # fmt: skip
        rows = await self.db.fetchall(
            "SELECT member_id, MAX(member_name) AS name, SUM(points) AS points, SUM(correct) AS correct,"
            " COUNT(*) AS answered FROM trivia_answers"
            " WHERE member_id IS NOT NULL AND (? IS NULL OR platform = ?) AND (? IS NULL OR community_id = ?)"
            " AND (? IS NULL OR answered_at >= ?) AND (? IS NULL OR category = ?)"
            " GROUP BY platform, member_id ORDER BY points DESC, correct DESC LIMIT ?",
            (platform, platform, community_id, community_id, iso(since) if since else None,
             iso(since) if since else None, category, category, limit),
        )  # fmt: skip
        return [_score(r) for r in rows]

    async def member_stats(self, member: Member) -> MemberStats:
        row = await self.db.fetchone(
            "SELECT COUNT(*) AS answered, COALESCE(SUM(correct), 0) AS correct,"
            " COALESCE(SUM(points), 0) AS points, COALESCE(MAX(streak), 0) AS best"
            " FROM trivia_answers WHERE platform = ? AND member_id = ?",
            (member.platform, member.id),
        )
        wins = await self.db.scalar(
            "SELECT COUNT(*) FROM trivia_rounds WHERE platform = ? AND winner_id = ? AND players >= 3",
            (member.platform, member.id),
        )
        assert row is not None
        return MemberStats(row["answered"], row["correct"], row["points"], row["best"], int(wins or 0))

    # -- daily questions --------------------------------------------------------------------

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

    # -- disputes ---------------------------------------------------------------------------

    async def flag(self, question_id: str, community: Community, member: Member, by_moderator: bool,
                   reason: str, at: datetime) -> None:  # fmt: skip
        await self.db.insert(
            "INSERT INTO trivia_flags (question_id, platform, community_id, member_id, member_name,"
            " by_moderator, reason, flagged_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (question_id, community.platform, community.id, member.id, member.display_name,
             int(by_moderator), reason, iso(at)),
        )  # fmt: skip

    async def flags(self, community: Community) -> list[tuple[str, int, bool, str]]:
        """(question id, number of flags, disabled by a moderator, latest reason)."""
        rows = await self.db.fetchall(
            "SELECT question_id, COUNT(*) AS n, MAX(by_moderator) AS disabled, MAX(flagged_at) AS latest,"
            " (SELECT reason FROM trivia_flags f2 WHERE f2.question_id = f.question_id"
            "  AND f2.platform = f.platform AND f2.community_id = f.community_id"
            "  ORDER BY f2.flagged_at DESC, f2.id DESC LIMIT 1) AS reason"
            " FROM trivia_flags f WHERE platform = ? AND community_id = ?"
            " GROUP BY question_id ORDER BY latest DESC",
            (community.platform, community.id),
        )
        return [(r["question_id"], r["n"], bool(r["disabled"]), r["reason"]) for r in rows]

    async def disabled(self, community: Community) -> set[str]:
        rows = await self.db.fetchall(
            "SELECT DISTINCT question_id FROM trivia_flags WHERE platform = ? AND community_id = ? AND by_moderator = 1",
            (community.platform, community.id),
        )
        return {row["question_id"] for row in rows}

    async def forget_member(self, member: Member) -> int:
        """Scores go; rounds keep their totals with the member's name removed."""
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "DELETE FROM trivia_answers WHERE platform = ? AND member_id = ?", (member.platform, member.id)
            )
            removed = cur.rowcount
            await conn.execute(
                "UPDATE trivia_flags SET member_id = NULL, member_name = '' WHERE platform = ? AND member_id = ?",
                (member.platform, member.id),
            )
            await conn.execute(
                "UPDATE trivia_rounds SET winner_id = NULL WHERE platform = ? AND winner_id = ?",
                (member.platform, member.id),
            )
            await conn.execute(
                "UPDATE trivia_rounds SET starter_id = NULL WHERE platform = ? AND starter_id = ?",
                (member.platform, member.id),
            )
            await conn.execute(
                "UPDATE trivia_daily_channels SET updated_by = '' WHERE platform = ? AND updated_by = ?",
                (member.platform, member.id),
            )
        return removed


def streak_bonus(streak: int) -> int:
    """A run of right answers earns 25 points for each answer after the first, up to 100."""
    return min(max(streak - 1, 0) * 25, 100)


def _round(row: sqlite3.Row) -> Round:
    place = Place(Community(row["platform"], row["community_id"]), row["channel_id"], row["channel_name"])
    return Round(row["id"], place, row["starter_id"], row["category"], row["total"], row["seconds"], row["status"],
                 row["winner_id"])


def _asked(row: sqlite3.Row) -> Asked:
    return Asked(
        question_id=row["question_id"],
        choices=tuple(json.loads(row["choices"])),
        correct=row["correct"],
        asked_at=from_iso(row["asked_at"]),
        closes_at=from_iso(row["closes_at"]),
        revealed=row["revealed_at"] is not None,
        message=MessageRef.decode(row["message_ref"]) if row["message_ref"] else None,
        round_id=row["round_id"],
        position=row["position"],
        reveal_posted=row["reveal_posted_at"] is not None,
    )


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


def _score(row: sqlite3.Row) -> Score:
    return Score(row["member_id"], row["name"], int(row["points"] or 0), int(row["correct"] or 0), row["answered"])

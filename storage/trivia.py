"""Trivia rounds, asked questions, answers, standings and leaderboards. The daily
question's rows are in storage/trivia_daily.py, disputes in storage/trivia_flags.py."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime

from bot.clock import from_iso, iso
from bot.model import Community, Member, MessageRef, Place
from storage.db import Database
from storage.trivia_flags import FlagStore


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
    """A member's total in a round or on a board. `reached_at`: when their last points
    came in (they reached this score then), the last tie-break of a round."""

    member_id: str | None
    name: str
    points: int
    correct: int
    answered: int
    reached_at: datetime | None = None

    @property
    def tie_key(self) -> tuple[int, int, str]:
        """What orders a round's standings: points, then right answers, then who got there first."""
        return (-self.points, -self.correct, iso(self.reached_at) if self.reached_at else "~")


@dataclass(frozen=True)
class MemberStats:
    answered: int
    correct: int
    points: int
    best_streak: int
    wins: int


@dataclass(frozen=True)
class Standing:
    """A member on the community's board for a period: points, rank (None: not played), players."""

    points: int
    rank: int | None
    players: int


ROUND_SCORES = (
    "SELECT member_id, MAX(member_name) AS name, SUM(points) AS points, SUM(correct) AS correct,"
    " COUNT(*) AS answered, MAX(CASE WHEN points > 0 THEN answered_at END) AS reached"
    " FROM trivia_answers WHERE round_id = ? GROUP BY member_id"
    " ORDER BY points DESC, correct DESC, reached IS NULL, reached, name"
)
"""A round's standings: points, then right answers, then who reached their score first."""


class TriviaStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.flags = FlagStore(db)

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
        """End the round once; the winner counts only with three or more players, a score
        above 0 and no full tie (see `round_winner`)."""
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE trivia_rounds SET status = ?, ended_at = ? WHERE id = ? AND status = 'running'",
                (status, iso(at), round_id),
            )
            if cur.rowcount == 0:
                return False
            async with conn.execute(ROUND_SCORES, (round_id,)) as cur:
                scores = [_score(row) for row in await cur.fetchall()]
            await conn.execute(
                "UPDATE trivia_rounds SET players = ?, winner_id = ? WHERE id = ?",
                (len(scores), round_winner(scores), round_id),
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
        """The round's standings, best first (`ROUND_SCORES`)."""
        return [_score(r) for r in await self.db.fetchall(ROUND_SCORES, (round_id,))]

    async def leaderboard(
        self, platform: str | None, community_id: str | None, since: datetime | None,
        category: str | None, limit: int = 10,
    ) -> list[Score]:  # fmt: skip
        rows = await self.db.fetchall(
            "SELECT member_id, MAX(member_name) AS name, SUM(points) AS points, SUM(correct) AS correct,"
            " COUNT(*) AS answered, NULL AS reached FROM trivia_answers"
            " WHERE member_id IS NOT NULL AND (? IS NULL OR platform = ?) AND (? IS NULL OR community_id = ?)"
            " AND (? IS NULL OR answered_at >= ?) AND (? IS NULL OR category = ?)"
            " GROUP BY platform, member_id ORDER BY points DESC, correct DESC, name LIMIT ?",
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

    async def standing(self, member: Member, community: Community, since: datetime) -> Standing:
        """The member's points here since `since`, their rank among the community's players
        in that time (equal points share a rank: 1, 1, 3; None when they have not played)
        and how many played. One pass over the window's answers (the board index)."""
        row = await self.db.fetchone(
            "WITH board AS (SELECT member_id, SUM(points) AS points FROM trivia_answers WHERE platform = ?"
            " AND community_id = ? AND answered_at >= ? AND member_id IS NOT NULL GROUP BY member_id),"
            " me AS (SELECT points FROM board WHERE member_id = ?)"
            " SELECT (SELECT COUNT(*) FROM board) AS players, (SELECT points FROM me) AS points,"
            " (SELECT COUNT(*) FROM board WHERE points > (SELECT points FROM me)) AS ahead",
            (community.platform, community.id, iso(since), member.id),
        )
        assert row is not None
        played = row["points"] is not None
        return Standing(int(row["points"] or 0), int(row["ahead"]) + 1 if played else None, int(row["players"]))

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


def round_winner(scores: list[Score]) -> str | None:
    """The winner of a round: the first of the standings, with three or more players and a
    score above 0, unless the second is level on every tie-break (then nobody wins)."""
    if len(scores) < 3 or scores[0].points <= 0 or scores[0].tie_key == scores[1].tie_key:
        return None
    return scores[0].member_id


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


def _score(row: sqlite3.Row) -> Score:
    reached = row["reached"]
    return Score(row["member_id"], row["name"], int(row["points"] or 0), int(row["correct"] or 0), row["answered"],
                 from_iso(reached) if reached else None)

"""Disputed trivia questions: one flag per member and question in a community (flagging
again updates the reason), a moderator's flag sets the question aside there, and a
moderator's restore clears the question's flags and puts it back in play."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.clock import from_iso, iso
from bot.model import Community, Member
from storage.db import Database

QUEUE_ROWS = 2000
"""At most this many flags are read for the queue (newest first)."""


@dataclass(frozen=True)
class Flag:
    member_name: str
    reason: str
    by_moderator: bool
    at: datetime


@dataclass(frozen=True)
class Disputed:
    """A flagged question: how many members flagged it, whether it is set aside, and each
    member's reason (newest first)."""

    question_id: str
    flags: tuple[Flag, ...]

    @property
    def members(self) -> int:
        return len(self.flags)

    @property
    def set_aside(self) -> bool:
        return any(flag.by_moderator for flag in self.flags)


class FlagStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def flag(self, question_id: str, community: Community, member: Member, by_moderator: bool,
                   reason: str, at: datetime) -> bool:  # fmt: skip
        """Record the member's flag; True when it is their first on this question here (a
        second one replaces their reason; a moderator's flag sets the question aside)."""
        key = (question_id, community.platform, community.id, member.id)
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE trivia_flags SET reason = ?, flagged_at = ?, member_name = ?,"
                " by_moderator = MAX(by_moderator, ?)"
                " WHERE question_id = ? AND platform = ? AND community_id = ? AND member_id = ?",
                (reason, iso(at), member.display_name, int(by_moderator), *key),
            )
            if cur.rowcount:
                return False
            await conn.execute(
                "INSERT INTO trivia_flags (question_id, platform, community_id, member_id, member_name,"
                " by_moderator, reason, flagged_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (question_id, community.platform, community.id, member.id, member.display_name,
                 int(by_moderator), reason, iso(at)),
            )  # fmt: skip
        return True

    async def queue(self, community: Community) -> list[Disputed]:
        """Every flagged question here, the most recently flagged first; a member counted
        once per question (their latest reason). Flags of members who used forget-me are
        anonymous and each counts on its own."""
        rows = await self.db.fetchall(
            "SELECT question_id, member_id, member_name, by_moderator, reason, flagged_at FROM trivia_flags"
            " WHERE platform = ? AND community_id = ? ORDER BY flagged_at DESC, id DESC LIMIT ?",
            (community.platform, community.id, QUEUE_ROWS),
        )
        by_question: dict[str, list[Flag]] = {}
        seen: set[tuple[str, str]] = set()
        for row in rows:
            if row["member_id"] is not None:
                if (row["question_id"], row["member_id"]) in seen:
                    continue  # an older duplicate from before one flag per member
                seen.add((row["question_id"], row["member_id"]))
            by_question.setdefault(row["question_id"], []).append(
                Flag(row["member_name"], row["reason"], bool(row["by_moderator"]), from_iso(row["flagged_at"]))
            )
        return [Disputed(qid, tuple(flags)) for qid, flags in by_question.items()]

    async def disputed(self, question_id: str, community: Community) -> Disputed | None:
        found = [d for d in await self.queue(community) if d.question_id == question_id]
        return found[0] if found else None

    async def disabled(self, community: Community) -> set[str]:
        """Questions a moderator has set aside here."""
        rows = await self.db.fetchall(
            "SELECT DISTINCT question_id FROM trivia_flags WHERE platform = ? AND community_id = ? AND by_moderator = 1",
            (community.platform, community.id),
        )
        return {row["question_id"] for row in rows}

    async def clear(self, question_id: str, community: Community) -> int:
        """A moderator's restore: the question's flags here are resolved and removed, so it
        is back in play. Returns how many flags went."""
        return await self.db.execute(
            "DELETE FROM trivia_flags WHERE question_id = ? AND platform = ? AND community_id = ?",
            (question_id, community.platform, community.id),
        )

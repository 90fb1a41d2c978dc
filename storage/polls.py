"""Polls, their options and votes.

`poll_votes.voter` is the member id for open polls and a keyed hash of the member for
anonymous ones (see cogs/polls), so the database never links an anonymous vote to a person.
Anonymous votes carry no time and no row id (WITHOUT ROWID), and they are written by
`BallotBox` (storage/ballots.py): in batches, in random order, with the write-ahead log
checkpointed away before a click is answered, so neither the log nor the page layout keeps
the order in which they were cast.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial

from bot.clock import from_iso, iso
from bot.model import Community, MessageRef, Place
from storage.ballots import BallotBox, VoteChange, ballots_of, store_shuffled, toggle
from storage.db import Database
from storage.single_flight import SingleFlight
from storage.unit_of_work import Rider, Tx

__all__ = ["BallotBox", "Poll", "PollStore", "Tally", "VoteChange"]


@dataclass(frozen=True)
class Poll:
    id: int
    place: Place
    creator_id: str | None
    creator_name: str
    question: str
    options: tuple[str, ...]
    multi: int
    anonymous: bool
    hidden: bool
    created_at: datetime
    closes_at: datetime | None
    closed_at: datetime | None
    message: MessageRef | None
    announced_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    def accepts_votes(self, now: datetime) -> bool:
        """Open, and before its deadline: the stored deadline decides, not the close timer."""
        return self.closed_at is None and (self.closes_at is None or now < self.closes_at)


@dataclass(frozen=True)
class Tally:
    counts: tuple[int, ...]
    voters: int


class PollStore:
    def __init__(self, db: Database, ballots: BallotBox | None = None) -> None:
        self.db = db
        self.ballots = ballots or BallotBox(db)  # anonymous polls' votes go through it
        # every change to a poll row goes through this store, which forgets (or, for a new
        # message, updates) the cached copy; concurrent readers of a poll not cached share
        # one load (a burst of votes after a restart or a close)
        self._cache: SingleFlight[int, Poll] = SingleFlight(self._load)

    async def create(
        self, place: Place, creator_id: str, creator_name: str, question: str,
        options: list[str], multi: int, anonymous: bool, hidden: bool,
        created_at: datetime, closes_at: datetime | None,
    ) -> int:  # fmt: skip
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "INSERT INTO polls (platform, community_id, channel_id, channel_name, creator_id,"
                " creator_name, question, multi, anonymous, hidden, created_at, closes_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (place.platform, place.community.id, place.channel_id, place.channel_name,
                 creator_id, creator_name, question, multi, int(anonymous), int(hidden),
                 iso(created_at), iso(closes_at) if closes_at else None),
            )  # fmt: skip
            poll_id = int(cur.lastrowid or 0)
            await conn.executemany(
                "INSERT INTO poll_options (poll_id, position, label) VALUES (?, ?, ?)",
                [(poll_id, position, label) for position, label in enumerate(options)],
            )
        return poll_id

    async def get(self, poll_id: int, community: Community | None = None) -> Poll | None:
        """The poll, if it exists (and belongs to `community`, when one is given)."""
        poll = await self._cache.get(poll_id)
        if poll is None:
            return None
        if community is not None and (poll.place.platform, poll.place.community.id) != (community.platform, community.id):
            return None
        return poll

    async def delete(self, poll_id: int, at: datetime, except_voter: str | None = None) -> bool:
        """Delete the poll's question, options and ballots in one transaction, unless someone
        other than `except_voter` has voted (when it is given). The row stays, emptied and
        marked deleted, so its number is never given to another poll. True when it went."""

        def remove(tx: Tx) -> bool:
            if except_voter is not None and tx.scalar(
                "SELECT 1 FROM poll_votes WHERE poll_id = ? AND voter != ? LIMIT 1", (poll_id, except_voter)
            ):  # fmt: skip
                return False
            tx.execute("DELETE FROM poll_votes WHERE poll_id = ?", (poll_id,))
            tx.execute("DELETE FROM poll_options WHERE poll_id = ?", (poll_id,))
            return tx.execute(
                "UPDATE polls SET question = '', creator_id = NULL, creator_name = '', closed_at = COALESCE(closed_at, ?),"
                " announced_at = COALESCE(announced_at, ?), deleted_at = ? WHERE id = ? AND deleted_at IS NULL",
                (iso(at), iso(at), iso(at), poll_id),
            ) > 0

        deleted = bool(await self.db.unit(remove))
        self._forget(poll_id)
        return deleted

    def _forget(self, poll_id: int) -> None:
        self._cache.forget(poll_id)

    async def _load(self, poll_id: int) -> Poll | None:
        row = await self.db.fetchone("SELECT * FROM polls WHERE id = ? AND deleted_at IS NULL", (poll_id,))
        if row is None:
            return None
        options = await self.db.fetchall(
            "SELECT label FROM poll_options WHERE poll_id = ? ORDER BY position", (poll_id,)
        )
        community = Community(row["platform"], row["community_id"])
        return Poll(
            id=row["id"],
            place=Place(community, row["channel_id"], row["channel_name"]),
            creator_id=row["creator_id"],
            creator_name=row["creator_name"],
            question=row["question"],
            options=tuple(o["label"] for o in options),
            multi=row["multi"],
            anonymous=bool(row["anonymous"]),
            hidden=bool(row["hidden"]),
            created_at=from_iso(row["created_at"]),
            closes_at=from_iso(row["closes_at"]) if row["closes_at"] else None,
            closed_at=from_iso(row["closed_at"]) if row["closed_at"] else None,
            message=MessageRef.decode(row["message_ref"]) if row["message_ref"] else None,
            announced_at=from_iso(row["announced_at"]) if row["announced_at"] else None,
        )

    async def set_message(self, poll_id: int, ref: MessageRef) -> None:
        encoded = ref.encode()
        await self.db.execute("UPDATE polls SET message_ref = ? WHERE id = ?", (encoded, poll_id))
        # the cached poll is kept, with its message as a load would read it: the burst of
        # votes that follows a new poll's message finds it cached
        stored = MessageRef.decode(encoded)
        self._cache.replace(poll_id, lambda poll: replace(poll, message=stored))

    async def open_polls(self, community: Community, channel_id: str | None = None) -> list[int]:
        rows = await self.db.fetchall(
            "SELECT id FROM polls WHERE platform = ? AND community_id = ? AND closed_at IS NULL"
            " AND (? IS NULL OR channel_id = ?) ORDER BY id",
            (community.platform, community.id, channel_id, channel_id),
        )
        return [row["id"] for row in rows]

    async def open_deadlines(self) -> list[tuple[int, datetime]]:
        """(poll id, closes_at) of every open poll that has a deadline."""
        rows = await self.db.fetchall("SELECT id, closes_at FROM polls WHERE closed_at IS NULL AND closes_at IS NOT NULL")
        return [(row["id"], from_iso(row["closes_at"])) for row in rows]

    async def vote(
        self, poll_id: int, voter: str, position: int, multi: int, at: datetime | None, now: datetime,
        rider: Rider | None = None,
    ) -> VoteChange | None:  # fmt: skip
        """Toggle one option for one voter of an open (not anonymous) poll, atomically, by
        the rule of `toggle`; None when the poll is closed or its deadline (`closes_at`) is
        not after `now`. Anonymous polls vote through `self.ballots.cast`.

        One unit of work (read, decide, write), committed with the other votes of the
        moment (group commit); returns after the commit. `rider`: rows written in the same
        transaction, whatever the vote decided (the click's engagement event)."""
        stamp = iso(now)
        voted_at = stamp if at is now else iso(at) if at else None
        return await self.db.unit(partial(_vote, poll_id, voter, position, multi, voted_at, stamp), rider)

    async def tally(self, poll_id: int, options: int) -> Tally:
        rows = await self.db.fetchall(
            "SELECT position, COUNT(*) AS n FROM poll_votes WHERE poll_id = ? GROUP BY position",
            (poll_id,),
        )
        counts = [0] * options
        for row in rows:
            counts[row["position"]] = row["n"]
        voters = await self.db.scalar(
            "SELECT COUNT(DISTINCT voter) FROM poll_votes WHERE poll_id = ?", (poll_id,)
        )
        return Tally(tuple(counts), int(voters or 0))

    async def close(self, poll_id: int, at: datetime) -> bool:
        """True for the one call that closed it; later calls find it closed already."""
        changed = await self.db.execute(
            "UPDATE polls SET closed_at = ? WHERE id = ? AND closed_at IS NULL", (iso(at), poll_id)
        )
        self._forget(poll_id)
        return changed > 0

    async def open_with_message(self) -> list[int]:
        rows = await self.db.fetchall("SELECT id FROM polls WHERE closed_at IS NULL AND message_ref IS NOT NULL")
        return [row["id"] for row in rows]

    async def mark_announced(self, poll_id: int, at: datetime) -> bool:
        """Record that the results were posted; True for the one call that did."""
        changed = await self.db.execute(
            "UPDATE polls SET announced_at = ? WHERE id = ? AND announced_at IS NULL", (iso(at), poll_id)
        )
        self._forget(poll_id)
        return changed > 0

    async def unannounced(self) -> list[int]:
        """Closed polls whose results were never posted (a crash between close and post)."""
        rows = await self.db.fetchall("SELECT id FROM polls WHERE closed_at IS NOT NULL AND announced_at IS NULL")
        return [row["id"] for row in rows]

    async def votes(self, poll: Poll) -> list[tuple[str, int, str]]:
        """(voter's name, position, voted_at) for every vote, in the order they were cast."""
        await self.db.flush()  # members_seen is buffered: a voter seen just now is not written yet
        rows = await self.db.fetchall(
            "SELECT COALESCE(m.display_name, v.voter) AS name, v.position, v.voted_at"
            " FROM poll_votes v LEFT JOIN members_seen m ON m.platform = ? AND m.community_id = ?"
            " AND m.member_id = v.voter WHERE v.poll_id = ? ORDER BY v.voted_at, name",
            (poll.place.platform, poll.place.community.id, poll.id),
        )
        return [(r["name"], r["position"], r["voted_at"]) for r in rows]

    async def anonymous_poll_ids(self, platform: str) -> list[int]:
        rows = await self.db.fetchall(
            "SELECT id FROM polls WHERE platform = ? AND anonymous = 1", (platform,)
        )
        return [row["id"] for row in rows]

    async def forget_voter(self, platform: str, voters_by_poll: list[tuple[int, str]], member_id: str) -> int:
        """Delete a member's votes: plain ones by id, anonymous ones by their hash per poll.
        An anonymous poll that lost a ballot has the rest stored again in random order in
        the same transaction, and the log is checkpointed after, so no hole in a page and
        no older page image is left that would tell which ballot went."""
        rng = self.ballots.rng

        def forget(tx: Tx) -> tuple[int, bool]:
            touched = False
            removed = tx.execute(
                "DELETE FROM poll_votes WHERE voter = ? AND poll_id IN"
                " (SELECT id FROM polls WHERE platform = ? AND anonymous = 0)",
                (member_id, platform),
            )
            for poll_id, hashed in voters_by_poll:
                gone = tx.execute("DELETE FROM poll_votes WHERE poll_id = ? AND voter = ?", (poll_id, hashed))
                removed += gone
                if gone:
                    touched = True
                    store_shuffled(tx, poll_id, ballots_of(tx, poll_id), rng)
            tx.execute(
                "UPDATE polls SET creator_id = NULL, creator_name = '' WHERE platform = ? AND creator_id = ?",
                (platform, member_id),
            )
            return removed, touched

        removed, touched = await self.db.unit(forget)
        self._cache.clear()
        if touched:
            await self.ballots.erase_log()
        return removed


SELECT_VOTER = (
    "SELECT p.closed_at, p.closes_at, v.position FROM polls p LEFT JOIN poll_votes v"
    " ON v.poll_id = p.id AND v.voter = ? WHERE p.id = ? ORDER BY v.position"
)
DELETE_VOTE = "DELETE FROM poll_votes WHERE poll_id = ? AND voter = ? AND position = ?"
INSERT_VOTE = "INSERT INTO poll_votes (poll_id, voter, position, voted_at) VALUES (?, ?, ?, ?)"


def _vote(
    poll_id: int, voter: str, position: int, multi: int, voted_at: str | None, now: str, tx: Tx
) -> VoteChange | None:
    """The unit of work of one vote (see `PollStore.vote`); `now` and `voted_at` as stored."""
    rows = tx.fetchall(SELECT_VOTER, (voter, poll_id))
    if not rows:
        return None
    first = rows[0]
    if first["closed_at"] is not None or (first["closes_at"] is not None and first["closes_at"] <= now):
        return None
    chosen = [r["position"] for r in rows if r["position"] is not None]
    change = toggle(chosen, position, multi)
    if change.refused:
        return change
    for gone in sorted(set(chosen) - set(change.chosen)):
        tx.execute(DELETE_VOTE, (poll_id, voter, gone))
    for added in sorted(set(change.chosen) - set(chosen)):
        tx.execute(INSERT_VOTE, (poll_id, voter, added, voted_at))
    return change

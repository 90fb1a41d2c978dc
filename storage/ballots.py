"""Anonymous ballots, written so that the stored bytes do not keep the order of the clicks.

An anonymous poll stores a keyed hash of each voter (cogs/polls), no time, and no row id
(`poll_votes` is WITHOUT ROWID). What could still betray who voted what is *order*: a copy
of the data folder plus an outside record of who clicked when. Three places keep order in
SQLite, and `BallotBox` erases each:

- the write-ahead log: one commit per click lets a replay, commit by commit, line the
  ballots up with the clicks. Ballots that arrive within `gather_seconds` of each other (and
  those that arrive while a batch is being written) share one commit, and after each commit
  the log is checkpointed and truncated to zero bytes *before* any click of the batch is
  answered. So once a click is answered its commit is no longer in the log; at any moment
  the log holds at most the batch being written (plus, rarely, those whose checkpoint a
  long read held off: retried with back-off for about half a minute, then by the next
  batch or at start-up);
- cell placement inside a b-tree page: SQLite places a new cell below the last one, so
  offsets follow insertion order. Each batch deletes the poll's ballots and inserts them
  all again in random order (shuffled with `random.SystemRandom`, the OS's randomness), so
  placement follows the shuffle;
- deleted and free space: `secure_delete` (storage/db.py) zeroes deleted cells and freed
  pages, so no stale copy of a ballot or of an older page layout survives.

A batch still commits a set: a copy taken in the milliseconds between a batch's commit and
its checkpoint shows that batch's ballots (voter hash and option) as a set, not in order.

"Acknowledged means stored": `cast` returns only after its ballot's commit. A batch is one
unit of work (storage/unit_of_work.py): read, decided and rewritten in one call on the
writer's thread; its commit may also carry other units of the moment (a group commit),
which changes nothing above: the batch is still written, and erased from the log, as a set.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import random
import sqlite3
from collections.abc import Iterable
from contextlib import closing, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.clock import iso
from storage.db import Database
from storage.unit_of_work import Carried, Rider, Tx

log = logging.getLogger(__name__)

GATHER_SECONDS = 0.1  # a batch waits this long for other clicks to share its commit
MAX_BATCH = 2000  # clicks in one commit at most
CHECKPOINT_RETRIES = (0.05, 0.2, 1.0, 5.0, 30.0)  # seconds between tries while a reader holds the log
INSERT_BALLOT = "INSERT INTO poll_votes (poll_id, voter, position, voted_at) VALUES (?, ?, ?, NULL)"


@dataclass(frozen=True)
class VoteChange:
    """What a click did, and the voter's choices afterwards (option positions)."""

    chosen: tuple[int, ...]
    removed: bool = False
    refused: bool = False


def toggle(chosen: Iterable[int], position: int, multi: int) -> VoteChange:
    """The voting rule, for a voter whose choices are `chosen`: clicking a chosen option
    removes it; another is added while fewer than `multi` are chosen, and replaces the
    choice in a single-choice poll (`multi == 1`); otherwise the click is refused."""
    current = sorted(set(chosen))
    if position in current:
        return VoteChange(tuple(p for p in current if p != position), removed=True)
    if multi == 1:
        return VoteChange((position,))
    if len(current) < multi:
        return VoteChange(tuple(sorted([*current, position])))
    return VoteChange(tuple(current), refused=True)


@dataclass
class _Request:
    """One click on an anonymous poll, waiting for its batch."""

    poll_id: int
    voter: str
    position: int
    multi: int
    now: datetime
    done: asyncio.Future[VoteChange | None] = field(repr=False)
    carried: Carried | None = None  # a rider's rows and counts, written in the batch's transaction


class BallotBox:
    """Writes anonymous ballots in batches, in random order, and erases the log after.

    `rng` shuffles the rows of a batch (default `random.SystemRandom()`); `gather_seconds`
    is how long a batch waits for company; `max_batch` caps the clicks in one commit."""

    def __init__(
        self, db: Database, *, gather_seconds: float = GATHER_SECONDS, max_batch: int = MAX_BATCH,
        rng: random.Random | None = None,
    ) -> None:  # fmt: skip
        self.db = db
        self.gather_seconds = gather_seconds
        self.max_batch = max_batch
        self.rng = rng or random.SystemRandom()
        self.batches = 0  # commits written (for tests and benchmarks)
        self.checkpoints_refused = 0  # checkpoints a reader held off (each retried)
        self._waiting: list[_Request] = []
        self._writer: asyncio.Task[None] | None = None
        self._log_dirty = False  # a batch's commit may still be in the write-ahead log
        self._writing = False  # a batch is between its gathering and its answers
        self._wake = asyncio.Event()  # a click arrived while a refused checkpoint waits to retry

    async def cast(
        self, poll_id: int, voter: str, position: int, multi: int, now: datetime, rider: Rider | None = None
    ) -> VoteChange | None:
        """Toggle option `position` for `voter` (see `toggle`) on anonymous poll `poll_id`;
        returns once the ballot is committed and the log checkpointed. None when the poll
        is not an open anonymous poll or its deadline is not after `now`. Raises what the
        batch's transaction raised (the ballot is then not stored). `rider`: rows written in
        the batch's transaction, whatever the click decided (told once committed)."""
        carried = (rider.rows(), rider.counts()) if rider is not None else None
        request = _Request(poll_id, voter, position, multi, now, self._future(), carried)
        change = await self._submit(request)
        if rider is not None:
            rider.committed()
        return change

    async def erase_log(self) -> bool:
        """Checkpoint and truncate the write-ahead log now (after a change to anonymous
        ballots made elsewhere: a forget-me; at start-up, a log a crash left). True when
        done; when a reader holds it off, the writer retries with back-off."""
        done = await self._checkpoint()
        if not done and (self._writer is None or self._writer.done()):
            self._writer = asyncio.create_task(self._write_loop(), name="ballot-writer")
        return done

    async def close(self) -> None:
        """Write and answer every queued click, then stop retrying a refused checkpoint
        (closing the database checkpoints and removes the log anyway)."""
        while self._writer is not None and not self._writer.done() and (self._waiting or self._writing):
            await asyncio.wait([self._writer], timeout=0.05)
        if self._writer is not None and not self._writer.done():
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)
        self._writer = None

    # -- the writer ----------------------------------------------------------------------------

    @staticmethod
    def _future() -> asyncio.Future[VoteChange | None]:
        return asyncio.get_running_loop().create_future()

    async def _submit(self, request: _Request) -> VoteChange | None:
        self._waiting.append(request)
        self._wake.set()
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_loop(), name="ballot-writer")
        # shielded: a caller that gives up still has its ballot written with the batch
        return await asyncio.shield(request.done)

    async def _write_loop(self) -> None:
        retries = iter(CHECKPOINT_RETRIES)
        while self._waiting or self._log_dirty:
            if not self._waiting:  # only a refused checkpoint left: try again, backing off
                delay = next(retries, None)
                if delay is None:
                    log.warning("the write-ahead log still holds anonymous ballots; the next batch or start-up checkpoints it")
                    return
                self._wake.clear()
                with suppress(TimeoutError):  # a new click ends the wait: its batch checkpoints
                    async with asyncio.timeout(delay):
                        await self._wake.wait()
                if not self._waiting:
                    await self._checkpoint()
                continue
            self._writing = True
            try:
                await self._write_batch()
            finally:
                self._writing = False
            retries = iter(CHECKPOINT_RETRIES)

    async def _write_batch(self) -> None:
        await asyncio.sleep(self.gather_seconds)  # let concurrent clicks join this commit
        if len(self._waiting) <= self.max_batch:
            batch, self._waiting = self._waiting, []
        else:
            batch, self._waiting = self._waiting[: self.max_batch], self._waiting[self.max_batch :]
        try:
            results = await self._commit(batch)
        except BaseException as exc:  # nothing of the batch is stored (the transaction rolled back)
            _settle(batch, error=exc)
            if not isinstance(exc, Exception):
                raise
            log.error("anonymous ballots not stored (%d in the batch): %s", len(batch), exc)
            return
        self.batches += 1
        self._log_dirty = True
        try:
            await self._checkpoint()  # before any answer: an answered click's commit is gone
        finally:
            _settle(batch, results)

    async def _checkpoint(self) -> bool:
        """Checkpoint and truncate the log; True when done."""
        try:
            done = await self.db.checkpoint()
        except RuntimeError:  # the database is closed: closing checkpointed it
            done = True
        except Exception as exc:  # a disk error: retried
            log.warning("could not checkpoint after anonymous ballots: %s", exc)
            done = False
        if not done:
            self.checkpoints_refused += 1
        self._log_dirty = not done
        return done

    async def _commit(self, batch: list[_Request]) -> list[VoteChange | None]:
        """One unit of work for the batch: each click decided in arrival order, then every
        touched poll's ballots deleted and inserted again in random order."""
        rng = self.rng

        def write(tx: Tx) -> list[VoteChange | None]:
            results: list[VoteChange | None] = [None] * len(batch)
            by_poll: dict[int, list[int]] = {}
            for index, request in enumerate(batch):
                by_poll.setdefault(request.poll_id, []).append(index)
            for poll_id, indexes in by_poll.items():
                poll = tx.fetchone("SELECT closed_at, closes_at FROM polls WHERE id = ? AND anonymous = 1", (poll_id,))
                if poll is None:
                    continue  # gone, or not anonymous: every click on it gets None
                ballots = ballots_of(tx, poll_id)
                changed = False
                for i in indexes:
                    request = batch[i]
                    if poll["closed_at"] is not None or (
                        poll["closes_at"] is not None and poll["closes_at"] <= iso(request.now)
                    ):
                        continue
                    change = toggle(ballots.get(request.voter, ()), request.position, request.multi)
                    results[i] = change
                    if not change.refused:
                        ballots[request.voter] = change.chosen
                        changed = True
                if changed:
                    store_shuffled(tx, poll_id, ballots, rng)
            return results

        return await self.db.unit(write, _Riders([request.carried for request in batch if request.carried]))


class _Riders:
    """The riders of a batch's clicks as one (storage.unit_of_work.Rider): their rows and
    counts written in the batch's transaction (an anonymous click's: its day's count)."""

    def __init__(self, carried: list[Carried]) -> None:
        self._carried = carried

    def rows(self) -> list[tuple[str, Any]]:
        return [row for rows, _ in self._carried for row in rows]

    def counts(self) -> list[tuple[str, tuple[Any, ...]]]:
        return [count for _, counts in self._carried for count in counts]

    def committed(self) -> None:  # each click's rider is told by its own `cast`
        return None


def ballots_of(tx: Tx, poll_id: int) -> dict[str, tuple[int, ...]]:
    """voter -> chosen positions, for one poll."""
    chosen: dict[str, list[int]] = {}
    for row in tx.fetchall("SELECT voter, position FROM poll_votes WHERE poll_id = ?", (poll_id,)):
        chosen.setdefault(row["voter"], []).append(row["position"])
    return {voter: tuple(sorted(positions)) for voter, positions in chosen.items()}


def store_shuffled(tx: Tx, poll_id: int, ballots: dict[str, tuple[int, ...]], rng: random.Random) -> None:
    """Inside the caller's unit of work: replace the poll's stored ballots (voter -> chosen
    positions) with the same ballots inserted in random order (deleted cells are zeroed by
    `secure_delete`), so where each cell lands says nothing about when it was cast."""
    rows = [(poll_id, voter, position) for voter, chosen in ballots.items() for position in chosen]
    rng.shuffle(rows)
    tx.execute("DELETE FROM poll_votes WHERE poll_id = ?", (poll_id,))
    tx.executemany(INSERT_BALLOT, rows)


def _settle(
    batch: list[_Request], results: list[VoteChange | None] | None = None, error: BaseException | None = None
) -> None:
    for index, request in enumerate(batch):
        if request.done.done():
            continue
        if isinstance(error, asyncio.CancelledError):
            request.done.cancel()
        elif error is not None:
            request.done.set_exception(error)
        else:
            request.done.set_result(results[index] if results else None)


def has_anonymous_ballots(db_path: Path) -> bool:
    """Whether the database file already holds a ballot of an anonymous poll; read with
    the standard library before the bot opens it (False when there is no such file or it
    cannot be read: opening it then reports why)."""
    if not db_path.is_file():
        return False
    try:
        with closing(sqlite3.connect(db_path)) as conn:
            rows = conn.execute(
                "SELECT 1 FROM poll_votes v JOIN polls p ON p.id = v.poll_id WHERE p.anonymous = 1 LIMIT 1"
            ).fetchall()
    except sqlite3.Error:
        return False
    return bool(rows)


def key_fingerprint(key: bytes) -> str:
    """What the database keeps to recognise the anonymous-poll key: an HMAC-SHA256 of a
    fixed text under the key (no better for guessing the key than any stored ballot)."""
    return hmac.new(key, b"alcts-bot anonymous-poll key check", hashlib.sha256).hexdigest()


def stored_key_fingerprint(db_path: Path) -> str | None:
    """The fingerprint of the key the database's ballots were made with, read with the
    standard library before the bot opens it (None: none stored yet, or unreadable)."""
    if not db_path.is_file():
        return None
    try:
        with closing(sqlite3.connect(db_path)) as conn:
            row = conn.execute("SELECT fingerprint FROM poll_key_check WHERE id = 1").fetchone()
    except sqlite3.Error:  # before migration 12, or not a database: opening it says why
        return None
    return str(row[0]) if row else None


async def save_key_fingerprint(db: Database, fingerprint: str, at: datetime) -> None:
    await db.execute(
        "INSERT INTO poll_key_check (id, fingerprint, checked_at) VALUES (1, ?, ?)"
        " ON CONFLICT (id) DO UPDATE SET fingerprint = excluded.fingerprint, checked_at = excluded.checked_at",
        (fingerprint, iso(at)),
    )

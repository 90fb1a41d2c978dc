"""The attacker of issue #14: a copy of the data folder, no key, and an outside record of
who clicked in what order. Used by tests/test_ballot_order.py.

Two attacks on anonymous ballots:
- **replay**: parse the write-ahead log (a 32-byte header, then frames of a 24-byte
  header and one page; a frame whose "database size after commit" is not zero ends a
  commit), rebuild the database as it was after each commit (frames of every salt
  generation, oldest first, stale ones included), diff the poll's ballots commit by commit
  and line the changes up with the clicks, from the most recent back;
- **layout**: SQLite puts each new cell of a page below the previous one, so sorting the
  ballots by their offset in the file, highest first, gives the order they were inserted.
"""

from __future__ import annotations

import sqlite3
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

WAL_HEADER = 32
FRAME_HEADER = 24
Ballots = dict[str, tuple[int, ...]]  # voter hash -> chosen positions


@dataclass(frozen=True)
class FolderCopy:
    """The bytes of the database, its -wal and its -shm at one moment (b"" when absent)."""

    db: bytes
    wal: bytes
    shm: bytes

    @classmethod
    def take(cls, db_path: Path) -> FolderCopy:
        def read(path: Path) -> bytes:
            try:
                return path.read_bytes()
            except FileNotFoundError:
                return b""

        return cls(read(db_path), read(Path(f"{db_path}-wal")), read(Path(f"{db_path}-shm")))


def commits(wal: bytes) -> list[tuple[list[tuple[int, bytes]], int]]:
    """Every commit in the log as ([(page number, page bytes)], database size in pages),
    in commit order: salt generations oldest first (salt-1 grows by one at each restart of
    the log), frames in file order within one; frames after a generation's last commit are
    an unfinished transaction and are dropped."""
    if len(wal) < WAL_HEADER:
        return []
    page_size = struct.unpack(">I", wal[8:12])[0]
    frame = FRAME_HEADER + page_size
    generations: dict[tuple[int, int], list[tuple[int, int, bytes]]] = {}
    for offset in range(WAL_HEADER, len(wal) - frame + 1, frame):
        pgno, size, salt1, salt2 = struct.unpack(">IIII", wal[offset : offset + 16])
        page = wal[offset + FRAME_HEADER : offset + frame]
        if pgno:
            generations.setdefault((salt1, salt2), []).append((pgno, size, page))
    found = []
    for _, frames in sorted(generations.items(), key=lambda item: item[0][0]):
        pending: list[tuple[int, bytes]] = []
        for pgno, size, page in frames:
            pending.append((pgno, page))
            if size:
                found.append((pending, size))
                pending = []
    return found


def images(copy: FolderCopy) -> list[bytes]:
    """The database file as it was before the log, then after each commit in the log."""
    if not copy.wal:
        return [copy.db]
    page_size = struct.unpack(">I", copy.wal[8:12])[0]
    image = bytearray(copy.db)
    found = [bytes(image)]
    for frames, size in commits(copy.wal):
        for pgno, page in frames:
            start = (pgno - 1) * page_size
            if len(image) < start + page_size:
                image.extend(bytes(start + page_size - len(image)))
            image[start : start + page_size] = page
        del image[size * page_size :]
        found.append(bytes(image))
    return found


def ballots_in(image: bytes, poll_id: int) -> Ballots | None:
    """The poll's ballots in one rebuilt image; None when it cannot be read."""
    if len(image) < 100:
        return None
    patched = bytearray(image)
    patched[18:20] = b"\x01\x01"  # a rollback-journal database: read the bytes as they are
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "image.sqlite3"
        path.write_bytes(bytes(patched))
        try:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                rows = conn.execute("SELECT voter, position FROM poll_votes WHERE poll_id = ?", (poll_id,)).fetchall()
            finally:
                conn.close()
        except sqlite3.DatabaseError:
            return None
    chosen: dict[str, list[int]] = {}
    for voter, position in rows:
        chosen.setdefault(voter, []).append(position)
    return {voter: tuple(sorted(p)) for voter, p in chosen.items()}


def replay(copy: FolderCopy, poll_id: int, clickers: list[str]) -> dict[str, tuple[int, ...]]:
    """Member -> the choice the replay pins on them, for every member it pins down.

    Each commit that changed ballots is matched to as many clicks, the latest commit to the
    latest clicks; a member is pinned when every ballot that changed in their commit shows
    the same choice (one ballot per commit: always)."""
    states = [s for s in (ballots_in(image, poll_id) for image in images(copy)) if s is not None]
    steps: list[list[tuple[int, ...]]] = []
    for before, after in zip(states, states[1:], strict=False):
        touched = [after.get(v) or before.get(v) or () for v in set(before) | set(after) if before.get(v) != after.get(v)]
        if touched:
            steps.append(touched)
    pinned: dict[str, tuple[int, ...]] = {}
    remaining = list(clickers)
    for touched in reversed(steps):
        members, remaining = remaining[len(remaining) - len(touched) :], remaining[: len(remaining) - len(touched)]
        if len(set(touched)) == 1:
            for member in members:
                pinned[member] = touched[0]
    return pinned


def insertion_order(image: bytes, voters: list[str]) -> list[str]:
    """The voters sorted by where their ballot's cell sits, highest offset (first in) first."""
    return sorted(voters, key=lambda voter: -image.find(voter.encode()))


def occurrences(copy: FolderCopy, voter: str) -> int:
    """How many times a voter's hash appears anywhere in the copied files."""
    needle = voter.encode()
    return sum(blob.count(needle) for blob in (copy.db, copy.wal, copy.shm))

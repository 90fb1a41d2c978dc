"""The association's accounts on other social networks and their follower counts.

`social_accounts`: the accounts whose public follower count is fetched daily (Mastodon,
Bluesky), with who added each and the last fetch's outcome. `social_counts`: one follower
count per network, handle and day (an ISO date), from a fetch (`api`), a command
(`manual`) or a CSV import (`import`). A count recorded for a network as a whole, not one
account, has the handle `''`. Recording a count for a day that already has one replaces
it: the last write wins, whatever its source.

The only member data here is `added_by` ("platform:id"), which `forget_member` clears.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from bot.clock import from_iso, iso
from bot.model import Member
from storage.db import Database


@dataclass(frozen=True)
class SocialAccount:
    id: int
    network: str
    handle: str
    added_by: str | None  # "platform:member_id", or None once forgotten (or added by the CLI)
    added_at: datetime
    last_fetch_at: datetime | None
    last_error: str | None  # None after a successful fetch


@dataclass(frozen=True)
class SocialCount:
    network: str
    handle: str  # '' for a count of the network as a whole
    day: str  # ISO date, YYYY-MM-DD
    followers: int
    source: str  # 'api', 'manual' or 'import'
    recorded_at: datetime


def member_key(member: Member) -> str:
    """How `added_by` names a member: unique across platforms."""
    return f"{member.platform}:{member.id}"


_ACCOUNT = "SELECT id, network, handle, added_by, added_at, last_fetch_at, last_error FROM social_accounts"
_COUNT = "SELECT network, handle, day, followers, source, recorded_at FROM social_counts"
_UPSERT = (
    "INSERT INTO social_counts (network, handle, day, followers, source, recorded_at) VALUES (?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (network, handle, day) DO UPDATE SET"
    " followers = excluded.followers, source = excluded.source, recorded_at = excluded.recorded_at"
)


class SocialStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- accounts -------------------------------------------------------------------------

    async def add_account(self, network: str, handle: str, by: Member | None, at: datetime) -> bool:
        """False when the account is already registered (nothing changes)."""
        changed = await self.db.execute(
            "INSERT INTO social_accounts (network, handle, added_by, added_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (network, handle) DO NOTHING",
            (network, handle, member_key(by) if by is not None else None, iso(at)),
        )
        return changed > 0

    async def remove_account(self, network: str, handle: str) -> int:
        """Stop fetching an account and drop its counts (one added or recorded by mistake);
        returns the number of counts dropped, or -1 when there is no such account."""
        async with self.db.transaction() as conn:
            accounts = await conn.execute("DELETE FROM social_accounts WHERE network = ? AND handle = ?", (network, handle))
            counts = await conn.execute("DELETE FROM social_counts WHERE network = ? AND handle = ?", (network, handle))
            return -1 if accounts.rowcount == 0 and counts.rowcount == 0 else int(counts.rowcount)

    async def accounts(self, network: str | None = None) -> list[SocialAccount]:
        """Every registered account (or one network's), by network then handle."""
        if network is None:
            rows = await self.db.fetchall(f"{_ACCOUNT} ORDER BY network, handle")
        else:
            rows = await self.db.fetchall(f"{_ACCOUNT} WHERE network = ? ORDER BY handle", (network,))
        return [_account(row) for row in rows]

    async def fetched(self, account_id: int, at: datetime, error: str | None) -> None:
        """Note a fetch's outcome: `error` is its sentence, None for success."""
        await self.db.execute(
            "UPDATE social_accounts SET last_fetch_at = ?, last_error = ? WHERE id = ?",
            (iso(at), error, account_id),
        )

    # -- counts ---------------------------------------------------------------------------

    async def record(
        self, network: str, handle: str, day: str, followers: int, source: str, at: datetime
    ) -> None:
        """Upsert one day's count: a second count for the same network, handle and day
        replaces the first."""
        await self.db.execute(_UPSERT, (network, handle, day, followers, source, iso(at)))

    async def record_many(
        self, rows: Iterable[tuple[str, str, str, int]], source: str, at: datetime
    ) -> int:
        """Upsert (network, handle, day, followers) rows in one transaction; returns how many."""
        params = [(network, handle, day, followers, source, iso(at)) for network, handle, day, followers in rows]
        if params:
            await self.db.executemany(_UPSERT, params)
        return len(params)

    async def latest(self) -> list[SocialCount]:
        """The most recent day's count of every (network, handle), by network then handle."""
        rows = await self.db.fetchall(
            f"{_COUNT} AS c WHERE day = (SELECT MAX(day) FROM social_counts AS d"
            " WHERE d.network = c.network AND d.handle = c.handle) ORDER BY network, handle"
        )
        return [_count(row) for row in rows]

    async def series(self, since_day: str, until_day: str) -> list[SocialCount]:
        """Every count from `since_day` to `until_day` (ISO dates, both included), by
        network, handle, then day."""
        rows = await self.db.fetchall(
            f"{_COUNT} WHERE day >= ? AND day <= ? ORDER BY network, handle, day", (since_day, until_day)
        )
        return [_count(row) for row in rows]

    # -- privacy --------------------------------------------------------------------------

    async def forget_member(self, member: Member) -> int:
        """The accounts a member added stay (they are the association's), unattributed."""
        return await self.db.execute(
            "UPDATE social_accounts SET added_by = NULL WHERE added_by = ?", (member_key(member),)
        )


def _account(r: sqlite3.Row) -> SocialAccount:
    return SocialAccount(
        id=int(r["id"]), network=r["network"], handle=r["handle"], added_by=r["added_by"],
        added_at=from_iso(r["added_at"]),
        last_fetch_at=from_iso(r["last_fetch_at"]) if r["last_fetch_at"] else None,
        last_error=r["last_error"],
    )


def _count(r: sqlite3.Row) -> SocialCount:
    return SocialCount(
        network=r["network"], handle=r["handle"], day=r["day"], followers=int(r["followers"]),
        source=r["source"], recorded_at=from_iso(r["recorded_at"]),
    )

"""Job posts: feed subscriptions, every item each feed has shown (its identity, and what
was decided about it), members' saved jobs, and content events.

An item's status: `seen` (known, not to be posted: the first fetch, an edit), `filtered`
(keywords or exclude said no), `held` (over the per-poll cap of a feed that flooded),
`to_post` (decided: post it; recorded in the same transaction as the feed's new state, so
a crash between deciding and posting retries the post instead of losing it), `sending`
(the intent to post it, with its idempotency `delivery_key` and `sending_at`, recorded
before the platform is asked: a crash before `posted` is resolved with the platform by the
key, see bot/platforms/base.py), `posted`, or `failed` (the platform refused it
MAX_POST_ATTEMPTS times).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from bot.clock import from_iso, iso
from bot.model import Community, Member, MessageRef, Place
from storage.db import Database

MAX_POST_ATTEMPTS = 5


@dataclass(frozen=True)
class Feed:
    id: int
    place: Place
    url: str
    title: str
    keywords: str
    exclude: str
    active: bool
    etag: str | None
    last_modified: str | None
    last_fetch_at: datetime | None
    last_success_at: datetime | None
    next_try_at: datetime | None
    failures: int
    last_error: str | None
    disabled_reason: str | None
    flag: str | None
    items_seen: int


@dataclass(frozen=True)
class NewItem:
    """An item as decided by a poll, ready to store."""

    identity: str
    title: str
    link: str | None
    employer: str | None
    location: str | None
    summary: str
    published_at: datetime | None
    status: str


@dataclass(frozen=True)
class JobItem:
    id: int
    feed_id: int | None
    place: Place
    title: str
    link: str | None
    employer: str | None
    location: str | None
    summary: str
    published_at: datetime | None
    closes_at: datetime | None
    status: str
    attempts: int
    posted_at: datetime | None


def _time(value: str | None) -> datetime | None:
    return from_iso(value) if value else None


def _feed(row: sqlite3.Row) -> Feed:
    place = Place(Community(row["platform"], row["community_id"]), row["channel_id"], row["channel_name"])
    return Feed(
        row["id"], place, row["url"], row["title"], row["keywords"], row["exclude"], bool(row["active"]),
        row["etag"], row["last_modified"], _time(row["last_fetch_at"]), _time(row["last_success_at"]),
        _time(row["next_try_at"]), row["failures"], row["last_error"], row["disabled_reason"], row["flag"],
        row["items_seen"],
    )  # fmt: skip


def _item(row: sqlite3.Row) -> JobItem:
    place = Place(Community(row["platform"], row["community_id"]), row["channel_id"], row["channel_name"])
    return JobItem(
        row["id"], row["feed_id"], place, row["title"], row["link"], row["employer"], row["location"],
        row["summary"], _time(row["published_at"]), _time(row["closes_at"]), row["status"], row["attempts"],
        _time(row["posted_at"]),
    )  # fmt: skip


class JobPostStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- subscriptions ------------------------------------------------------------------------

    async def subscribe(
        self, place: Place, url: str, title: str, keywords: str, exclude: str, by: str, at: datetime,
        items: list[NewItem], etag: str | None, last_modified: str | None,
    ) -> int | None:  # fmt: skip
        """A new subscription with everything its first fetch showed; None if this channel
        already follows that URL."""
        try:
            async with self.db.transaction() as conn:
                cursor = await conn.execute(
                    "INSERT INTO job_feeds (platform, community_id, channel_id, channel_name, url, title, keywords,"
                    " exclude, created_by, created_at, etag, last_modified, last_fetch_at, last_success_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (place.platform, place.community.id, place.channel_id, place.channel_name, url, title,
                     keywords, exclude, by, iso(at), etag, last_modified, iso(at), iso(at)),
                )  # fmt: skip
                feed_id = int(cursor.lastrowid or 0)
                await self._insert_items(conn, feed_id, place, items, at)
        except sqlite3.IntegrityError:
            return None
        return feed_id

    async def feed(self, feed_id: int) -> Feed | None:
        row = await self.db.fetchone("SELECT * FROM job_feeds WHERE id = ?", (feed_id,))
        return _feed(row) if row else None

    async def feeds(self, community: Community) -> list[Feed]:
        rows = await self.db.fetchall(
            "SELECT * FROM job_feeds WHERE platform = ? AND community_id = ? AND active = 1 ORDER BY id",
            (community.platform, community.id),
        )
        return [_feed(row) for row in rows]

    async def active_feeds(self) -> list[Feed]:
        rows = await self.db.fetchall("SELECT * FROM job_feeds WHERE active = 1 AND disabled_at IS NULL")
        return [_feed(row) for row in rows]

    async def unsubscribe(self, feed_id: int) -> bool:
        return await self.db.execute("UPDATE job_feeds SET active = 0 WHERE id = ? AND active = 1", (feed_id,)) > 0

    # -- what a poll found -------------------------------------------------------------------

    async def known(self, feed_id: int, identities: list[str]) -> set[str]:
        """Which of these identities the feed has shown before."""
        known: set[str] = set()
        for start in range(0, len(identities), 500):  # SQLite's bound-parameter limit
            chunk = identities[start : start + 500]
            rows = await self.db.fetchall(
                f"SELECT identity FROM job_items WHERE feed_id = ? AND identity IN ({','.join('?' * len(chunk))})",
                (feed_id, *chunk),
            )
            known.update(row[0] for row in rows)
        return known

    async def newest_published(self, feed_id: int) -> datetime | None:
        """The latest posted date among the items the feed has shown."""
        return _time(await self.db.scalar("SELECT MAX(published_at) FROM job_items WHERE feed_id = ?", (feed_id,)))

    async def record_success(
        self, feed: Feed, items: list[NewItem], at: datetime, etag: str | None, last_modified: str | None,
        flag: str | None, next_try: datetime,
    ) -> None:  # fmt: skip
        """New items and their decisions, and the feed's new state, in one transaction (one
        statement when nothing new came: a 304 costs a single write)."""
        update = (
            "UPDATE job_feeds SET etag = COALESCE(?, etag), last_modified = COALESCE(?, last_modified),"
            " last_fetch_at = ?, last_success_at = ?, failures = 0, last_error = NULL,"
            " flag = COALESCE(?, flag), next_try_at = ? WHERE id = ?"
        )
        params = (etag, last_modified, iso(at), iso(at), flag, iso(next_try), feed.id)
        if not items:
            await self.db.execute(update, params)
            return
        async with self.db.transaction() as conn:
            await conn.execute(update, params)
            await self._insert_items(conn, feed.id, feed.place, items, at)

    async def record_failure(self, feed_id: int, at: datetime, error: str, disable: bool) -> int:
        """Count a failure; returns the failures in a row (disabled when `disable`)."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE job_feeds SET last_fetch_at = ?, failures = failures + 1, last_error = ?,"
                " disabled_at = CASE WHEN ? THEN ? ELSE disabled_at END,"
                " disabled_reason = CASE WHEN ? THEN ? ELSE disabled_reason END WHERE id = ?",
                (iso(at), error, int(disable), iso(at), int(disable), error, feed_id),
            )
            async with conn.execute("SELECT failures FROM job_feeds WHERE id = ?", (feed_id,)) as cursor:
                row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def set_next_try(self, feed_id: int, at: datetime | None) -> None:
        await self.db.execute(
            "UPDATE job_feeds SET next_try_at = ? WHERE id = ?", (iso(at) if at else None, feed_id)
        )

    async def _insert_items(self, conn: object, feed_id: int, place: Place, items: list[NewItem], at: datetime) -> None:
        if not items:
            return
        await conn.executemany(  # type: ignore[attr-defined]
            "INSERT INTO job_items (feed_id, identity, platform, community_id, channel_id, channel_name, title,"
            " link, employer, location, summary, published_at, first_seen, status)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (feed_id, identity) DO NOTHING",
            [(feed_id, i.identity, place.platform, place.community.id, place.channel_id, place.channel_name,
              i.title, i.link, i.employer, i.location, i.summary,
              iso(i.published_at) if i.published_at else None, iso(at), i.status) for i in items],
        )  # fmt: skip
        await conn.execute(  # type: ignore[attr-defined]
            "UPDATE job_feeds SET items_seen = (SELECT COUNT(*) FROM job_items WHERE feed_id = ?) WHERE id = ?",
            (feed_id, feed_id),
        )

    # -- posting --------------------------------------------------------------------------------

    async def to_post(self, feed_id: int) -> list[JobItem]:
        """Items decided but not yet posted, oldest first."""
        rows = await self.db.fetchall(
            "SELECT * FROM job_items WHERE feed_id = ? AND status = 'to_post'"
            " ORDER BY COALESCE(published_at, first_seen), id",
            (feed_id,),
        )
        return [_item(row) for row in rows]

    async def sending(self, item_ids: list[int], key: str, at: datetime) -> None:
        """Record, durably, the intent to post these items as one message with `key`."""
        await self.db.executemany(
            "UPDATE job_items SET status = 'sending', delivery_key = ?, sending_at = ? WHERE id = ?",
            [(key, iso(at), item_id) for item_id in item_ids],
        )

    async def unfinished(self, feed_id: int) -> list[tuple[str, datetime, list[JobItem]]]:
        """Posts whose intent was recorded but not their success (a crash, or a failure
        came between): (key, the intent's time, its items), oldest first."""
        rows = await self.db.fetchall(
            "SELECT * FROM job_items WHERE feed_id = ? AND status = 'sending'"
            " ORDER BY sending_at, COALESCE(published_at, first_seen), id",
            (feed_id,),
        )
        groups: dict[str, tuple[str, datetime, list[JobItem]]] = {}
        for row in rows:
            key = row["delivery_key"]
            groups.setdefault(key, (key, from_iso(row["sending_at"]), []))[2].append(_item(row))
        return list(groups.values())

    async def waiting(self, feed_id: int) -> bool:
        """Whether anything of the feed is decided (or being sent) and not yet posted."""
        return bool(await self.db.scalar(
            "SELECT 1 FROM job_items WHERE feed_id = ? AND status IN ('to_post', 'sending') LIMIT 1", (feed_id,)
        ))  # fmt: skip

    async def posted(self, item_ids: list[int], ref: MessageRef | None, at: datetime) -> None:
        await self.db.executemany(
            "UPDATE job_items SET status = 'posted', posted_at = ?, message_ref = ? WHERE id = ?",
            [(iso(at), ref.encode() if ref else None, item_id) for item_id in item_ids],
        )

    async def post_failed(self, item_ids: list[int]) -> None:
        """Count a failed post; an item that failed MAX_POST_ATTEMPTS times is given up.
        One that stays 'sending' keeps its key: the platform may have posted it before
        failing, so the next attempt is resolved by the key."""
        await self.db.executemany(
            "UPDATE job_items SET attempts = attempts + 1,"
            f" status = CASE WHEN attempts + 1 >= {MAX_POST_ATTEMPTS} THEN 'failed' ELSE status END WHERE id = ?",
            [(item_id,) for item_id in item_ids],
        )

    async def add_manual(
        self, place: Place, title: str, link: str, employer: str | None, location: str | None,
        closes_at: datetime | None, by: str, at: datetime,
    ) -> int:  # fmt: skip
        return await self.db.insert(
            "INSERT INTO job_items (feed_id, identity, platform, community_id, channel_id, channel_name, title, link,"
            " employer, location, published_at, closes_at, first_seen, status, posted_by)"
            " VALUES (NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'to_post', ?)",
            (f"manual:{iso(at)}:{link}", place.platform, place.community.id, place.channel_id, place.channel_name,
             title, link, employer, location, iso(at), iso(closes_at) if closes_at else None, iso(at), by),
        )  # fmt: skip

    async def item(self, item_id: int) -> JobItem | None:
        row = await self.db.fetchone("SELECT * FROM job_items WHERE id = ?", (item_id,))
        return _item(row) if row else None

    async def latest(self, community: Community, limit: int) -> list[JobItem]:
        rows = await self.db.fetchall(
            "SELECT * FROM job_items WHERE platform = ? AND community_id = ? AND status = 'posted'"
            " ORDER BY posted_at DESC, id DESC LIMIT ?",
            (community.platform, community.id, limit),
        )
        return [_item(row) for row in rows]

    # -- saved jobs ----------------------------------------------------------------------------

    async def toggle_saved(self, member: Member, item_id: int, at: datetime) -> bool:
        """Save the job for the member, or unsave it; True when it is now saved."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "DELETE FROM saved_jobs WHERE platform = ? AND member_id = ? AND item_id = ?",
                (member.platform, member.id, item_id),
            )
            if cursor.rowcount:
                return False
            await conn.execute(
                "INSERT INTO saved_jobs (platform, member_id, item_id, saved_at) VALUES (?, ?, ?, ?)",
                (member.platform, member.id, item_id, iso(at)),
            )
            return True

    async def saved(self, member: Member, community: Community) -> list[JobItem]:
        rows = await self.db.fetchall(
            "SELECT i.* FROM saved_jobs s JOIN job_items i ON i.id = s.item_id WHERE s.platform = ?"
            " AND s.member_id = ? AND i.community_id = ? ORDER BY s.saved_at DESC",
            (member.platform, member.id, community.id),
        )
        return [_item(row) for row in rows]

    async def forget_member(self, member: Member) -> int:
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "DELETE FROM saved_jobs WHERE platform = ? AND member_id = ?", (member.platform, member.id)
            )
            removed = cursor.rowcount
            await conn.execute(
                "UPDATE job_items SET posted_by = NULL WHERE platform = ? AND posted_by = ?", (member.platform, member.id)
            )
            await conn.execute(
                "UPDATE job_feeds SET created_by = NULL WHERE platform = ? AND created_by = ?", (member.platform, member.id)
            )
        return removed

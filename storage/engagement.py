"""Engagement events, members seen, member-count snapshots and the audit log.

Events are buffered (see `Database.enqueue`) so logging never slows a reply down, and the
rollups' counts are merged while they wait (`Database.count`: one upsert per day, hour or
member-day and flush, not one per event). An interaction whose effect is a unit of work
(a vote) carries its event into that unit's transaction instead (`carry`), so the effect is
never stored without the event that records it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo
from typing import Any

from bot.clock import EPOCH, MICROSECOND, IsoText, LocalHours, iso, micros
from bot.model import Community, EngagementEvent, Member, Place
from storage.activity import counts_as_activity
from storage.buffer import Pending, storable
from storage.db import Database

INSERT_EVENT = (
    "INSERT INTO engagement_events (at, platform, community_id, member_id, kind, cog, subject)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
UPSERT_MEMBER = (
    "INSERT INTO members_seen (platform, community_id, member_id, display_name, first_seen, last_seen)"
    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (platform, community_id, member_id)"
    " DO UPDATE SET display_name = excluded.display_name, last_seen = excluded.last_seen"
)

INSERT_EVENT_US = (  # `at` as microseconds since the epoch (?1): SQLite writes its iso() text
    "INSERT INTO engagement_events (at, platform, community_id, member_id, kind, cog, subject)"
    " VALUES (strftime('%Y-%m-%dT%H:%M:%S.', ?1 / 1000000, 'unixepoch') || substr(?1 % 1000000 + 1000000, 2) || 'Z',"
    " ?2, ?3, ?4, ?5, ?6, ?7)"
)

# the rollups' counters: the key's columns, then how many events to add (Database.count)
DAILY = (
    "INSERT INTO engagement_daily (platform, community_id, day, kind, cog, events) VALUES (?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (platform, community_id, day, kind, cog) DO UPDATE SET events = events + excluded.events"
)
HOURLY = (
    "INSERT INTO engagement_hourly (platform, community_id, day, hour, events) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (platform, community_id, day, hour) DO UPDATE SET events = events + excluded.events"
)
ACTIVE = (
    "INSERT INTO active_members (platform, community_id, day, member_id, events) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (platform, community_id, day, member_id) DO UPDATE SET events = events + excluded.events"
)
FIRST = "INSERT OR IGNORE INTO first_engagement (platform, community_id, member_id, cog, day) VALUES (?, ?, ?, ?, ?)"
ANONYMISE = (  # (token, platform, member id): rows that would clash with the token's are dropped
    "UPDATE OR IGNORE active_members SET member_id = ?1 WHERE platform = ?2 AND member_id = ?3",
    "DELETE FROM active_members WHERE platform = ?2 AND member_id = ?3 AND ?1 IS NOT NULL",
    "UPDATE OR IGNORE first_engagement SET member_id = ?1 WHERE platform = ?2 AND member_id = ?3",
    "DELETE FROM first_engagement WHERE platform = ?2 AND member_id = ?3 AND ?1 IS NOT NULL",
    "UPDATE OR IGNORE member_activity SET member_id = ?1 WHERE platform = ?2 AND member_id = ?3",
    "DELETE FROM member_activity WHERE platform = ?2 AND member_id = ?3 AND ?1 IS NOT NULL",
)

NAME_COMMUNITY = (
    "INSERT INTO community_names (platform, community_id, name, seen_at) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (platform, community_id) DO UPDATE SET name = excluded.name, seen_at = excluded.seen_at"
)

SEEN_REFRESH = timedelta(minutes=5)
SEEN_REFRESH_US = SEEN_REFRESH // MICROSECOND

Rows = list[tuple[str, tuple[Any, ...]]]  # (statement, parameters), as a unit of work writes them
Counts = list[tuple[str, tuple[Any, ...]]]  # (counter statement, key): one more each
Tally = tuple[str, str, str, int, str, str | None, str]  # (platform, community, day, hour, kind, cog, member)


class _Known:
    """What this process has written about one member: when members_seen was last
    refreshed (microseconds, see bot.clock.micros), the features whose first_engagement
    row is written (a second INSERT OR IGNORE would change nothing), and whether SQLite
    can store the member's id and community (checked once, see storage.buffer.storable)."""

    __slots__ = ("seen", "firsts", "storable")

    def __init__(self, storable: bool) -> None:
        self.seen: int | None = None
        self.firsts: tuple[str, ...] = ()
        self.storable = storable


class CarriedEvent:
    """An interaction's engagement event as the rows and counts a unit of work writes in
    its own transaction (a `storage.unit_of_work.Rider`: `db.unit(work, rider)`). What the
    log remembers having written (members seen, first engagements) changes only once the
    unit has committed; then `then()` is called (the Bot: do not record it again)."""

    __slots__ = ("_rows", "_counts", "_apply", "_then")

    def __init__(self, rows: Rows, counts: Counts, apply: Callable[[], None], then: Callable[[], None]) -> None:
        self._rows, self._counts, self._apply, self._then = rows, counts, apply, then

    def rows(self) -> Rows:
        return self._rows

    def counts(self) -> Counts:
        return self._counts

    def committed(self) -> None:
        self._apply()
        self._then()


class EngagementLog:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._known: dict[tuple[str, str, str], _Known] = {}  # (platform, community, member)
        self._community_names: dict[tuple[str, str], str] = {}  # as last written by this process
        self._named: Community | None = None  # the community whose name was checked last
        self._iso = IsoText()
        self._local = LocalHours()
        self._buffer = db.buffer
        self._tally: dict[Tally, int] = {}  # this batch's events, counted (see `_take`)
        self._buffer.add_source(self._take)

    def event(
        self, community: Community, member: Member, kind: str, cog: str | None, subject: str | None,
        at: datetime, zone: tzinfo,
    ) -> None:  # fmt: skip
        """The Bot's path for a named interaction: `saw` and `record` in one. The time is
        kept as an integer until SQLite writes its text (INSERT_EVENT_US); the local day
        and hour are worked out once a quarter hour; the rollups are tallied per batch
        (member, day, hour, kind, cog -> events) and written as merged counts (`_take`)."""
        us = (at - EPOCH) // MICROSECOND if at.tzinfo is not None else micros(at)
        day, hour = self._local(us, zone)
        known = self._saw(community, member, us)
        platform, community_id, member_id = community.platform, community.id, member.id
        if known.storable and us >= 0 and kind.isascii() and (cog is None or cog.isascii()) and (
            subject is None or subject.isascii()
        ):  # the common case: nothing SQLite could refuse
            buffer = self._buffer
            buffer.append(INSERT_EVENT_US, (us, platform, community_id, member_id, kind, cog, subject))
            key = (platform, community_id, day, hour, kind, cog, member_id)
            tally = self._tally
            n = tally.get(key)
            if n is None:
                tally[key] = 1
                buffer.grew()
            else:
                tally[key] = n + 1
            return
        self._write(EngagementEvent(self._iso(us), platform, community_id, member_id, kind, cog, subject),
                    day, hour, known)  # fmt: skip

    def _take(self, pending: Pending) -> None:
        """A buffer source (storage.buffer.RowBuffer): this batch's tally as merged counts,
        and the first_engagement rows of the features members used for the first time."""
        tally, self._tally = self._tally, {}
        if not tally:
            return
        daily: dict[tuple[Any, ...], int] = {}
        hourly: dict[tuple[Any, ...], int] = {}
        active: dict[tuple[Any, ...], int] = {}
        first: list[tuple[Any, ...]] = []
        for (platform, community_id, day, hour, kind, cog, member_id), n in tally.items():
            key = (platform, community_id, day, kind, cog or "")
            daily[key] = daily.get(key, 0) + n
            if not counts_as_activity(kind, cog):
                continue
            key = (platform, community_id, day, hour)
            hourly[key] = hourly.get(key, 0) + n
            key = (platform, community_id, day, member_id)
            active[key] = active.get(key, 0) + n
            if cog:
                known = self._known.get((platform, community_id, member_id))
                if known is None or cog not in known.firsts:
                    first.append((platform, community_id, member_id, cog, day))
                    if known is not None:
                        known.firsts += (cog,)
        for sql, counted in ((DAILY, daily), (HOURLY, hourly), (ACTIVE, active)):
            if counted:
                pending.setdefault(sql, []).extend([(*key, n) for key, n in counted.items()])
        if first:
            pending.setdefault(FIRST, []).extend(first)

    def carry(
        self, community: Community, member: Member, kind: str, cog: str | None, subject: str | None,
        at: datetime, zone: tzinfo, unnamed: bool, then: Callable[[], None],
    ) -> CarriedEvent:  # fmt: skip
        """What `event` (or, `unnamed`, `record_unnamed`) would buffer, as rows for a unit
        of work's own transaction (see CarriedEvent); nothing changes here until it commits.
        Rows SQLite could not store are left out (set aside and logged, as `enqueue` does)."""
        us = micros(at)
        day, hour = self._local(us, zone)
        platform, community_id = community.platform, community.id
        counts: Counts = [(DAILY, (platform, community_id, day, kind, cog or ""))]
        if unnamed:
            return CarriedEvent([], _checked(counts, self.db), _nothing, then)
        stamp = self._iso(us)
        rows: Rows = []
        key = (platform, community_id, member.id)
        known = self._known.get(key)
        name = community.name
        named = bool(name) and self._community_names.get((platform, community_id)) != name
        if named:
            rows.append((NAME_COMMUNITY, (platform, community_id, name, stamp)))
        refresh = known is None or known.seen is None or us - known.seen >= SEEN_REFRESH_US
        if refresh:
            rows.append((UPSERT_MEMBER, (platform, community_id, member.id, member.display_name, stamp, stamp)))
        rows.append((INSERT_EVENT, (stamp, platform, community_id, member.id, kind, cog, subject)))
        first = False
        if counts_as_activity(kind, cog):
            counts.append((HOURLY, (platform, community_id, day, hour)))
            counts.append((ACTIVE, (platform, community_id, day, member.id)))
            first = bool(cog) and (known is None or cog not in known.firsts)
            if first:
                rows.append((FIRST, (platform, community_id, member.id, cog, day)))

        def apply() -> None:
            if named:
                self._community_names[(platform, community_id)] = name
                self._named = None
            now_known = self._known.get(key) or self._known.setdefault(key, _Known(_storable_member(key)))
            if refresh and (now_known.seen is None or now_known.seen < us):
                now_known.seen = us
            if first and cog not in now_known.firsts:
                now_known.firsts += (cog,)

        return CarriedEvent(_checked(rows, self.db), _checked(counts, self.db), apply, then)

    def record(self, event: EngagementEvent, local: datetime) -> None:
        """One event, and the daily rollups the report reads, buffered together so they are
        written in one transaction. `local` is the event's time in the community's zone:
        days and hours are the community's, not UTC's. A new member-day in active_members
        also updates active_daily (DAU) and member_activity (first, second and last active
        day, events), by the triggers of migration 10, in the same transaction."""
        known = None
        if event.member_id is not None:
            known = self._known.get((event.platform, event.community_id, event.member_id))
        self._write(event, local.date().isoformat(), local.hour, known)

    def _write(self, event: EngagementEvent, day: str, hour: int, known: _Known | None) -> None:
        db = self.db
        where = (event.platform, event.community_id)
        db.enqueue(INSERT_EVENT, event)
        db.count(DAILY, (*where, day, event.kind, event.cog or ""))
        member_id, cog = event.member_id, event.cog
        if not counts_as_activity(event.kind, cog):
            return
        db.count(HOURLY, (*where, day, hour))  # when members take part: when to post
        if member_id is not None:
            db.count(ACTIVE, (*where, day, member_id))
            if cog and (known is None or cog not in known.firsts):
                db.enqueue(FIRST, (*where, member_id, cog, day))
                if known is not None:
                    known.firsts += (cog,)

    def record_unnamed(self, community: Community, kind: str, cog: str | None, local: datetime) -> None:
        """Count an interaction in the day's total only: no member, no time of day, no raw
        row (for anonymous ballots: nothing in the log can be matched to a vote)."""
        self.db.count(DAILY, (community.platform, community.id, local.date().isoformat(), kind, cog or ""))

    def saw(self, community: Community, member: Member, at: datetime) -> None:
        """Note the member as seen; refreshed at most every few minutes, not every event.
        The community's name is written when this process first sees it or it changes
        (`alcts-bot report --community NAME`)."""
        self._saw(community, member, micros(at))

    def _saw(self, community: Community, member: Member, us: int) -> _Known:
        platform, community_id = community.platform, community.id
        if community is not self._named and community.name:  # the same community as last time: its name is written
            if self._community_names.get((platform, community_id)) != community.name:
                self._community_names[(platform, community_id)] = community.name
                self.db.enqueue(NAME_COMMUNITY, (platform, community_id, community.name, self._iso(us)))
            self._named = community
        key = (platform, community_id, member.id)
        known = self._known.get(key)
        if known is None:
            known = self._known[key] = _Known(_storable_member(key))
        elif known.seen is not None and us - known.seen < SEEN_REFRESH_US:
            return known
        known.seen = us
        stamp = self._iso(us)
        self.db.enqueue(UPSERT_MEMBER, (platform, community_id, member.id, member.display_name, stamp, stamp))
        return known

    def content(self, place: Place, kind: str, subject: str, at: datetime) -> None:
        """What the bot offered (a job post, a digest, a webinar announcement), buffered like
        events, so engagement can be put against it."""
        self.db.enqueue(
            "INSERT INTO content_events (at, platform, community_id, channel_id, kind, subject) VALUES (?, ?, ?, ?, ?, ?)",
            (iso(at), place.platform, place.community.id, place.channel_id, kind, subject),
        )

    async def record_member_count(self, community: Community, members: int, at: datetime) -> None:
        await self.db.insert(
            "INSERT INTO member_counts (platform, community_id, at, members) VALUES (?, ?, ?, ?)",
            (community.platform, community.id, iso(at), members),
        )

    async def member_count(self, community: Community) -> int:
        """The platform's latest snapshot, or else how many members the bot has seen."""
        await self.db.flush()
        latest = await self.db.scalar(
            "SELECT members FROM member_counts WHERE platform = ? AND community_id = ?"
            " ORDER BY at DESC, id DESC LIMIT 1",
            (community.platform, community.id),
        )
        if latest is not None:
            return int(latest)
        seen = await self.db.scalar(
            "SELECT COUNT(*) FROM members_seen WHERE platform = ? AND community_id = ?",
            (community.platform, community.id),
        )
        return int(seen or 0)

    async def audit(
        self, community: Community, member: Member, action: str, allowed: bool, at: datetime,
        detail: str = "",
    ) -> None:  # fmt: skip
        await self.db.insert(
            "INSERT INTO audit_log (at, platform, community_id, member_id, action, allowed, detail)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (iso(at), community.platform, community.id, member.id, action, int(allowed), detail),
        )

    async def forget_member(self, member: Member) -> int:
        """Delete the member's events; what the rollups need stays as an anonymous token
        (so past counts of active members hold), and the audit log keeps no name."""
        await self.db.flush()
        token = f"forgotten:{secrets.token_hex(8)}"
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "DELETE FROM engagement_events WHERE platform = ? AND member_id = ?", (member.platform, member.id)
            )
            events = cur.rowcount
            for statement in ANONYMISE:  # the rollups keep their counts under a token that names no one
                await conn.execute(statement, (token, member.platform, member.id))
            await conn.execute(
                "UPDATE audit_log SET member_id = NULL WHERE platform = ? AND member_id = ?",
                (member.platform, member.id),
            )
            await conn.execute(
                "DELETE FROM members_seen WHERE platform = ? AND member_id = ?",
                (member.platform, member.id),
            )
            await conn.execute(
                "DELETE FROM stats_optouts WHERE platform = ? AND member_id = ?", (member.platform, member.id)
            )
        self._known = {k: v for k, v in self._known.items() if k[0] != member.platform or k[2] != member.id}
        return events


def _storable_member(key: tuple[str, str, str]) -> bool:
    return storable(key)


def _nothing() -> None:
    return None


def _checked(rows: Rows, db: Database) -> Rows:
    """The rows SQLite can store; the others set aside (counted, as `enqueue` does)."""
    kept = [row for row in rows if storable(row[1])]
    db.rejected += len(rows) - len(kept)
    return kept

"""Engagement events, members seen, member-count snapshots and the audit log.

Events are buffered (see `Database.enqueue`) so logging never slows a reply down, and the
rollups' counts are merged while they wait (`Database.count`: one upsert per day, hour or
member-day and flush, not one per event). An interaction whose effect is a unit of work
(a vote) carries its event into that unit's transaction instead (`carry`), so the effect is
never stored without the event that records it.

What an event becomes (its raw row, its counters, whether its first_engagement, members_seen
and community name rows are due) is decided in storage/engagement_rows.py, for every path
here: `event` (buffered, its counters tallied per batch: `_take`), `_write` (`record`, and
`event` for a value SQLite might refuse) and `carry`.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from datetime import datetime, tzinfo
from typing import Any

from bot.clock import EPOCH, MICROSECOND, IsoText, LocalHours, iso, micros
from bot.model import Community, EngagementEvent, Member, Place
from storage.buffer import Pending, storable
from storage.db import Database
from storage.engagement_rows import (
    ACTIVE,
    COUNTERS,
    DAILY,
    FIRST,
    HOURLY,
    INSERT_EVENT,
    INSERT_EVENT_US,
    NAME_COMMUNITY,
    SEEN_REFRESH,
    SEEN_REFRESH_US,
    UPSERT_MEMBER,
    Key,
    Known,
    Row,
    Rows,
    counter_rows,
    name_due,
    plain,
    rollups,
    seen_due,
)

__all__ = [  # the statements are storage/engagement_rows.py's; named here too for their users
    "ACTIVE", "ANONYMISE", "DAILY", "FIRST", "HOURLY", "INSERT_EVENT", "INSERT_EVENT_US", "NAME_COMMUNITY",
    "SEEN_REFRESH", "SEEN_REFRESH_US", "UPSERT_MEMBER", "CarriedEvent", "EngagementLog",
]  # fmt: skip

ANONYMISE = (  # (token, platform, member id): rows that would clash with the token's are dropped
    "UPDATE OR IGNORE active_members SET member_id = ?1 WHERE platform = ?2 AND member_id = ?3",
    "DELETE FROM active_members WHERE platform = ?2 AND member_id = ?3 AND ?1 IS NOT NULL",
    "UPDATE OR IGNORE first_engagement SET member_id = ?1 WHERE platform = ?2 AND member_id = ?3",
    "DELETE FROM first_engagement WHERE platform = ?2 AND member_id = ?3 AND ?1 IS NOT NULL",
    "UPDATE OR IGNORE member_activity SET member_id = ?1 WHERE platform = ?2 AND member_id = ?3",
    "DELETE FROM member_activity WHERE platform = ?2 AND member_id = ?3 AND ?1 IS NOT NULL",
)

MemberKey = tuple[str, str, str]  # (platform, community, member)
Tally = tuple[str, str, str, int, str, str | None, str]  # (platform, community, day, hour, kind, cog, member)
Noted = tuple[MemberKey, bool, str | None, int | None, str | None]
"""What a carried event wrote, for the log to note once it commits: (the member's key,
whether the key is storable, the community name written or None, the time members_seen
was refreshed as of (micros) or None, the cog whose first_engagement row was written or None)."""


class CarriedEvent:
    """An interaction's engagement event as the rows and counts a unit of work writes in
    its own transaction (a `storage.unit_of_work.Rider`: `db.unit(work, rider)`). What the
    log remembers having written (members seen, first engagements, community names)
    changes only once the unit has committed (`committed()`: the log notes `noted`); then
    `then()` is called (the Bot: do not record it again). An unnamed event notes nothing
    (`log` and `noted` None)."""

    __slots__ = ("_rows", "_counts", "_log", "_noted", "_then")

    def __init__(
        self, rows: Sequence[Row], counts: Sequence[Row], log: EngagementLog | None, noted: Noted | None,
        then: Callable[[], None],
    ) -> None:  # fmt: skip
        self._rows, self._counts, self._log, self._noted, self._then = rows, counts, log, noted, then

    def rows(self) -> Sequence[Row]:
        """(statement, parameters) pairs: the name, members_seen, event and FIRST rows due."""
        return self._rows

    def counts(self) -> Sequence[Row]:
        """(counter statement, key) pairs: DAILY, and HOURLY and ACTIVE for an activity."""
        return self._counts

    def committed(self) -> None:
        if self._log is not None and self._noted is not None:
            self._log._note(self._noted)
        self._then()


class EngagementLog:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._known: dict[MemberKey, Known] = {}
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
        if known.storable and us >= 0 and plain(kind, cog, subject):  # the common case: nothing SQLite could refuse
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
        """A buffer source (storage.buffer.RowBuffer): this batch's tally as merged counts
        (`rollups` of each tallied key, `n` events each), and the first_engagement rows of
        the features members used for the first time."""
        tally, self._tally = self._tally, {}
        if not tally:
            return
        daily: dict[Key, int] = {}
        hourly: dict[Key, int] = {}
        active: dict[Key, int] = {}
        first: list[tuple[Any, ...]] = []
        known_of = self._known.get
        for (platform, community_id, day, hour, kind, cog, member_id), n in tally.items():
            known = known_of((platform, community_id, member_id))
            day_key, hour_key, member_key, due = rollups(platform, community_id, member_id, day, hour, kind, cog,
                                                         known)  # fmt: skip
            daily[day_key] = daily.get(day_key, 0) + n
            if hour_key is not None:
                hourly[hour_key] = hourly.get(hour_key, 0) + n
            if member_key is not None:
                active[member_key] = active.get(member_key, 0) + n
            if due is not None:
                first.append(due)
                if known is not None:
                    known.wrote_first(due[3])
        for sql, counted in zip(COUNTERS, (daily, hourly, active), strict=True):
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
        Rows SQLite could not store are left out (set aside and counted in `db.rejected`).
        `storable` runs over the rows only when a value could be refused: the member's key
        is checked once (`Known.storable`), the event's text by `plain`, names if written."""
        us = (at - EPOCH) // MICROSECOND if at.tzinfo is not None else micros(at)  # as `event`
        day, hour = self._local(us, zone)
        platform, community_id = community.platform, community.id
        if unnamed:  # as `record_unnamed`
            daily, hourly, active, _ = rollups(platform, community_id, None, day, None, kind, cog, None)
            return CarriedEvent([], self._checked(counter_rows(daily, hourly, active)), None, None, then)
        member_id = member.id
        key = (platform, community_id, member_id)
        known = self._known.get(key)
        fits = known.storable if known is not None else storable(key)
        daily, hourly, active, first = rollups(platform, community_id, member_id, day, hour, kind, cog, known)
        counts: Sequence[Row] = counter_rows(daily, hourly, active)
        stamp = self._iso(us)
        rows: Rows = []
        name = community.name if name_due(self._community_names, community) else None
        if name is not None:
            rows.append((NAME_COMMUNITY, (platform, community_id, name, stamp)))
        seen = seen_due(known, us)
        if seen:
            rows.append((UPSERT_MEMBER, (platform, community_id, member_id, member.display_name, stamp, stamp)))
        rows.append((INSERT_EVENT, (stamp, platform, community_id, member_id, kind, cog, subject)))
        if first is not None:
            rows.append((FIRST, first))
        if not (fits and plain(kind, cog, subject)):
            rows, counts = self._checked(rows), self._checked(counts)
        elif (name is not None and not (type(name) is str and name.isascii())) or (
            seen and not (type(member.display_name) is str and member.display_name.isascii())
        ):  # a name SQLite might refuse: only its row could be left out
            rows = self._checked(rows)
        noted: Noted = (key, fits, name, us if seen else None, cog if first is not None else None)
        return CarriedEvent(rows, counts, self, noted, then)

    def _note(self, noted: Noted) -> None:
        """A carried event committed: note what it wrote, as `event` notes what it buffers."""
        key, fits, name, seen, first = noted
        if name is not None:
            self._community_names[(key[0], key[1])] = name
            self._named = None
        known = self._known.get(key)
        if known is None:
            known = self._known[key] = Known(fits)
        if seen is not None:
            known.saw(seen)
        if first is not None:
            known.wrote_first(first)

    def _checked(self, rows: Sequence[Row]) -> Rows:
        """The rows SQLite can store; the others set aside (counted, as `enqueue` does)."""
        kept = [row for row in rows if storable(row[1])]
        self.db.rejected += len(rows) - len(kept)
        return kept

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

    def _write(self, event: EngagementEvent, day: str, hour: int, known: Known | None) -> None:
        """The event row, its counters and its first_engagement row if due, each checked
        (`enqueue`, `count`: a value SQLite cannot store is set aside)."""
        db = self.db
        daily, hourly, active, first = rollups(event.platform, event.community_id, event.member_id, day, hour,
                                               event.kind, event.cog, known)  # fmt: skip
        db.enqueue(INSERT_EVENT, event)
        for sql, key in counter_rows(daily, hourly, active):
            db.count(sql, key)
        if first is not None:
            db.enqueue(FIRST, first)
            if known is not None:
                known.wrote_first(first[3])

    def record_unnamed(self, community: Community, kind: str, cog: str | None, local: datetime) -> None:
        """Count an interaction in the day's total only: no member, no time of day, no raw
        row (for anonymous ballots: nothing in the log can be matched to a vote)."""
        day = local.date().isoformat()
        daily, hourly, active, _ = rollups(community.platform, community.id, None, day, None, kind, cog, None)
        for sql, key in counter_rows(daily, hourly, active):
            self.db.count(sql, key)

    def saw(self, community: Community, member: Member, at: datetime) -> None:
        """Note the member as seen; refreshed at most every few minutes, not every event.
        The community's name is written when this process first sees it or it changes
        (`alcts-bot report --community NAME`)."""
        self._saw(community, member, micros(at))

    def _saw(self, community: Community, member: Member, us: int) -> Known:
        platform, community_id = community.platform, community.id
        if community is not self._named and community.name:  # the same community as last time: its name is written
            if name_due(self._community_names, community):
                self._community_names[(platform, community_id)] = community.name
                self.db.enqueue(NAME_COMMUNITY, (platform, community_id, community.name, self._iso(us)))
            self._named = community
        key = (platform, community_id, member.id)
        known = self._known.get(key)
        if known is not None and not seen_due(known, us):
            return known
        if known is None:
            known = self._known[key] = Known(storable(key))
        known.saw(us)
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

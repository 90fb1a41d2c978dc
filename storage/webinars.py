"""Webinars, RSVPs, reminder deliveries and imported calendars.

A webinar keeps its wall time (`local_start`) and zone; `starts_at` (UTC) is derived.
`version` rises whenever the time changes or the webinar is cancelled: reminder timers
carry the version they were made for, so an old one never goes out. A delivery (one
reminder to one target: the channel or one member's DMs) is recorded before it is sent,
in state 'sending' (its time is the intent's), and marked 'sent' once the platform took
it: a rerun after a crash skips what is sent, resolves what is 'sending' with the
platform (the idempotency key, see bot/platforms/base.py) and sends only what is missing.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.clock import from_iso, iso
from bot.model import Community, Member, MessageRef, Place
from storage.db import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Webinar:
    id: int
    uid: str
    place: Place
    title: str
    description: str
    url: str | None
    local_start: datetime
    zone: str
    starts_at: datetime
    duration: timedelta
    all_day: bool
    reminders: tuple[timedelta, ...]
    status: str
    sequence: int
    version: int
    calendar_id: int | None
    source_key: str | None
    source_sequence: int | None
    message: MessageRef | None
    discord_event_id: str | None

    @property
    def ends_at(self) -> datetime:
        """The end; the latest instant there is for a start so late that the end is not
        (a row stored before starts were bounded to two years ahead)."""
        try:
            return self.starts_at + self.duration
        except OverflowError:
            return datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Rsvp:
    member: Member
    going: bool | None
    remind: bool
    dm_closed_told: bool


@dataclass(frozen=True)
class Counts:
    going: int
    not_going: int
    reminders: int


def _webinar(row: sqlite3.Row) -> Webinar:
    place = Place(Community(row["platform"], row["community_id"]), row["channel_id"], row["channel_name"])
    reminders = tuple(timedelta(seconds=int(s)) for s in row["reminders"].split(",") if s)
    return Webinar(
        row["id"], row["uid"], place, row["title"], row["description"], row["url"],
        datetime.fromisoformat(row["local_start"]), row["zone"], from_iso(row["starts_at"]),
        timedelta(seconds=row["duration_seconds"]), bool(row["all_day"]), reminders, row["status"],
        row["sequence"], row["version"], row["calendar_id"], row["source_key"], row["source_sequence"],
        MessageRef.decode(row["message_ref"]) if row["message_ref"] else None, row["discord_event_id"],
    )  # fmt: skip


def _webinars(rows: Iterable[sqlite3.Row]) -> list[Webinar]:
    """The rows as webinars; a row that cannot be read is logged and left out, so one bad
    row never takes a whole list (a member's /webinar list, the Home tab) down with it."""
    webinars = []
    for row in rows:
        try:
            webinars.append(_webinar(row))
        except (ValueError, OverflowError, TypeError):
            log.warning("webinar row not readable, left out id=%s", row["id"], exc_info=True)
    return webinars


def encode_offsets(offsets: tuple[timedelta, ...] | list[timedelta]) -> str:
    return ",".join(str(int(o.total_seconds())) for o in offsets)


class WebinarStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(
        self, uid: str, place: Place, title: str, description: str, url: str | None, local_start: datetime,
        zone: str, starts_at: datetime, duration: timedelta, reminders: list[timedelta], by: str | None,
        at: datetime, *, all_day: bool = False, calendar_id: int | None = None, source_key: str | None = None,
        source_sequence: int | None = None,
    ) -> int:  # fmt: skip
        return await self.db.insert(
            "INSERT INTO webinars (uid, platform, community_id, channel_id, channel_name, title, description, url,"
            " local_start, zone, starts_at, duration_seconds, all_day, reminders, calendar_id, source_key,"
            " source_sequence, created_by, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (uid, place.platform, place.community.id, place.channel_id, place.channel_name, title, description, url,
             local_start.isoformat(), zone, iso(starts_at), int(duration.total_seconds()), int(all_day),
             encode_offsets(reminders), calendar_id, source_key, source_sequence, by, iso(at), iso(at)),
        )  # fmt: skip

    async def get(self, webinar_id: int) -> Webinar | None:
        row = await self.db.fetchone("SELECT * FROM webinars WHERE id = ?", (webinar_id,))
        return _webinar(row) if row else None

    async def by_source(self, calendar_id: int, source_key: str) -> Webinar | None:
        row = await self.db.fetchone(
            "SELECT * FROM webinars WHERE calendar_id = ? AND source_key = ?", (calendar_id, source_key)
        )
        return _webinar(row) if row else None

    async def from_calendar(self, calendar_id: int, after: datetime) -> list[Webinar]:
        rows = await self.db.fetchall(
            "SELECT * FROM webinars WHERE calendar_id = ? AND status = 'scheduled' AND starts_at > ?",
            (calendar_id, iso(after)),
        )
        return _webinars(rows)

    async def upcoming(self, community: Community, after: datetime, limit: int = 20) -> list[Webinar]:
        rows = await self.db.fetchall(
            "SELECT * FROM webinars WHERE platform = ? AND community_id = ? AND status = 'scheduled'"
            " AND starts_at > ? ORDER BY starts_at LIMIT ?",
            (community.platform, community.id, iso(after - timedelta(hours=12)), limit),
        )
        return [w for w in _webinars(rows) if w.ends_at > after]

    async def scheduled(self) -> list[Webinar]:
        rows = await self.db.fetchall("SELECT * FROM webinars WHERE status = 'scheduled'")
        return _webinars(rows)

    async def change(
        self, webinar_id: int, at: datetime, *, title: str | None = None, description: str | None = None,
        url: str | None = None, local_start: datetime | None = None, zone: str | None = None,
        starts_at: datetime | None = None, duration: timedelta | None = None, source_sequence: int | None = None,
    ) -> None:  # fmt: skip
        """Apply the given changes; a new time raises `version` (old reminders lapse)."""
        moved = local_start is not None and zone is not None and starts_at is not None
        await self.db.execute(
            "UPDATE webinars SET sequence = sequence + 1, updated_at = ?, title = COALESCE(?, title),"
            " description = COALESCE(?, description), url = COALESCE(?, url),"
            " source_sequence = COALESCE(?, source_sequence), duration_seconds = COALESCE(?, duration_seconds),"
            " local_start = COALESCE(?, local_start), zone = COALESCE(?, zone), starts_at = COALESCE(?, starts_at),"
            " version = version + ? WHERE id = ?",
            (iso(at), title, description, url, source_sequence,
             None if duration is None else int(duration.total_seconds()),
             local_start.isoformat() if moved and local_start else None, zone if moved else None,
             iso(starts_at) if moved and starts_at else None, int(moved), webinar_id),
        )  # fmt: skip

    async def cancel(self, webinar_id: int, at: datetime) -> bool:
        changed = await self.db.execute(
            "UPDATE webinars SET status = 'cancelled', version = version + 1, sequence = sequence + 1,"
            " updated_at = ? WHERE id = ? AND status = 'scheduled'",
            (iso(at), webinar_id),
        )
        return changed > 0

    async def set_message(self, webinar_id: int, ref: MessageRef) -> None:
        await self.db.execute("UPDATE webinars SET message_ref = ? WHERE id = ?", (ref.encode(), webinar_id))

    async def set_discord_event(self, webinar_id: int, event_id: str | None) -> None:
        await self.db.execute("UPDATE webinars SET discord_event_id = ? WHERE id = ?", (event_id, webinar_id))

    # -- RSVPs ------------------------------------------------------------------------------------

    async def rsvp(self, webinar_id: int, member: Member, at: datetime, *, going: bool | None = None,
                   remind: bool | None = None) -> Rsvp:  # fmt: skip
        """Set going and/or remind for the member, atomically; returns the RSVP as stored."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO webinar_rsvps (webinar_id, platform, member_id, member_name, going, remind, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (webinar_id, platform, member_id) DO UPDATE SET"
                " member_name = excluded.member_name, going = COALESCE(?, webinar_rsvps.going),"
                " remind = COALESCE(?, webinar_rsvps.remind), updated_at = excluded.updated_at",
                (webinar_id, member.platform, member.id, member.display_name,
                 None if going is None else int(going), int(bool(remind)), iso(at),
                 None if going is None else int(going), None if remind is None else int(remind)),
            )  # fmt: skip
            async with conn.execute(
                "SELECT going, remind, dm_closed_told FROM webinar_rsvps WHERE webinar_id = ? AND platform = ?"
                " AND member_id = ?",
                (webinar_id, member.platform, member.id),
            ) as cursor:
                row = await cursor.fetchone()
        assert row is not None
        return Rsvp(member, None if row[0] is None else bool(row[0]), bool(row[1]), bool(row[2]))

    async def clear_going(self, webinar_id: int, member: Member, at: datetime) -> None:
        await self.db.execute(
            "UPDATE webinar_rsvps SET going = NULL, updated_at = ? WHERE webinar_id = ? AND platform = ? AND member_id = ?",
            (iso(at), webinar_id, member.platform, member.id),
        )

    async def by_listing(self, platform: str, listing_id: str) -> Webinar | None:
        row = await self.db.fetchone(
            "SELECT * FROM webinars WHERE platform = ? AND discord_event_id = ?", (platform, listing_id)
        )
        return _webinar(row) if row else None

    async def counts(self, webinar_id: int) -> Counts:
        row = await self.db.fetchone(
            "SELECT COALESCE(SUM(going = 1), 0), COALESCE(SUM(going = 0), 0), COALESCE(SUM(remind = 1), 0)"
            " FROM webinar_rsvps WHERE webinar_id = ?",
            (webinar_id,),
        )
        return Counts(int(row[0]), int(row[1]), int(row[2])) if row else Counts(0, 0, 0)

    async def rsvps(self, webinar_id: int) -> list[Rsvp]:
        rows = await self.db.fetchall(
            "SELECT * FROM webinar_rsvps WHERE webinar_id = ? ORDER BY updated_at", (webinar_id,)
        )
        return [Rsvp(Member(r["platform"], r["member_id"], r["member_name"]), None if r["going"] is None else bool(r["going"]),
                     bool(r["remind"]), bool(r["dm_closed_told"])) for r in rows]  # fmt: skip

    async def told_dm_closed(self, webinar_id: int, member: Member) -> bool:
        """Mark that the member heard their DMs are closed; True the first time."""
        changed = await self.db.execute(
            "UPDATE webinar_rsvps SET dm_closed_told = 1 WHERE webinar_id = ? AND platform = ? AND member_id = ?"
            " AND dm_closed_told = 0",
            (webinar_id, member.platform, member.id),
        )
        return changed > 0

    # -- deliveries ---------------------------------------------------------------------------

    async def delivered(self, webinar_id: int, version: int, offset: int) -> set[str]:
        """The targets this reminder was sent to (a 'sending' one is not counted)."""
        return {t for t, (state, _) in (await self.deliveries(webinar_id, version, offset)).items() if state == "sent"}

    async def deliveries(self, webinar_id: int, version: int, offset: int) -> dict[str, tuple[str, datetime]]:
        """Target -> (state 'sending' or 'sent', when: the intent's time while 'sending')."""
        rows = await self.db.fetchall(
            "SELECT target, state, sent_at FROM webinar_deliveries WHERE webinar_id = ? AND version = ?"
            " AND offset_seconds = ?",
            (webinar_id, version, offset),
        )
        return {row[0]: (row[1], from_iso(row[2])) for row in rows}

    async def sending(self, webinar_id: int, version: int, offset: int, target: str, at: datetime) -> None:
        """Record the intent to send, durably, before the first attempt (kept as it was if
        already recorded)."""
        await self.db.execute(
            "INSERT INTO webinar_deliveries (webinar_id, version, offset_seconds, target, sent_at, state)"
            " VALUES (?, ?, ?, ?, ?, 'sending') ON CONFLICT DO NOTHING",
            (webinar_id, version, offset, target, iso(at)),
        )

    async def deliver(self, webinar_id: int, version: int, offset: int, target: str, at: datetime) -> None:
        """Mark the delivery sent (recorded if it was not)."""
        await self.db.execute(
            "INSERT INTO webinar_deliveries (webinar_id, version, offset_seconds, target, sent_at, state)"
            " VALUES (?, ?, ?, ?, ?, 'sent') ON CONFLICT (webinar_id, version, offset_seconds, target)"
            " DO UPDATE SET state = 'sent', sent_at = excluded.sent_at WHERE webinar_deliveries.state <> 'sent'",
            (webinar_id, version, offset, target, iso(at)),
        )

    # -- calendars ----------------------------------------------------------------------------

    async def add_calendar(self, place: Place, url: str, title: str, by: str, at: datetime) -> int:
        return await self.db.insert(
            "INSERT INTO webinar_calendars (platform, community_id, channel_id, channel_name, url, title, created_by,"
            " created_at, last_sync_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (place.platform, place.community.id, place.channel_id, place.channel_name, url, title, by, iso(at), iso(at)),
        )  # fmt: skip

    async def calendar(self, calendar_id: int) -> tuple[Place, str, bool] | None:
        row = await self.db.fetchone("SELECT * FROM webinar_calendars WHERE id = ?", (calendar_id,))
        if row is None:
            return None
        place = Place(Community(row["platform"], row["community_id"]), row["channel_id"], row["channel_name"])
        return place, row["url"], bool(row["active"])

    async def calendar_for(self, place: Place, url: str) -> int | None:
        """The active calendar already imported into this channel from `url`, if any."""
        return await self.db.scalar(
            "SELECT id FROM webinar_calendars WHERE platform = ? AND community_id = ? AND channel_id = ? AND url = ?"
            " AND active = 1",
            (place.platform, place.community.id, place.channel_id, url),
        )

    async def calendars(self) -> list[int]:
        return [row[0] for row in await self.db.fetchall("SELECT id FROM webinar_calendars WHERE active = 1")]

    async def synced(self, calendar_id: int, at: datetime, error: str | None) -> None:
        await self.db.execute(
            "UPDATE webinar_calendars SET last_sync_at = ?, last_error = ? WHERE id = ?", (iso(at), error, calendar_id)
        )

    async def forget_member(self, member: Member) -> int:
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "DELETE FROM webinar_rsvps WHERE platform = ? AND member_id = ?", (member.platform, member.id)
            )
            removed = cursor.rowcount
            await conn.execute(
                "DELETE FROM webinar_deliveries WHERE target = ?", (f"dm:{member.platform}:{member.id}",)
            )
            await conn.execute(
                "UPDATE webinars SET created_by = NULL WHERE platform = ? AND created_by = ?", (member.platform, member.id)
            )
        return removed

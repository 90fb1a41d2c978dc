"""The engagement log's three paths make the same rows of an event (storage/engagement_rows.py
decides for all of them): `event` (buffered, counters tallied per batch), its slow path
(`_write`, for a value SQLite might refuse) and `carry` (rows written in a unit of work's
transaction). The same events through each must leave the same tables and set aside the
same unstorable rows."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.model import Community, Member
from storage.buffer import storable
from storage.db import Database
from storage.engagement import (
    ACTIVE,
    DAILY,
    FIRST,
    HOURLY,
    INSERT_EVENT,
    NAME_COMMUNITY,
    UPSERT_MEMBER,
    EngagementLog,
)
from storage.unit_of_work import Tx

START = datetime(2026, 3, 8, 7, 50, 0, 999_998, tzinfo=UTC)  # across a DST change in Chicago
ZONE = ZoneInfo("America/Chicago")
GUILD = Community("discord", "g1", "Guild")
RENAMED = Community("discord", "g1", "Gilde ✓")
UNNAMEABLE = Community("discord", "g1", "Gu\udcffild")  # a name SQLite cannot store: its row is set aside
MEMBERS = [
    *(Member("discord", f"u{n}", f"Member {n}") for n in range(4)),
    Member("discord", "u5", "Mémber ✓"),  # a name the fast checks cannot vouch for, stored
    Member("discord", "u6", "Bad \udcff"),  # a name SQLite cannot store: members_seen rows set aside
    Member("discord", "u\udcff", "Nobody"),  # an id SQLite cannot store: only the community's counts
]
KINDS = [
    ("button", "polls", "poll.vote"), ("command", "trivia", "trivia start"), ("member_joined", None, None),
    ("command", "help", "help"), ("message", "trivia", None), ("button", "polls", "votación ✓"),
    ("command", "follow", "follow \udcff"), ("no_change", "polls", "poll results"), ("form_opened", "jobs", "job post"),
]  # fmt: skip
TABLES = {
    "engagement_events": "SELECT at, platform, community_id, member_id, kind, cog, subject FROM engagement_events"
                         " ORDER BY at, member_id",  # fmt: skip
    "engagement_daily": "SELECT * FROM engagement_daily ORDER BY 1, 2, 3, 4, 5",
    "engagement_hourly": "SELECT * FROM engagement_hourly ORDER BY 1, 2, 3, 4",
    "active_members": "SELECT * FROM active_members ORDER BY 1, 2, 3, 4",
    "member_activity": "SELECT * FROM member_activity ORDER BY 1, 2, 3",
    "first_engagement": "SELECT * FROM first_engagement ORDER BY 1, 2, 3, 4",
    "members_seen": "SELECT platform, community_id, member_id, display_name, first_seen, last_seen FROM members_seen"
                    " ORDER BY 1, 2, 3",  # fmt: skip
    "community_names": "SELECT * FROM community_names ORDER BY 1, 2",
}

Event = tuple[Community, Member, str, str | None, str | None, datetime, bool]  # ..., kind, cog, subject, at, unnamed


class Unsure(str):
    """ASCII text the fast checks cannot vouch for (as if it were not ASCII): the event
    takes the slow path, and the same text is stored."""

    __slots__ = ()

    def isascii(self) -> bool:
        return False


def events() -> list[Event]:
    out = []
    for n in range(360):
        kind, cog, subject = KINDS[n % len(KINDS)]
        community = GUILD if n < 150 else RENAMED if n < 280 else UNNAMEABLE
        at = START + timedelta(microseconds=n * 2_654_321)  # 16 minutes: members_seen refreshed, DST, an hour
        out.append((community, MEMBERS[n * 3 % len(MEMBERS)], kind, cog, subject, at, n % 11 == 4))
    return out


def dump(path: Path) -> dict[str, list[tuple[object, ...]]]:
    with closing(sqlite3.connect(path)) as conn:
        return {name: [tuple(row) for row in conn.execute(sql)] for name, sql in TABLES.items()}


def nothing(tx: Tx) -> None:
    return None


async def through(path: Path, send: Callable[[EngagementLog, Event], Any]) -> tuple[dict[str, Any], int]:
    """The events sent one by one (`send` may return a rider: committed with a unit that does
    nothing else); the tables written, and how many rows were set aside."""
    db = Database(path)
    await db.open()
    log = EngagementLog(db)
    for n, item in enumerate(events()):
        rider = send(log, item)
        if rider is not None:
            await db.unit(nothing, rider)
        if n % 37 == 0:  # batches of several sizes
            await db.flush()
    await db.flush()
    rejected = db.rejected
    await db.close()
    return dump(path), rejected


def buffered(log: EngagementLog, item: Event, wrap: Callable[[str], str] = str) -> None:
    community, member, kind, cog, subject, at, unnamed = item
    kind = wrap(kind)
    if unnamed:
        log.record_unnamed(community, kind, cog, at.astimezone(ZONE))
    else:
        log.event(community, member, kind, cog, None if subject is None else wrap(subject), at, ZONE)


def slow(log: EngagementLog, item: Event) -> None:
    buffered(log, item, Unsure)


def carried(log: EngagementLog, item: Event) -> Any:
    community, member, kind, cog, subject, at, unnamed = item
    return log.carry(community, member, kind, cog, subject, at, ZONE, unnamed, lambda: None)


async def test_event_its_slow_path_and_carry_store_the_same_rows(tmp_path: Path) -> None:
    fast, fast_rejected = await through(tmp_path / "fast.sqlite3", buffered)
    forced, forced_rejected = await through(tmp_path / "slow.sqlite3", slow)
    unit, unit_rejected = await through(tmp_path / "carried.sqlite3", carried)
    assert fast["engagement_events"] and fast["first_engagement"] and fast["active_members"]
    assert len({row[5] for row in fast["members_seen"]}) > 2  # refreshed as time went on
    assert fast["community_names"] == [("discord", "g1", "Gilde ✓", fast["community_names"][0][3])]
    for name in TABLES:
        assert forced[name] == fast[name], name
        assert unit[name] == fast[name], name
    assert fast_rejected > 0
    assert forced_rejected == fast_rejected
    assert unit_rejected == fast_rejected


def statements(rider: Any) -> tuple[list[str], list[str]]:
    return [sql for sql, _ in rider.rows()], [sql for sql, _ in rider.counts()]


async def test_a_carried_event_changes_what_the_log_knows_only_once_committed(tmp_path: Path) -> None:
    db = Database(tmp_path / "db.sqlite3")
    await db.open()
    log = EngagementLog(db)
    member, at = MEMBERS[0], START
    told: list[str] = []

    def carry(subject: str = "poll.vote") -> Any:
        return log.carry(GUILD, member, "button", "polls", subject, at, ZONE, False, lambda: told.append(subject))

    everything = ([NAME_COMMUNITY, UPSERT_MEMBER, INSERT_EVENT, FIRST], [DAILY, HOURLY, ACTIVE])
    assert statements(carry()) == everything
    assert statements(carry()) == everything  # not committed: nothing noted

    def fails(tx: Tx) -> None:
        raise RuntimeError("the vote is refused")

    with pytest.raises(RuntimeError):
        await db.unit(fails, carry("refused"))
    assert statements(carry()) == everything and told == []
    await db.unit(nothing, carry())
    assert told == ["poll.vote"]
    assert statements(carry()) == ([INSERT_EVENT], [DAILY, HOURLY, ACTIVE])
    at += timedelta(minutes=5)  # members_seen is refreshed every five minutes
    assert statements(carry()) == ([UPSERT_MEMBER, INSERT_EVENT], [DAILY, HOURLY, ACTIVE])
    await db.flush()
    assert await db.scalar("SELECT COUNT(*) FROM engagement_events") == 1
    await db.close()


@pytest.mark.parametrize(
    ("community", "member", "subject"),
    [
        (GUILD, MEMBERS[0], "poll.vote"),
        (RENAMED, MEMBERS[4], "votación ✓"),
        (UNNAMEABLE, MEMBERS[5], "poll.vote"),
        (GUILD, MEMBERS[6], "poll.vote"),
        (Community("discord", "g\udcff", "Guild"), MEMBERS[0], "poll.vote"),
        (GUILD, MEMBERS[0], "poll \udcff"),
    ],
)
async def test_carry_leaves_out_exactly_the_rows_sqlite_cannot_store(
    tmp_path: Path, community: Community, member: Member, subject: str
) -> None:  # fmt: skip
    db = Database(tmp_path / "db.sqlite3")
    await db.open()
    log = EngagementLog(db)
    rider = log.carry(community, member, "button", "polls", subject, START, ZONE, False, lambda: None)
    at = log._iso((START - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1))
    day = START.astimezone(ZONE).date().isoformat()
    where = (community.platform, community.id)
    every_row = [
        (NAME_COMMUNITY, (*where, community.name, at)),
        (UPSERT_MEMBER, (*where, member.id, member.display_name, at, at)),
        (INSERT_EVENT, (at, *where, member.id, "button", "polls", subject)),
        (FIRST, (*where, member.id, "polls", day)),
    ]
    every_count = [(DAILY, (*where, day, "button", "polls")), (HOURLY, (*where, day, START.astimezone(ZONE).hour)),
                   (ACTIVE, (*where, day, member.id))]  # fmt: skip
    assert list(rider.rows()) == [row for row in every_row if storable(row[1])]
    assert list(rider.counts()) == [row for row in every_count if storable(row[1])]
    assert db.rejected == len(every_row) + len(every_count) - len(rider.rows()) - len(rider.counts())
    await db.close()

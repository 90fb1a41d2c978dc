"""The engagement log's fast path (issue #15): times kept as integers until SQLite writes
their text, rollups tallied per batch and written as merged counts. It must store exactly
what the plain path (`saw` + `record`, one upsert per event) stores."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.clock import iso
from bot.model import Community, EngagementEvent, Member
from storage.buffer import RowBuffer
from storage.db import Database
from storage.engagement import EngagementLog

START = datetime(2026, 3, 8, 7, 59, 59, 999_998, tzinfo=UTC)  # across a DST change in Chicago
ZONE = ZoneInfo("America/Chicago")
COMMUNITY = Community("discord", "g1", "Guild")
MEMBERS = [Member("discord", f"u{n}", f"Member {n}") for n in range(7)]
KINDS = [("button", "polls", "poll.vote"), ("command", "trivia", "trivia start"), ("member_joined", None, None),
         ("command", "help", "help"), ("message", "trivia", None), ("button", "polls", "votación ✓")]  # fmt: skip
TABLES = {
    "engagement_events": "SELECT at, platform, community_id, member_id, kind, cog, subject FROM engagement_events"
                         " ORDER BY at, member_id",  # rows of one batch go in by statement, not by time
    "engagement_daily": "SELECT * FROM engagement_daily ORDER BY 1, 2, 3, 4, 5",
    "engagement_hourly": "SELECT * FROM engagement_hourly ORDER BY 1, 2, 3, 4",
    "active_members": "SELECT * FROM active_members ORDER BY 1, 2, 3, 4",
    "member_activity": "SELECT * FROM member_activity ORDER BY 1, 2, 3",
    "first_engagement": "SELECT * FROM first_engagement ORDER BY 1, 2, 3, 4",
    "members_seen": "SELECT platform, community_id, member_id, display_name, first_seen, last_seen FROM members_seen ORDER BY 3",
}


def events() -> list[tuple[Member, str, str | None, str | None, datetime]]:
    out = []
    for n in range(600):
        kind, cog, subject = KINDS[n % len(KINDS)]
        at = START + timedelta(microseconds=n * 1_234_567)  # through the hour, the day and the DST change
        out.append((MEMBERS[n * 5 % len(MEMBERS)], kind, cog, subject, at))
    return out


def dump(path: Path) -> dict[str, list[tuple[object, ...]]]:
    with closing(sqlite3.connect(path)) as conn:
        return {name: [tuple(row) for row in conn.execute(sql)] for name, sql in TABLES.items()}


async def test_the_fast_path_stores_what_the_plain_path_stores(tmp_path: Path) -> None:
    fast_db, plain_db = Database(tmp_path / "fast.sqlite3"), Database(tmp_path / "plain.sqlite3")
    await fast_db.open()
    await plain_db.open()
    fast, plain = EngagementLog(fast_db), EngagementLog(plain_db)
    for n, (member, kind, cog, subject, at) in enumerate(events()):
        fast.event(COMMUNITY, member, kind, cog, subject, at, ZONE)
        plain.saw(COMMUNITY, member, at)
        plain.record(EngagementEvent(iso(at), COMMUNITY.platform, COMMUNITY.id, member.id, kind, cog, subject),
                     at.astimezone(ZONE))  # fmt: skip
        if n % 97 == 0:  # batches of several sizes: the tally is taken with each
            await fast_db.flush()
    await fast_db.flush()
    await plain_db.flush()
    fast_rows, plain_rows = dump(fast_db.path), dump(plain_db.path)
    assert fast_rows["engagement_events"][0][0] == iso(START)  # SQLite wrote the time's text
    assert len(fast_rows["engagement_events"]) == 600
    assert fast_rows == plain_rows
    await fast_db.close()
    await plain_db.close()


def test_counters_merge_until_taken_and_go_back_in_front() -> None:
    full: list[int] = []
    buffer = RowBuffer(3, lambda: full.append(buffer.size))
    sql = "INSERT INTO c (k, n) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET n = n + excluded.n"
    for key in ("a", "b", "a", "a"):
        assert buffer.count(sql, (key,))
    assert buffer.size == 2 and not full  # two keys waiting, however many counts
    assert not buffer.count(sql, ("\udcff",))  # a lone surrogate: SQLite cannot store it
    buffer.append("INSERT INTO t (n) VALUES (?)", (1,))
    assert full == [3]
    taken = buffer.take()
    assert taken == {"INSERT INTO t (n) VALUES (?)": [(1,)], sql: [("a", 3), ("b", 1)]}
    assert buffer.size == 0
    buffer.count(sql, ("c",))
    buffer.give_back(taken)
    assert buffer.take()[sql] == [("a", 3), ("b", 1), ("c", 1)]

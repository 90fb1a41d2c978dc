"""Growth metrics (issue 13) on hand-built histories, with the answers worked out by hand.

Histories go through the real paths where that is practical (the console with the clock
moved: /follow, /unfollow, polls, trivia, :as), otherwise through EngagementLog.record,
FollowStore and GrowthQueries.snapshot with chosen times. The console community is
("console", "local") in America/Chicago (the default BOT_TIMEZONE): CST is UTC-6 and CDT
UTC-5; 2026-11-01 02:00 CDT falls back to 01:00 CST, so that local day has 25 hours.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import random
import re
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import storage.db
import tests.harness as harness
from bot.clock import from_iso, iso
from bot.model import Community, EngagementEvent, Member, Place
from cogs.stats.metrics import Metrics, compute
from cogs.stats.report import build_report
from storage.activity import counts_as_activity
from storage.db import Database
from storage.engagement import EngagementLog
from storage.follows import FollowStore
from storage.growth import GrowthQueries
from storage.migrations import MIGRATIONS
from tests.harness import TestBot
from tests.test_privacy import cells_naming

ROOT = Path(__file__).resolve().parents[1]
CONSOLE = ("console", "local")
CHICAGO = ZoneInfo("America/Chicago")


def utc(text: str) -> datetime:
    """`2026-12-02T03:00` read as UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def local(text: str, fold: int = 0) -> datetime:
    """`2026-12-01 21:00` read as Chicago wall time (fold=1: the second of a repeated hour)."""
    return datetime.fromisoformat(text).replace(tzinfo=CHICAGO, fold=fold)


async def metrics(db: Database, since: date, until: date, community: tuple[str, str] | None = CONSOLE) -> Metrics:
    await db.flush()
    return await compute(GrowthQueries(db), community, since, until, "test", "America/Chicago")


def feature(m: Metrics, name: str) -> dict[str, object]:
    return next(asdict(f) for f in m.features if f.feature == name)


class History:
    """Writes a history straight through the storage code, at chosen times."""

    def __init__(self, db: Database, community: tuple[str, str] = ("discord", "g1"), zone: ZoneInfo = CHICAGO) -> None:
        self.db = db
        self.community = Community(*community)
        self.zone = zone
        self.log = EngagementLog(db)
        self.follows = FollowStore(db)
        self.queries = GrowthQueries(db)

    def member(self, name: str) -> Member:
        return Member(self.community.platform, name, name.title())

    def event(self, when: datetime, name: str | None, cog: str | None = "trivia", kind: str = "button") -> None:
        if name is not None:
            self.log.saw(self.community, self.member(name), when)
        self.log.record(
            EngagementEvent(iso(when), self.community.platform, self.community.id, name, kind, cog, "s"),
            when.astimezone(self.zone),
        )

    def offered(self, when: datetime, kind: str) -> None:
        self.log.content(Place(self.community, "general"), kind, "item", when)

    def day(self, when: datetime) -> str:
        return when.astimezone(self.zone).date().isoformat()

    async def follow(self, when: datetime, name: str) -> bool:
        return await self.follows.follow(self.community, self.member(name), when, self.day(when))

    async def unfollow(self, when: datetime, name: str) -> bool:
        return await self.follows.unfollow(self.community, self.member(name), when, self.day(when))

    async def members(self, count: int, when: datetime) -> None:
        """The platform's own member count (what Discord's approximate count gives)."""
        await self.log.record_member_count(self.community, count, when)

    async def snapshot(self, when: datetime) -> tuple[int, int]:
        await self.db.flush()
        return await self.queries.snapshot(self.community, self.day(when), when)

    @property
    def key(self) -> tuple[str, str]:
        return (self.community.platform, self.community.id)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(tmp_path / "growth.sqlite3")
    await database.open()
    yield database
    await database.close()


# -- follows: changes of state, not commands ---------------------------------------------------


async def test_follow_unfollow_follow_again_counts_changes_of_state(testbot: TestBot) -> None:
    # Fri 27 Nov 09:00 CST: ann follows, then follows again (no change, answered privately).
    out = await testbot.push(":as ann", "/follow", "/follow")
    assert "(only you) You already follow ALCTS here." in out
    testbot.clock.advance(timedelta(days=1))  # Sat 28: unfollows twice (one change)
    await testbot.push("/unfollow", "/unfollow")
    testbot.clock.advance(timedelta(days=1))  # Sun 29: follows again
    await testbot.push("/follow")
    m = await metrics(testbot.db, date(2026, 11, 27), date(2026, 11, 29))
    # by hand: 27th +1 (1 follower), 28th -1 (0), 29th +1 (1); commands were 3 /follow, 2 /unfollow
    assert [(d.day, d.follows, d.unfollows, d.followers) for d in m.days] == [
        ("2026-11-27", 1, 0, 1), ("2026-11-28", 0, 1, 0), ("2026-11-29", 1, 0, 1),
    ]  # fmt: skip
    assert sum(d.follows for d in m.days) == 2 and sum(d.unfollows for d in m.days) == 1
    assert m.followers_end == 1 and m.members_end == 1 and m.follow_rate_end == 1.0
    history = await testbot.db.fetchall("SELECT day, followed FROM follow_history WHERE member_id = 'ann' ORDER BY id")
    assert [tuple(r) for r in history] == [("2026-11-27", 1), ("2026-11-28", 0), ("2026-11-29", 1)]


# -- local days ---------------------------------------------------------------------------------


async def test_a_local_day_is_not_the_utc_day(testbot: TestBot) -> None:
    # 2026-12-02 03:00 UTC is Tuesday 1 December 21:00 CST: the community's day is the 1st.
    testbot.clock.set(utc("2026-12-02T03:00"))
    await testbot.push(":as ann", "/follow", '/poll create "Which standard?" MARC RDA', ":click 1")
    await testbot.db.flush()
    assert {r[0] for r in await testbot.db.fetchall("SELECT day FROM engagement_daily")} == {"2026-12-01"}
    assert [tuple(r) for r in await testbot.db.fetchall("SELECT day, member_id FROM active_members")] == [
        ("2026-12-01", "ann")
    ]
    assert await testbot.db.scalar("SELECT day FROM follow_history") == "2026-12-01"
    assert await testbot.db.scalar("SELECT day FROM follow_daily") == "2026-12-01"
    # Tuesday (weekday 1) at 21:00 local: hour of the week 1 * 24 + 21 = 45, three events
    hours = await GrowthQueries(testbot.db).hours(CONSOLE, date(2026, 12, 1), date(2026, 12, 1))
    assert sum(await GrowthQueries(testbot.db).hours(CONSOLE, date(2026, 12, 2), date(2026, 12, 8))) == 0
    assert hours[45] == 3 and sum(hours) == 3

    on_the_1st = await metrics(testbot.db, date(2026, 12, 1), date(2026, 12, 1))
    assert (on_the_1st.dau, on_the_1st.followers_end, on_the_1st.days[0].follows) == (1, 1, 1)
    polls = feature(on_the_1st, "polls")  # create + vote; the poll offered, from the local window's raw rows
    assert (polls["events"], polls["items_offered"], polls["per_item"]) == (2, 1, 2.0)
    on_the_2nd = await metrics(testbot.db, date(2026, 12, 2), date(2026, 12, 2))
    assert on_the_2nd.dau == 0 and on_the_2nd.days[0].follows == 0
    assert feature(on_the_2nd, "polls")["events"] == 0 and feature(on_the_2nd, "polls")["items_offered"] == 0
    assert on_the_1st.best_hours == ["Tue 21:00"] and on_the_2nd.best_hours == []  # the window's hours only

    await testbot.wait(3600)  # the hourly snapshot at 04:00 UTC is still the 1st locally
    assert [tuple(r) for r in await testbot.db.fetchall("SELECT day, members, followers FROM community_snapshots")] == [
        ("2026-12-01", 1, 1)
    ]


async def test_a_daylight_saving_day_has_25_hours(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(harness, "START", utc("2026-10-31T12:00"))
    testbot = await TestBot(tmp_path).start()
    try:
        # Local day 1 November runs from 05:00 UTC on the 1st (00:00 CDT) to 06:00 UTC on the
        # 2nd (00:00 CST): 25 hours, with 01:00-01:59 twice.
        steps = [
            ("2026-11-01T04:30", "ann"),  # Sat 31 Oct 23:30 CDT: creates the poll and votes
            ("2026-11-01T06:30", "ben"),  # Sun 1 Nov 01:30 CDT
            ("2026-11-01T07:30", "cat"),  # Sun 1 Nov 01:30 CST (the repeated hour)
            ("2026-11-02T05:30", "dan"),  # Sun 1 Nov 23:30 CST (UTC's 2nd), also follows
            ("2026-11-02T06:00", "eve"),  # Mon 2 Nov 00:00 CST
        ]
        for when, name in steps:
            testbot.clock.set(utc(when))
            lines = [f":as {name}"]
            if name == "ann":
                lines.append('/poll create "Which standard?" MARC RDA')
            if name == "dan":
                lines.append("/follow")
            await testbot.push(*lines, ":click 1")
        await testbot.db.flush()
        active = await testbot.db.fetchall("SELECT day, member_id FROM active_members ORDER BY day, member_id")
        assert [tuple(r) for r in active] == [
            ("2026-10-31", "ann"), ("2026-11-01", "ben"), ("2026-11-01", "cat"), ("2026-11-01", "dan"),
            ("2026-11-02", "eve"),
        ]  # fmt: skip
        assert await testbot.db.scalar("SELECT day FROM follow_history") == "2026-11-01"
        hours = await GrowthQueries(testbot.db).hours(CONSOLE, date(2026, 10, 31), date(2026, 11, 2))
        # Sat 23:00 = 5*24+23 = 143 (ann: create + vote); Sun 01:00 = 145 (ben and cat, the
        # hour that happened twice); Sun 23:00 = 167 (dan: follow + vote); Mon 00:00 = 0 (eve)
        assert {h: n for h, n in enumerate(hours) if n} == {143: 2, 145: 2, 167: 2, 0: 1}

        sunday = await metrics(testbot.db, date(2026, 11, 1), date(2026, 11, 1))
        polls = feature(sunday, "polls")
        # the local day is 25 hours wide: ben, cat and dan's votes, none of ann's or eve's; the
        # poll was offered on the 31st (the window for content events is 05:00Z to 06:00Z next day)
        assert (polls["events"], polls["items_offered"], polls["per_item"]) == (3, 0, None)
        assert sunday.top_members == [("dan", 2), ("ben", 1), ("cat", 1)]
        assert (sunday.dau, sunday.days[0].follows, sunday.followers_end) == (3, 1, 1)
        saturday = await metrics(testbot.db, date(2026, 10, 31), date(2026, 10, 31))
        assert (feature(saturday, "polls")["events"], feature(saturday, "polls")["per_item"], saturday.dau) == (2, 2.0, 1)
        three = await metrics(testbot.db, date(2026, 10, 31), date(2026, 11, 2))
        assert [(d.day, d.active) for d in three.days] == [("2026-10-31", 1), ("2026-11-01", 3), ("2026-11-02", 1)]
        assert (three.dau, three.wau, three.mau) == (1, 5, 5)
    finally:
        await testbot.stop()


# -- follow rate, net growth, growth rate --------------------------------------------------------


async def test_follow_rate_against_members_net_growth_and_growth_rate(db: Database) -> None:
    h = History(db)
    await h.members(20, local("2026-11-01 08:00"))  # the platform says 20 members
    for name in ("m1", "m2", "m3", "m4"):
        await h.follow(local("2026-11-01 09:00"), name)
    assert await h.snapshot(local("2026-11-01 23:00")) == (20, 4)  # 4 / 20 = 0.20
    await h.follow(local("2026-11-02 10:00"), "m5")
    await h.unfollow(local("2026-11-02 11:00"), "m1")
    assert await h.unfollow(local("2026-11-02 12:00"), "m1") is False  # no change, no history
    assert await h.snapshot(local("2026-11-02 23:00")) == (20, 4)  # +1 -1: still 4 / 20
    await h.members(25, local("2026-11-03 08:00"))
    for name in ("m6", "m7", "m8"):
        await h.follow(local("2026-11-03 09:00"), name)
    assert await h.snapshot(local("2026-11-03 23:00")) == (25, 7)  # 7 / 25 = 0.28
    await h.follow(local("2026-11-04 09:00"), "m9")  # no snapshot on the 4th: 7 + 1 = 8 followers

    m = await metrics(db, date(2026, 11, 2), date(2026, 11, 4), h.key)
    assert [(d.day, d.members, d.followers, d.follow_rate, d.follows, d.unfollows) for d in m.days] == [
        ("2026-11-02", 20, 4, 0.2, 1, 1),
        ("2026-11-03", 25, 7, 0.28, 3, 0),
        ("2026-11-04", 25, 8, 0.32, 1, 0),
    ]
    # net growth = 8 at the end - 4 at the start = +4; growth rate = 4 / 4 = 100%
    assert (m.followers_start, m.followers_end, m.net_growth, m.growth_rate) == (4, 8, 4, 1.0)
    assert (m.members_end, m.follow_rate_end, m.reference_rate) == (25, 0.32, 0.25)
    # from nothing: no growth rate (division by zero followers)
    empty = await metrics(db, date(2026, 10, 30), date(2026, 10, 31), h.key)
    assert (empty.followers_end, empty.net_growth, empty.growth_rate, empty.follow_rate_end) == (0, 0, None, 0.0)


async def test_members_never_fall_below_followers_and_fall_back_to_members_seen(db: Database) -> None:
    h = History(db)
    # no platform count and no snapshot: members are the members first active so far
    h.event(local("2026-11-01 09:00"), "a")
    h.event(local("2026-11-02 09:00"), "b")
    h.event(local("2026-11-02 10:00"), "a")
    for name in ("a", "b", "c"):  # c follows without having been active: 3 followers, 2 seen
        await h.follow(local("2026-11-02 11:00"), name)
    m = await metrics(db, date(2026, 11, 1), date(2026, 11, 2), h.key)
    assert [(d.members, d.followers, d.follow_rate) for d in m.days] == [(1, 0, 0.0), (3, 3, 1.0)]


async def test_net_growth_counts_every_change_in_the_window(db: Database) -> None:
    h = History(db)
    for name in ("m1", "m2"):
        await h.follow(local("2026-11-01 09:00"), name)
    await h.follow(local("2026-11-02 09:00"), "m3")
    m = await metrics(db, date(2026, 11, 1), date(2026, 11, 2), h.key)
    # the window's rows say +2 then +1, from 0 followers before it: net growth +3
    assert sum(d.follows - d.unfollows for d in m.days) == 3
    assert m.net_growth == 3  # actual: 1 (3 at the end - 2 at the end of the first day)


# -- active members ------------------------------------------------------------------------------


async def test_daily_weekly_and_monthly_active_members(db: Database) -> None:
    h = History(db)
    # the window ends Monday 28 December 2026 (local)
    h.event(local("2026-12-28 10:00"), "a")  # last day: DAU, WAU, MAU
    h.event(utc("2026-12-29T03:00"), "g")  # 28 Dec 21:00 CST: the last local day too
    h.event(local("2026-12-22 10:00"), "b")  # until - 6: WAU's first day
    h.event(local("2026-12-21 23:59"), "c")  # until - 7: outside WAU, inside MAU
    h.event(local("2026-12-01 00:00"), "d")  # until - 27: MAU's first day
    h.event(local("2026-11-30 23:59"), "e")  # until - 28: outside MAU
    h.event(local("2026-12-28 11:00"), "f", cog=None, kind="member_joined")  # joining is not activity
    h.event(local("2026-12-28 12:00"), None, cog="jobs", kind="button")  # no member: not activity
    m = await metrics(db, date(2026, 12, 1), date(2026, 12, 28), h.key)
    assert (m.dau, m.wau, m.mau) == (2, 3, 5)  # {a, g}; + b; + c, d
    assert m.days[-1].active == 2 and m.days[0].active == 1  # d on the 1st


async def test_week_one_retention(db: Database) -> None:
    h = History(db)
    # window 1-28 December: new members are those first active from the 1st to the 21st
    # (at least a week before the end); retained = active again on days first+1 .. first+7
    h.event(local("2026-12-01 10:00"), "n1")
    h.event(local("2026-12-08 10:00"), "n1")  # first + 7: retained
    h.event(local("2026-12-03 09:00"), "n2")
    h.event(local("2026-12-03 18:00"), "n2")  # same day again: not retained
    h.event(local("2026-12-05 10:00"), "n3")
    h.event(local("2026-12-13 10:00"), "n3")  # first + 8: too late
    h.event(local("2026-12-21 10:00"), "n4")
    h.event(utc("2026-12-23T04:00"), "n4")  # 22 Dec 22:00 CST = first + 1: retained
    h.event(local("2026-12-22 10:00"), "n5")  # first active less than a week before the end: left out
    h.event(local("2026-12-23 10:00"), "n5")
    h.event(local("2026-11-20 10:00"), "old")  # first active before the window: not new
    h.event(local("2026-12-02 10:00"), "old")
    m = await metrics(db, date(2026, 12, 1), date(2026, 12, 28), h.key)
    assert (m.new_members, m.retained_week_one, m.retention_week_one) == (4, 2, 0.5)  # n1, n4 of n1-n4


# -- engagement per active member and per item offered --------------------------------------------


async def test_engagement_per_active_member_and_per_item_offered(db: Database) -> None:
    h = History(db)
    for day in (1, 2, 3, 4):
        h.offered(local(f"2026-12-0{day} 10:00"), "trivia_asked")
    h.offered(local("2026-12-05 09:00"), "trivia_daily")  # trivia: 5 items
    h.offered(local("2026-12-01 12:00"), "poll_posted")
    h.offered(local("2026-12-06 12:00"), "poll_posted")  # polls: 2 items
    h.offered(local("2026-12-02 08:00"), "job_posted")
    h.offered(local("2026-12-03 08:00"), "job_digest")  # jobs: 2 items
    h.offered(local("2026-11-30 10:00"), "trivia_asked")  # before the window
    h.offered(utc("2026-12-08T07:00"), "poll_posted")  # 8 Dec 01:00 CST: after the window
    for _ in range(3):
        h.event(local("2026-12-01 10:01"), "a")  # trivia: a 3, b 2, c 1 (a typed answer)
    for _ in range(2):
        h.event(local("2026-12-02 10:01"), "b")
    h.event(local("2026-12-03 10:01"), "c", kind="message")
    h.event(local("2026-12-01 12:00"), "a", cog="polls", kind="command")  # polls: a 1, d 3
    for _ in range(3):
        h.event(local("2026-12-06 12:05"), "d", cog="polls")
    h.event(local("2026-12-02 08:30"), "b", cog="jobs")  # jobs: b 1 (Save)
    h.event(local("2026-12-04 08:30"), "e", cog=None, kind="message")  # active, no feature
    h.event(local("2026-12-04 08:30"), "g", cog="help", kind="command")  # housekeeping: not active
    h.event(local("2026-12-04 08:30"), "o", cog="stats", kind="command")  # an organizer reading figures: not active
    h.event(local("2026-12-04 08:31"), "f", cog=None, kind="member_joined")  # not active
    h.event(local("2026-11-30 10:01"), "a")  # before the window
    m = await metrics(db, date(2026, 12, 1), date(2026, 12, 7), h.key)
    # active in the window: a, b, c, d, e = 5
    assert feature(m, "trivia") | {"conversion": None} == {
        "feature": "trivia", "events": 6, "per_active_member": 1.2,  # 6 / 5
        "items_offered": 5, "per_item": 1.2,  # 6 / 5
        "first_engaged": 3, "followed_within_14_days": 0, "conversion": None,
    }  # fmt: skip
    assert feature(m, "polls")["events"] == 4
    assert feature(m, "polls")["per_active_member"] == 0.8 and feature(m, "polls")["per_item"] == 2.0  # 4/5, 4/2
    assert (feature(m, "jobs")["events"], feature(m, "jobs")["per_active_member"], feature(m, "jobs")["per_item"]) == (
        1, 0.2, 0.5,
    )  # fmt: skip
    webinars = feature(m, "webinars")
    assert (webinars["events"], webinars["per_active_member"], webinars["items_offered"], webinars["per_item"]) == (
        0, 0.0, 0, None,
    )  # fmt: skip


# -- conversion ----------------------------------------------------------------------------------


async def test_conversion_within_14_days_of_first_engaging(db: Database) -> None:
    h = History(db)
    await h.follow(local("2026-11-20 10:00"), "c")  # c already followed before engaging
    h.event(local("2026-11-25 10:00"), "e")  # e's first trivia is before the window
    h.event(local("2026-12-01 10:00"), "a")
    h.event(local("2026-12-20 10:00"), "a")  # a later engagement does not move the first
    await h.follow(local("2026-12-15 23:00"), "a")  # first + 14: converted
    h.event(local("2026-12-02 10:00"), "b")
    await h.follow(local("2026-12-17 09:00"), "b")  # first + 15: too late
    h.event(local("2026-12-03 10:00"), "c")  # no follow from the 3rd to the 17th: not converted
    h.event(local("2026-12-04 18:00"), "d")
    await h.follow(local("2026-12-04 19:00"), "d")  # the same day: converted
    h.event(local("2026-12-05 10:00"), "e", cog="polls")
    await h.follow(local("2026-12-06 10:00"), "e")  # polls: converted
    h.event(local("2026-12-06 10:00"), "f")
    await h.follow(local("2026-12-07 10:00"), "f")
    await h.unfollow(local("2026-12-08 10:00"), "f")  # followed within 14 days, then left: converted
    m = await metrics(db, date(2026, 12, 1), date(2026, 12, 31), h.key)
    trivia, polls = feature(m, "trivia"), feature(m, "polls")
    # trivia first engaged in the window: a, b, c, d, f = 5; followed within 14 days: a, d, f = 3
    assert (trivia["first_engaged"], trivia["followed_within_14_days"], trivia["conversion"]) == (5, 3, 0.6)
    assert (polls["first_engaged"], polls["followed_within_14_days"], polls["conversion"]) == (1, 1, 1.0)
    assert feature(m, "jobs")["conversion"] is None  # nobody engaged: no share


# -- hours of the week ---------------------------------------------------------------------------


async def test_hours_of_the_week_are_local(db: Database) -> None:
    h = History(db)
    for minute in (5, 10, 50):
        h.event(utc(f"2026-12-01T20:{minute:02d}"), "a")  # Tue 14:xx CST: hour 24 + 14 = 38
    h.event(utc("2026-12-07T06:30"), "b")  # Mon 7 Dec 00:30 CST: hour 0
    h.event(utc("2026-12-07T05:30"), "c")  # Sun 6 Dec 23:30 CST: hour 6 * 24 + 23 = 167
    h.event(utc("2026-12-07T05:45"), "c")
    m = await metrics(db, date(2026, 12, 1), date(2026, 12, 7), h.key)
    assert {hour: n for hour, n in enumerate(m.hours_of_week) if n} == {38: 3, 0: 1, 167: 2}
    assert m.best_hours == ["Tue 14:00", "Sun 23:00", "Mon 00:00"]


# -- top participants ----------------------------------------------------------------------------


async def test_top_participants_leave_out_members_who_opted_out(testbot: TestBot) -> None:
    # /help and /stats are housekeeping, not participation
    await testbot.push(":as ann", '/poll create "Which standard?" MARC RDA', ":click 1", "/help")  # ann 2
    await testbot.push(":as ben", ":click 2", "/help", "/stats optout", ":click 1")  # ben 2, then out
    await testbot.push(":as cat", ":click 1")  # cat 1
    m = await metrics(testbot.db, date(2026, 11, 27), date(2026, 11, 27))
    assert m.top_members == [("ann", 2), ("cat", 1)]
    out = await testbot.push(":as ben", "/stats me")
    assert "You are left out of top-participant lists" in out
    await testbot.push("/stats optout", ":click 2")  # back in: ben now has 3 events
    m = await metrics(testbot.db, date(2026, 11, 27), date(2026, 11, 27))
    assert m.top_members == [("ben", 3), ("ann", 2), ("cat", 1)]


# -- snapshots -----------------------------------------------------------------------------------


async def snapshots(db: Database) -> list[tuple[object, ...]]:
    rows = await db.fetchall("SELECT platform, community_id, day, members, followers FROM community_snapshots ORDER BY day")
    return [tuple(r) for r in rows]


async def test_snapshot_is_one_row_per_community_and_local_day_across_a_restart(tmp_path: Path) -> None:
    first = await TestBot(tmp_path).start()  # Fri 27 Nov 15:00 UTC = 09:00 CST
    try:
        await first.push(":as ann", "/follow")
        await first.wait(3600)  # 16:00 UTC: the hourly snapshot
        assert await snapshots(first.db) == [("console", "local", "2026-11-27", 1, 1)]
        await first.push(":as ben", "/follow", ":as cat", "/help")
        await first.wait(3600)  # 17:00 UTC: the same local day, replaced with the latest counts
        assert await snapshots(first.db) == [("console", "local", "2026-11-27", 3, 2)]
    finally:
        await first.stop()

    second = TestBot(tmp_path)  # the same database, later: 28 Nov 03:30 UTC = 27 Nov 21:30 CST
    second.clock.set(utc("2026-11-28T03:30"))
    await second.start()
    try:
        await second.push(":as dan", "/follow")
        await second.wait(3600)  # 04:30 UTC = 22:30 CST on the 27th: still that day's row
        assert await snapshots(second.db) == [("console", "local", "2026-11-27", 4, 3)]
        await second.wait(3 * 3600)  # 07:30 UTC = 01:30 CST on the 28th: a new day's row
        assert await snapshots(second.db) == [
            ("console", "local", "2026-11-27", 4, 3), ("console", "local", "2026-11-28", 4, 3),
        ]  # fmt: skip
        series = await second.db.scalar("SELECT COUNT(*) FROM timers WHERE name = 'stats.snapshot' AND status = 'pending'")
        assert series == 1  # the restart did not add a second hourly series
    finally:
        await second.stop()


# -- rollups against a recount -------------------------------------------------------------------


async def recount(db: Database, zones: dict[tuple[str, str], ZoneInfo]) -> dict[str, object]:
    """The rollups as they should be, recounted from the raw events in Python."""
    daily: Counter[tuple[str, str, str, str, str]] = Counter()
    hours: Counter[tuple[str, str, str, int]] = Counter()
    active: Counter[tuple[str, str, str, str]] = Counter()
    first: dict[tuple[str, str, str, str], str] = {}
    for row in await db.fetchall("SELECT at, platform, community_id, member_id, kind, cog FROM engagement_events"):
        when = from_iso(row["at"]).astimezone(zones[(row["platform"], row["community_id"])])
        day, where = when.date().isoformat(), (row["platform"], row["community_id"])
        daily[(*where, day, row["kind"], row["cog"] or "")] += 1
        if counts_as_activity(row["kind"], row["cog"]):
            hours[(*where, day, when.hour)] += 1
        if row["member_id"] is not None and counts_as_activity(row["kind"], row["cog"]):
            active[(*where, day, row["member_id"])] += 1
            if row["cog"]:
                key = (*where, row["member_id"], row["cog"])
                first[key] = min(first.get(key, day), day)
    members: dict[tuple[str, str, str], list[str]] = {}
    for platform, community_id, day, member_id in sorted(active):
        members.setdefault((platform, community_id, member_id), []).append(day)
    summaries = {key: (days[0], days[1] if len(days) > 1 else None, days[-1],
                       sum(active[(*key[:2], d, key[2])] for d in days)) for key, days in members.items()}  # fmt: skip
    return {"daily": dict(daily), "hours": dict(hours), "active": set(active), "active_events": dict(active),
            "first": first, "active_daily": dict(Counter((p, c, d) for p, c, d, _m in active)),
            "member_activity": summaries}  # fmt: skip


async def rollups(db: Database) -> dict[str, object]:
    await db.flush()
    daily = await db.fetchall("SELECT platform, community_id, day, kind, cog, events FROM engagement_daily")
    hours = await db.fetchall("SELECT platform, community_id, day, hour, events FROM engagement_hourly")
    active = await db.fetchall("SELECT * FROM active_members")
    first = await db.fetchall("SELECT platform, community_id, member_id, cog, day FROM first_engagement")
    return {
        "daily": {tuple(r)[:5]: r["events"] for r in daily},
        "hours": {tuple(r)[:4]: r["events"] for r in hours},
        "active_daily": {tuple(r)[:3]: r["members"] for r in await db.fetchall("SELECT * FROM active_daily")},
        "member_activity": {tuple(r)[:3]: tuple(r)[3:] for r in await db.fetchall("SELECT * FROM member_activity")},
        "active": {tuple(r)[:4] for r in active},
        # events per member and day (top participants), where the schema keeps them
        "active_events": {tuple(r)[:4]: r["events"] for r in active}
        if active and "events" in active[0].keys()  # noqa: SIM118 (`in` on a Row looks at its values)
        else None,
        "first": {tuple(r)[:4]: r["day"] for r in first},
    }


async def test_rollups_equal_a_recount_from_the_raw_events(testbot: TestBot) -> None:
    # a console session around local midnight (real dispatch path) ...
    testbot.clock.set(utc("2026-12-02T05:59:50"))  # 1 Dec 23:59:50 CST
    await testbot.push(":as ann", "/follow", "/trivia start marc21 questions=2 seconds=20", ":click 1",
                       ":as ben", ":click 2", "typed answer")  # fmt: skip
    await testbot.wait(25)  # the second question is asked after midnight, local and UTC
    await testbot.push(":as ann", ":click 3", ":as cat", '/poll create "Q?" yes no', ":click 1")
    await testbot.wait(60)
    # ... and two more communities written directly, in other zones, across both 2026 DST changes
    london = History(testbot.db, ("discord", "g1"), ZoneInfo("Europe/London"))
    tokyo = History(testbot.db, ("slack", "T1"), ZoneInfo("Asia/Tokyo"))
    rng = random.Random(13)
    start = utc("2026-03-01T00:00")
    kinds = [("button", "trivia"), ("button", "polls"), ("command", "jobs"), ("message", None),
             ("member_joined", None), ("command", "webinars"), ("button", "trivia")]  # fmt: skip
    for minute in sorted(rng.randrange(300 * 24 * 60) for _ in range(3000)):  # in time order, as recorded
        hist = rng.choice((london, tokyo))
        kind, cog = rng.choice(kinds)
        name = None if rng.random() < 0.03 else f"m{rng.randrange(60)}"
        hist.event(start + timedelta(minutes=minute), name, cog=cog, kind=kind)
    zones = {CONSOLE: CHICAGO, london.key: london.zone, tokyo.key: tokyo.zone}
    got, want = await rollups(testbot.db), await recount(testbot.db, zones)
    assert got["daily"] == want["daily"]
    assert got["hours"] == want["hours"]
    assert got["active"] == want["active"]
    assert got["active_events"] in (None, want["active_events"])
    assert got["first"] == want["first"]
    assert got["active_daily"] == want["active_daily"]  # kept by triggers on active_members
    assert got["member_activity"] == want["member_activity"]
    assert sum(got["daily"].values()) == await testbot.db.scalar("SELECT COUNT(*) FROM engagement_events")
    # the console's events around midnight landed on both local days
    assert {d for (p, _c, d, _k, _g) in got["daily"] if p == "console"} == {"2026-12-01", "2026-12-02"}


async def test_the_migration_backfills_rollups_from_existing_events(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database from before migration 8 gets its rollups from the raw events it holds."""
    path = tmp_path / "old.sqlite3"
    monkeypatch.setattr(storage.db, "MIGRATIONS", [m for m in MIGRATIONS if m.version < 8])
    old = Database(path)
    await old.open()
    rows = [
        ("2026-11-20T15:00:00.000000Z", "console", "local", "ann", "command", "follow", "follow"),
        ("2026-11-20T16:00:00.000000Z", "console", "local", "ann", "button", "trivia", "trivia.answer"),
        ("2026-11-21T15:00:00.000000Z", "console", "local", "ben", "button", "polls", "poll.vote"),
        ("2026-11-21T15:30:00.000000Z", "console", "local", None, "message", None, None),
    ]
    await old.executemany(
        "INSERT INTO engagement_events (at, platform, community_id, member_id, kind, cog, subject)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)", rows,
    )  # fmt: skip
    await old.execute("INSERT INTO follows VALUES ('console', 'local', 'ann', '2026-11-20T15:00:00.000000Z')")
    await old.close()
    monkeypatch.undo()
    db = Database(path, "America/Chicago")
    await db.open()
    try:
        assert db.applied[-1] == max(m.version for m in MIGRATIONS)
        got, want = await rollups(db), await recount(db, {CONSOLE: CHICAGO})
        for table in ("daily", "active", "active_events", "first", "hours", "active_daily", "member_activity"):
            assert got[table] == want[table]
        history = await db.fetchall("SELECT member_id, day, followed FROM follow_history")
        assert [tuple(r) for r in history] == [("ann", "2026-11-20", 1)]
        m = await metrics(db, date(2026, 11, 20), date(2026, 11, 21))
        assert [(d.follows, d.followers, d.active) for d in m.days] == [(1, 1, 1), (0, 1, 1)]
    finally:
        await db.close()


async def test_the_migration_backfill_leaves_joins_out_of_activity(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "old.sqlite3"
    monkeypatch.setattr(storage.db, "MIGRATIONS", [m for m in MIGRATIONS if m.version < 8])
    old = Database(path)
    await old.open()
    await old.execute(
        "INSERT INTO engagement_events (at, platform, community_id, member_id, kind, cog, subject)"
        " VALUES ('2026-11-20T15:00:00.000000Z', 'discord', 'g1', 'joiner', 'member_joined', NULL, NULL)"
    )
    await old.close()
    monkeypatch.undo()
    db = Database(path)
    await db.open()
    try:
        assert await db.scalar("SELECT COUNT(*) FROM active_members") == 0  # actual: 1
    finally:
        await db.close()


async def test_the_migration_backfill_uses_local_days(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "old.sqlite3"
    monkeypatch.setattr(storage.db, "MIGRATIONS", [m for m in MIGRATIONS if m.version < 8])
    old = Database(path)
    await old.open()
    await old.execute(  # 2 Dec 03:00 UTC = 1 Dec 21:00 CST
        "INSERT INTO engagement_events (at, platform, community_id, member_id, kind, cog, subject)"
        " VALUES ('2026-12-02T03:00:00.000000Z', 'console', 'local', 'ann', 'button', 'trivia', 'x')"
    )
    await old.close()
    monkeypatch.undo()
    db = Database(path, "America/Chicago")
    await db.open()
    try:
        assert await db.scalar("SELECT day FROM active_members") == "2026-12-01"
        assert await db.scalar("SELECT day FROM engagement_daily") == "2026-12-01"
        assert tuple(await db.fetchone("SELECT day, hour FROM engagement_hourly")) == ("2026-12-01", 21)
        assert await GrowthQueries(db).hours(CONSOLE, date(2026, 12, 1), date(2026, 12, 1)) == [
            1 if h == 24 + 21 else 0 for h in range(168)]  # Tue 21:00 local (UTC: Wed 03:00)
    finally:
        await db.close()


# -- privacy -------------------------------------------------------------------------------------


async def anonymous_totals(db: Database) -> dict[str, object]:
    await db.flush()

    async def rows(sql: str) -> list[tuple[object, ...]]:
        return [tuple(r) for r in await db.fetchall(sql)]

    return {
        "daily": await rows("SELECT platform, community_id, day, kind, cog, events FROM engagement_daily ORDER BY 1, 2, 3, 4, 5"),
        "hours": await rows("SELECT * FROM engagement_hourly ORDER BY 1, 2, 3, 4"),
        "active_daily": await rows("SELECT * FROM active_daily ORDER BY 1, 2, 3"),
        "follow_daily": await rows("SELECT * FROM follow_daily ORDER BY 1, 2, 3"),
        "active_per_day": await rows("SELECT day, COUNT(*) FROM active_members GROUP BY day ORDER BY day"),
        "first_per_cog": await rows("SELECT cog, day, COUNT(*) FROM first_engagement GROUP BY 1, 2 ORDER BY 1, 2"),
        "content": await rows("SELECT kind, COUNT(*) FROM content_events GROUP BY kind ORDER BY kind"),
    }


async def test_forget_me_leaves_no_trace_of_the_member_and_keeps_the_daily_totals(testbot: TestBot) -> None:
    await testbot.push(":as zelda", "/follow", '/poll create "Which standard?" MARC RDA', ":click 1",
                       "/trivia start marc21 questions=1 seconds=20", ":click 2", "/stats optout")  # fmt: skip
    await testbot.push(":as ann", ":click 1", "/follow")
    await testbot.wait(30)
    testbot.clock.advance(timedelta(days=1))
    await testbot.push(":as zelda", "/unfollow", "/follow", "/stats me", ":as ann", "/help")
    await testbot.wait(3600)  # a snapshot
    assert "engagement_events.member_id" in await cells_naming(testbot, "zelda")
    before = await anonymous_totals(testbot.db)
    m_before = await metrics(testbot.db, date(2026, 11, 27), date(2026, 11, 28))

    await testbot.push(":as zelda", "/privacy forget-me", ":click 1")

    assert await cells_naming(testbot, "zelda") == []
    after = await anonymous_totals(testbot.db)
    # the forget-me command and its confirmation are themselves counted (cog "privacy"), as no
    # one's; every other anonymous total is as it was
    assert [r for r in after["daily"] if r[4] != "privacy"] == before["daily"]
    assert [r for r in after["first_per_cog"] if r[0] != "privacy"] == before["first_per_cog"]
    assert sum(r[4] for r in after["hours"]) >= sum(r[4] for r in before["hours"])  # type: ignore[misc]
    for table in ("active_per_day", "content"):
        assert after[table] == before[table], table
    # zelda still followed: the day she is forgotten records one anonymous unfollow, the rest stays
    grown = [(r[0], r[1], r[2], r[3], r[4] - 1) if r[2] == "2026-11-28" else r for r in after["follow_daily"]]
    assert grown == before["follow_daily"]
    assert await testbot.db.scalar("SELECT COUNT(*) FROM engagement_events WHERE member_id IS NULL") == 0
    m_after = await metrics(testbot.db, date(2026, 11, 27), date(2026, 11, 28))
    # the 28th: zelda follows again; ann's /help is housekeeping, not activity
    assert [d.active for d in m_after.days] == [d.active for d in m_before.days] == [2, 1]
    assert (m_after.dau, m_after.wau, m_after.mau) == (m_before.dau, m_before.wau, m_before.mau)
    # polls: zelda's create and vote (ann's click went to the trivia question, the latest buttons)
    assert feature(m_after, "polls")["events"] == feature(m_before, "polls")["events"] == 2


async def test_forgetting_a_follower_lowers_the_follower_count(testbot: TestBot) -> None:
    await testbot.push(":as ann", "/follow", ":as ben", "/follow", "/privacy forget-me", ":click 1")
    testbot.clock.advance(timedelta(days=1))
    await testbot.push(":as cat", "/follow")
    assert await testbot.db.scalar("SELECT COUNT(*) FROM follows") == 2  # ann and cat
    m = await metrics(testbot.db, date(2026, 11, 27), date(2026, 11, 28))
    assert m.followers_end == 2  # actual: 3


# -- raw-event retention ------------------------------------------------------------------------


async def pruning_history(testbot: TestBot) -> datetime:
    """Sixty days of a small community, then stats_raw_days 30; returns the report's `now`."""
    await testbot.push(":as olga organizer", "/config set stats_raw_days 30")
    for day in range(60):
        # the first 30 days: ann and ben, or ann with cat and dan; the last 30: ann and ben only
        names = ["ann", "ben"] if day % 2 or day >= 30 else ["ann", "cat", "dan"][: 1 + day % 3]
        for name in names:
            await testbot.push(f":as {name}", "hello")  # chat where the bot listens: activity (reading is not)
            if day % 7 == 0:
                await testbot.push('/poll create "Which?" a b', ":click 1")
        if day == 10:
            await testbot.push(":as ben", "/follow")
        if day == 40:
            await testbot.push(":as dan", "/follow")
        testbot.clock.advance(timedelta(days=1))
    await testbot.db.flush()
    return testbot.clock.now()


async def test_pruning_raw_events_keeps_the_reports_numbers(testbot: TestBot) -> None:
    now = await pruning_history(testbot)
    total = await testbot.db.scalar("SELECT COUNT(*) FROM engagement_events")

    async def report() -> dict[str, object]:
        return asdict(await build_report(testbot.db, days=90, brand="ALCTS", default_zone="America/Chicago", now=now))

    before = await report()
    await testbot.wait(3600)  # the hourly timer: snapshot, and raw rows older than 30 days go
    oldest = await testbot.db.scalar("SELECT MIN(at) FROM engagement_events")
    assert from_iso(oldest) >= testbot.clock.now() - timedelta(days=30)
    kept = await testbot.db.scalar("SELECT COUNT(*) FROM engagement_events")
    assert 0 < kept < total
    assert await report() == before
    # prune harder (all but the last three days): every figure still comes out the same
    assert await GrowthQueries(testbot.db).prune(CONSOLE, now - timedelta(days=3)) > 0
    after = await report()
    assert after == before
    local_scope = next(s for s in after["scopes"] if s["scope"] == "console:local")  # type: ignore[attr-defined]
    assert sum(d["active"] for d in local_scope["days"]) > 60 and local_scope["followers_end"] == 2
    # cat and dan were active only in the first 30 days: still among the top participants (olga
    # only set a setting: housekeeping, not participation)
    assert {name for name, _n in local_scope["top_members"]} == {"ann", "ben", "cat", "dan"}


# -- the cards -----------------------------------------------------------------------------------


def is_png(path: str) -> bool:
    return Path(path).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


async def test_growth_and_engagement_cards_for_organizers_only(testbot: TestBot) -> None:
    await testbot.push(":as ann", "/follow", "/trivia start marc21 questions=1 seconds=20", ":click 1",
                       ":as ben", ":click 2", ":as cat", "/help")  # fmt: skip
    await testbot.wait(25)
    refused = await testbot.push(":as ben", "/stats growth", "/stats engagement")
    assert refused.strip().splitlines()[1:] == [
        "(only you) Only organizers can use /stats growth.", "(only you) Only organizers can use /stats engagement.",
    ]  # fmt: skip
    out = await testbot.push(":as olga organizer", "/stats growth days=7")
    # members: ann, ben, cat = 3 (olga's first command is logged after it answers); followers: ann
    assert "\n(only you) Growth, 2026-11-21 to 2026-11-27\n" in out
    assert "Followers              1 of 3 members (33.3%)" in out
    assert "Net growth             +1 (-)" in out  # 0 on the 21st, 1 on the 27th; no rate from 0
    assert "The study's reference  25.0% of members following" in out
    chart = re.search(r"saved to (\S+follow-rate\.png)\)", out)
    assert chart and is_png(chart[1])
    out = await testbot.push("/stats engagement")
    assert out.startswith("(only you) Engagement, 2026-10-29 to 2026-11-27\n"), out
    # active: ann and ben = 2 on the day (cat's /help and olga's /stats are housekeeping); trivia:
    # ann's start + 2 answers = 3 events, 3 / 2 = 1.5 per active member, 1 question asked; ann and
    # ben first engaged, ann followed
    assert "Active members      2 today, 2 this week, 2 in 28 days" in out
    assert "Week-one retention  - of 0 new members" in out
    assert ("trivia: 3 events, 1.5 per active member, 3.0 per item offered; 50.0% of first-timers followed"
            " within 14 days") in out  # fmt: skip
    assert "polls: 0 events, 0.0 per active member\n" in out
    assert "Busiest hours       Fri 09:00" in out
    assert re.search(r"saved to \S+engagement\.png\)", out)
    bad = await testbot.push("/stats growth days=3")
    assert "days" in bad and bad.startswith("(only you)")


async def test_stats_me_is_private_and_only_the_members_own_activity(testbot: TestBot) -> None:
    await testbot.push(":as ann", "/follow", '/poll create "Which standard?" MARC RDA', ":click 1")
    await testbot.push(":as ben", ":click 2", "/help", "/trivia leaderboard")
    testbot.clock.advance(timedelta(days=2))
    out = await testbot.push(":as ann", "/stats me")
    lines = out.strip().splitlines()
    # /stats me itself is not activity
    assert lines[1] == "(only you) Your activity, ann" and lines[3] == "Active on 1 day since 2026-11-27."
    head, counts = lines[2].split(": ", 1)
    assert head == "Last 30 days" and sorted(counts.split(", ")) == ["follow: 1", "polls: 2"]  # not /stats me
    assert len(lines) == 4
    assert "help" not in out and "trivia" not in out  # ben's, not ann's
    out = await testbot.push(":as nobody", "/stats me")
    assert "Last 30 days: nothing yet" in out and "No activity yet" in out  # /stats me is housekeeping


# -- the done-means: a piped console session, then the report ------------------------------------


def alcts(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "SLACK_", "BOT_"))}
    clean.update({"BOT_DATABASE": str(tmp_path / "bot.sqlite3"), "PYTHONPATH": str(ROOT)})
    return subprocess.run([sys.executable, "-m", "bot", *args], input=stdin, capture_output=True, text=True,
                          cwd=tmp_path, env=clean, timeout=120)  # fmt: skip


def test_done_means_a_piped_session_then_the_json_and_html_reports(tmp_path: Path) -> None:
    script = [
        ":as ann", "/follow",
        ":as ben", "/follow", "/unfollow",  # a change each way: follows 2, unfollows 1 in all
        ":as cat", "/trivia start marc21 questions=1 seconds=20",
        ":as ann", ":click 1", ":as ben", ":click 2", ":as cat", ":click 1",
        ":wait 25",
        ":as dan", '/poll create "Which standard do you use most?" MARC RDA', ":click 2",
        ":as ann", ":click 1", ":as cat", ":click 2",
        ":as dan", "/poll close 1",
    ]  # fmt: skip
    session = alcts(tmp_path, "shell", stdin="\n".join(script) + "\n")
    assert session.returncode == 0, session.stderr
    assert "Round over" in session.stdout and "Poll #1 closed." in session.stdout

    result = alcts(tmp_path, "report", "--format", "json", "--days", "7")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    local_scope = next(s for s in data["scopes"] if s["scope"] == "console:local")
    combined = next(s for s in data["scopes"] if s["scope"] == "all communities")
    assert [s["scope"] for s in data["scopes"]] == ["all communities", "console:local"]
    with sqlite3.connect(tmp_path / "bot.sqlite3") as conn:
        session_day = conn.execute("SELECT MIN(day) FROM active_members").fetchone()[0]
    for scope in (local_scope, combined):
        # members: ann, ben, cat, dan (no snapshot yet: members first seen); followers: ann
        assert (scope["members_end"], scope["followers_end"], scope["follow_rate_end"]) == (4, 1, 0.25)
        assert scope["reference_rate"] == 0.25 and len(scope["days"]) == 7
        assert sum(d["follows"] for d in scope["days"]) == 2 and sum(d["unfollows"] for d in scope["days"]) == 1
        assert (scope["wau"], scope["mau"]) == (4, 4)
        if scope["until"] == session_day:  # (not when the report runs after local midnight)
            assert scope["dau"] == 4 and scope["days"][-1]["active"] == 4
        features = {f["feature"]: f for f in scope["features"]}
        # trivia: cat's /trivia start + three answers = 4 events, 1 question asked; 4 / 4 active;
        # first engaged: cat, ann, ben; ann and ben followed that day (ben then left): 2 of 3
        assert features["trivia"] == {
            "feature": "trivia", "events": 4, "per_active_member": 1.0, "items_offered": 1,
            "per_item": 4.0, "first_engaged": 3, "followed_within_14_days": 2, "conversion": 0.6667,
        }  # fmt: skip
        # polls: dan's create, vote and close + ann's and cat's votes = 5 events,
        # 1 poll posted; 5 / 4 active = 1.25; first engaged dan, ann, cat; only ann follows
        assert features["polls"] == {
            "feature": "polls", "events": 5, "per_active_member": 1.25, "items_offered": 1,
            "per_item": 5.0, "first_engaged": 3, "followed_within_14_days": 1, "conversion": 0.3333,
        }  # fmt: skip
        assert features["jobs"]["events"] == 0 and features["webinars"]["per_item"] is None
        assert (scope["new_members"], scope["retention_week_one"]) == (0, None)  # all newer than a week
        # ann: follow + 2 clicks; ben: follow, unfollow, click; cat: start + 2 clicks; dan: 3
        assert [tuple(t) for t in scope["top_members"]] == [("ann", 3), ("ben", 3), ("cat", 3), ("dan", 3)]
        assert sum(scope["hours_of_week"]) == 12  # 3 + 3 + 3 + 3, all in the session's hour
        assert [(p["id"], p["voters"], p["leading"]) for p in scope["closed_polls"]] == [(1, 3, "RDA")]

    # the summary CSV carries the JSON's other numbers, one per row
    summary = alcts(tmp_path, "report", "--format", "csv-summary", "--days", "7")
    assert summary.returncode == 0, summary.stderr
    table = list(csv.reader(io.StringIO(summary.stdout)))
    assert table[0] == ["scope", "metric", "key", "value"]
    cells = {(scope, metric, key): value for scope, metric, key, value in table[1:]}
    for name in ("followers_end", "members_end", "follow_rate_end", "wau", "mau", "new_members", "dau"):
        assert cells[("console:local", name, "")] == str(local_scope[name]), name
    assert cells[("console:local", "retention_week_one", "")] == ""  # not defined: no member a week old
    assert cells[("all communities", "conversion", "trivia")] == "0.6667"
    assert cells[("console:local", "per_active_member", "polls")] == "1.25"
    assert {k for (sc, metric, k) in cells if sc == "console:local" and metric == "top_member"} == {"ann", "ben", "cat", "dan"}
    assert cells[("console:local", "closed_poll_voters", "#1 Which standard do you use most?")] == "3"
    formula = alcts(tmp_path, "shell", stdin=':as =HYPERLINK("x")\n/follow\n')  # a display name is the member's
    assert formula.returncode == 0
    planted = alcts(tmp_path, "report", "--format", "csv-summary", "--days", "7").stdout
    assert "'=HYPERLINK" in planted and "\n=" not in planted and ",=" not in planted
    assert sum(int(v) for (sc, metric, _k), v in cells.items() if sc == "console:local" and metric == "hour_of_week") == 12
    # one community by id, platform:id or name; an unknown one is one line and exit 2
    for given in ("local", "console:local", "LOCAL"):
        one = alcts(tmp_path, "report", "--format", "json", "--days", "7", "--community", given)
        assert [s["scope"] for s in json.loads(one.stdout)["scopes"]] == ["console:local"], given
    before = json.loads(alcts(tmp_path, "report", "--format", "json", "--now", "2020-01-01T00:00:00Z").stdout)
    assert before["until"] == "2019-12-31" and before["scopes"][0]["followers_end"] == 0  # as of then: nothing yet
    unknown = alcts(tmp_path, "report", "--community", "nowhere")
    assert unknown.returncode == 2 and unknown.stderr.count("\n") == 1 and "there is no community 'nowhere'" in unknown.stderr

    html = tmp_path / "report.html"
    result = alcts(tmp_path, "report", "--format", "html", "--days", "7", "--out", str(html))
    assert result.returncode == 0, result.stderr
    page = html.read_text()
    found = re.search(r'<img alt="Follow rate per day for console:local, with the 25% reference line"'
                      r' src="data:image/png;base64,([A-Za-z0-9+/=]+)">', page)  # fmt: skip
    assert found, "the follow-rate chart is missing"
    assert base64.b64decode(found[1]).startswith(b"\x89PNG\r\n\x1a\n")
    assert "http://" not in page and "https://" not in page  # self-contained: no network


async def test_a_report_for_one_community_named_as_its_members_know_it(db: Database) -> None:
    log = EngagementLog(db)
    at = utc("2026-11-20T15:00")
    for community in (Community("discord", "881", "ALCTS Members"), Community("slack", "T9", "Core Chat")):
        log.saw(community, Member("discord", "ann", "ann"), at)
        log.record(EngagementEvent(iso(at), community.platform, community.id, "ann", "button", "trivia", "x"),
                   at.astimezone(CHICAGO))  # fmt: skip
    now = utc("2026-11-21T15:00")

    async def scopes(given: str) -> list[str]:
        report = await build_report(db, days=7, brand="ALCTS", default_zone="America/Chicago", now=now, community=given)
        return [scope.scope for scope in report.scopes]

    assert await scopes("alcts members") == await scopes("881") == await scopes("discord:881") == ["discord:881"]
    assert await scopes("Core Chat") == ["slack:T9"]
    with pytest.raises(ValueError, match="there is no community 'Core'"):
        await scopes("Core")


async def test_window_figures_from_summaries_equal_a_recount_from_member_days(db: Database) -> None:
    """Top participants (candidates by all-time events, counted until none can reach the list),
    WAU/MAU-style distinct counts (member summaries, or a scan for windows in the past) and
    retention (first and second active day) against the same figures recounted naively."""
    rng = random.Random(7)
    hist = History(db)
    start = utc("2026-06-01T12:00")
    for _ in range(1500):  # skewed: a few very active members, many occasional ones
        name = f"m{min(int(rng.paretovariate(1.2)), 80)}"
        hist.event(start + timedelta(hours=rng.randrange(24 * 120)), name)
    await db.flush()
    rows = [(r[0], r[1], int(r[2])) for r in await db.fetchall("SELECT day, member_id, events FROM active_members")]
    queries = GrowthQueries(db)
    first_day = min(day for day, _m, _n in rows)
    for offset, length in [(0, 200), (0, 30), (40, 10), (60, 45), (100, 7), (119, 28), (-5, 3)]:
        since = date.fromisoformat(first_day) + timedelta(days=offset)
        until = since + timedelta(days=length - 1)
        inside = [(d, m, n) for d, m, n in rows if since.isoformat() <= d <= until.isoformat()]
        totals: Counter[str] = Counter()
        for _d, member, n in inside:
            totals[member] += n
        want = sorted(((member.title(), n) for member, n in totals.items()), key=lambda t: (-t[1], t[0]))[:10]
        assert await queries.top_members(hist.key, since, until) == want, (since, until)
        assert await queries.distinct_active(hist.key, since, until) == len(totals), (since, until)
        days: dict[str, list[str]] = {}
        for day, member, _n in sorted(rows):
            days.setdefault(member, []).append(day)
        last_first = (until - timedelta(days=7)).isoformat()
        newcomers = [d for d in days.values() if since.isoformat() <= d[0] <= last_first]
        kept = [d for d in newcomers if len(d) > 1 and d[1] <= (date.fromisoformat(d[0]) + timedelta(days=7)).isoformat()]
        assert await queries.retention(hist.key, since, until) == (len(newcomers), len(kept)), (since, until)


async def test_a_snapshot_early_in_the_day_does_not_hide_later_changes(testbot: TestBot) -> None:
    await testbot.push(":as a", "/follow")
    testbot.clock.advance(timedelta(days=1))
    await testbot.wait(3600)  # the next day's first hourly snapshot: 1 member, 1 follower
    await testbot.push(":as b", "/follow", ":as c", "/follow", ":as a", "/unfollow")
    taken = await testbot.db.fetchall("SELECT day, members, followers FROM community_snapshots ORDER BY day")
    assert [tuple(r) for r in taken][-1][1:] == (1, 1)  # the snapshot is of 15:00 (09:00 CST), before b and c
    day = date.fromisoformat(taken[-1]["day"])
    m = await metrics(testbot.db, day, day)
    assert (m.days[0].members, m.days[0].followers, m.days[0].follows, m.days[0].unfollows) == (3, 2, 2, 1)
    assert (m.followers_end, m.members_end, m.follow_rate_end) == (2, 3, 0.6667)
    out = await testbot.push(":as olga organizer", "/stats growth days=7")
    assert "2 of 3 members (66.7%)" in out  # olga's first command is logged after it answers


async def test_forget_me_records_the_unfollow_on_the_communitys_day(testbot: TestBot) -> None:
    testbot.clock.set(utc("2026-11-29T15:00"))
    await testbot.push(":as zed", "/follow")
    testbot.clock.set(utc("2026-11-30T03:00"))  # 21:00 CST on the 29th
    await testbot.push("/privacy forget-me", ":click 1")
    rows = await testbot.db.fetchall("SELECT day, follows, unfollows FROM follow_daily ORDER BY day")
    assert [tuple(r) for r in rows] == [("2026-11-29", 1, 1)]


async def test_the_migration_replays_follow_history_from_the_logged_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before migration 8 only the follows table existed; the logged /follow and /unfollow
    commands tell the changes (a repeated /follow is none), the table who follows now."""
    path = tmp_path / "old.sqlite3"
    monkeypatch.setattr(storage.db, "MIGRATIONS", [m for m in MIGRATIONS if m.version < 8])
    old = Database(path)
    await old.open()
    logged = [  # (UTC time, member, command)
        ("2026-10-31T15:00:00.000000Z", "carol", "follow"), ("2026-11-01T15:00:00.000000Z", "ann", "follow"),
        ("2026-11-01T16:00:00.000000Z", "ann", "follow"), ("2026-11-20T15:00:00.000000Z", "carol", "unfollow"),
        ("2026-11-21T03:00:00.000000Z", "ben", "follow"),  # 20 Nov, 21:00 CST
    ]  # fmt: skip
    await old.executemany(
        "INSERT INTO engagement_events (at, platform, community_id, member_id, kind, cog, subject)"
        " VALUES (?, 'console', 'local', ?, 'command', 'follow', ?)", logged,
    )  # fmt: skip
    await old.executemany("INSERT INTO follows VALUES ('console', 'local', ?, ?)", [
        ("ann", "2026-11-01T15:00:00.000000Z"), ("ben", "2026-11-21T03:00:00.000000Z"),
        ("dan", "2026-11-25T15:00:00.000000Z"),  # no command logged (pruned): the table decides
    ])  # fmt: skip
    await old.close()
    monkeypatch.undo()
    db = Database(path, "America/Chicago")
    await db.open()
    try:
        history = [tuple(r) for r in await db.fetchall("SELECT member_id, day, followed FROM follow_history ORDER BY at")]
        assert history == [("carol", "2026-10-31", 1), ("ann", "2026-11-01", 1), ("carol", "2026-11-20", 0),
                           ("ben", "2026-11-20", 1), ("dan", "2026-11-25", 1)]  # fmt: skip
        m = await metrics(db, date(2026, 10, 31), date(2026, 11, 25))
        followers = {d.day: d.followers for d in m.days}
        assert (followers["2026-10-31"], followers["2026-11-01"], followers["2026-11-20"], followers["2026-11-25"]) == (
            1, 2, 2, 3)  # fmt: skip
        assert m.followers_end == await db.scalar("SELECT COUNT(*) FROM follows") == 3
    finally:
        await db.close()


async def test_a_follower_who_leaves_the_community_no_longer_follows(testbot: TestBot) -> None:
    from bot.model import MemberLeft
    from bot.platforms.base import SilentResponder

    await testbot.push(":as ann", "/follow", ":as ben", "/follow")
    ann = Member("console", "ann", "ann")
    general = Place(Community("console", "local"), "general", "general")
    await testbot.bot.dispatch(MemberLeft(ann, general, channel_only=True), SilentResponder())  # one channel: no change
    assert await testbot.db.scalar("SELECT COUNT(*) FROM follows") == 2
    await testbot.bot.dispatch(MemberLeft(ann, general), SilentResponder())  # the community: no longer a follower
    assert [r[0] for r in await testbot.db.fetchall("SELECT member_id FROM follows")] == ["ben"]
    rows = await testbot.db.fetchall("SELECT member_id, followed FROM follow_history ORDER BY id")
    assert [tuple(r) for r in rows] == [("ann", 1), ("ben", 1), ("ann", 0)]
    m = await metrics(testbot.db, date(2026, 11, 27), date(2026, 11, 27))
    assert (m.days[0].follows, m.days[0].unfollows, m.followers_end) == (2, 1, 1)


async def test_the_follow_reply_counts_the_new_follower_among_the_members(testbot: TestBot) -> None:
    out = await testbot.push(":as a", "/follow", ":as b", "/follow", "/unfollow", ":as c", "/follow")
    assert out.rstrip().endswith("You now follow ALCTS here. 2 of 3 members follow (67%).")

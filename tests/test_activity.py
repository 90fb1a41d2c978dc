"""Reading is not taking part: read-only commands (`@command(..., activity=False)`) and
commands that changed nothing (`/unfollow` when not following) are logged, but do not raise
daily, weekly or monthly active members."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.model import Role
from cogs.stats.metrics import compute
from storage.growth import GrowthQueries
from tests.harness import TestBot

DAY = date(2026, 11, 27)  # the harness's first day, in Chicago
READ_ONLY = ["poll results", "poll list", "poll export", "trivia categories", "trivia leaderboard",
             "trivia stats", "trivia flags", "webinar list", "webinar show", "webinar ics",
             "webinar attendees", "jobs latest", "jobs saved", "jobs feeds", "jobs test"]  # fmt: skip


async def active(testbot: TestBot) -> tuple[int, int, int]:
    await testbot.db.flush()
    m = await compute(GrowthQueries(testbot.db), ("console", "local"), DAY - timedelta(days=29), DAY, "t", "America/Chicago")
    return m.dau, m.wau, m.mau


async def kinds(testbot: TestBot, member: str) -> list[tuple[str, str]]:
    await testbot.db.flush()
    rows = await testbot.db.fetchall(
        "SELECT kind, subject FROM engagement_events WHERE member_id = ? ORDER BY rowid", (member,)
    )
    return [(row[0], row[1]) for row in rows]


async def test_the_read_only_commands_are_declared_so(testbot: TestBot) -> None:
    commands = testbot.bot.registry.commands
    assert sorted(name for name, c in commands.items() if not c.spec.activity and c.cog not in ("help", "stats", "config")) == sorted(READ_ONLY)
    for name in ("poll create", "trivia start", "follow", "unfollow", "webinar add", "jobs post"):
        assert commands[name].spec.activity, name


async def test_reading_results_lists_and_leaderboards_is_not_activity(testbot: TestBot) -> None:
    await testbot.push(":as olga organizer", '/poll create "Lunch?" yes no', '/webinar add "RDA" "Dec 3 2pm"')
    assert await active(testbot) == (1, 1, 1)  # olga created things
    await testbot.push(":as ann member", "/poll results 1", "/poll list", "/trivia leaderboard", "/trivia categories",
                       "/trivia stats", "/webinar list", "/webinar show 1", "/webinar ics all", "/jobs latest",
                       "/jobs saved")  # fmt: skip
    assert await active(testbot) == (1, 1, 1)  # ann only read
    logged = await kinds(testbot, "ann")
    assert len(logged) == 10 and {kind for kind, _ in logged} == {"no_change"}  # logged all the same
    assert ("no_change", "poll results") in logged
    await testbot.push(":as ann member", ":click 1")  # a vote is taking part
    assert await active(testbot) == (2, 2, 2)


async def test_unfollow_when_not_following_is_not_activity(testbot: TestBot) -> None:
    out = await testbot.push(":as ann member", "/unfollow")
    assert "You were not following" in out
    assert await active(testbot) == (0, 0, 0)
    assert await kinds(testbot, "ann") == [("no_change", "unfollow")]
    await testbot.push("/follow", "/follow")  # the second changes nothing
    assert await kinds(testbot, "ann") == [("no_change", "unfollow"), ("command", "follow"), ("no_change", "follow")]
    assert await active(testbot) == (1, 1, 1)
    testbot.clock.advance(timedelta(days=1))
    await testbot.push("/unfollow")  # a change of state: taking part
    assert (await kinds(testbot, "ann"))[-1] == ("command", "unfollow")


@pytest.mark.parametrize("role", [Role.MODERATOR, Role.ORGANIZER])
async def test_moderators_reading_their_queues_are_not_active(testbot: TestBot, role: Role) -> None:
    await testbot.push(f":as mo {role.label}", "/trivia flags", "/jobs feeds", "/poll list")
    assert await active(testbot) == (0, 0, 0)

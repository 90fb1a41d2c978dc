"""The permission matrix: every command x member, moderator, organizer x this channel and
another, generated from the registry, so a new command cannot be added without its row."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.model import Role
from tests.harness import TestBot

# command -> (a line that passes the role check, where its object lives)
# "channel": the command works on an object of one channel (a poll, a round) and is refused
# from any other; "community": it works anywhere in the community.
MATRIX: dict[str, tuple[str, str]] = {
    "help": ("/help", "community"),
    "trivia start": ("/trivia start questions=1", "community"),
    "trivia stop": ("/trivia stop", "channel"),
    "trivia daily": ("/trivia daily off", "community"),
    "trivia categories": ("/trivia categories", "community"),
    "trivia leaderboard": ("/trivia leaderboard", "community"),
    "trivia stats": ("/trivia stats", "community"),
    "trivia flag": ("/trivia flag marc21-001 the answer changed", "community"),
    "trivia flags": ("/trivia flags", "community"),
    "trivia restore": ("/trivia restore marc21-001", "community"),
    "poll create": ('/poll create "Q?" a b', "community"),
    "poll results": ("/poll results 1", "channel"),
    "poll list": ("/poll list", "channel"),
    "poll close": ("/poll close 1", "channel"),
    "poll delete": ("/poll delete 1", "channel"),
    "poll export": ("/poll export 1", "channel"),
    "jobs subscribe": ("/jobs subscribe ftp://example.org/feed", "community"),
    "jobs unsubscribe": ("/jobs unsubscribe 9", "community"),
    "jobs feeds": ("/jobs feeds", "community"),
    "jobs test": ("/jobs test ftp://example.org/feed", "community"),
    "jobs post": ("/jobs post Cataloger https://jobs.example.org/1", "community"),
    "jobs latest": ("/jobs latest", "community"),
    "jobs saved": ("/jobs saved", "community"),
    "webinar add": ('/webinar add "Talk" "Dec 3 2pm"', "community"),
    "webinar edit": ("/webinar edit 1 title=Renamed", "community"),
    "webinar cancel": ("/webinar cancel 1", "community"),
    "webinar import": ("/webinar import ftp://example.org/cal.ics", "community"),
    "webinar list": ("/webinar list", "community"),
    "webinar show": ("/webinar show 1", "community"),
    "webinar ics": ("/webinar ics all", "community"),
    "webinar attendees": ("/webinar attendees 1", "community"),
    "follow": ("/follow", "community"),
    "unfollow": ("/unfollow", "community"),
    "stats growth": ("/stats growth", "community"),
    "stats engagement": ("/stats engagement", "community"),
    "stats accounts": ("/stats accounts", "community"),
    "stats record": ("/stats record facebook 10", "community"),
    "stats me": ("/stats me", "community"),
    "stats optout": ("/stats optout", "community"),
    "config show": ("/config show", "community"),
    "config set": ("/config set timezone America/Chicago", "community"),
    "privacy forget-me": ("/privacy forget-me", "community"),
}
ROLES = (Role.MEMBER, Role.MODERATOR, Role.ORGANIZER)


@pytest.fixture
async def community(tmp_path: Path) -> AsyncIterator[TestBot]:
    testbot = await TestBot(tmp_path, bot_quota_scale=0).start()
    await testbot.push(":as olga organizer", '/poll create "Where?" here there',
                       '/webinar add "Talk" "Dec 3 2pm"', "/trivia start questions=3")  # fmt: skip
    yield testbot
    await testbot.stop()


def test_every_command_has_a_row() -> None:
    from tests.harness import TestBot as Harness

    registered = set(Harness(Path("/tmp/unused-matrix")).bot.registry.commands)
    assert registered == set(MATRIX), f"add rows for {registered - set(MATRIX)}; drop {set(MATRIX) - registered}"


@pytest.mark.parametrize("name", sorted(MATRIX))
@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.label)
async def test_roles(community: TestBot, name: str, role: Role) -> None:
    line, _ = MATRIX[name]
    needed = community.bot.registry.commands[name].spec.role
    out = await community.push(f":as someone {role.label}", line)
    refused = f"Only {needed.label}s can use /{name}." in out
    assert refused == (role < needed), out
    assert "Something went wrong" not in out
    if refused:
        audit = await community.db.scalar("SELECT COUNT(*) FROM audit_log WHERE action = ? AND allowed = 0", (f"/{name}",))
        assert audit >= 1


@pytest.mark.parametrize("name", sorted(n for n, (_, scope) in MATRIX.items() if scope == "channel"))
async def test_objects_of_one_channel_are_refused_from_another(community: TestBot, name: str) -> None:
    line, _ = MATRIX[name]
    out = await community.push(":as olga organizer", ":channel elsewhere", line)
    assert "in this channel" in out or "No open polls here" in out, out
    assert "Where?" not in out  # nothing of the other channel's poll is shown

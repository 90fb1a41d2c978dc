"""Quotas on moderators' own commands (job feeds and posts, webinars) and on members'
RSVP clicks: per member, per channel, scaled by BOT_QUOTA_SCALE, forgiven as time passes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.model import ButtonPressed, Member, Role
from bot.quotas import Quota
from tests.harness import TestBot

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def add(n: int) -> str:
    return f'/webinar add "Talk {n}" "Dec 9 2pm"'


async def moderators(tmp_path: Path, **settings: object) -> TestBot:
    testbot = TestBot(tmp_path, member="mo", role=Role.MODERATOR, **settings)
    testbot.clock.set(NOW)
    return await testbot.start()


async def webinars(testbot: TestBot) -> int:
    return int(await testbot.db.scalar("SELECT COUNT(*) FROM webinars"))


def test_a_quota_spares_moderators_unless_it_says_so() -> None:
    assert Quota(5, 60).applies_to(Role.MEMBER) and not Quota(5, 60).applies_to(Role.MODERATOR)
    assert Quota(5, 60, moderators=True).applies_to(Role.MODERATOR)
    assert Quota(5, 60, moderators=True).applies_to(Role.ORGANIZER)


async def test_moderators_have_a_quota_on_webinar_add_per_member_and_per_channel(tmp_path: Path) -> None:
    testbot = await moderators(tmp_path)
    out = await testbot.push(*[add(n) for n in range(21)])
    assert out.count("is set for") == 20
    assert "(only you) You have used /webinar add a lot just now; try again in 1 hour." in out
    assert await webinars(testbot) == 20  # the refused one wrote nothing
    out = await testbot.push(":as ola moderator", *[add(n) for n in range(20, 41)])
    assert out.count("is set for") == 20 and "try again in" in out  # the channel's 40 are used up
    out = await testbot.push(":channel cataloging", add(41))
    assert "try again in" in out  # ola's own 20 are used up everywhere
    assert "is set for" in await testbot.push(":as pat organizer", add(42))  # another channel: its own 40
    testbot.clock.advance(timedelta(minutes=61))
    assert "is set for" in await testbot.push(":as mo moderator", ":channel general", add(43))
    assert await webinars(testbot) == 42
    await testbot.stop()


@pytest.mark.parametrize(("scale", "allowed"), [(0.5, 10), (2, 40), (0, 45)])
async def test_bot_quota_scale_multiplies_moderator_quotas(tmp_path: Path, scale: float, allowed: int) -> None:
    testbot = await moderators(tmp_path, bot_quota_scale=scale)
    out = await testbot.push(*[f'/jobs post "Cataloger {n}" https://jobs.example.org/{n}' for n in range(45)])
    assert out.count("Job post via mo.") == allowed
    assert int(await testbot.db.scalar("SELECT COUNT(*) FROM job_items")) == allowed
    assert ("a lot just now" in out) == (allowed < 45)
    await testbot.stop()


async def test_rsvp_clicks_have_a_member_quota(tmp_path: Path) -> None:
    testbot = await moderators(tmp_path)
    await testbot.push(add(1))
    place = testbot.console.place
    texts: list[str] = []

    class Answers:
        async def respond(self, card: object) -> None:
            texts.append(getattr(card, "text", ""))

    async def click(name: str, role: Role, answer: str) -> str:
        texts.clear()
        member = Member("console", name, name, role=role)
        await testbot.bot.dispatch(ButtonPressed(member, place, custom_id=f"webinar.rsvp:1:{answer}"), Answers())
        return texts[-1]

    for n in range(20):
        assert "Talk 1" in await click("ann", Role.MEMBER, "going" if n % 2 else "not")
    assert await click("ann", Role.MEMBER, "going") == "You have clicked that a lot just now; try again in 10 minutes."
    assert "Talk 1" in await click("ben", Role.MEMBER, "going")  # per member
    for _ in range(25):
        assert "Talk 1" in await click("mo", Role.MODERATOR, "going")  # moderators are spared here
    testbot.clock.advance(timedelta(minutes=11))
    assert "You're going" in await click("ann", Role.MEMBER, "going")
    await testbot.stop()

"""Gateway events: member counts, joins and leaves, chat messages, reconnect and resume."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import discord
import pytest

from bot.config import ConfigError
from tests.e2e.discord.conftest import ALICE, DiscordBot, StartBot
from tests.e2e.discord.fake_discord import GUILD_ID, FakeDiscord, FakeGuild, FakeUser

MEMBERS_INTENT, GUILD_MESSAGES_INTENT, MESSAGE_CONTENT_INTENT = 1 << 1, 1 << 9, 1 << 15
NEWBIE = FakeUser(6001, "newbie")
T = TypeVar("T")


async def settle(fake: FakeDiscord) -> None:
    """For checks that nothing happened: events before a later command have had their turn."""
    await fake.reply(await fake.slash("help", ALICE))
    await asyncio.sleep(0.1)


async def eventually(read: Callable[[], Awaitable[T]], done: Callable[[T], bool], within: float = 10.0) -> T:
    """Read until `done(value)`; events are handled in tasks of their own, so they land a bit later."""
    async with asyncio.timeout(within):
        while True:
            value = await read()
            if done(value):
                return value
            await asyncio.sleep(0.02)


async def joined(running: DiscordBot) -> list[str]:
    return [m.id for m in running.probe.joined]


async def test_each_guild_gets_a_member_count_snapshot(fake: FakeDiscord, start_bot: StartBot) -> None:
    running = await start_bot()
    rows = await eventually(lambda: running.rows("SELECT platform, community_id, members FROM member_counts"), bool)
    assert rows == [("discord", str(GUILD_ID), 42)]


async def test_member_counts_are_refreshed_without_the_members_intent(fake: FakeDiscord, start_bot: StartBot) -> None:
    running = await start_bot(snapshot_every=0.1)
    fake.guilds[0].member_count = 57  # the guild grew; only approximate_member_count can tell

    rows = await eventually(lambda: running.rows("SELECT members FROM member_counts"), lambda r: (57,) in r)
    assert (42,) in rows  # the GUILD_CREATE snapshot
    assert ("GET", f"/api/v10/guilds/{GUILD_ID}") in fake.requests


async def test_joins_and_leaves_reach_the_core_with_the_members_intent(fake: FakeDiscord, start_bot: StartBot) -> None:
    running = await start_bot(discord_members_intent=True)
    assert fake.identifies[0]["intents"] & MEMBERS_INTENT

    await fake.member_join(NEWBIE)
    await fake.member_leave(NEWBIE)

    sql = "SELECT kind, member_id FROM engagement_events WHERE kind LIKE 'member%' ORDER BY id"
    kinds = await eventually(lambda: running.rows(sql), lambda rows: len(rows) >= 2)
    assert kinds == [("member_joined", str(NEWBIE.id)), ("member_left", str(NEWBIE.id))]
    assert [m.id for m in running.probe.joined] == [str(NEWBIE.id)]
    assert [(m.id, m.display_name) for m in running.probe.left] == [(str(NEWBIE.id), "newbie")]


async def test_privileged_intents_are_off_by_default(fake: FakeDiscord, start_bot: StartBot) -> None:
    running = await start_bot()
    intents = fake.identifies[0]["intents"]
    assert not intents & (MEMBERS_INTENT | MESSAGE_CONTENT_INTENT | GUILD_MESSAGES_INTENT)

    await fake.member_join(NEWBIE)
    await fake.chat("Dewey Decimal", ALICE)
    await settle(fake)

    assert running.probe.joined == [] and fake.channel_posts == []


async def test_an_intent_the_portal_has_not_allowed_stops_start_up(fake: FakeDiscord, start_bot: StartBot) -> None:
    fake.privileged_allowed = False
    with pytest.raises(ConfigError, match=r"^config: Discord refused a privileged intent: turn on .*DISCORD_MEMBERS_INTENT") as refused:
        await start_bot(discord_members_intent=True)
    assert isinstance(refused.value.__cause__, discord.PrivilegedIntentsRequired)


async def test_chat_reaches_the_core_with_the_message_content_intent(fake: FakeDiscord, start_bot: StartBot) -> None:
    await start_bot(discord_message_content_intent=True)
    assert fake.identifies[0]["intents"] & (GUILD_MESSAGES_INTENT | MESSAGE_CONTENT_INTENT) == (
        GUILD_MESSAGES_INTENT | MESSAGE_CONTENT_INTENT
    )

    await fake.chat("I am a bot", FakeUser(6002, "otherbot", bot=True))
    await fake.chat("Dewey Decimal @here", ALICE)
    await fake.wait_for(lambda: fake.channel_posts)
    await settle(fake)

    posts = [post["embeds"][0]["description"] for post in fake.channel_posts]
    assert posts == ["heard: Dewey Decimal here"]  # the private aside has no place in a channel


async def test_the_gateway_reconnects_and_resumes(fake: FakeDiscord, start_bot: StartBot) -> None:
    running = await start_bot(discord_members_intent=True)
    (session_id,) = fake.sessions

    await fake.reconnect()  # op 7
    await fake.wait_for(lambda: len(fake.resumes) == 1)
    assert fake.resumes[0]["session_id"] == session_id and fake.resumes[0]["seq"] >= 2

    await fake.drop(4000)  # a network failure; the join happens while disconnected
    await fake.member_join(NEWBIE)
    await fake.wait_for(lambda: len(fake.resumes) == 2)

    assert await eventually(lambda: joined(running), bool) == [str(NEWBIE.id)]  # replayed on resume
    assert len(fake.identifies) == 1  # resumed both times, never a new session


async def test_an_auto_sharded_bot_identifies_each_shard(start_bot: StartBot) -> None:
    # guild ids whose shard, (id >> 22) % 2, is 0 and 1
    guilds = [FakeGuild(id=(10 << 22) | 1, channel_id=710), FakeGuild(id=(11 << 22) | 1, channel_id=711)]
    fake = await FakeDiscord(guilds=guilds).start()
    try:
        await start_bot(server=fake, discord_shards=2)
        await fake.wait_for(lambda: len(fake.identifies) == 2, within=15)  # discord.py waits 5 s per shard
        assert sorted(tuple(i["shard"]) for i in fake.identifies) == [(0, 2), (1, 2)]
        for guild in guilds:
            answer = await fake.reply(await fake.slash("follow", ALICE, guild=guild))
            assert answer.text.startswith("You now follow ALCTS here.")
    finally:
        await fake.stop()

"""The real bot and the real discord.py against the fake Discord on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.app import Bot
from bot.clock import SystemClock
from bot.platforms.discord import DiscordPlatform
from storage.db import Database
from tests.e2e.discord.fake_discord import FakeDiscord, FakeGuild, FakeUser
from tests.e2e.discord.probes import Probe, Slow
from tests.harness import make_settings

BOARD_ROLE = 600000000000000001
MODS_ROLE = 600000000000000002
FOLLOWERS_ROLE = 600000000000000003
ALICE = FakeUser(5001, "alice")
ADMIN = FakeUser(5002, "root", permissions=1 << 3)
BOARD = FakeUser(5003, "bea", roles=[BOARD_ROLE])
MOD = FakeUser(5004, "mo", roles=[MODS_ROLE])


class DiscordBot:
    """A running bot: the core with its cogs, the probes, and the Discord platform."""

    def __init__(self, bot: Bot, platform: DiscordPlatform, probe: Probe) -> None:
        self.bot = bot
        self.platform = platform
        self.probe = probe

    async def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        await self.bot.db.flush()
        return [tuple(row) for row in await self.bot.db.fetchall(sql, params)]


StartBot = Callable[..., Awaitable[DiscordBot]]


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    guild = FakeGuild(roles={BOARD_ROLE: "Board", MODS_ROLE: "Mods", FOLLOWERS_ROLE: "Followers"})
    server = await FakeDiscord(guilds=[guild]).start()
    yield server
    await server.stop()


@pytest.fixture
async def start_bot(tmp_path: Path, fake: FakeDiscord) -> AsyncIterator[StartBot]:
    """Start the bot against `fake` (or `server`): `await start_bot(defer_after=0.2, discord_shards=2)`."""
    running: list[Bot] = []

    async def start(*, server: FakeDiscord | None = None, defer_after: float = 2.0, slow: float = 0.5,
                    snapshot_every: float = 86400, **settings: Any) -> DiscordBot:  # fmt: skip
        target = server or fake
        values = {"discord_token": target.token, "discord_api_base": target.api_base,
                  "discord_gateway_url": target.gateway_url, **settings}  # fmt: skip
        config = make_settings(tmp_path, **values)
        bot = Bot(config, Database(config.bot_database), SystemClock(), edit_interval=0.0)
        bot.load_cogs()
        probe = Probe(bot)
        bot.add_cog(probe)
        bot.add_cog(Slow(slow))
        await bot.open()
        running.append(bot)
        platform = DiscordPlatform(bot, config, defer_after=defer_after, ready_timeout=0.05,
                                   snapshot_every=snapshot_every)  # fmt: skip
        bot.add_platform(platform)
        await platform.start()
        return DiscordBot(bot, platform, probe)

    yield start
    for bot in running:
        await bot.close()

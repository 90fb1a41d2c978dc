"""errbot-style harness: push a console line, read what the bot answered.

The bot is the real one (real cogs, real SQLite file, real dispatch path); only the clock
is manual, so timed flows run instantly.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.app import DEFAULT_COGS, Bot
from bot.clock import ManualClock
from bot.config import Settings
from bot.model import Role
from bot.platforms.console import ConsolePlatform
from storage.db import Database

START = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    """Settings for a test: nothing from the developer's environment or `.env`."""
    values: dict[str, object] = {"bot_database": tmp_path / "bot.sqlite3", **overrides}
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


class TestBot:
    __test__ = False  # not a pytest class

    def __init__(self, tmp_path: Path, *, member: str = "you", role: Role = Role.MEMBER,
                 cogs: tuple[str, ...] = DEFAULT_COGS, **settings: object) -> None:  # fmt: skip
        self.path = tmp_path
        self.clock = ManualClock(START)
        self.settings = make_settings(tmp_path, **settings)
        self.db = Database(self.settings.bot_database)
        self.bot = Bot(self.settings, self.db, self.clock, edit_interval=0)
        self.bot.load_cogs(cogs)
        self.out = io.StringIO()
        self.console = ConsolePlatform(
            self.bot, self.clock, self.out, member=member, role=role, files_dir=tmp_path / "files"
        )
        self.bot.add_platform(self.console)

    async def start(self) -> TestBot:
        await self.bot.open()
        return self

    async def stop(self) -> None:
        await self.bot.close()

    async def push(self, *lines: str) -> str:
        """Send lines as if typed in the console; returns everything printed meanwhile."""
        start = self.out.tell()
        for line in lines:
            await self.console.handle(line)
            await self.bot.idle()
        return self.out.getvalue()[start:]

    async def wait(self, seconds: float) -> str:
        return await self.push(f":wait {seconds}s")

    def later(self, seconds: float) -> datetime:
        return self.clock.now() + timedelta(seconds=seconds)


@contextmanager
def organizer_bot(path: Path) -> Iterator[tuple[asyncio.AbstractEventLoop, TestBot]]:
    """An organizer's TestBot on a loop of its own, with no quotas, a poll (#1) and a
    webinar (#1) to act on: for module-scoped fixtures that hypothesis drives."""
    loop = asyncio.new_event_loop()
    testbot = TestBot(path, member="olga", role=Role.ORGANIZER, bot_quota_scale=0)
    loop.run_until_complete(testbot.start())
    try:
        loop.run_until_complete(testbot.push('/poll create "Q?" a b', '/webinar add "Talk" "Dec 3 2pm"'))
        yield loop, testbot
    finally:
        loop.run_until_complete(testbot.stop())
        loop.close()

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.db import Database
from tests.harness import TestBot


@pytest.fixture(autouse=True)
async def close_leaked_databases(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[None]:
    """A test that fails before closing its database must not leave aiosqlite's (non-daemon)
    thread running: the test run would then never exit."""
    opened: list[Database] = []
    original = Database.open

    async def open_and_track(self: Database) -> None:
        opened.append(self)
        await original(self)

    monkeypatch.setattr(Database, "open", open_and_track)
    yield
    for db in opened:
        await db.close()


@pytest.fixture
async def testbot(tmp_path: Path) -> AsyncIterator[TestBot]:
    bot = await TestBot(tmp_path).start()
    yield bot
    await bot.stop()

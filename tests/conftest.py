from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.harness import TestBot


@pytest.fixture
async def testbot(tmp_path: Path) -> AsyncIterator[TestBot]:
    bot = await TestBot(tmp_path).start()
    yield bot
    await bot.stop()

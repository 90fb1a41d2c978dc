"""The Bot's one HTTP session: made on first use, governed by BOT_ALLOW_PRIVATE_URLS, closed with the Bot."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from bot.fetch import BlockedAddress
from tests.harness import TestBot


@pytest.fixture
async def server() -> AsyncIterator[str]:
    async def feed(request: web.Request) -> web.Response:
        return web.Response(text="<rss/>", headers={"ETag": '"v1"'})

    app = web.Application()
    app.router.add_get("/feed", feed)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}/feed"
    await runner.cleanup()


async def test_private_addresses_are_refused_by_default(tmp_path: Path, server: str) -> None:
    testbot = await TestBot(tmp_path).start()
    with pytest.raises(BlockedAddress):
        await testbot.bot.fetch(server)
    await testbot.stop()


async def test_the_setting_allows_loopback_and_the_session_closes_with_the_bot(tmp_path: Path, server: str) -> None:
    testbot = await TestBot(tmp_path, bot_allow_private_urls=True).start()
    first = await testbot.bot.fetch(server)
    assert first.body == b"<rss/>" and first.etag == '"v1"'
    fetcher = testbot.bot._fetcher
    assert fetcher is not None
    await testbot.bot.fetch(server)
    assert testbot.bot._fetcher is fetcher  # one session for the Bot's life
    await testbot.stop()
    assert fetcher._session is None or fetcher._session.closed

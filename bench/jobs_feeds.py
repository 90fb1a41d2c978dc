"""The feeds bench.jobs polls, served on 127.0.0.1 by a process of its own
(`python -m bench.jobs_feeds` prints its port), so the CPU time bench.jobs measures is
the bot's alone.

`/big`: 10 old items, or after `POST /_grow` the 1,000 new ones too (no validators, so
every GET is a full 200); `/f/N`: a small feed with an ETag, 304 when unchanged;
`/_stats`: response counts by status; `POST /_reset`: back to the start.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

NEW_ITEMS = 1000
OLD_ITEMS = 10


def _item(guid: str, n: int, when: datetime) -> str:
    return (f"<item><title>Chicago, IL: Metadata Librarian {n}, University of Chicago</title>"
            f"<link>https://jobs.example.org/{guid}</link><guid>{guid}</guid>"
            f"<pubDate>{when:%a, %d %b %Y %H:%M:%S} GMT</pubDate>"
            f"<description>&lt;p&gt;A role in technical services, number {n}: cataloging, metadata "
            f"and &amp;amp; discovery.&lt;/p&gt;</description></item>")  # fmt: skip


def _rss(items: list[str], title: str = "Library Jobs") -> bytes:
    return (f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>{title}</title>"
            f"{''.join(items)}</channel></rss>").encode()  # fmt: skip


OLD = [_item(f"old-{n}", n, datetime(2026, 11, 1, tzinfo=UTC) + timedelta(hours=n)) for n in range(OLD_ITEMS, 0, -1)]
NEW = [_item(f"new-{n}", n, datetime(2026, 11, 26, tzinfo=UTC) + timedelta(minutes=n)) for n in range(NEW_ITEMS, 0, -1)]
BIG_BEFORE, BIG_AFTER = _rss(OLD), _rss(NEW + OLD)


def serve() -> None:
    """`/big`: the old items, or after `POST /_grow` the 1,000 new ones too (no validators,
    so every GET is a full 200); `/f/N`: a small feed with an ETag, 304 when unchanged;
    `/_stats`: response counts by status; `POST /_reset`: back to the start."""
    from aiohttp import web

    state: dict[str, Any] = {"grown": False, "status": {}}

    def count(status: int) -> None:
        state["status"][status] = state["status"].get(status, 0) + 1

    async def big(request: web.Request) -> web.Response:
        count(200)
        return web.Response(body=BIG_AFTER if state["grown"] else BIG_BEFORE, content_type="application/rss+xml")

    async def small(request: web.Request) -> web.Response:
        n = request.match_info["n"]
        etag = f'"v1-{n}"'
        if request.headers.get("If-None-Match") == etag:
            count(304)
            return web.Response(status=304, headers={"ETag": etag})
        count(200)
        body = _rss([_item(f"f{n}-{i}", i, datetime(2026, 11, 1, tzinfo=UTC)) for i in (3, 2, 1)], f"Feed {n}")
        return web.Response(body=body, content_type="application/rss+xml", headers={"ETag": etag})

    async def grow(request: web.Request) -> web.Response:
        state["grown"] = True
        return web.Response(text="ok")

    async def reset(request: web.Request) -> web.Response:
        state["grown"], state["status"] = False, {}
        return web.Response(text="ok")

    async def stats(request: web.Request) -> web.Response:
        return web.json_response({str(k): v for k, v in state["status"].items()})

    app = web.Application()
    app.router.add_get("/big", big)
    app.router.add_get("/f/{n}", small)
    app.router.add_post("/_grow", grow)
    app.router.add_post("/_reset", reset)
    app.router.add_get("/_stats", stats)
    _run(app)


def _run(app: Any) -> None:
    """Serve on a free port and print it for the parent."""
    from aiohttp import web

    async def main() -> None:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        print(site._server.sockets[0].getsockname()[1], flush=True)  # type: ignore[union-attr]
        await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


@contextlib.contextmanager
def feed_server() -> Iterator[str]:
    child = subprocess.Popen([sys.executable, "-m", "bench.jobs_feeds"], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        yield f"http://127.0.0.1:{port}"
    finally:
        child.terminate()
        child.wait(timeout=10)


async def control(http: aiohttp.ClientSession, url: str, method: str = "POST") -> Any:
    async with http.request(method, url) as response:
        return await response.json() if method == "GET" else await response.text()


if __name__ == "__main__":
    serve()

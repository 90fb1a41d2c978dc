"""The fake Discord and the fake Slack of tests/e2e, each in a process of its own, with the
controls the platform benchmarks drive them by:

    python -m bench.fakes discord                 # prints {"port", "control", "token"}
    python -m bench.fakes slack --users 1000      # prints {"port", "control", "api_url"}

The fakes are the e2e suite's, unchanged; here they are subclassed only to time what the
benchmark needs. The control server (another port, the same process and event loop) takes
`POST /_control/burst` and answers when the burst is over. The fake sends the clicks itself
and times each one in this process, so nothing of it runs in the bot's process:

- ack: from sending the click to its acknowledgement (Discord: the interaction callback,
  whatever its type; Slack: the HTTP response to the signed request);
- answer: from sending to the member's visible answer containing `expect_answer`
  (Discord: a callback with a message, an edit of the original or a follow-up; Slack: a
  POST to the click's response_url);
- the clicked message: its edits, and when it first showed `expect_message` (converged).

The fake is the instrument: it keeps every request and answer (the e2e fakes' records), so
before each burst it collects, freezes what it holds (bot/heap.py's `settle`: never walked
again by the collector) and starts its clock: a burst is not timed through collections of
the bursts before it, whose cost would grow round by round.

`seconds` runs from the first click sent to the last good answer; `cpu` is this process's
CPU time over the burst (near `seconds`: the fake, not the bot, may be the bottleneck).
On Discord, clicks go to one gateway session (`session`), so a bare discord.py client and
the bot can be connected at once and take turns.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from bot import heap
from tests.e2e.discord.fake_discord import DISPATCH, Answer, FakeDiscord, FakeUser, message_text
from tests.e2e.slack.fake_slack import FakeSlack, SlackWire

CHANNEL = "C0BENCH01"  # the Slack channel of the benchmark


def slack_user(n: int) -> str:
    return f"U{n:08d}"


@dataclass
class Burst:
    count: int
    expect_answer: str
    expect_message: str | None
    message: str | None  # the clicked message's id (Discord) or ts (Slack)
    sent: dict[Any, float] = field(default_factory=dict)
    acked: dict[Any, float] = field(default_factory=dict)
    answered: dict[Any, float] = field(default_factory=dict)
    refused: set[Any] = field(default_factory=set)  # acked with a refusal (busy): not handled
    wrong: set[Any] = field(default_factory=set)  # answered with something else
    edits: list[float] = field(default_factory=list)
    converged: float | None = None
    started: float = 0.0
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def ack(self, key: Any, now: float, *, shown: str | None = None) -> None:
        self.acked.setdefault(key, now)
        if shown is not None:
            self.answer(key, now, shown)
        self.changed.set()

    def answer(self, key: Any, now: float, shown: str) -> None:
        if self.expect_answer in shown:
            self.answered.setdefault(key, now)
        elif key not in self.answered:
            self.wrong.add(key)  # an error, a busy notice...
        self.changed.set()

    def edited(self, now: float, shown: str) -> None:
        self.edits.append(now)
        if self.converged is None and self.expect_message and self.expect_message in shown:
            self.converged = now
        self.changed.set()

    def settled(self) -> bool:
        """Every click sent, and answered (well or not) or refused."""
        settled = self.answered.keys() | self.refused | self.wrong
        return len(self.sent) == self.count and all(k in settled for k in self.sent)

    async def wait(self, within: float, settle: float = 10.0) -> None:
        """Until every click is settled (at most `within` seconds), then until the message
        shows `expect_message` (at most `settle` seconds more: a message that never
        converges is reported as such, not waited for)."""
        await self._until(self.settled, within)
        if self.expect_message:
            await self._until(lambda: self.converged is not None, settle)

    async def _until(self, done: Any, within: float) -> None:
        deadline = time.perf_counter() + within
        while not done() and (left := deadline - time.perf_counter()) > 0:
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), left)
            except TimeoutError:
                break

    def result(self, cpu: float) -> dict[str, Any]:
        keys = list(self.sent)
        last = max((self.answered[k] for k in keys if k in self.answered), default=self.started)
        return {
            "sent": len(keys), "acked": sum(1 for k in keys if k in self.acked),
            "answered": sum(1 for k in keys if k in self.answered), "refused": len(self.refused),
            "wrong": len(self.wrong - self.answered.keys()),
            "seconds": last - self.started, "cpu": cpu,
            "ack_ms": sorted(1000 * (self.acked[k] - self.sent[k]) for k in keys if k in self.acked),
            "answer_ms": sorted(1000 * (self.answered[k] - self.sent[k]) for k in keys if k in self.answered),
            "edits": len(self.edits),
            "converged_ms": None if self.converged is None else 1000 * (self.converged - self.started),
        }  # fmt: skip


def _burst(spec: dict[str, Any]) -> Burst:
    return Burst(int(spec["count"]), str(spec.get("expect_answer", "")), spec.get("expect_message"),
                 str(spec["message"]) if spec.get("message") else None)  # fmt: skip


async def _paced(count: int, rate: float, send: Any) -> None:
    """Call `send(n)` for every n: all at once (rate 0), or `rate` a second."""
    started = time.perf_counter()
    tasks = []
    for n in range(count):
        if rate:
            await asyncio.sleep(max(0.0, started + n / rate - time.perf_counter()))
        tasks.append(asyncio.ensure_future(send(n)))
    await asyncio.gather(*tasks)


# -- Discord ------------------------------------------------------------------------------------


class BenchDiscord(FakeDiscord):
    def __init__(self) -> None:
        super().__init__()
        self.target: str | None = None  # the gateway session that gets the clicks
        self.burst: Burst | None = None

    async def dispatch(self, event: str, data: dict[str, Any], guild_id: int | None = None) -> None:
        session = self.sessions.get(self.target or "")
        if event != "INTERACTION_CREATE" or session is None:
            await super().dispatch(event, data, guild_id)
            return
        session.seq += 1
        frame = {"op": DISPATCH, "t": event, "s": session.seq, "d": data}
        if session.ws is not None and not session.ws.closed:
            await session.ws.send_str(json.dumps(frame))

    def _answer(self, interaction_id: int, answer: Answer) -> None:
        super()._answer(interaction_id, answer)
        if self.burst is not None:
            visible = answer.kind in ("edit_original", "followup") or (answer.kind == "callback" and answer.type in (4, 7))
            self.burst.ack(interaction_id, time.perf_counter(), shown=answer.text if visible else None)

    async def _channel_edit(self, request: web.Request) -> web.Response:
        response = await super()._channel_edit(request)
        burst = self.burst
        if burst is not None and request.match_info["message"] == burst.message and response.status == 200:
            burst.edited(time.perf_counter(), message_text(self.messages[int(burst.message)]))
        return response

    async def control_sessions(self, request: web.Request) -> web.Response:
        connected = [sid for sid, s in self.sessions.items() if s.ws is not None and not s.ws.closed]
        return web.json_response({"sessions": connected})

    async def control_burst(self, request: web.Request) -> web.Response:
        """{session, prefix, options, count, members, rate, message, expect_answer,
        expect_message, timeout}: clicks `prefix:<n % options>` from `members` members."""
        spec = await request.json()
        heap.settle()  # the instrument's own records are not walked again during the burst
        self.target = spec["session"]
        burst = self.burst = _burst(spec)
        guild = self.guilds[0]
        message = self.messages.get(int(burst.message)) if burst.message else None
        users = [FakeUser(10_000 + i, f"member{i}") for i in range(int(spec["members"]))]
        options = int(spec.get("options") or 0)

        async def click(n: int) -> None:
            custom_id = f"{spec['prefix']}:{n % options if options else n}"
            data = {"custom_id": custom_id, "component_type": 2}
            interaction = await self._interact(3, users[n % len(users)], guild, data, message=message)
            burst.sent[interaction] = self.sent_at[interaction]

        cpu = time.process_time()
        burst.started = time.perf_counter()
        await _paced(burst.count, float(spec.get("rate") or 0), click)
        await burst.wait(float(spec.get("timeout", 60)))
        self.burst = None
        return web.json_response(burst.result(time.process_time() - cpu))


# -- Slack --------------------------------------------------------------------------------------


class BenchSlack(FakeSlack):
    def __init__(self, scopes: set[str]) -> None:
        super().__init__(scopes)
        self.burst: Burst | None = None
        self.wire = SlackWire(self)
        self.sessions: dict[str, aiohttp.ClientSession] = {}  # per app URL: warm connections

    async def _response_url(self, request: web.Request) -> web.Response:
        burst = self.burst
        if burst is not None:
            arrived = time.perf_counter()
            body = await request.read()
            burst.answer(request.match_info["token"], arrived, body.decode("utf-8", "replace"))
        return await super()._response_url(request)

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        result = super()._chat_update(args)
        burst = self.burst
        if burst is not None and args.get("ts") == burst.message:
            post = next(p for p in self.posts if p.ts == args["ts"])
            burst.edited(time.perf_counter(), post.everything())
        return result

    async def control_burst(self, request: web.Request) -> web.Response:
        """{url, prefix, options, count, users, rate, concurrency, channel, message,
        expect_answer, expect_message, timeout}: signed clicks, signed before the clock starts."""
        spec = await request.json()
        heap.settle()  # the instrument's own records are not walked again during the burst
        burst = _burst(spec)
        users, options = int(spec["users"]), int(spec.get("options") or 0)
        requests = []
        for n in range(burst.count):
            value = f"{spec['prefix']}:{n % options if options else n}"
            payload = self.wire.click(value, slack_user(n % users), spec.get("channel", CHANNEL), burst.message or "")
            token = urlsplit(payload["response_url"]).path.rsplit("/", 1)[1]
            requests.append((token, *self.wire.signed("interactive", payload)))
        url, limit = spec["url"], int(spec.get("concurrency") or 0)
        session = self.sessions.get(url)
        if session is None or session.connector is None or session.connector.limit != limit:
            session = self.sessions[url] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=limit))

        async def click(n: int) -> None:
            token, body, headers = requests[n]
            burst.sent[token] = time.perf_counter()
            try:
                async with session.post(url, data=body, headers=headers) as response:
                    text = await response.read()
                    if response.status != 200 or text:  # an ack that says why it was not taken
                        burst.refused.add(token)
            except aiohttp.ClientError:
                burst.refused.add(token)
            burst.ack(token, time.perf_counter())

        self.burst = burst
        cpu = time.process_time()
        burst.started = time.perf_counter()
        await _paced(burst.count, float(spec.get("rate") or 0), click)
        await burst.wait(float(spec.get("timeout", 60)))
        self.burst = None
        return web.json_response(burst.result(time.process_time() - cpu))

    async def close(self) -> None:
        for session in self.sessions.values():
            await session.close()
        await super().close()


# -- the process --------------------------------------------------------------------------------


async def _control(routes: dict[str, Any]) -> int:
    app = web.Application(client_max_size=16 * 1024 * 1024)
    for path, handler in routes.items():
        app.router.add_route("*", path, handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return int(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]


async def serve(kind: str, users: int) -> None:
    if kind == "discord":
        discord_fake = await BenchDiscord().start()
        control = await _control({"/_control/burst": discord_fake.control_burst,
                                  "/_control/sessions": discord_fake.control_sessions})  # fmt: skip
        hello: dict[str, Any] = {"port": discord_fake.port, "control": control, "token": discord_fake.token}
    else:
        from bot.platforms.slack_manifest import bot_scopes

        slack_fake = BenchSlack(set(bot_scopes()))
        for n in range(users):
            slack_fake.add_user(slack_user(n), f"member{n}")
        slack_fake.add_channel(CHANNEL, "bench", members=tuple(slack_fake.users))
        await slack_fake.start()
        control = await _control({"/_control/burst": slack_fake.control_burst})
        hello = {"port": int(slack_fake.url.rsplit(":", 1)[1]), "control": control, "api_url": slack_fake.api_url}
    print(json.dumps(hello), flush=True)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=("discord", "slack"))
    parser.add_argument("--users", type=int, default=1000, help="Slack: members of the workspace and channel")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.kind, args.users))


if __name__ == "__main__":
    main()

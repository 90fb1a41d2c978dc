"""Real poll votes through the Slack adapter next to a bare Bolt handler on the same fake
Slack, in rounds; and the adapter alone, the ceiling.

    python -m bench.slack_clicks [--clicks 1000] [--rounds 9] [--concurrency 100] [--rate 100]
        [--seconds 5] [--history PATH | --history-events N] [--json]

The fake Slack runs in a process of its own (`bench.fakes slack`): the Web API and the
response_urls the bot and the floor call, and the clicks, signed `block_actions` sent over
HTTP from `--clicks` members (one click each), all at once over at most `--concurrency`
connections (0: one per click; beyond the adapter's in-flight limit a click is refused as
busy, which counts against the bot). The contestants serve HTTP in this process:

- floor: a bare slack-bolt `AsyncApp` (its own aiohttp server, signature checks on, and
  `process_before_response` as the adapter runs it: the HTTP ack goes once the listener
  returns) whose action listener acks, then posts "Your vote: ..." to the response_url;
- load: the bot (`SlackPlatform`, `Bot` with the default cogs, SQLite): a real
  `poll.vote` (request identity claimed, vote read, decided and committed, engagement rows),
  acked once committed, answered privately on the response_url after the ack, and the
  poll's message updated with the tally (chat.update, coalesced);
- the adapter alone: a second `SlackPlatform` (its own port and database) in front of
  `AdapterOnly` (bench/clicks.py), a core that answers at once with the floor's text and
  stores nothing; the adapter's own work stays (signature check, validation, the durable
  request-identity claim, the ack after it, the answer on the response_url).

Each round makes a new poll (untimed) whose message the round's bursts click on; the order
of the three changes from round to round (bench/clicks.py's ORDERS). The fake times each
click's ack (the HTTP response) and its answer (the response_url POST). `--history PATH` (or `--history-events
N`, built first) runs the bot on a copy of a database of prior events (see bench.history);
bench.all does, with 1 million.

Figures: slack.vote_burst (votes answered per second, first click sent to last answer; goal
ratio >= 0.8 of the floor), slack.vote_burst_ack_p99 (goal under Slack's 3 s),
slack.vote_burst_answer_p99, the poll message's edits and when it showed the final
tally, a steady `--rate` a second for `--seconds` (answer p99 goal 50 ms), every vote
answered and stored; and slack.adapter_only.vote_burst (no goal: the ratio's ceiling) with
its answers.
"""

from __future__ import annotations

import asyncio
import re
import socket
import tempfile
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bench import history as hist
from bench.clicks import (
    ANSWER,
    SECRET,
    AdapterOnly,
    Burst,
    answer_text,
    fake_process,
    figures,
    quiet,
    rounds,
)
from bench.common import arguments, emit, history_arguments
from bench.fakes import CHANNEL
from bot import heap
from bot.app import Bot
from bot.clock import SystemClock
from bot.config import Settings
from bot.model import Place
from bot.platforms.slack import SlackPlatform
from bot.platforms.slack_manifest import EVENTS_PATH
from storage.db import Database
from tests.e2e.slack.fake_slack import BOT_TOKEN, SIGNING_SECRET


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def bare_bolt(port: int, api_url: str) -> tuple[web.AppRunner, aiohttp.ClientSession]:
    """The floor: Bolt's own HTTP app; the listener acks, then answers on the response_url."""
    session = aiohttp.ClientSession()
    client = AsyncWebClient(token=BOT_TOKEN, base_url=api_url)
    # as the adapter runs Bolt: the HTTP response (the ack) once the listener returns
    app = AsyncApp(client=client, signing_secret=SIGNING_SECRET, process_before_response=True)

    @app.action(re.compile(".+"))
    async def vote(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        text = answer_text(body["actions"][0]["value"])
        async with session.post(body["response_url"], json={"response_type": "ephemeral", "text": text}) as response:
            await response.read()

    runner = web.AppRunner(app.web_app(path=EVENTS_PATH), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, backlog=1024).start()
    return runner, session


async def run(clicks: int, count: int, concurrency: int, rate: float, seconds: float, history: str | None,
              history_events: int, as_json: bool) -> None:  # fmt: skip
    quiet()
    async with hist.prepared(history, history_events) as (source, about), fake_process("slack", "--users", str(clicks)) as fake:
        api_url = fake.hello["api_url"]
        with tempfile.TemporaryDirectory() as tmp_name:
            path = Path(tmp_name) / "bot.sqlite3"
            if source is not None:
                hist.copy(source, path)
            bot_port, floor_port, alone_port = free_port(), free_port(), free_port()
            settings = Settings(
                _env_file=None, bot_database=path, bot_poll_secret=SECRET, bot_http_port=bot_port,
                slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET, slack_api_url=api_url,
            )  # type: ignore[call-arg]
            bot = Bot(settings, Database(path), SystemClock())
            bot.load_cogs()
            platform = SlackPlatform(bot, settings)
            bot.add_platform(platform)
            await bot.open()
            alone_path = Path(tmp_name) / "adapter.sqlite3"  # the adapter alone: its own, empty database
            alone_settings = settings.model_copy(update={"bot_database": alone_path, "bot_http_port": alone_port})
            alone = AdapterOnly(alone_settings, Database(alone_path), SystemClock())
            alone_platform = SlackPlatform(alone, alone_settings)
            alone.add_platform(alone_platform)
            await alone.open()
            runner, session = await bare_bolt(floor_port, api_url)
            try:
                await platform.start()
                await alone_platform.start()
                heap.settle()  # as `alcts-bot run` does once started (bot/heap.py)
                place = Place(platform.community, CHANNEL, "bench")

                def sender(port: int, adapter: SlackPlatform | None, converge: bool) -> Any:
                    async def send(poll: int, message: str, size: int, at: float) -> Burst:
                        burst = await fake.burst(
                            url=f"http://127.0.0.1:{port}{EVENTS_PATH}", prefix=f"poll.vote:{poll}", options=3,
                            count=size, users=size, rate=at, concurrency=concurrency, channel=CHANNEL,
                            message=message, expect_answer=ANSWER,
                            expect_message=f"{size} voters so far" if converge else None, timeout=60,
                        )  # fmt: skip
                        if adapter is not None:  # its work after the answers (the clicks' ends) is done
                            await adapter.intake.idle()
                        return burst

                    return send

                results = await rounds(bot, platform, place, sender(floor_port, None, False),
                                       sender(bot_port, platform, True), sender(alone_port, alone_platform, False),
                                       clicks=clicks, count=count, rate=rate, seconds=seconds)  # fmt: skip
                peak = platform.intake.peak
            finally:
                await runner.cleanup()
                await session.close()
                await alone.close()
                await bot.close()
    out, notes = figures("slack", results, ack_deadline=True)
    about = "an empty database" if source is None else about
    connections = f"{concurrency} connections" if concurrency else "one connection per click"
    emit(out, as_json, [f"Slack: {clicks:,} signed clicks a burst from as many members over {connections}, "
                        f"{count} rounds, the bot on {about}; at most {peak} in flight in the bot's adapter",
                        *notes])  # fmt: skip


def main() -> None:
    parser = arguments(__doc__.splitlines()[0], rounds=9)  # a multiple of 3: the order is balanced (clicks.ORDERS)
    parser.add_argument("--clicks", type=int, default=1000, help="clicks a burst, one per member")
    parser.add_argument("--concurrency", type=int, default=100, help="connections the fake clicks over (0: one per click)")
    parser.add_argument("--rate", type=float, default=100.0, help="clicks a second in the steady run")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of the steady run")
    history_arguments(parser, default_events=0)  # the bot on a copy of a history: a bot a year old
    args = parser.parse_args()
    asyncio.run(run(args.clicks, args.rounds, args.concurrency, args.rate, args.seconds, args.history,
                    args.history_events, args.json))  # fmt: skip


if __name__ == "__main__":
    main()

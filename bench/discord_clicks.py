"""Real poll votes through the Discord adapter next to a bare discord.py handler on the same
fake Discord, in rounds; and the adapter alone, the ceiling.

    python -m bench.discord_clicks [--clicks 1000] [--rounds 9] [--rate 100] [--seconds 5]
        [--history PATH | --history-events N] [--json]

The fake Discord runs in a process of its own (`bench.fakes discord`) and sends the clicks:
INTERACTION_CREATE frames over the gateway, all at once, from `--clicks` members (one click
each). The contestants run in this process, each with its own gateway session, and the
fake sends each burst to one of them:

- floor: a bare `discord.Client` (the adapter's intents and cache options) whose
  `on_interaction` answers every click with an ephemeral "Your vote: ..." message;
- load: the bot (`DiscordPlatform`, `Bot` with the default cogs, SQLite): a real
  `poll.vote` (read, decide, commit, its engagement rows), answered privately, and the
  poll's message edited with the tally (coalesced);
- the adapter alone: a second `DiscordPlatform` in front of `AdapterOnly` (bench/clicks.py),
  a core that answers at once with the floor's text and stores nothing.

Each round makes a new poll (untimed) whose message the round's bursts click on; the order
of the three changes from round to round (bench/clicks.py's ORDERS). A click's ack on
Discord is its answer (the interaction callback carries the message), timed by the fake
from sending the frame to receiving it. `--history PATH` (or `--history-events N`, built first) runs the bot on a copy
of a database of prior events (see bench.history); bench.all does, with 1 million.

Figures: discord.vote_burst (votes answered per second, from the first click sent to the
last answer; goal ratio >= 0.8 of the floor), discord.vote_burst_answer_p99 (goal under
Discord's 3 s), the poll message's edits and when it showed the final tally, a steady
`--rate` a second for `--seconds` (p99 goal 50 ms), every vote answered and stored; and
discord.adapter_only.vote_burst (no goal: the ratio's ceiling) with its answers.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

import discord

from bench import history as hist
from bench.clicks import (
    ANSWER,
    SECRET,
    AdapterOnly,
    Burst,
    FakeProcess,
    answer_text,
    fake_process,
    figures,
    quiet,
    rounds,
)
from bench.common import arguments, emit, history_arguments
from bot import heap
from bot.app import Bot
from bot.clock import SystemClock
from bot.config import Settings
from bot.model import Community, Place
from bot.platforms.discord import DiscordPlatform, apply_seams
from bot.platforms.discord_render import NO_MENTIONS
from storage.db import Database
from tests.e2e.discord.fake_discord import CHANNEL_ID, GUILD_ID


async def bare_client(settings: Settings) -> tuple[discord.Client, asyncio.Task[None]]:
    """The floor: discord.py as the adapter configures it, and a handler that only answers."""
    discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False  # as the adapter does: no voice
    intents = discord.Intents.none()
    intents.guilds = True
    client = discord.Client(intents=intents, allowed_mentions=NO_MENTIONS, chunk_guilds_at_startup=False,
                            member_cache_flags=discord.MemberCacheFlags.none(), max_messages=None,
                            guild_ready_timeout=0.05)  # fmt: skip

    async def on_interaction(interaction: discord.Interaction) -> None:
        if interaction.type is discord.InteractionType.component:
            custom_id = str((interaction.data or {}).get("custom_id", ""))
            await interaction.response.send_message(answer_text(custom_id), ephemeral=True)

    client.on_interaction = on_interaction  # type: ignore[attr-defined]
    assert settings.discord_token is not None
    await client.login(settings.discord_token.get_secret_value())
    task = asyncio.create_task(client.connect(reconnect=True))
    await asyncio.wait_for(client.wait_until_ready(), 30)
    return client, task


async def new_session(fake: FakeProcess, known: set[str]) -> str:
    for _ in range(300):
        sessions = set((await fake.call("sessions"))["sessions"]) - known
        if sessions:
            return sessions.pop()
        await asyncio.sleep(0.05)
    raise SystemExit("no new gateway session on the fake Discord")


async def run(clicks: int, count: int, rate: float, seconds: float, history: str | None, history_events: int,
              as_json: bool) -> None:  # fmt: skip
    quiet()
    async with hist.prepared(history, history_events) as (source, about), fake_process("discord") as fake:
        port, token = fake.hello["port"], fake.hello["token"]
        with tempfile.TemporaryDirectory() as tmp_name:
            path = Path(tmp_name) / "bot.sqlite3"
            if source is not None:
                hist.copy(source, path)
            settings = Settings(
                _env_file=None, bot_database=path, bot_poll_secret=SECRET, discord_token=token,
                discord_api_base=f"http://127.0.0.1:{port}/api/v10", discord_gateway_url=f"ws://127.0.0.1:{port}/gateway",
            )  # type: ignore[call-arg]
            apply_seams(settings)
            bot = Bot(settings, Database(path), SystemClock())
            bot.load_cogs()
            await bot.open()
            alone_path = Path(tmp_name) / "adapter.sqlite3"  # the adapter alone: its own, empty database
            alone_settings = settings.model_copy(update={"bot_database": alone_path})
            alone = AdapterOnly(alone_settings, Database(alone_path), SystemClock())
            await alone.open()
            client, task = await bare_client(settings)
            floor_session = await new_session(fake, set())
            platform = DiscordPlatform(bot, settings, ready_timeout=0.05)
            bot.add_platform(platform)
            alone_platform = DiscordPlatform(alone, alone_settings, ready_timeout=0.05)
            alone.add_platform(alone_platform)
            try:
                await platform.start()
                bot_session = await new_session(fake, {floor_session})
                await alone_platform.start()
                alone_session = await new_session(fake, {floor_session, bot_session})
                heap.settle()  # as `alcts-bot run` does once started (bot/heap.py)
                place = Place(Community("discord", str(GUILD_ID), "ALCTS Test Guild"), str(CHANNEL_ID), "general")

                def sender(session: str, converge: bool) -> Any:
                    async def send(poll: int, message: str, size: int, at: float) -> Burst:
                        return await fake.burst(
                            session=session, prefix=f"poll.vote:{poll}", options=3, count=size, members=size,
                            rate=at, message=message, expect_answer=ANSWER,
                            expect_message=f"{size} voters so far" if converge else None, timeout=60,
                        )  # fmt: skip

                    return send

                results = await rounds(bot, platform, place, sender(floor_session, False), sender(bot_session, True),
                                       sender(alone_session, False), clicks=clicks, count=count, rate=rate,
                                       seconds=seconds)  # fmt: skip
            finally:
                await client.close()
                await asyncio.gather(task, return_exceptions=True)
                await alone.close()
                await bot.close()
    out, notes = figures("discord", results, ack_deadline=False)
    about = "an empty database" if source is None else about
    emit(out, as_json, [f"Discord: {clicks:,} clicks a burst from as many members, {count} rounds, the bot on {about}",
                        *notes])  # fmt: skip


def main() -> None:
    parser = arguments(__doc__.splitlines()[0], rounds=9)  # a multiple of 3: the order is balanced (clicks.ORDERS)
    parser.add_argument("--clicks", type=int, default=1000, help="clicks a burst, one per member")
    parser.add_argument("--rate", type=float, default=100.0, help="clicks a second in the steady run")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of the steady run")
    history_arguments(parser, default_events=0)  # the bot on a copy of a history: a bot a year old
    args = parser.parse_args()
    asyncio.run(run(args.clicks, args.rounds, args.rate, args.seconds, args.history, args.history_events, args.json))


if __name__ == "__main__":
    main()

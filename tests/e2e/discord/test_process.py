"""`alcts-bot run` as a real process against the fake: serve, stop on SIGTERM, restart on
the same database, and a button from before the restart still works."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from bot.app import Bot
from bot.clock import SystemClock
from storage.db import Database
from tests.e2e.discord.conftest import ALICE
from tests.e2e.discord.fake_discord import FakeDiscord
from tests.harness import make_settings


def command_line() -> list[str]:
    script = Path(sys.executable).with_name("alcts-bot")
    return [str(script), "run"] if script.exists() else [sys.executable, "-m", "bot", "run"]


def environment(fake: FakeDiscord, database: Path) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "SLACK_", "BOT_"))}
    return {**inherited, **fake.env(), "BOT_DATABASE": str(database), "BOT_LOG_LEVEL": "INFO"}


def read(log: Path) -> str:
    return log.read_text(encoding="utf-8")


async def run_bot(fake: FakeDiscord, tmp_path: Path, log: Path) -> asyncio.subprocess.Process:
    """Start `alcts-bot run`; returns once it has connected to the fake's gateway."""
    identified = len(fake.identifies)
    with log.open("ab") as err:
        process = await asyncio.create_subprocess_exec(
            *command_line(), cwd=tmp_path, env=environment(fake, tmp_path / "bot.sqlite3"),
            stdin=asyncio.subprocess.DEVNULL, stdout=err, stderr=err,
        )  # fmt: skip
    try:
        await fake.wait_for(lambda: len(fake.identifies) > identified or process.returncode is not None, within=30)
        await fake.wait_connected()
    except BaseException:
        process.kill()
        raise AssertionError(read(log)) from None
    return process


async def stop(process: asyncio.subprocess.Process) -> int:
    process.send_signal(signal.SIGTERM)
    return await asyncio.wait_for(process.wait(), 20)


async def test_alcts_bot_run_serves_discord_and_survives_a_restart(fake: FakeDiscord, tmp_path: Path) -> None:
    log = tmp_path / "bot.log"
    catalogue = Bot(make_settings(tmp_path), Database(tmp_path / "unused.sqlite3"), SystemClock())
    catalogue.load_cogs()

    first = await run_bot(fake, tmp_path, log)
    try:
        assert fake.synced_names() == set(catalogue.registry.commands)
        followed = await fake.reply(await fake.slash("follow", ALICE))
        assert followed.text.startswith("You now follow ALCTS here.")
        asked = await fake.reply(await fake.slash("privacy forget-me", ALICE))
    finally:
        assert await stop(first) == 0, read(log)

    second = await run_bot(fake, tmp_path, log)
    try:
        done = await fake.reply(await fake.click(asked.custom_ids[0], ALICE, asked.message))
        assert done.text.startswith("Done: your data is gone") and "follow 1" in done.text  # same database
    finally:
        assert await stop(second) == 0, read(log)

    text = read(log)
    assert "platform started name=discord" in text
    assert fake.token not in text

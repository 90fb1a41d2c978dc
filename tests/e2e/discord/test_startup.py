"""Start-up that cannot work ends in one line, within seconds: a refused token, a Discord
API or gateway out of reach. In process (`ConfigError`) and as `alcts-bot run` (exit code 2,
the message as the last line of standard error, no traceback), like Slack's."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import pytest

from bot.config import ConfigError
from tests.e2e.discord.conftest import StartBot
from tests.e2e.discord.fake_discord import FakeDiscord
from tests.e2e.discord.test_process import command_line, environment

REFUSED = "config: DISCORD_TOKEN was refused by Discord (401 Unauthorized)"


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (connections are refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def run(fake: FakeDiscord, tmp_path: Path, **env: str) -> tuple[int, str, float]:
    """`alcts-bot run` with the fake's settings overridden by `env`: (exit code, stderr, seconds)."""
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        *command_line(), cwd=tmp_path, env={**environment(fake, tmp_path / "bot.sqlite3"), **env},
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        _, stderr = await asyncio.wait_for(process.communicate(), 60)
    except TimeoutError:
        process.kill()
        raise AssertionError("alcts-bot run hung instead of exiting") from None
    assert process.returncode is not None
    return process.returncode, stderr.decode(), time.monotonic() - started


async def test_a_refused_token_stops_start_up_in_one_line(fake: FakeDiscord, start_bot: StartBot) -> None:
    with pytest.raises(ConfigError) as refused:
        await start_bot(discord_token="not-the-bot-token")
    assert refused.value.lines == [REFUSED]
    assert fake.identifies == [] and fake.sync_bodies == []  # never got as far as the gateway


async def test_an_unreachable_gateway_stops_start_up_instead_of_retrying_forever(
    fake: FakeDiscord, start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    gateway = f"ws://127.0.0.1:{closed_port()}/gateway"
    started = time.monotonic()
    with pytest.raises(ConfigError) as failed:
        await start_bot(discord_gateway_url=gateway)
    (line,) = failed.value.lines
    assert line.startswith(f"discord: cannot connect to the Discord gateway at {gateway} (") and "\n" not in line
    assert time.monotonic() - started < 10
    assert not [r for r in caplog.records if r.exc_info]  # the retry's traceback never reached the log


async def test_a_sharded_client_that_cannot_connect_stops_start_up_too(
    fake: FakeDiscord, start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    gateway = f"ws://127.0.0.1:{closed_port()}/gateway"
    with pytest.raises(ConfigError) as failed:
        await start_bot(discord_shards=2, discord_gateway_url=gateway)
    (line,) = failed.value.lines
    assert line.startswith(f"discord: cannot connect to the Discord gateway at {gateway} (")
    assert not [r for r in caplog.records if r.exc_info]


async def test_alcts_bot_run_with_a_wrong_token_exits_2_with_one_line(fake: FakeDiscord, tmp_path: Path) -> None:
    code, stderr, seconds = await run(fake, tmp_path, DISCORD_TOKEN="not-the-bot-token")
    assert code == 2, stderr
    assert stderr.splitlines()[-1] == REFUSED
    assert "Traceback" not in stderr and "not-the-bot-token" not in stderr and seconds < 30


async def test_alcts_bot_run_with_discord_out_of_reach_exits_2_with_one_line(fake: FakeDiscord, tmp_path: Path) -> None:
    gateway = f"ws://127.0.0.1:{closed_port()}/gateway"
    code, stderr, seconds = await run(fake, tmp_path, DISCORD_GATEWAY_URL=gateway)
    assert code == 2, stderr
    assert stderr.splitlines()[-1].startswith(f"discord: cannot connect to the Discord gateway at {gateway} (")
    assert "Traceback" not in stderr and seconds < 30

    api = f"http://127.0.0.1:{closed_port()}/api/v10"
    code, stderr, seconds = await run(fake, tmp_path, DISCORD_API_BASE=api)
    assert code == 2, stderr
    assert stderr.splitlines()[-1].startswith(f"discord: cannot reach Discord at {api} (")
    assert "Traceback" not in stderr and seconds < 30

"""The real entry point: `alcts-bot run` as a subprocess against the fake Slack, over HTTP
and in Socket Mode; and `alcts-bot slack-manifest`."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp
import yaml

from bot.platforms.slack_manifest import API_SCOPES, EVENTS, SCOPE_REASONS, bot_scopes
from tests.e2e.slack.conftest import ANN, GENERAL, free_port
from tests.e2e.slack.fake_slack import (
    APP_TOKEN,
    BOT_TOKEN,
    METHOD_SCOPES,
    SIGNING_SECRET,
    FakeSlack,
    Post,
    SlackWire,
)  # fmt: skip

ALCTS = str(Path(sys.executable).parent / "alcts-bot")


def environment(tmp_path: Path, **values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "SLACK_", "BOT_"))}
    env.update({"BOT_DATABASE": str(tmp_path / "bot.sqlite3"), **values})
    return env


async def run_bot(tmp_path: Path, fake: FakeSlack, port: int, **values: str) -> asyncio.subprocess.Process:
    env = environment(tmp_path, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_API_URL=fake.url + "/api",  # no slash: Settings adds it
                      BOT_HTTP_PORT=str(port), **values)  # fmt: skip
    return await asyncio.create_subprocess_exec(
        ALCTS, "run", cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )


async def until(check: Callable[[], object], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def healthy(port: int, proc: asyncio.subprocess.Process) -> dict[str, str]:
    deadline = time.monotonic() + 30
    async with aiohttp.ClientSession() as session:
        while True:
            assert proc.returncode is None, "the bot exited"
            try:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        return dict(await response.json())
            except aiohttp.ClientConnectionError:
                pass
            assert time.monotonic() < deadline, "no /healthz"
            await asyncio.sleep(0.1)


async def stop(proc: asyncio.subprocess.Process) -> tuple[int, str]:
    proc.send_signal(signal.SIGTERM)
    _, stderr = await asyncio.wait_for(proc.communicate(), 20)
    return proc.returncode or 0, stderr.decode()


def answer(fake: FakeSlack) -> Callable[[], Post | None]:
    return lambda: next(iter(fake.in_channel(GENERAL)), None)


async def test_alcts_bot_run_serves_slack_over_http(tmp_path: Path, fake_slack: FakeSlack) -> None:
    port = free_port()
    proc = await run_bot(tmp_path, fake_slack, port, SLACK_SIGNING_SECRET=SIGNING_SECRET)
    try:
        assert await healthy(port, proc) == {"status": "ok", "platform": "slack", "mode": "http"}
        wire = SlackWire(fake_slack, f"http://127.0.0.1:{port}/slack/events")
        async with aiohttp.ClientSession() as session:
            assert (await wire.post(session, "command", wire.command("follow", ANN, GENERAL)))[0] == 200
            assert (await wire.post(session, "command", wire.command("follow", ANN, GENERAL), secret="bad"))[0] == 401
        await until(answer(fake_slack))
    finally:
        code, stderr = await stop(proc)
    assert answer(fake_slack)().text.startswith("You now follow ALCTS here.")  # type: ignore[union-attr]
    assert code == 0, stderr
    assert "platform started name=slack" in stderr and "slack request rejected" in stderr
    assert BOT_TOKEN not in stderr and SIGNING_SECRET not in stderr


async def test_alcts_bot_run_serves_slack_in_socket_mode(tmp_path: Path, fake_slack: FakeSlack) -> None:
    port = free_port()
    proc = await run_bot(tmp_path, fake_slack, port, SLACK_APP_TOKEN=APP_TOKEN)
    try:
        assert (await healthy(port, proc))["mode"] == "socket"
        await until(lambda: fake_slack.sockets)
        wire = SlackWire(fake_slack)
        await fake_slack.envelope("slash_commands", wire.command("follow", ANN, GENERAL))
        await until(answer(fake_slack))
    finally:
        code, stderr = await stop(proc)
    assert code == 0, stderr
    assert APP_TOKEN not in stderr and BOT_TOKEN not in stderr


def test_http_mode_without_a_signing_secret_refuses_to_start(tmp_path: Path) -> None:
    env = environment(tmp_path, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_API_URL="http://127.0.0.1:9/api/")
    result = subprocess.run([ALCTS, "run"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (
        "config: SLACK_SIGNING_SECRET is required to serve Slack over HTTP (or set SLACK_APP_TOKEN for Socket Mode)"
    )
    assert "Traceback" not in result.stderr


def registry_names(tmp_path: Path) -> set[str]:
    """Every command name the bot registers (`poll create`), and every group (`poll`)."""
    from bot.app import Bot
    from bot.clock import SystemClock
    from bot.config import Settings
    from storage.db import Database

    path = tmp_path / "names.sqlite3"
    bot = Bot(Settings(_env_file=None, bot_database=path), Database(path), SystemClock())  # type: ignore[call-arg]
    bot.load_cogs()
    names = set(bot.registry.commands)
    return names | {name.split()[0] for name in names}


def test_slack_manifest_declares_what_the_code_uses(tmp_path: Path) -> None:
    env = environment(tmp_path, SLACK_COMMAND="/library")
    result = subprocess.run([ALCTS, "slack-manifest"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    manifest = yaml.safe_load(result.stdout)
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == "/library" and command["url"].endswith("/slack/events")
    assert manifest["oauth_config"]["scopes"]["bot"] == bot_scopes()
    settings = manifest["settings"]
    assert settings["event_subscriptions"]["bot_events"] == sorted(EVENTS)
    assert settings["interactivity"]["is_enabled"] and not settings["socket_mode_enabled"]
    for method, needed in API_SCOPES.items():  # the fake's own table (Slack's docs) agrees the scopes suffice
        assert (METHOD_SCOPES[method] & set(bot_scopes())) if needed else method not in METHOD_SCOPES, method

    assert set(SCOPE_REASONS) == set(bot_scopes())  # every scope asked for has its reason, and no other
    docs = (Path(__file__).parents[3] / "docs" / "slack.md").read_text()
    for scope, reason in SCOPE_REASONS.items():
        assert f"| `{scope}` | {reason} |" in docs, scope
    usage = command["usage_hint"].split(" | ")  # only commands that exist
    names = registry_names(tmp_path)
    assert all(" ".join(hint.split()[:2]).lower() in names for hint in usage), usage

    filled = subprocess.run([ALCTS, "slack-manifest", "--url", "https://bots.alcts.org"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    urls = yaml.safe_load(filled.stdout)
    assert urls["features"]["slash_commands"][0]["url"] == "https://bots.alcts.org/slack/events"
    assert urls["settings"]["event_subscriptions"]["request_url"] == "https://bots.alcts.org/slack/events"
    assert urls["settings"]["interactivity"]["request_url"] == "https://bots.alcts.org/slack/events"
    for bad in ("http://bots.alcts.org/slack/events", "https://bots.alcts.org/hooks", "bots.alcts.org"):
        refused = subprocess.run([ALCTS, "slack-manifest", "--url", bad], cwd=tmp_path, env=env, capture_output=True,
                                 text=True, timeout=60)  # fmt: skip
        assert refused.returncode == 2 and len(refused.stderr.splitlines()) == 1 and refused.stdout == "", bad

    socket = yaml.safe_load(subprocess.run(
        [ALCTS, "slack-manifest"], cwd=tmp_path, env={**env, "SLACK_APP_TOKEN": APP_TOKEN},
        capture_output=True, text=True, timeout=60,
    ).stdout)  # fmt: skip
    assert socket["settings"]["socket_mode_enabled"] is True
    assert "request_url" not in socket["settings"]["event_subscriptions"]
    assert "url" not in socket["features"]["slash_commands"][0]

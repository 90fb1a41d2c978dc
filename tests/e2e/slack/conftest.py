"""The real Bot with the real Slack adapter (slack-bolt's AsyncApp) serving on 127.0.0.1,
talking to `FakeSlack`; tests send it what Slack would send, over HTTP or Socket Mode."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app import DEFAULT_COGS, Bot
from bot.clock import ManualClock
from bot.platforms.slack import SlackPlatform, create
from bot.platforms.slack_manifest import bot_scopes
from storage.db import Database
from tests.e2e.slack.fake_slack import (
    APP_TOKEN,
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlack,
    Post,
    SlackWire,
)
from tests.harness import START, make_settings

ANN = "U0ANN0001"  # a member
BEA = "U0BEA0001"  # workspace admin
CAL = "U0CAL0001"  # workspace owner
DEE = "U0DEE0001"  # listed in SLACK_ORGANIZERS
EVE = "U0EVE0001"  # in the ORGANIZERS user group
MOD = "U0MOD0001"  # listed in SLACK_MODERATORS
GENERAL = "C0GENERAL"
NEWS = "C0NEWS001"  # the announcements channel
RANDOM = "C0RANDOM1"  # public; the bot is not a member
SECRET = "G0SECRET1"  # private; the bot is not a member
ORGANIZERS = "S0ORGANIZ"


def workspace(fake: FakeSlack) -> FakeSlack:
    for user_id, name, flags in [
        (ANN, "ann", {}), (BEA, "bea", {"is_admin": True}),
        (CAL, "cal", {"is_admin": True, "is_owner": True}), (DEE, "dee", {}),
        (EVE, "eve", {"display_name": "Eve E."}), (MOD, "mo", {}),
        ("U0GONE001", "gone", {"deleted": True}), ("U0OTHERBT", "otherbot", {"is_bot": True}),
    ]:  # fmt: skip
        fake.add_user(user_id, name, **flags)
    everyone = (ANN, BEA, CAL, DEE, EVE, MOD)
    fake.add_channel(GENERAL, "general", members=everyone)
    fake.add_channel(NEWS, "announcements", members=(CAL,))
    fake.add_channel(RANDOM, "random", bot_member=False, members=everyone)
    fake.add_channel(SECRET, "secret", private=True, bot_member=False, members=(ANN,))
    fake.usergroups[ORGANIZERS] = {EVE}
    return fake


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SlackHarness:
    """One bot process, as `alcts-bot run` builds it, with helpers that talk like Slack."""

    def __init__(self, tmp_path: Path, fake: FakeSlack, *, socket_mode: bool = False,
                 cogs: tuple[object, ...] = (), **settings: Any) -> None:  # fmt: skip
        self.fake = fake
        self.socket_mode = socket_mode
        self.cogs = cogs
        values: dict[str, Any] = {
            "slack_bot_token": BOT_TOKEN, "slack_signing_secret": SIGNING_SECRET,
            "slack_api_url": fake.api_url, "bot_http_port": free_port(),
            "slack_organizers": [DEE], "slack_moderators": [MOD],
            "slack_app_token": APP_TOKEN if socket_mode else None, **settings,
        }  # fmt: skip
        self.settings = make_settings(tmp_path, **values)
        self.clock = ManualClock(START)
        self.wire = SlackWire(fake, f"http://127.0.0.1:{self.settings.bot_http_port}/slack/events")
        self.http: aiohttp.ClientSession | None = None

    async def start(self) -> SlackHarness:
        self.bot = Bot(self.settings, Database(self.settings.bot_database), self.clock, edit_interval=0.2)
        self.bot.load_cogs(DEFAULT_COGS)
        for cog in self.cogs:
            self.bot.add_cog(cog)
        self.platform: SlackPlatform = create(self.bot, self.settings)
        self.bot.add_platform(self.platform)
        await self.bot.open()
        await self.platform.start()
        self.http = aiohttp.ClientSession()
        return self

    async def stop(self) -> None:
        if self.http is not None:
            await self.http.close()
        await self.bot.close()

    async def restart(self) -> None:
        """A new process on the same database: nothing survives in memory."""
        await self.stop()
        await self.start()

    # -- what Slack sends --------------------------------------------------------------------

    async def send(self, kind: str, payload: dict[str, Any], **http: Any) -> int:
        """Deliver over HTTP (signed) or Socket Mode; returns once acked and handled."""
        if self.socket_mode:
            kinds = {"command": "slash_commands", "interactive": "interactive", "event": "events_api"}
            await self.fake.envelope(kinds[kind], payload, **http)
            status = 200
        else:
            assert self.http is not None
            status, _ = await self.wire.post(self.http, kind, payload, **http)
        await self.settle()
        return status

    async def settle(self) -> None:
        """Until the adapter's interactions (answers included) and the core's background
        work (coalesced edits) are done."""
        while True:
            await self.platform.intake.idle()
            await self.bot.idle()
            if not self.platform.intake.in_flight:
                return

    async def command(self, text: str, user: str = ANN, channel: str = GENERAL) -> list[Post]:
        """Run `/alcts text`; returns the posts it caused."""
        before = len(self.fake.posts)
        status = await self.send("command", self.wire.command(text, user, channel))
        assert status == 200
        return self.fake.posts[before:]

    async def click(self, value: str, user: str = ANN, channel: str = GENERAL, message_ts: str = "",
                    **options: Any) -> list[Post]:  # fmt: skip
        before = len(self.fake.posts)
        status = await self.send("interactive", self.wire.click(value, user, channel, message_ts, **options))
        assert status == 200
        return self.fake.posts[before:]

    async def interact(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Send an interactive payload as Slack does (signed over HTTP, or as a Socket Mode
        envelope); returns the acknowledgement's body ({} when it is empty) once the
        interaction and its answers are done."""
        if self.socket_mode:
            body = (await self.fake.envelope("interactive", payload)).get("payload") or {}
        else:
            assert self.http is not None
            status, text = await self.wire.post(self.http, "interactive", payload)
            assert status == 200, (status, text)
            body = json.loads(text) if text else {}
        await self.settle()
        return dict(body)

    async def submit_view(self, view_id: str, values: dict[str, Any], user: str | None = None) -> dict[str, Any]:
        """Submit a modal (fake_views.py: `values` by block id); returns the ack's body."""
        return await self.interact(self.wire.view_submission(view_id, values, user))

    async def click_view(self, view_id: str, action_id: str, user: str | None = None) -> dict[str, Any]:
        """Click a button inside a modal; returns the ack's body."""
        return await self.interact(self.wire.view_click(view_id, action_id, user))

    async def event(self, event: dict[str, Any], event_id: str | None = None, **http: Any) -> int:
        return await self.send("event", self.wire.event(event, event_id), **http)

    async def count(self, sql: str, *params: Any) -> int:
        await self.bot.db.flush()
        return int(await self.bot.db.scalar(sql, params) or 0)


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    fake = workspace(FakeSlack(set(bot_scopes())))
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
async def slack(tmp_path: Path, fake_slack: FakeSlack) -> AsyncIterator[SlackHarness]:
    harness = await SlackHarness(tmp_path, fake_slack).start()
    yield harness
    await harness.stop()

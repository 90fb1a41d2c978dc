"""Slack: slack-bolt's AsyncApp, over HTTP (`POST /slack/events` beside `GET /healthz` on
BOT_HTTP_HOST:BOT_HTTP_PORT) or over Socket Mode when SLACK_APP_TOKEN is set.

Every listener handles its interaction before acknowledging it (within a time budget;
see bot/platforms/slack_intake.py), because Slack does not redeliver clicks or slash
commands: an acknowledged vote is a stored vote. In-flight work is bounded (beyond the
bound a member is told to try again) and drained on shutdown. Answers go out through the
interaction's `response_url` (ephemeral ones, after the ack) or `chat.postMessage` (the
rest, which returns the `ts` a later `chat.update` needs). Events are deduplicated by
`event_id` in SQLite, so a redelivery is handled once, also after a restart.

This module starts and closes the platform and holds the core's `Platform` methods. The
way in (the HTTP edge, the Socket Mode handler, Bolt's listeners and request replays) is
bot/platforms/slack_inbound.py; the other mixins of `SlackPlatform` are forms
(slack_forms), events and clicks into the core (slack_translate), people, roles and
channels (slack_directory) and sending (slack_send).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime

import aiohttp
from aiohttp import web
from async_lru import alru_cache
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.app import Bot
from bot.cards import Card
from bot.config import CommunitySettings, ConfigError, Settings
from bot.errors import DirectMessagesClosed
from bot.model import (
    Community,
    Member,
    MessageRef,
    Place,
)
from bot.platforms.slack_blocks import (
    DM_REFUSALS,
    command_spelling,
)
from bot.platforms.slack_edge import MAX_BODY, EdgeLog
from bot.platforms.slack_home import HomeRefresher
from bot.platforms.slack_inbound import CheckedSocketModeHandler, SlackInbound, _secret
from bot.platforms.slack_intake import ACK_BUDGET, DRAIN_LIMIT, MAX_IN_FLIGHT, Intake
from bot.platforms.slack_manifest import EVENTS_PATH, event_types
from bot.platforms.slack_modal import FORM_PREFIX
from bot.platforms.slack_replay import identity_key
from bot.platforms.slack_send import (
    PLATFORM,
    UNREACHABLE,
    ResponseUrl,
    _checked,
    remembered_renders,
)

log = logging.getLogger(__name__)

ROLE_TTL = 300.0
"""Seconds a user's profile (admin, owner) and a user group's members are trusted."""
ROLE_CACHE_SIZE = 10_000  # profiles and groups kept at most (least recently used go first)


def create(bot: Bot, settings: Settings) -> SlackPlatform:
    return SlackPlatform(bot, settings)


class SlackPlatform(SlackInbound):
    name = PLATFORM

    def __init__(self, bot: Bot, settings: Settings, *, role_ttl: float = ROLE_TTL,
                 max_in_flight: int = MAX_IN_FLIGHT, ack_budget: float = ACK_BUDGET) -> None:  # fmt: skip
        if settings.slack_bot_token is None:
            raise ConfigError(["config: SLACK_BOT_TOKEN is not set"])
        self.socket_mode = settings.slack_app_token is not None
        if not self.socket_mode and not _secret(settings.slack_signing_secret):
            raise ConfigError([
                "config: SLACK_SIGNING_SECRET is required to serve Slack over HTTP "
                "(or set SLACK_APP_TOKEN for Socket Mode)"
            ])  # fmt: skip
        self.bot = bot
        self.settings = settings
        self._views_in_flight = set()
        self.edge = EdgeLog()
        self._identity_key = identity_key(_secret(settings.slack_signing_secret), _secret(settings.slack_app_token),
                                          _secret(settings.slack_bot_token))  # fmt: skip
        self._event_types = set(event_types())
        self.intake = Intake(limit=max_in_flight, budget=ack_budget)
        # async-lru: bounded, expiring, and one lookup in flight per key, so a burst of clicks
        # from one member costs one API call
        self.users = alru_cache(maxsize=ROLE_CACHE_SIZE, ttl=role_ttl)(self._user_info)
        self.groups = alru_cache(maxsize=ROLE_CACHE_SIZE, ttl=role_ttl)(self._group_members)
        self.channel_names: dict[str, str] = {}
        self.community = Community(PLATFORM, "", "")
        self.bot_user_id = ""
        self.bot_name = ""
        self.app: AsyncApp | None = None
        self._client: AsyncWebClient | None = None
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self._socket: AsyncSocketModeHandler | None = None
        self._housekeeping: asyncio.Task[None] | None = None
        self._uploaded: dict[str, str] = {}  # image digest -> file id
        # (channel, message ts) -> when and with which response_url it was last clicked
        self._clicked: OrderedDict[tuple[str, str], tuple[float, ResponseUrl]] = OrderedDict()
        self.spell: Callable[[str], str] = str
        self._rendered = remembered_renders(self.spell)  # again once the command's spelling is known (start)
        self._snapshot_due = False
        self._snapshotting = False
        self.homes = HomeRefresher(self.refresh_home, platform=PLATFORM)

    # -- Platform ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Check the token, then serve; returns once Slack can reach the bot."""
        settings = self.settings
        self._session = aiohttp.ClientSession()
        self._client = AsyncWebClient(
            token=_secret(settings.slack_bot_token), base_url=settings.slack_api_url,
            session=self._session,
            retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=3), AsyncConnectionErrorRetryHandler()],
        )  # fmt: skip
        auth = await _checked("SLACK_BOT_TOKEN", self._client.auth_test())
        if self.socket_mode:  # else a wrong app token has the socket client retry forever
            await _checked("SLACK_APP_TOKEN", self._client.apps_connections_open(app_token=_secret(settings.slack_app_token)))
        self.community = Community(PLATFORM, auth["team_id"], auth.get("team") or "")
        self.bot_user_id = auth.get("user_id") or ""
        self.bot_name = auth.get("user") or ""
        # Bolt logs a rejected request's body (response_url included) at INFO; keep it out.
        logging.getLogger("slack_bolt.RequestVerification").setLevel(logging.WARNING)
        # Bolt also reads SLACK_BOT_TOKEN itself and warns that our client wins; it should.
        logging.getLogger("slack_bolt.AsyncApp").addFilter(_client_wins_notice)
        self.app = AsyncApp(
            name="alcts-bot", client=self._client, signing_secret=_secret(settings.slack_signing_secret),
            process_before_response=True,  # the listener's ack is the response, once it returns
            request_verification_enabled=False,  # `_serve` verifies the raw bytes, before any parsing
        )  # fmt: skip
        self.spell = command_spelling(settings.slack_command, self.bot.registry.groups())
        self._rendered = remembered_renders(self.spell)
        # Bolt tries listeners in order, at a cost each: clicks come in the largest bursts.
        self.app.action(re.compile(".+"))(self._on_action)
        self.app.view(re.compile("^" + re.escape(FORM_PREFIX)))(self._on_view)  # forms: bot/platforms/slack_forms.py
        for event_type in event_types():
            self.app.event(event_type)(self._on_event)
        self.app.command(settings.slack_command)(self._on_command)
        web_app = web.Application(client_max_size=MAX_BODY)
        if not self.socket_mode:
            web_app.router.add_post(EVENTS_PATH, self._serve)
        web_app.router.add_get("/healthz", self._healthz)
        self._runner = web.AppRunner(web_app, access_log=None, shutdown_timeout=5.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, settings.bot_http_host, settings.bot_http_port, backlog=1024)
        await site.start()
        if self.socket_mode:
            self._socket = CheckedSocketModeHandler(self, self.app, _secret(settings.slack_app_token))
            await self._socket.connect_async()
        self._housekeeping = asyncio.create_task(self._housekeep(), name="slack-housekeeping")
        self.bot.content_listeners.append(self.homes.changed)  # Home tabs follow content changes
        log.info(
            "slack ready team=%s mode=%s http=%s:%d", self.community.id,
            "socket" if self.socket_mode else "http", settings.bot_http_host, settings.bot_http_port,
        )  # fmt: skip

    async def send(
        self, place: Place, card: Card, *, key: str | None = None, since: datetime | None = None
    ) -> MessageRef | None:
        """With `key`: posted with the key in its metadata; a retry (`since` set) first
        looks for that key in the channel's history (see SlackSending.deliver)."""
        return await self.deliver(place, card, key=key, since=since)

    async def edit(self, ref: MessageRef, card: Card) -> None:
        """One `chat.update`; the core already coalesces bursts of edits per message.
        Where the bot may not post (a DM, a private channel it is not in), the latest
        click's response_url on that message replaces it instead, while it lasts."""
        message = await self._message(card)
        try:
            await self._api("chat.update", channel=ref.channel_id, ts=ref.message_id, **message)
        except SlackApiError as exc:
            url = self._click_url(ref.channel_id, ref.message_id) if exc.response.get("error") in UNREACHABLE else None
            if url is None or not await self._post_to_url(url, card, {"replace_original": True, **message}):
                raise

    async def send_direct(
        self, member: Member, card: Card, *, key: str | None = None, since: datetime | None = None
    ) -> MessageRef | None:
        """conversations.open with the member, then chat.postMessage into that DM (keyed as
        `send`; a DM's history needs im:history, which the bot does not ask for, so a retry
        there is sent again)."""
        try:
            channel = (await self._api("conversations.open", users=member.id))["channel"]["id"]
            return await self.deliver(Place(self.community, channel, ""), card, key=key, since=since)
        except SlackApiError as exc:
            if (why := DM_REFUSALS.get(exc.response.get("error"))) is None:
                raise
            raise DirectMessagesClosed(member, f"{member.display_name} {why}.") from None

    async def close(self) -> None:
        """Refuse new work at once, finish every interaction in flight and its answers
        (up to DRAIN_LIMIT seconds), then stop listening and close the connections."""
        if self.homes.changed in self.bot.content_listeners:
            self.bot.content_listeners.remove(self.homes.changed)
        await self.homes.close()
        if self._housekeeping is not None:
            self._housekeeping.cancel()
            await asyncio.gather(self._housekeeping, return_exceptions=True)
        await self.intake.drain(DRAIN_LIMIT)
        self.edge.flush()
        if self._socket is not None:
            await self._socket.close_async()
        if self._runner is not None:
            await self._runner.cleanup()
        await self.bot.idle()
        if self._session is not None:
            await self._session.close()

    async def follow_perk(
        self, member: Member, community: Community, config: CommunitySettings, following: bool
    ) -> str | None:
        """Following also invites the member to the announcements channel, when one is set."""
        if not following or not config.announcements_channel:
            return None
        channel = None
        try:
            channel = await self.find_channel(config.announcements_channel)
            if channel is None:
                log.warning("announcements_channel %r is not a channel the bot can see", config.announcements_channel)
                return None
            await self._invite(channel, member.id)
        except SlackApiError as exc:  # the follow is recorded already; only the invite failed
            error = exc.response.get("error")
            if error == "already_in_channel":
                return f"You are already in <#{channel}>."
            log.warning("could not invite member=%s channel=%s error=%s", member.id, channel, error)
            return "(I could not add you to the announcements channel; an organizer can check the bot may invite there.)"
        return f"I added you to <#{channel}>."

    # -- GET /healthz ----------------------------------------------------------------------------

    async def _healthz(self, request: web.Request) -> web.Response:
        connected = self._socket is None or await self._socket.client.is_connected()
        status = {"status": "ok" if connected else "disconnected", "platform": PLATFORM,
                  "mode": "socket" if self.socket_mode else "http"}  # fmt: skip
        return web.json_response(status, status=200 if connected else 503)


def _client_wins_notice(record: logging.LogRecord) -> bool:
    return "`token` will be unused" not in record.getMessage()

"""Slack: slack-bolt's AsyncApp, over HTTP (`POST /slack/events` beside `GET /healthz` on
BOT_HTTP_HOST:BOT_HTTP_PORT) or over Socket Mode when SLACK_APP_TOKEN is set.

Every listener handles its interaction before acknowledging it (within a time budget;
see bot/platforms/slack_intake.py), because Slack does not redeliver clicks or slash
commands: an acknowledged vote is a stored vote. In-flight work is bounded (beyond the
bound a member is told to try again) and drained on shutdown. Answers go out through the
interaction's `response_url` (ephemeral ones, after the ack) or `chat.postMessage` (the
rest, which returns the `ts` a later `chat.update` needs). Events are deduplicated by
`event_id` in SQLite, so a redelivery is handled once, also after a restart.

Over HTTP, `_serve` is the one way in: it checks the signature over the raw bytes before
anything is parsed, then the payload's shape (`slack_edge`), and hands slack-bolt only the
validated payload. A command, click or view submission is handled once per request
identity (`slack_edge.request_identity`, written to the same durable table as event ids
before the ack): a signed request replayed within Slack's 5-minute window is acknowledged
and changes nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import aiohttp
from aiohttp import web
from async_lru import alru_cache
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.app import Bot
from bot.cards import Card, notice
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
from bot.platforms.slack_edge import (
    MAX_BODY,
    UNREADABLE,
    EdgeLog,
    Model,
    Refused,
    envelope_type,
    identity_key,
    normalized_event,
    parse,
    request_identity,
    validate_actions,
    validate_command,
    validate_event,
    validate_url_verification,
    verify,
)
from bot.platforms.slack_forms import SlackForms
from bot.platforms.slack_home import HomeRefresher
from bot.platforms.slack_intake import ACK_BUDGET, DRAIN_LIMIT, MAX_IN_FLIGHT, AckGate, Intake
from bot.platforms.slack_manifest import EVENTS_PATH, event_types
from bot.platforms.slack_modal import FORM_PREFIX, is_form_click, validate_submission
from bot.platforms.slack_send import (
    PLATFORM,
    UNREACHABLE,
    ResponseUrl,
    _checked,
    remembered_renders,
)
from bot.platforms.slack_translate import is_link

log = logging.getLogger(__name__)

VALIDATED = "alcts_validated"  # Bolt's request context key: the payload's model, from `_serve`
ROLE_TTL = 300.0
"""Seconds a user's profile (admin, owner) and a user group's members are trusted."""
ROLE_CACHE_SIZE = 10_000  # profiles and groups kept at most (least recently used go first)


def create(bot: Bot, settings: Settings) -> SlackPlatform:
    return SlackPlatform(bot, settings)


class SlackPlatform(SlackForms):
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

    # -- HTTP: the one way in --------------------------------------------------------------------

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        """POST /slack/events: the size, the signature over the raw bytes, the syntax and the
        shape (see `slack_edge`), then slack-bolt with the validated payload. A bad request
        gets 400 or 401 and, at most, a rate-limited log line; a malformed payload that Slack
        signed gets its ack (a command, one sentence) and is not handled."""
        headers = request.headers
        timestamp = headers.get("X-Slack-Request-Timestamp")
        try:
            raw = await _read_bounded(request, MAX_BODY)
            verify(raw, timestamp, headers.get("X-Slack-Signature"), _secret(self.settings.slack_signing_secret))
            kind, body = parse(raw, request.content_type)
            model, validated = self._validated(kind, body)
        except Refused as refused:
            self.edge.refuse(refused.status, refused.reason)
            if refused.answer is not None:
                return web.json_response({"response_type": "ephemeral", "text": refused.answer})
            return web.Response(status=refused.status)
        if isinstance(validated, web.Response):
            return validated
        forwarded = {"content-type": "application/json", "x-slack-request-timestamp": str(timestamp)}
        for name in ("X-Slack-Retry-Num", "X-Slack-Retry-Reason"):
            if name in headers:
                forwarded[name.lower()] = headers[name][:40]
        # the payload as a dict, parsed and verified here: no JSON round trip (Bolt takes a dict in
        # its socket_mode; that mode's only other effect, skipping Bolt's signature check, is off anyway)
        bolt_request = AsyncBoltRequest(body=validated, headers=forwarded, context={VALIDATED: model}, mode="socket_mode")
        response = await self.app_or_fail().async_dispatch(bolt_request)
        return await to_aiohttp_response(response)

    def _validated(self, kind: str, body: dict[str, Any]) -> tuple[Any, dict[str, Any] | web.Response]:
        """The payload's model (handed to the listener, see `_model`) and the payload bolt
        will route, or an answer of our own; or Refused."""
        if kind == "ssl_check":
            return None, web.Response(status=200)
        if kind == "command":
            command = validate_command(body)
            if command.command != self.settings.slack_command:
                raise Refused(200, "payload for another command", f"This app answers {self.settings.slack_command}.")
            return command, command.model_dump(exclude_none=True)
        kind = envelope_type(body)
        if kind == "block_actions":
            actions = validate_actions(body)
            return actions, actions.model_dump(exclude_none=True)
        if kind == "url_verification":
            return None, web.json_response({"challenge": validate_url_verification(body)})
        if kind == "event_callback":
            envelope, event = validate_event(body, self._event_types)
            if event is None:
                raise Refused(200, "event type not handled")
            return (envelope, event), normalized_event(envelope, event)
        if kind == "view_submission":
            submission = validate_submission(body)
            return submission, submission.model_dump(exclude_none=True)
        raise Refused(200, "payload type not handled")  # shortcuts, view_closed...: the bot has none

    @staticmethod
    def _model(request: AsyncBoltRequest) -> Any:
        """The model `_serve` validated this request's payload into (None in Socket Mode,
        whose listeners validate the payload again): validated once, not once a layer."""
        return request.context.get(VALIDATED)

    def app_or_fail(self) -> AsyncApp:
        if self.app is None:
            raise RuntimeError("the Slack platform has not started")
        return self.app

    # -- listeners: handle, then ack -----------------------------------------------------------

    async def _on_command(self, ack: Callable[[], Awaitable[None]], body: dict[str, Any],
                          request: AsyncBoltRequest) -> BoltResponse | None:  # fmt: skip
        try:
            command = self._model(request) or validate_command(body)
        except Refused as refused:
            self.edge.refuse(refused.status, refused.reason)
            return _ephemeral_ack(refused.answer or UNREADABLE)
        if not self.intake.admit():
            return self._refused()
        if not await self._first_time(command, request):
            await ack()
            return None
        gate = AckGate()
        await self.intake.run(ack, self._durably(self._command(command, gate)), gate, "slash command")
        return None

    async def _on_action(self, ack: Callable[[], Awaitable[None]], body: dict[str, Any],
                         request: AsyncBoltRequest) -> BoltResponse | None:  # fmt: skip
        try:
            actions = self._model(request) or validate_actions(body)
        except Refused as refused:
            self.edge.refuse(refused.status, refused.reason)
            await ack()
            return None
        if is_form_click(actions):  # "Add option" in a form's modal: no core button
            return await self._on_form_click(ack, actions)
        if all(is_link(action) for action in actions.actions):  # links only opened a page
            await ack()
            return None
        if not self.intake.admit():
            self._notify_refusal(actions.response_url)
            return self._refused()
        if not await self._first_time(actions, request):
            await ack()
            return None
        gate = AckGate()
        await self.intake.run(ack, self._durably(self._actions(actions, gate)), gate, "button click")
        return None

    async def _on_event(self, ack: Callable[[], Awaitable[None]], body: dict[str, Any],
                        request: AsyncBoltRequest) -> BoltResponse | None:  # fmt: skip
        """Beyond the bound, or while closing, an event gets 503 and no ack: Slack retries
        it (at once, then after 1 and 5 minutes), the retry is handled once by its
        event_id, and nothing is acknowledged that was not handled."""
        try:
            envelope, event = self._model(request) or validate_event(body, self._event_types)
        except Refused as refused:
            self.edge.refuse(refused.status, refused.reason)
            await ack()
            return None
        if event is None:
            await ack()
            return None
        if not self.intake.admit():
            return BoltResponse(status=503, body=self.intake.refusal())
        gate = AckGate()
        await self.intake.run(ack, self._durably(self._event(envelope, event, gate)), gate, "event")
        return None

    async def _first_time(self, payload: Model, request: AsyncBoltRequest) -> bool:
        """Claim the request's identity, durably, before it is handled and acknowledged;
        False (and the admission given back) for a replay of a request already taken."""
        stamp = (request.headers.get("x-slack-request-timestamp") or [None])[0]
        identity = request_identity(payload, stamp, self._identity_key)
        if identity is None:
            return True
        try:
            fresh = await self.bot.first_time(PLATFORM, identity)
        except BaseException:
            self.intake.release()
            raise
        if not fresh:
            self.intake.release()
            log.info("replayed slack request acknowledged and not handled identity=%s", identity)
        return fresh

    def _refused(self) -> BoltResponse:
        """The ack of a command or click the bot will not handle: Slack shows a command's
        ack text to its sender (a click's goes to its response_url, `_notify_refusal`)."""
        return _ephemeral_ack(self.intake.refusal())

    def _notify_refusal(self, url: str | None) -> None:
        if url:
            text = self.intake.refusal()
            self.intake.notify(lambda: self._post_to_url(url, notice(text), {"response_type": "ephemeral", "text": text}))

    async def _durably(self, work: Awaitable[None]) -> None:
        """Handle, then write buffered rows (the engagement event of a command that
        changes nothing else) so that the ack follows them too."""
        await work
        await self.bot.db.flush()

    async def _healthz(self, request: web.Request) -> web.Response:
        connected = self._socket is None or await self._socket.client.is_connected()
        status = {"status": "ok" if connected else "disconnected", "platform": PLATFORM,
                  "mode": "socket" if self.socket_mode else "http"}  # fmt: skip
        return web.json_response(status, status=200 if connected else 503)

    # -- people, roles and channels ----------------------------------------------------------


SOCKET_KINDS = {"slash_commands": "command", "interactive": "interactive", "events_api": "event"}


class CheckedSocketModeHandler(AsyncSocketModeHandler):
    """Socket Mode through the same checks as HTTP (`SlackPlatform._validated`): bolt
    gets only validated payloads; a malformed one is acknowledged (a command's with one
    sentence), logged in the rate-limited way, and not handled."""

    def __init__(self, platform: SlackPlatform, app: AsyncApp, app_token: str) -> None:
        super().__init__(app, app_token)
        self.platform = platform

    async def handle(self, client: Any, req: SocketModeRequest) -> None:
        kind = SOCKET_KINDS.get(req.type)
        try:
            if kind is None or not isinstance(req.payload, dict):
                raise Refused(200, "envelope not handled")
            _, validated = self.platform._validated(kind, req.payload)
        except Refused as refused:
            self.platform.edge.refuse(refused.status, refused.reason)
            payload = {"text": refused.answer} if refused.answer else None
            await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id, payload=payload))
            return
        if not isinstance(validated, dict):
            await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
            return
        req.payload = validated
        await super().handle(client, req)


async def _read_bounded(request: web.Request, limit: int) -> bytes:
    """The body, or Refused(400) past `limit` bytes (unread when its length says so)."""
    if request.content_length is not None and request.content_length > limit:
        raise Refused(400, "body too large")
    chunks, size = [], 0
    while chunk := await request.content.read(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise Refused(400, "body too large")
        chunks.append(chunk)
    return b"".join(chunks)


def _ephemeral_ack(text: str) -> BoltResponse:
    body = {"response_type": "ephemeral", "replace_original": False, "text": text}
    return BoltResponse(status=200, body=json.dumps(body), headers={"content-type": "application/json;charset=utf-8"})


def _client_wins_notice(record: logging.LogRecord) -> bool:
    return "`token` will be unused" not in record.getMessage()


def _secret(value: Any) -> str:
    return value.get_secret_value() if value is not None else ""

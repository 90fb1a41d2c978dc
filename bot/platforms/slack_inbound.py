"""The way in to the Slack platform: requests checked at the edge, then handled before they
are acknowledged; a mixin of `SlackPlatform`.

Over HTTP, `_serve` is the one way in: it checks the signature over the raw bytes before
anything is parsed, then the payload's shape (`slack_edge`), and hands slack-bolt only the
validated payload. In Socket Mode, `CheckedSocketModeHandler` puts each envelope through
the same checks (`_validated`). Bolt's listeners (`_on_command`, `_on_action`,
`_on_event`) handle each interaction before its ack, within the intake's bound and time
budget (bot/platforms/slack_intake.py). A command, click or view submission is handled
once per request identity (`slack_replay.request_identity`, written to the same durable
table as event ids before the ack): a signed request replayed within Slack's 5-minute
window is acknowledged and changes nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from bot.cards import notice
from bot.platforms.slack_edge import (
    MAX_BODY,
    UNREADABLE,
    Refused,
    envelope_type,
    normalized_event,
    parse,
    validate_actions,
    validate_command,
    validate_event,
    validate_url_verification,
    verify,
)
from bot.platforms.slack_forms import SlackForms
from bot.platforms.slack_intake import AckGate
from bot.platforms.slack_modal import is_form_click, validate_submission
from bot.platforms.slack_payloads import Model
from bot.platforms.slack_replay import request_identity
from bot.platforms.slack_send import PLATFORM
from bot.platforms.slack_translate import is_link

log = logging.getLogger("bot.platforms.slack")

VALIDATED = "alcts_validated"  # Bolt's request context key: the payload's model, from `_serve`


class SlackInbound(SlackForms):
    """The HTTP edge and Bolt's listeners; `SlackPlatform` sets the attributes."""

    app: AsyncApp | None
    _identity_key: bytes  # the key of request identities (`slack_replay.identity_key`)
    _event_types: set[str]  # the event types the bot listens to

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


SOCKET_KINDS = {"slash_commands": "command", "interactive": "interactive", "events_api": "event"}


class CheckedSocketModeHandler(AsyncSocketModeHandler):
    """Socket Mode through the same checks as HTTP (`SlackInbound._validated`): bolt
    gets only validated payloads; a malformed one is acknowledged (a command's with one
    sentence), logged in the rate-limited way, and not handled."""

    def __init__(self, platform: SlackInbound, app: AsyncApp, app_token: str) -> None:
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


def _secret(value: Any) -> str:
    return value.get_secret_value() if value is not None else ""

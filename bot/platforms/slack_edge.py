"""The Slack HTTP edge: from request bytes to a verified, parsed and validated payload.

In this order, and nothing earlier than its step:

1. **Size.** A body over MAX_BODY bytes is refused (400) without being read.
2. **Signature.** `v0=` HMAC-SHA256 of `v0:{timestamp}:{raw bytes}` with the signing
   secret, a numeric timestamp within SIGNATURE_WINDOW of now: else 401. Nothing is
   decoded or parsed before this, so an unsigned request costs one HMAC and one short,
   rate-limited log line (`EdgeLog`).
3. **Syntax.** UTF-8, then form-encoded (a slash command, or `payload=` JSON for
   interactivity) or JSON (events): one object. Else 400.
4. **Shape.** pydantic models (below) with strict types: ids are short strings, texts
   bounded and valid UTF-8 (no lone surrogates), lists bounded. The adapter hands
   slack-bolt the *validated* payload (`normalized`), never the raw one, so neither bolt
   nor the core ever sees a field of the wrong type.

`request_identity` names a state-changing request (a command, a click, a view
submission) so that a replay of it (same body and headers, within Slack's 5-minute
window) can be recognised and acknowledged without being handled again. It is stored
(a day), so it names a click by who and when only, never by the button (whose id names
a poll's option), and its hash is keyed (`identity_key`).

Pure functions and models: no I/O, no slack library.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections import Counter
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from bot.platforms.base import INT64
from bot.platforms.urlencoded import parse_form

log = logging.getLogger("bot.platforms.slack")

MAX_BODY = 1024 * 1024  # bytes; Slack's largest payloads (a click on a full message) are far smaller
SIGNATURE_WINDOW = 300  # seconds: Slack's replay window for a signed request
MAX_FORM_FIELDS = 100
MAX_ID = 64  # U0123ABCD, C..., T..., trigger ids and timestamps are well within
MAX_NAME = 255  # channel and user names, types, subtypes
MAX_TEXT = 4000  # what a member may type after the slash command
MAX_MESSAGE = 40000  # a chat message (Slack's own limit)
MAX_URL = 2000
MAX_ACTION_ID = 255  # Slack's limit for an action_id
MAX_VALUE = 2000  # and for a button's value
MAX_ACTIONS = 25
REPORT_EVERY = 10.0  # seconds between log lines about refused requests

TOO_LONG = f"That command is too long: at most {MAX_TEXT:,} characters after the command name."
UNREADABLE = "Slack sent that in a form I cannot read; nothing was done."


class Refused(Exception):
    """A request the edge will not pass on: `status` for the HTTP client, `reason` (a
    fixed phrase, never request data) for the log, `answer` for a person when there is one."""

    def __init__(self, status: int, reason: str, answer: str | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.answer = answer


# -- 1 and 2: size and signature, over the raw bytes ----------------------------------------


def verify(raw: bytes, timestamp: str | None, signature: str | None, secret: str, now: float | None = None) -> None:
    """Raise Refused(401) unless Slack signed these exact bytes within the window."""
    if not timestamp or not signature:
        raise Refused(401, "unsigned")
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        raise Refused(401, "timestamp not a number")
    if abs((time.time() if now is None else now) - int(timestamp)) > SIGNATURE_WINDOW:
        raise Refused(401, "stale timestamp")
    if not signature.isascii():
        raise Refused(401, "bad signature")
    digest = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + raw, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(f"v0={digest}".encode(), signature.encode()):
        raise Refused(401, "bad signature")


# -- 3: syntax ------------------------------------------------------------------------------


def parse(raw: bytes, content_type: str) -> tuple[str, dict[str, Any]]:
    """("command" | "interactive" | "event" | "ssl_check", the payload), or Refused(400)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "body not UTF-8") from None
    if content_type == "application/json":
        return "event", _json_object(text, "body")
    if content_type != "application/x-www-form-urlencoded":
        raise Refused(400, "body neither form-encoded nor JSON")
    try:
        pairs = parse_form(text, MAX_FORM_FIELDS)
    except (ValueError, UnicodeDecodeError):
        raise Refused(400, "form not well-formed") from None
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise Refused(400, "form repeats a field")
    if "payload" in fields:
        return "interactive", _json_object(fields["payload"], "payload")
    if fields.get("ssl_check") == "1":
        return "ssl_check", fields
    return "command", fields


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):  # bad JSON, a 5,000-digit number, deep nesting
        raise Refused(400, f"{what} not JSON") from None
    if not isinstance(value, dict):
        raise Refused(400, f"{what} not a JSON object")
    return value


# -- 4: shape ---------------------------------------------------------------------------------


def _utf8(value: str) -> str:
    """SQLite, the network and every library after this expect text that encodes."""
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("text is not valid UTF-8") from None
    return value


def _text(max_length: int, min_length: int = 0) -> Any:
    return Annotated[str, StringConstraints(min_length=min_length, max_length=max_length), AfterValidator(_utf8)]


Id = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID, pattern=r"^[A-Za-z0-9._-]+$")]
Name = _text(MAX_NAME)
Url = Annotated[str, StringConstraints(max_length=MAX_URL, pattern=r"^https?://[!-~]+$")]


class Model(BaseModel):
    """Strict: a number where a string belongs (a 20-digit id sent as a number) is refused."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class SlashCommand(Model):
    command: _text(64, 1)  # type: ignore[valid-type]
    text: _text(MAX_TEXT) = ""  # type: ignore[valid-type]
    team_id: Id
    channel_id: Id
    user_id: Id
    channel_name: Name = ""  # type: ignore[valid-type]
    user_name: Name = ""  # type: ignore[valid-type]
    response_url: Url | None = None
    trigger_id: Id | None = None
    enterprise_id: Id | None = None


class Team(Model):
    id: Id
    domain: Name = ""  # type: ignore[valid-type]


class User(Model):
    id: Id
    username: Name = ""  # type: ignore[valid-type]
    name: Name = ""  # type: ignore[valid-type]
    team_id: Id | None = None


class Channel(Model):
    id: Id
    name: Name = ""  # type: ignore[valid-type]


class Container(Model):
    type: Name = ""  # type: ignore[valid-type]
    message_ts: Id | None = None
    channel_id: Id | None = None
    is_ephemeral: bool = False


class Action(Model):
    action_id: _text(MAX_ACTION_ID, 1)  # type: ignore[valid-type]
    value: _text(MAX_VALUE) | None = None  # type: ignore[valid-type]
    action_ts: Id | None = None
    block_id: Name = ""  # type: ignore[valid-type]
    type: Name = ""  # type: ignore[valid-type]


class View(Model):
    id: Id
    hash: Id | None = None
    callback_id: Name = ""  # type: ignore[valid-type]
    type: Name = ""  # type: ignore[valid-type]
    private_metadata: _text(3000) = ""  # type: ignore[valid-type]  # Slack's limit; a form's state (slack_forms)


class BlockActions(Model):
    type: Literal["block_actions"]
    user: User
    team: Team | None = None
    channel: Channel | None = None
    container: Container = Container()
    view: View | None = None  # a click on the App Home tab: a view, no channel
    actions: list[Action] = Field(min_length=1, max_length=MAX_ACTIONS)
    response_url: Url | None = None
    trigger_id: Id | None = None

    @model_validator(mode="after")
    def _somewhere(self) -> BlockActions:
        if self.channel is None and not self.container.channel_id and self.view is None:
            raise ValueError("a click outside any channel or view")
        return self

    @property
    def on_home(self) -> bool:
        """A click in a view (the App Home tab), not on a message in a channel."""
        return self.channel is None and not self.container.channel_id

    @property
    def channel_id(self) -> str:
        return self.channel.id if self.channel is not None else str(self.container.channel_id or "")


class ViewSubmission(Model):
    type: Literal["view_submission"]
    user: User
    team: Team | None = None
    view: View
    trigger_id: Id | None = None


class MessageEvent(Model):
    type: Literal["message"]
    channel: Id
    user: Id | None = None
    text: _text(MAX_MESSAGE) = ""  # type: ignore[valid-type]
    subtype: Name | None = None  # type: ignore[valid-type]
    bot_id: Id | None = None
    channel_type: Name | None = None  # type: ignore[valid-type]
    ts: Id | None = None
    event_ts: Id | None = None


class JoinedUser(Model):
    id: Id
    name: Name = ""  # type: ignore[valid-type]
    is_bot: bool = False


class TeamJoin(Model):
    type: Literal["team_join"]
    user: JoinedUser
    event_ts: Id | None = None


class ChannelMembership(Model):
    type: Literal["member_joined_channel", "member_left_channel"]
    user: Id
    channel: Id
    channel_type: Name | None = None  # type: ignore[valid-type]
    team: Id | None = None
    event_ts: Id | None = None


class AppHomeOpened(Model):
    type: Literal["app_home_opened"]
    user: Id
    channel: Id | None = None
    tab: Name = ""  # type: ignore[valid-type]
    event_ts: Id | None = None


EVENT_MODELS: dict[str, type[Model]] = {
    "app_home_opened": AppHomeOpened,
    "message": MessageEvent,
    "team_join": TeamJoin,
    "member_joined_channel": ChannelMembership,
    "member_left_channel": ChannelMembership,
}


class EventType(Model):
    type: Name  # type: ignore[valid-type]


class EventEnvelope(Model):
    type: Literal["event_callback"]
    event_id: Id
    team_id: Id | None = None
    event_time: int | None = Field(default=None, ge=0, lt=INT64)
    event: EventType


class UrlVerification(Model):
    type: Literal["url_verification"]
    challenge: _text(200, 1)  # type: ignore[valid-type]


class Envelope(Model):
    """Just enough to route an event request or an interactive payload."""

    type: Name  # type: ignore[valid-type]


def validate_command(body: dict[str, Any]) -> SlashCommand:
    """The command, or Refused with one sentence for the member."""
    try:
        return SlashCommand.model_validate(body)
    except ValidationError as exc:
        if any(error["loc"] == ("text",) and error["type"] == "string_too_long" for error in exc.errors()):
            raise Refused(200, "command text too long", TOO_LONG) from None
        raise Refused(200, f"malformed payload: command ({_fields(exc)})", UNREADABLE) from None


def validate_actions(body: dict[str, Any]) -> BlockActions:
    try:
        return BlockActions.model_validate(body)
    except ValidationError as exc:
        raise Refused(200, f"malformed payload: block_actions ({_fields(exc)})") from None


def validate_event(body: dict[str, Any], known: set[str]) -> tuple[EventEnvelope, Model | None]:
    """The envelope and the event, or None for an event type nobody listens to."""
    try:
        envelope = EventEnvelope.model_validate(body)
    except ValidationError as exc:
        raise Refused(200, f"malformed payload: event ({_fields(exc)})") from None
    kind = envelope.event.type
    model = EVENT_MODELS.get(kind)
    if model is None or kind not in known:
        return envelope, None
    try:
        return envelope, model.model_validate(body["event"])
    except ValidationError as exc:
        raise Refused(200, f"malformed payload: {kind} event ({_fields(exc)})") from None


def validate_url_verification(body: dict[str, Any]) -> str:
    """The challenge to echo back."""
    try:
        return UrlVerification.model_validate(body).challenge
    except ValidationError as exc:
        raise Refused(400, f"malformed payload: url_verification ({_fields(exc)})") from None


def normalized_event(envelope: EventEnvelope, event: Model) -> dict[str, Any]:
    """The event request as bolt and the listener get it: validated fields only."""
    body = envelope.model_dump(exclude_none=True)
    body["event"] = event.model_dump(exclude_none=True)
    return body


def envelope_type(body: dict[str, Any]) -> str:
    try:
        return Envelope.model_validate(body).type
    except ValidationError:
        raise Refused(400, "payload has no type") from None


def _fields(exc: ValidationError) -> str:
    """The fields at fault, by the model's names only (never the values sent)."""
    names = sorted({".".join(str(part) for part in error["loc"][:2]) or "body" for error in exc.errors()})
    return ", ".join(names)[:120]


# -- replays ---------------------------------------------------------------------------------


def request_identity(payload: Model, timestamp: str | None = None, key: bytes = b"") -> str | None:
    """The key that a replay of this request shares with the original, or None when the
    request carries nothing that tells two of them apart (then it is not deduplicated).

    - a slash command: its `trigger_id`; failing that, team, user, channel, command, text
      and the request's X-Slack-Request-Timestamp;
    - block actions: team, user, the container's message ts and each action's
      `action_ts` (failing an action_ts, the `trigger_id`), never the action's id or value:
      the identity is stored, and a button's id names what was chosen (`poll.vote:<poll>:
      <option>`, an anonymous ballot's option too);
    - a view submission: its `trigger_id`, failing that the view's id and hash.

    Hashes are HMAC-SHA256 under `key` (`identity_key`): without it, someone who has the
    database and can guess a click's team, user, message and time cannot confirm the guess
    (and so cannot tell who clicked an anonymous poll). Slack's trigger ids are opaque
    and kept as they are.
    """
    if isinstance(payload, SlashCommand):
        if payload.trigger_id:
            return f"command:{payload.trigger_id}"
        if not timestamp:
            return None
        parts = [payload.team_id, payload.user_id, payload.channel_id, payload.command, payload.text, timestamp]
        return "command:" + _digest(key, parts)
    if isinstance(payload, BlockActions):
        if all(action.action_ts for action in payload.actions):
            team = payload.team.id if payload.team else payload.user.team_id or ""
            parts = [team, payload.user.id, payload.container.message_ts or ""]
            parts += [str(a.action_ts) for a in payload.actions]
            return "action:" + _digest(key, parts)
        return f"action:{payload.trigger_id}" if payload.trigger_id else None
    if isinstance(payload, ViewSubmission):
        if payload.trigger_id:
            return f"view:{payload.trigger_id}"
        return f"view:{payload.view.id}:{payload.view.hash}" if payload.view.hash else None
    return None


IDENTITY_CONTEXT = b"alcts-bot slack request identity\x00"


def identity_key(*secrets: str | None) -> bytes:
    """The key of request identities: derived from the first secret given (the signing
    secret, else the app token, else the bot token), so it is the same after a restart
    (a replay across one is still recognised) and the database alone does not hold it."""
    secret = next((s for s in secrets if s), "")
    return hashlib.sha256(IDENTITY_CONTEXT + secret.encode()).digest()


def _digest(key: bytes, parts: list[str]) -> str:
    return hmac.new(key, "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()[:40]


# -- the log -------------------------------------------------------------------------------------


class EdgeLog:
    """Refused requests in few lines: the first of each REPORT_EVERY seconds in full (its
    status and a fixed reason, never request data), the rest as one count by reason when
    the next window opens (or at `flush`). A thousand forged requests make two lines."""

    def __init__(self, every: float = REPORT_EVERY) -> None:
        self.every = every
        self.refused = 0  # in all, for tests and benchmarks
        self._counts: Counter[tuple[int, str]] = Counter()
        self._since = float("-inf")

    def refuse(self, status: int, reason: str) -> None:
        self.refused += 1
        now = time.monotonic()
        if now - self._since >= self.every:
            self.flush()
            self._since = now
            log.warning("slack request rejected status=%d reason=%s", status, reason)
        else:
            self._counts[(status, reason)] += 1

    def flush(self) -> None:
        if not self._counts:
            return
        total = sum(self._counts.values())
        kinds = ", ".join(f"{status} {reason} x{n}" for (status, reason), n in self._counts.most_common(5))
        more = "" if len(self._counts) <= 5 else f" and {len(self._counts) - 5} other reasons"
        log.warning("slack requests rejected since: %d more (%s%s)", total, kinds, more)
        self._counts.clear()

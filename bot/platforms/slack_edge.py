"""The Slack HTTP edge: from request bytes to a verified, parsed and validated payload.

In this order, and nothing earlier than its step:

1. **Size.** A body over MAX_BODY bytes is refused (400) without being read.
2. **Signature.** `v0=` HMAC-SHA256 of `v0:{timestamp}:{raw bytes}` with the signing
   secret, a numeric timestamp within SIGNATURE_WINDOW of now: else 401. Nothing is
   decoded or parsed before this, so an unsigned request costs one HMAC and one short,
   rate-limited log line (`EdgeLog`).
3. **Syntax.** UTF-8, then form-encoded (a slash command, or `payload=` JSON for
   interactivity) or JSON (events): one object. Else 400.
4. **Shape.** The pydantic models of bot/platforms/slack_payloads.py, with strict types:
   ids are short strings, texts bounded and valid UTF-8 (no lone surrogates), lists
   bounded. The adapter hands slack-bolt the *validated* payload (`normalized`), never
   the raw one, so neither bolt nor the core ever sees a field of the wrong type.

A request's replay identity (`request_identity`, `identity_key`) is in
bot/platforms/slack_replay.py.

Pure functions and the log of refused requests: no I/O, no slack library.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections import Counter
from typing import Any

from pydantic import ValidationError

from bot.platforms.slack_payloads import (
    EVENT_MODELS,
    MAX_TEXT,
    BlockActions,
    Envelope,
    EventEnvelope,
    Model,
    SlashCommand,
    UrlVerification,
)
from bot.platforms.urlencoded import parse_form

log = logging.getLogger("bot.platforms.slack")

MAX_BODY = 1024 * 1024  # bytes; Slack's largest payloads (a click on a full message) are far smaller
SIGNATURE_WINDOW = 300  # seconds: Slack's replay window for a signed request
MAX_FORM_FIELDS = 100
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


# -- 4: shape, by the models of slack_payloads ------------------------------------------------


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

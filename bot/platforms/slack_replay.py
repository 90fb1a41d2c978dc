"""Replays of a Slack request: `request_identity` names a state-changing request (a
command, a click, a view submission) so that a replay of it (same body and headers, within
Slack's 5-minute window) can be recognised and acknowledged without being handled again.
It is stored (a day), so it names a click by who and when only, never by the button (whose
id names a poll's option), and its hash is keyed (`identity_key`).

Pure functions over the models of bot/platforms/slack_payloads.py: no I/O, no slack library.
"""

from __future__ import annotations

import hashlib
import hmac

from bot.platforms.slack_payloads import BlockActions, Model, SlashCommand, ViewSubmission


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

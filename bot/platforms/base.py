"""The contract between the core and a chat platform, as small as hubot's.

A platform turns its events into neutral interactions and calls `Bot.dispatch`
with a `Responder` that answers that one interaction; the core sends anything else
(a poll closing, the next trivia question) with `Platform.send` and `Platform.edit`, and
writes to one member privately with `Platform.send_direct`.

Sending once: `send` and `send_direct` take an idempotency `key` (at most 100 characters,
stable for one delivery) and `since`. The caller records its intent durably (a delivery in
state 'sending', with the key and the time) before the first attempt, and marks it sent
afterwards. `since` is None on that first attempt; when a crash or a failure left the
delivery in 'sending', the next attempt passes the time of the intent, and the platform
resolves it without a blind re-send where it can:

- Discord: every keyed message carries `nonce` (derived from the key) with
  `enforce_nonce`, so Discord answers with the message already posted instead of a second
  one when the same nonce comes again within its window (a few minutes).
- Slack: every keyed message carries `metadata` (event_type `alcts_delivery`, the key in
  its payload); a retry first reads the channel's `conversations.history` from shortly
  before `since` (with `include_all_metadata`) and returns the message found there.
- Console: the keys printed by this process are remembered; a process has no memory of
  what an earlier one printed.

The one rule where the platform cannot tell (a Discord retry after the nonce window, Slack
history unreadable, e.g. a DM without im:history, a new console process): send again.
Keyed delivery is therefore at-least-once, never lost, and duplicated only when a crash
falls between the platform accepting the message and the 'sent' mark *and* the platform
cannot recognise the key.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.cards import Card
from bot.model import Member, MessageRef, Place


class Responder(Protocol):
    """Answers one interaction: the first card replies, later ones follow up."""

    async def respond(self, card: Card) -> MessageRef | None: ...


class Platform(Protocol):
    """What every platform does. Optional, looked up with getattr by the Bot: `can_post(place)
    -> str | None` (None when the bot can post in that channel later, else one sentence why
    not; see Bot.can_post), `list_event`, `follow_perk`."""

    name: str

    async def start(self) -> None:
        """Connect and begin listening; returns once events flow."""

    async def send(
        self, place: Place, card: Card, *, key: str | None = None, since: datetime | None = None
    ) -> MessageRef | None:
        """Post a new message in a channel; with `key`, once (see the module's docstring)."""

    async def edit(self, ref: MessageRef, card: Card) -> None:
        """Replace a message the bot sent earlier."""

    async def send_direct(
        self, member: Member, card: Card, *, key: str | None = None, since: datetime | None = None
    ) -> MessageRef | None:
        """A message only `member` sees (with `key`, once, as `send`), in a direct message (a DM) from the bot; its ref
        can be edited like any other. Raises `bot.errors.DirectMessagesClosed` when the
        member does not accept direct messages from the bot (or from server members)."""

    async def close(self) -> None:
        """Stop taking new events and disconnect."""


@dataclass(frozen=True)
class ChannelLookup:
    """What a platform knows of a channel a setting names (`/config set jobs_channel news`),
    from its optional `async def setting_channel(member, community, text) -> ChannelLookup`
    (see `Bot.setting_channel`): whether the bot can find it, whether the member who named it
    can see it, and the form a setting stores (the platform's mention)."""

    exists: bool
    value: str = ""
    name: str = ""
    visible: bool = True


@dataclass(frozen=True)
class RoleLookup:
    """What a platform knows of a role (a Slack user group) a setting names, from its optional
    `async def setting_role(community, text) -> RoleLookup` (see `Bot.setting_role`): whether
    it exists, the form a setting stores, its identity (`key`, to tell two names of one role
    apart), and whether it carries moderating powers by itself (`powerful`: Administrator,
    Manage Server...). `kind` is what the platform calls a role. `everyone`: the text names
    the role every member has (Discord's @everyone), or a mention of everyone (@here)."""

    exists: bool
    value: str = ""
    key: str = ""
    name: str = ""
    powerful: bool = False
    kind: str = "role"
    everyone: bool = False


DELIVERY_EVENT = "alcts_delivery"  # Slack message metadata's event_type on keyed posts


def nonce(key: str) -> str:
    """Discord's nonce for an idempotency key: at most 25 characters, the same each time."""
    return hashlib.sha256(key.encode()).hexdigest()[:25]


STALE_BUTTON = "That button is out of date; it has no effect now."
INT64 = 2**63
SHORT = len(str(INT64)) - 1  # 18: a part this long or shorter is below 10**18 (int() takes signs, _ and spaces too)


def custom_id_fits(custom_id: str) -> bool:
    """Whether every number in a button id (`poll.vote:12:3`) fits SQLite's 64 bits, the
    range the core's storage takes: a platform answers a click on `poll.vote:` and a
    20-digit number with STALE_BUTTON instead of passing it on."""
    for part in custom_id.split(":")[1:]:
        if len(part) <= SHORT:  # too short to reach 2**63, whatever int() makes of it
            continue
        try:
            number = int(part)
        except ValueError:
            continue
        if not -INT64 <= number < INT64:
            return False
    return True


class SilentResponder:
    """For events nobody can be answered about (a member joining)."""

    async def respond(self, card: Card) -> MessageRef | None:
        return None

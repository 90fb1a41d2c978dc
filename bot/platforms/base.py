"""The contract between the core and a chat platform, as small as hubot's.

A platform turns its events into neutral interactions and calls `Bot.dispatch`
with a `Responder` that answers that one interaction; the core sends anything else
(a poll closing, the next trivia question) with `Platform.send` and `Platform.edit`, and
writes to one member privately with `Platform.send_direct`.
"""

from __future__ import annotations

from typing import Protocol

from bot.cards import Card
from bot.model import Member, MessageRef, Place


class Responder(Protocol):
    """Answers one interaction: the first card replies, later ones follow up."""

    async def respond(self, card: Card) -> MessageRef | None: ...


class Platform(Protocol):
    name: str

    async def start(self) -> None:
        """Connect and begin listening; returns once events flow."""

    async def send(self, place: Place, card: Card) -> MessageRef | None:
        """Post a new message in a channel."""

    async def edit(self, ref: MessageRef, card: Card) -> None:
        """Replace a message the bot sent earlier."""

    async def send_direct(self, member: Member, card: Card) -> MessageRef | None:
        """A message only `member` sees, in a direct message (a DM) from the bot; its ref
        can be edited like any other. Raises `bot.errors.DirectMessagesClosed` when the
        member does not accept direct messages from the bot (or from server members)."""

    async def close(self) -> None:
        """Stop taking new events and disconnect."""


STALE_BUTTON = "That button is out of date; it has no effect now."
INT64 = 2**63


def custom_id_fits(custom_id: str) -> bool:
    """Whether every number in a button id (`poll.vote:12:3`) fits SQLite's 64 bits, the
    range the core's storage takes: a platform answers a click on `poll.vote:` and a
    20-digit number with STALE_BUTTON instead of passing it on."""
    for part in custom_id.split(":")[1:]:
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

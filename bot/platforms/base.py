"""The contract between the core and a chat platform, as small as hubot's.

A platform turns its events into neutral interactions and calls `Bot.dispatch`
with a `Responder` that answers that one interaction; the core sends anything else
(a poll closing, the next trivia question) with `Platform.send` and `Platform.edit`.
"""

from __future__ import annotations

from typing import Protocol

from bot.cards import Card
from bot.model import MessageRef, Place


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

    async def close(self) -> None:
        """Stop taking new events and disconnect."""


class SilentResponder:
    """For events nobody can be answered about (a member joining)."""

    async def respond(self, card: Card) -> MessageRef | None:
        return None

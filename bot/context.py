"""What a handler is given (`Context`: the interaction, its community's settings, zone and
time, a way to answer) and how cogs post outside an interaction (`Messenger`)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.cards import Card
from bot.config import CommunitySettings
from bot.edits import CardSource
from bot.errors import UserError
from bot.model import Interaction, MessageRef, Place
from bot.platforms.base import Responder
from bot.text import channel_from_text, is_channel_mention


class Context:
    """What a handler knows about the interaction it answers."""

    __slots__ = ("event", "member", "place", "community", "now", "tz", "config", "unnamed", "_responder")

    def __init__(
        self, event: Interaction, responder: Responder, now: datetime, tz: ZoneInfo,
        config: CommunitySettings,
    ) -> None:  # fmt: skip
        self.event = event
        self.member = event.member
        self.place = event.place
        self.community = event.place.community
        self.now = now
        self.tz = tz
        self.config = config
        self.unnamed = False
        """Set by a handler whose interaction must not be tied to the member (an anonymous
        ballot, a forget-me confirmation): it is then counted only in the daily totals."""
        self._responder = responder

    async def respond(self, card: Card) -> MessageRef | None:
        return await self._responder.respond(card)

    def channel(self, given: str | None, setting: str, example: str) -> Place:
        """Where a post goes: `channel=` if given, else the community's `setting`, else here.
        On chat platforms a channel must be picked from the # list (a mention); raises
        UserError naming `example` (`#jobs`) otherwise."""
        channel = given or self.config.get(setting)
        if not channel:
            return self.place
        if self.place.platform != "console" and not is_channel_mention(channel):
            raise UserError(f"Pick the channel from the # list so it becomes a link, e.g. channel={example}.")
        return Place(self.community, *channel_from_text(channel))


class Messenger(Protocol):
    """How cogs post outside an interaction; the Bot is one."""

    async def send(
        self, place: Place, card: Card, *, key: str | None = None, since: datetime | None = None
    ) -> MessageRef | None: ...

    def edit(self, ref: MessageRef, card: CardSource, *, final: bool = False) -> None: ...

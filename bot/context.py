"""What a handler is given (`Context`: the interaction, its community's settings, zone and
time, a way to answer) and how cogs post outside an interaction (`Messenger`)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol
from zoneinfo import ZoneInfo

from bot.cards import Card
from bot.config import CommunitySettings
from bot.edits import CardSource
from bot.errors import UserError
from bot.model import Interaction, MessageRef, Place
from bot.platforms.base import Responder
from bot.text import channel_from_text, is_channel_mention
from storage.activity import NO_CHANGE

if TYPE_CHECKING:
    from storage.engagement import CarriedEvent, EngagementLog


class Context:
    """What a handler knows about the interaction it answers."""

    __slots__ = ("event", "member", "place", "community", "now", "tz", "config", "unnamed", "recorded", "carry",
                 "activity", "_responder")  # fmt: skip

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
        self.activity = True
        """Cleared by a command whose use changed nothing (`/unfollow` when not following):
        it is logged as `no_change`, which is not a member's activity (storage/activity.py)."""
        self.recorded = False
        """True once the interaction's engagement event is written (carried by a unit of work)."""
        self.carry: tuple[EngagementLog, str, str | None, str | None] | None = None
        """Set by the Bot before the handler runs: (the log, kind, cog, subject) of the event
        it will record unless a unit of work carries it (see `engagement`)."""
        self._responder = responder

    def engagement(self) -> CarriedEvent | None:
        """This interaction's engagement event as rows for the handler's unit of work to
        write in its own transaction (`db.unit(work, ctx.engagement())`: a
        storage.unit_of_work.Rider), so the effect is never stored without its event and the
        Bot does not record it again. None when there is nothing to carry: the Bot records
        no event for this handler, or it was handed out already (once per interaction).
        Ask after setting `unnamed` (and `activity`): the event is made as they are then. If
        the unit fails, the Bot records the event as usual."""
        carry, self.carry = self.carry, None
        if carry is None or self.recorded:
            return None
        log, kind, cog, subject = carry
        if not self.activity:
            kind = NO_CHANGE  # as the Bot records it
        return log.carry(self.community, self.member, kind, cog, subject, self.now, self.tz, self.unnamed,
                         self._carried)  # fmt: skip

    def _carried(self) -> None:
        self.recorded = True

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
            raise UserError(f"Pick the channel from the # list so it becomes a link, e.g. channel={example}.",
                            argument="channel")
        return Place(self.community, *channel_from_text(channel))


class Messenger(Protocol):
    """How cogs post outside an interaction; the Bot is one."""

    async def send(
        self, place: Place, card: Card, *, key: str | None = None, since: datetime | None = None
    ) -> MessageRef | None: ...

    def edit(self, ref: MessageRef, card: CardSource, *, final: bool = False) -> None: ...

    async def can_post(self, place: Place) -> str | None:
        """None when the bot can post in `place`, else one sentence why not (see Bot.can_post)."""
        ...


async def postable(messenger: Messenger, place: Place, argument: str | None = "channel") -> Place:
    """`place`, checked before anything that will post there later is stored: raises
    UserError with the platform's sentence (shown on the form's `argument` field) when the
    bot cannot post there (a private channel it is not in, one it may not see or write in)."""
    reason = await messenger.can_post(place)
    if reason is not None:
        raise UserError(reason, argument=argument)
    return place

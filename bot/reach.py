"""How the core reaches the platforms outside an interaction: post, send a direct message,
edit, list an event, and ask what a platform knows (whether the bot can post in a channel,
what a setting's channel or role is, a follow's perk). The Bot inherits these from
`PlatformReach`; cogs see them through `Messenger` (bot/context.py).

A platform that lacks an optional ability (`list_event`, `can_post`, `setting_channel`,
`setting_role`, `follow_perk`) is asked nothing; a check that fails is logged and not held
against the member (None: "cannot tell").
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, cast

from bot.cards import Card
from bot.model import Community, EventListing, Member, MessageRef, Place
from bot.platforms.base import ChannelLookup, Platform, RoleLookup

if TYPE_CHECKING:
    from bot.context import Context

log = logging.getLogger(__name__)


class PlatformReach:
    """The platform-facing half of the Bot: `platforms` maps a platform's name to it."""

    platforms: dict[str, Platform]

    async def send(
        self, place: Place, card: Card, *, key: str | None = None, since: datetime | None = None
    ) -> MessageRef | None:
        """Post in a channel. With `key` (an idempotency key the caller recorded, with its
        intent, before the first attempt; `since`: when, on a retry), the platform posts it
        once where it can tell: see bot/platforms/base.py."""
        platform = self.platforms[place.platform]
        if key is None:
            return await platform.send(place, card)
        return await platform.send(place, card, key=key, since=since)

    async def send_direct(
        self, member: Member, card: Card, *, key: str | None = None, since: datetime | None = None
    ) -> MessageRef | None:
        """A direct message only `member` sees; raises DirectMessagesClosed when the member
        does not accept them (the caller tells the member some other way, or skips).
        `key` and `since` as for `send`."""
        platform = self.platforms[member.platform]
        if key is None:
            return await platform.send_direct(member, card)
        return await platform.send_direct(member, card, key=key, since=since)

    async def list_event(self, listing: EventListing) -> tuple[str | None, str | None]:
        """Mirror a webinar as the platform's own event listing where it has one (Discord
        Scheduled Events): create it, update it (`listing_id` set) or cancel it. Returns
        (the listing's id or None, a sentence for the moderator when it could not be done,
        e.g. a missing permission). Platforms without listings return (None, None)."""
        platform = self.platforms.get(listing.community.platform)
        lister = getattr(platform, "list_event", None)
        if lister is None:
            return None, None
        return await lister(listing)

    async def can_post(self, place: Place) -> str | None:
        """Whether the bot can post in `place` later (a channel a member chose for a webinar's
        reminders, a job feed, the daily question): None when it can, else one sentence for
        the member saying why not and what to do. Ask before storing anything that will
        post there. The platform decides (`can_post`: Slack asks conversations.info,
        Discord reads the bot's permissions from its cache); a platform without the check
        (the console) posts anywhere, and a check that fails is logged and not held
        against the channel."""
        platform = self.platforms.get(place.platform)
        checker = getattr(platform, "can_post", None)
        if checker is None:
            return None
        try:
            reason: str | None = await checker(place)
        except Exception:
            log.exception("could not check posting in channel=%s:%s", place.platform, place.channel_id)
            return None
        return reason

    async def _edit_now(self, ref: MessageRef, card: Card) -> None:
        platform = self.platforms.get(ref.platform)
        if platform is None:
            log.warning("no platform %s to edit message %s", ref.platform, ref.encode())
            return
        await platform.edit(ref, card)

    async def follow_perk(self, ctx: Context, following: bool) -> str | None:
        """Let the platform add its own touch to a follow (a Discord role, a Slack channel)."""
        perk = getattr(self.platforms.get(ctx.community.platform), "follow_perk", None)
        return await perk(ctx.member, ctx.community, ctx.config, following) if perk else None

    async def setting_channel(self, member: Member, community: Community, text: str) -> ChannelLookup | None:
        """What the community's platform knows of a channel a setting names (`/config set
        jobs_channel news`): whether it exists, whether `member` can see it, the form to store.
        None when the platform cannot tell (the console takes any name; an API that failed)."""
        finder = getattr(self.platforms.get(community.platform), "setting_channel", None)
        if finder is None:
            return None
        try:
            return cast("ChannelLookup | None", await finder(member, community, text))
        except Exception:  # cannot tell: the setting is not held up by a lookup that failed
            log.warning("channel lookup failed community=%s:%s", community.platform, community.id, exc_info=True)
            return None

    async def setting_role(self, community: Community, text: str) -> RoleLookup | None:
        """What the community's platform knows of a role (a Slack user group) a setting names:
        whether it exists, its identity, whether it carries moderating powers, the form to
        store. None when the platform cannot tell (the console; an API that failed)."""
        finder = getattr(self.platforms.get(community.platform), "setting_role", None)
        if finder is None:
            return None
        try:
            return cast("RoleLookup | None", await finder(community, text))
        except Exception:  # cannot tell: the setting is not held up by a lookup that failed
            log.warning("role lookup failed community=%s:%s", community.platform, community.id, exc_info=True)
            return None


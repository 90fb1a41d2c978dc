"""/follow and /unfollow: members opt in to the association's updates, and we count them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.app import Bot, Context
from bot.cards import Button, Card, Style, notice
from bot.changes import ContentChangedHook, unheard
from bot.clock import Clock
from bot.commands import button, command, on
from bot.config import Setting
from bot.errors import UserError
from bot.model import Community, Member, MemberLeft, Role
from bot.quotas import Quota, button_quota
from storage.engagement import EngagementLog
from storage.follows import FollowStore, ZoneOf

FollowPerk = Callable[[Context, bool], Awaitable[str | None]]


class Follow:
    """Follow association updates"""

    name = "follow"
    settings = (
        Setting("follower_role", "Discord role granted on /follow (never one with moderating powers)", role=True,
                given=True),
        Setting("announcements_channel", "Slack channel followers are invited to on /follow", channel=True),
    )

    def __init__(
        self, follows: FollowStore, engagement: EngagementLog, brand: str, perk: FollowPerk, clock: Clock,
        zone_of: ZoneOf, content_changed: ContentChangedHook = unheard,
    ) -> None:  # fmt: skip
        self.follows = follows
        self.zone_of = zone_of
        self.clock = clock
        self.engagement = engagement
        self.brand = brand
        self.perk = perk
        self.content_changed = content_changed

    @command("follow", help="Follow the association's updates in this community", quota=Quota(10, 3600))
    async def follow(self, ctx: Context, args: object) -> Card:
        added = await self.follows.follow(ctx.community, ctx.member, ctx.now, _day(ctx))
        extra = await self.perk(ctx, True)  # again when already following: a role or channel may have been lost
        if not added:  # nothing changed: only the member hears it, and it is not activity
            ctx.activity = False
            return notice(" ".join(filter(None, [f"You already follow {self.brand} here.", extra])))
        self.engagement.saw(ctx.community, ctx.member, ctx.now)  # counted among the members the reply states
        self._changed(ctx.community, ctx.member)
        lead = f"You now follow {self.brand} here."
        return notice(" ".join(filter(None, [lead, extra, await self.share(ctx.community)])), ephemeral=False)

    @command("unfollow", help="Stop following the association's updates here", quota=Quota(10, 3600))
    async def unfollow(self, ctx: Context, args: object) -> Card:
        removed = await self.follows.unfollow(ctx.community, ctx.member, ctx.now, _day(ctx))
        if not removed:  # nothing changed: not activity
            ctx.activity = False
            return notice(f"You were not following {self.brand} here.")
        self._changed(ctx.community, ctx.member)
        extra = await self.perk(ctx, False)
        return notice(" ".join(filter(None, [f"You no longer follow {self.brand} here.", extra])))

    async def home(self, ctx: Context) -> list[Card]:
        """The member's home (Slack's App Home): whether they follow, and a button to change it."""
        if await self.follows.following(ctx.community, ctx.member):
            return [Card(text=f"You follow {self.brand} here.",
                         buttons=(Button("Unfollow", "follow.set", ("off",)),))]  # fmt: skip
        return [Card(text=f"You do not follow {self.brand} here yet.",
                     buttons=(Button("Follow", "follow.set", ("on",), Style.PRIMARY),))]  # fmt: skip

    @button("follow.set")
    @button_quota(Quota(10, 3600))
    async def toggle(self, ctx: Context, state: str) -> Card:
        """The home's Follow / Unfollow button: the same as /follow and /unfollow."""
        if state not in ("on", "off"):
            raise UserError("That button is out of date; it has no effect now.")
        return await (self.follow(ctx, None) if state == "on" else self.unfollow(ctx, None))

    @on(MemberLeft)
    async def left(self, ctx: Context) -> None:
        """A follower who leaves the community no longer follows (a change of state on the
        local day, as /unfollow records); leaving one channel changes nothing."""
        event = ctx.event
        left = isinstance(event, MemberLeft) and not event.channel_only
        if left and await self.follows.unfollow(ctx.community, ctx.member, ctx.now, _day(ctx)):
            self._changed(ctx.community, ctx.member)

    def _changed(self, community: Community, member: Member) -> None:
        """Homes that show the change: the member's own (their button), organizers' (the figures)."""
        self.content_changed(community, "follow", member=member)
        self.content_changed(community, "follow", audience=Role.ORGANIZER)

    async def share(self, community: Community) -> str:
        followers = await self.follows.count(community)
        members = max(await self.engagement.member_count(community), followers)
        percent = round(100 * followers / members) if members else 0
        return f"{followers} of {members} members follow ({percent}%)."

    async def forget_member(self, member: Member) -> int:
        return await self.follows.forget_member(member, self.clock.now(), self.zone_of)


def _day(ctx: Context) -> str:
    """The community's local day now (the report's days are the community's)."""
    return ctx.now.astimezone(ctx.tz).date().isoformat()


def setup(bot: Bot) -> None:
    bot.add_cog(Follow(FollowStore(bot.db), bot.engagement, bot.settings.bot_brand, bot.follow_perk, bot.clock,
                       bot.config.zone_of, bot.content_changed))  # fmt: skip

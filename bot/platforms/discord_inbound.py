"""Discord's way in: gateway events (clicks, slash commands, autocomplete, members joining
and leaving, chat, "Interested" on a scheduled event) become neutral interactions for
`Bot.dispatch`; a mixin of `DiscordPlatform` (bot/platforms/discord.py).

Every interaction goes through `_handle`: refused while closing or outside a server,
counted in flight (`close()` lets them answer first), the member's role read from the
interaction's own permissions and roles (`discord_roles.role_of`), answered by an
`InteractionResponder` with the platform's remembered renders.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.app import Bot, Context
from bot.cards import Card
from bot.commands import Choice
from bot.config import CommunitySettings
from bot.model import (
    ButtonPressed,
    CommandInvoked,
    Community,
    EventInterest,
    Interaction,
    Member,
    MemberJoined,
    MemberLeft,
    MessagePosted,
    MessageRef,
    Place,
)
from bot.platforms.base import STALE_BUTTON, SilentResponder, custom_id_fits
from bot.platforms.discord_commands import suggest
from bot.platforms.discord_forms import CommandResponder, DiscordForms
from bot.platforms.discord_lookups import CURRENT
from bot.platforms.discord_render import NO_MENTIONS, Rendered
from bot.platforms.discord_respond import PLATFORM, ChannelResponder, InteractionResponder
from bot.platforms.discord_roles import names_a_role, role_of

log = logging.getLogger("bot.platforms.discord")

GUILD_ONLY = "This works in a server, not in direct messages."
SUGGEST_SECONDS = 2.0  # an autocomplete answer, like any interaction's, is due within 3 s

MakeEvent = Callable[[Member, Place], Interaction]


class DiscordInbound:
    """What `DiscordPlatform` does with what Discord sends; the platform sets the attributes."""

    bot: Bot
    client: discord.Client
    forms: DiscordForms
    defer_after: float
    rendered: Callable[[Card], Rendered]
    _closing: bool
    _in_flight: InFlight

    if TYPE_CHECKING:

        async def _record_member_count(self, guild: discord.Guild, count: int) -> None: ...

    # -- gateway events ----------------------------------------------------------------------

    async def _on_connect(self) -> None:
        self._connected.set()

    async def _on_command(self, interaction: discord.Interaction, name: str, options: dict[str, Any]) -> None:
        await self._handle(interaction, lambda m, p: CommandInvoked(m, p, name=name, options=options), component=False,
                           respond=CommandResponder)  # fmt: skip

    async def _on_interaction(self, interaction: discord.Interaction) -> None:
        """Buttons: every click is routed by its custom_id, whatever message it sits on.
        Modal submissions and their retry buttons go to `discord_forms`."""
        if self.forms.claims(interaction):
            await self.forms.take(interaction)
            return
        data: dict[str, Any] = dict(interaction.data or {})
        if interaction.type is not discord.InteractionType.component or data.get("component_type") != discord.ComponentType.button.value:
            return
        custom_id = str(data.get("custom_id", ""))
        if not custom_id_fits(custom_id):  # a number beyond what storage takes: no button of ours
            if not self._closing:
                await interaction.response.send_message(STALE_BUTTON, ephemeral=True, allowed_mentions=NO_MENTIONS)
            return
        message = interaction.message
        ref = MessageRef(PLATFORM, str(interaction.channel_id), str(message.id)) if message else None
        await self._handle(interaction, lambda m, p: ButtonPressed(m, p, custom_id=custom_id, message=ref), component=True)

    async def _on_complete(self, interaction: discord.Interaction, name: str, option: str, typed: str) -> list[Choice]:
        """Autocomplete: what the command's model suggests for this member in this channel.
        Not an interaction of the core's: nothing is dispatched, recorded or answered in chat."""
        command = self.bot.registry.commands.get(name)
        if self._closing or interaction.guild_id is None or command is None:
            return []
        with self._in_flight:
            config, member, place = await self._who(interaction)
            event = CommandInvoked(member, place, name=name, options=_typed_so_far(interaction))
            ctx = Context(event, SilentResponder(), self.bot.clock.now(), self.bot.config.timezone(config), config)
            try:
                return await asyncio.wait_for(suggest(command, ctx, option, typed), SUGGEST_SECONDS)
            except TimeoutError:
                log.warning("suggestions for /%s %s took over %.0fs; none offered", name, option, SUGGEST_SECONDS)
            except Exception:
                log.exception("suggestions failed for /%s %s", name, option)
            return []

    async def _on_tree_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        """Only reached when Discord's copy of a command is out of date (the core handles the rest)."""
        log.error("slash command not understood: %s", error)
        if not interaction.response.is_done():
            await interaction.response.send_message(
                "That command has changed; try again in a minute.", ephemeral=True, allowed_mentions=NO_MENTIONS
            )

    async def _on_guild(self, guild: discord.Guild) -> None:
        if guild.member_count is not None:
            await self._record_member_count(guild, guild.member_count)

    async def _on_event_interest(self, data: dict[str, Any], interested: bool) -> None:
        """A member marked (or unmarked) "Interested" on a scheduled event: an EventInterest
        for the core, which counts it as going when the event mirrors a webinar."""
        if self._closing:
            return
        guild = self.client.get_guild(int(data.get("guild_id") or 0))
        if guild is None or not data.get("user_id") or not data.get("guild_scheduled_event_id"):
            return
        user_id = int(data["user_id"])
        with self._in_flight:
            user: discord.User | discord.Member | None = guild.get_member(user_id)
            if user is None:
                try:
                    user = await guild.fetch_member(user_id)
                except discord.HTTPException as exc:  # left the server, or no access
                    log.info("scheduled event interest from user=%s not found in guild=%s (%s)", user_id, guild.id, exc.status)
                    return
            community = self._community(guild)
            config = await self.bot.config.get(community)
            permissions = user.guild_permissions if isinstance(user, discord.Member) else discord.Permissions.none()
            channel = guild.system_channel
            place = Place(community, str(channel.id) if channel else "", channel.name if channel else "")
            event = EventInterest(self._member(user, permissions, config), place,
                                  listing_id=str(data["guild_scheduled_event_id"]), interested=interested)  # fmt: skip
            await self.bot.dispatch(event, SilentResponder())

    async def _on_member_join(self, user: discord.Member) -> None:
        await self._member_event(user.guild, user, MemberJoined)

    async def _on_member_remove(self, payload: discord.RawMemberRemoveEvent) -> None:
        guild = self.client.get_guild(payload.guild_id)
        if guild is not None:
            await self._member_event(guild, payload.user, MemberLeft)

    async def _on_message(self, message: discord.Message) -> None:
        """Only with the message-content intent: chat reaches the core (typed trivia answers)."""
        if message.author.bot or message.guild is None or not message.content or self._closing:
            return
        with self._in_flight:
            community = self._community(message.guild)
            config = await self.bot.config.get(community)
            permissions = message.author.guild_permissions if isinstance(message.author, discord.Member) else discord.Permissions.none()
            member = self._member(message.author, permissions, config)
            place = Place(community, str(message.channel.id), getattr(message.channel, "name", "") or "")
            event = MessagePosted(member, place, text=message.content)
            await self.bot.dispatch(event, ChannelResponder(message.channel, place.channel_id))

    # -- the one way in --------------------------------------------------------------------------

    async def _handle(self, interaction: discord.Interaction, make_event: MakeEvent, *, component: bool,
                      respond: Callable[..., InteractionResponder] = InteractionResponder) -> None:  # fmt: skip
        if self._closing:
            return
        if interaction.guild_id is None:
            await interaction.response.send_message(GUILD_ONLY, ephemeral=True)
            return
        with self._in_flight:
            config, member, place = await self._who(interaction)
            responder = respond(interaction, component=component, defer_after=self.defer_after, render=self.rendered)
            current = CURRENT.set(interaction)  # who a channel a setting names must be visible to
            try:
                await self.bot.dispatch(make_event(member, place), responder)
            finally:
                CURRENT.reset(current)
                await responder.finish()

    async def _who(self, interaction: discord.Interaction) -> tuple[CommunitySettings, Member, Place]:
        """The community's settings, the member (with the role they hold there) and the place."""
        assert interaction.guild_id is not None
        guild = self.client.get_guild(interaction.guild_id)
        community = Community(PLATFORM, str(interaction.guild_id), guild.name if guild else "")
        config = await self.bot.config.get(community)
        member = self._member(interaction.user, interaction.permissions, config)
        place = Place(community, str(interaction.channel_id), getattr(interaction.channel, "name", "") or "")
        return config, member, place

    async def _member_event(self, guild: discord.Guild, user: discord.User | discord.Member, kind: type[Interaction]) -> None:
        with self._in_flight:
            community = self._community(guild)
            config = await self.bot.config.get(community)
            permissions = user.guild_permissions if isinstance(user, discord.Member) else discord.Permissions.none()
            channel = guild.system_channel
            place = Place(community, str(channel.id) if channel else "", channel.name if channel else "")
            await self.bot.dispatch(kind(self._member(user, permissions, config), place), SilentResponder())

    def _member(self, user: discord.User | discord.Member, permissions: discord.Permissions, config: CommunitySettings) -> Member:
        """The member as the core knows them, with the role they hold here. Their server roles
        are read only when the community names a moderator or organizer role (`role_of`)."""
        roles = user.roles if names_a_role(config) and isinstance(user, discord.Member) else []
        return Member(PLATFORM, str(user.id), user.display_name, role_of(roles, permissions, config))

    def _community(self, guild: discord.Guild) -> Community:
        return Community(PLATFORM, str(guild.id), guild.name or "")


class InFlight:
    """How many handlers are running (`with in_flight:` around each), and an event set
    whenever none is, which `close()` waits for. One object, entered again and again: no
    context manager is made per interaction."""

    __slots__ = ("count", "drained")

    def __init__(self) -> None:
        self.count = 0
        self.drained = asyncio.Event()
        self.drained.set()

    def __enter__(self) -> None:
        self.count += 1
        self.drained.clear()

    def __exit__(self, *exc: object) -> None:
        self.count -= 1
        if not self.count:
            self.drained.set()


def _typed_so_far(interaction: discord.Interaction) -> dict[str, Any]:
    """The options filled in while another is being typed (autocomplete), as Discord sent them."""
    options = list((interaction.data or {}).get("options") or [])
    while options and options[0].get("type") in (1, 2):  # a subcommand (or group) holds its options
        options = list(options[0].get("options") or [])
    return {o["name"]: o.get("value") for o in options if not o.get("focused")}

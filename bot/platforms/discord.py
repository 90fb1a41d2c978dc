"""Discord, through discord.py: slash commands, persistent buttons, member events.

Every Discord event becomes a neutral interaction for `Bot.dispatch`; no business rule
lives here. Slash commands are built from the registry (`discord_commands`), cards are
rendered by `discord_render`. Button clicks are routed by `custom_id` in `on_interaction`
without any in-memory view, so a click on a week-old message works after a restart.

Seams (contract): `DISCORD_API_BASE` sets `discord.http.Route.BASE`, which every REST call
(interaction callbacks and webhooks included) is built from; `DISCORD_GATEWAY_URL` sets
`DiscordWebSocket.DEFAULT_GATEWAY`. HTTP proxies use the first, the e2e tests use both.

Start-up fails in one line (`ConfigError`, exit code 2 from `alcts-bot run`), never a
traceback or a hang: a refused token, Discord out of reach, or a gateway that refuses us.
Webinars mirrored as server Events live in `discord_events`; forms (modals) in `discord_forms`;
what Discord sends (gateway events, the one way in to the core) in `discord_inbound`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import aiohttp
import discord
from discord import app_commands
from discord.gateway import DiscordWebSocket

from bot.app import Bot
from bot.cards import Card
from bot.config import CommunitySettings, ConfigError, Settings
from bot.errors import DirectMessagesClosed, MessageGone
from bot.model import (
    Community,
    EventListing,
    Member,
    MessageRef,
    Place,
)
from bot.platforms.base import (
    ChannelLookup,
    RoleLookup,
    nonce,
)
from bot.platforms.discord_commands import build_commands
from bot.platforms.discord_connect import FirstConnect, _client, _gateway_ended, _reason, _refusal
from bot.platforms.discord_connect import apply_seams as apply_seams  # where it was
from bot.platforms.discord_events import NEEDS_MANAGE_EVENTS as NEEDS_MANAGE_EVENTS  # where it was
from bot.platforms.discord_events import list_event, raw_interest_events
from bot.platforms.discord_forms import DiscordForms
from bot.platforms.discord_inbound import DiscordInbound, InFlight
from bot.platforms.discord_lookups import channel_lookup, post_problem, role_lookup
from bot.platforms.discord_render import clip, remembered_renders, render
from bot.platforms.discord_respond import (
    PLATFORM,
)
from bot.platforms.discord_roles import follower_role

log = logging.getLogger(__name__)

DEFER_AFTER_SECONDS = 2.0  # Discord wants an answer within 3 s
SNAPSHOT_EVERY_SECONDS = 24 * 3600
DRAIN_SECONDS = 10.0
CANNOT_MESSAGE_USER = 50007  # the member takes no direct messages from the bot or server members
UNKNOWN_USER = 10013
CLOSE_SECONDS = 5.0  # for the gateway connection to end once the client is closed

def create(bot: Bot, settings: Settings) -> DiscordPlatform:
    return DiscordPlatform(bot, settings)


class DiscordPlatform(DiscordInbound):
    name = PLATFORM

    def __init__(
        self, bot: Bot, settings: Settings, *, defer_after: float = DEFER_AFTER_SECONDS,
        ready_timeout: float = 2.0, snapshot_every: float = SNAPSHOT_EVERY_SECONDS,
        start_timeout: float = 60.0,
    ) -> None:  # fmt: skip
        if settings.discord_token is None:
            raise ValueError("DISCORD_TOKEN is not set")
        self.bot = bot
        self.settings = settings
        self.defer_after = defer_after
        self.rendered = remembered_renders()  # cards as messages, the latest remembered (discord_render)
        self.snapshot_every = snapshot_every
        self.start_timeout = start_timeout
        apply_seams(settings)
        self.client = _client(settings, ready_timeout)
        self.tree = app_commands.CommandTree(
            self.client,
            allowed_contexts=app_commands.AppCommandContext(guild=True, dm_channel=False, private_channel=False),
            allowed_installs=app_commands.AppInstallationType(guild=True, user=False),  # roles come from a guild install
        )
        for command in build_commands(bot.registry, self._on_command, self._on_complete):
            self.tree.add_command(command)
        self.tree.error(self._on_tree_error)
        self._connected = asyncio.Event()
        self._closing = False
        self.forms = DiscordForms(bot.registry, self._handle, lambda: self._closing)  # modals: discord_forms
        self._in_flight = InFlight()  # handlers running: close() lets them answer first
        self._runner: asyncio.Task[None] | None = None
        self._snapshots: asyncio.Task[None] | None = None
        handlers: dict[str, Callable[..., Any]] = {
            "on_connect": self._on_connect,
            "on_interaction": self._on_interaction,
            "on_guild_available": self._on_guild,
            "on_guild_join": self._on_guild,
        }
        if settings.discord_members_intent:
            handlers |= {"on_member_join": self._on_member_join, "on_raw_member_remove": self._on_member_remove}
        if settings.discord_message_content_intent:
            handlers["on_message"] = self._on_message
        handlers["on_alcts_event_interest"] = self._on_event_interest
        for event, handler in handlers.items():
            setattr(self.client, event, handler)  # Client.dispatch looks handlers up by name
        raw_interest_events(self.client)

    # -- Platform ------------------------------------------------------------------------

    async def start(self) -> None:
        """Log in, sync slash commands, connect; returns once the gateway is READY. Raises
        ConfigError, one line, when the token is refused, Discord cannot be reached, or the
        gateway refuses the connection (discord.py would retry an unreachable one forever)."""
        with FirstConnect() as watch:
            try:
                await self._log_in()
                self._runner = asyncio.create_task(self.client.connect(reconnect=True), name="discord-gateway")
                await self._until_ready(watch)
            except BaseException:
                await self._abandon()
                raise
        self._runner.add_done_callback(_gateway_ended)
        self._snapshots = asyncio.create_task(self._snapshot_loop(), name="discord-member-counts")

    async def _log_in(self) -> None:
        assert self.settings.discord_token is not None
        where = discord.http.Route.BASE
        try:
            async with asyncio.timeout(self.start_timeout):
                await self.client.login(self.settings.discord_token.get_secret_value())
                await self._sync_commands()
        except discord.LoginFailure:
            raise ConfigError(["config: DISCORD_TOKEN was refused by Discord (401 Unauthorized)"]) from None
        except discord.HTTPException as exc:
            raise ConfigError([f"discord: Discord answered {exc.status} at {where}: {clip(exc.text, 120)}"]) from None
        except TimeoutError:
            raise ConfigError([f"discord: no answer from Discord at {where} within {self.start_timeout:.0f}s"]) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise ConfigError([f"discord: cannot reach Discord at {where} ({_reason(exc)})"]) from None

    async def _until_ready(self, watch: FirstConnect) -> None:
        assert self._runner is not None
        connected = asyncio.create_task(self._connected.wait())
        failed = asyncio.ensure_future(watch.failed)
        try:
            await asyncio.wait({self._runner, connected, failed}, timeout=self.start_timeout,
                               return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
        finally:
            connected.cancel()
            failed.cancel()
        if self._connected.is_set():
            return
        gateway = DiscordWebSocket.DEFAULT_GATEWAY
        if watch.failed.done() and not watch.failed.cancelled():
            raise ConfigError([f"discord: cannot connect to the Discord gateway at {gateway} ({_reason(watch.failed.result())})"])
        if self._runner.done() and not self._runner.cancelled() and (error := self._runner.exception()) is not None:
            raise ConfigError([_refusal(error)]) from error
        raise ConfigError([f"discord: the Discord gateway at {gateway} was not ready within {self.start_timeout:.0f}s"])

    async def _abandon(self) -> None:
        """After a failed start: disconnect, so nothing retries and no session is left open."""
        await self.client.close()
        if self._runner is not None:
            self._runner.cancel()
            await asyncio.gather(self._runner, return_exceptions=True)
            self._runner = None

    async def send(self, place: Place, card: Card, *, key: str | None = None, since: datetime | None = None) -> MessageRef:
        """With `key`: the message carries nonce(key), and discord.py (2.4+) sends it with
        `enforce_nonce`, so the same key again within Discord's window returns the message
        already posted instead of a second one. Past the window Discord cannot tell and the
        message is posted again (bot/platforms/base.py: at-least-once)."""
        channel = self.client.get_partial_messageable(int(place.channel_id))
        message = await channel.send(**_keyed(render(card).send_kwargs(), key))
        return MessageRef(PLATFORM, place.channel_id, str(message.id))

    async def edit(self, ref: MessageRef, card: Card) -> None:
        """Called through the Bot's EditCoalescer (one edit in flight per message, the latest
        card wins), so live tallies never run into Discord's rate limits."""
        channel = self.client.get_partial_messageable(int(ref.channel_id))
        try:
            await channel.get_partial_message(int(ref.message_id)).edit(**render(card).edit_kwargs())
        except discord.NotFound as exc:  # 10008 Unknown Message, 10003 Unknown Channel: stop retrying
            raise MessageGone(f"message {ref.encode()} is gone (Discord {exc.code})") from None

    async def send_direct(
        self, member: Member, card: Card, *, key: str | None = None, since: datetime | None = None
    ) -> MessageRef:
        """Open (or reuse) the DM channel with the member, then post the card there (with
        `key`, once within Discord's nonce window, as `send`)."""
        try:
            channel = await self.client.create_dm(discord.Object(int(member.id)))
            message = await channel.send(**_keyed(render(card).send_kwargs(), key))
        except discord.HTTPException as exc:
            if exc.code == CANNOT_MESSAGE_USER:
                raise DirectMessagesClosed(member, f"{member.display_name} does not accept direct messages "
                                                   "from the bot or from server members.") from None  # fmt: skip
            if exc.code == UNKNOWN_USER:
                raise DirectMessagesClosed(member, f"{member.display_name} is no longer on Discord.") from None
            raise
        return MessageRef(PLATFORM, str(channel.id), str(message.id))

    async def close(self) -> None:
        """Stop taking events, let handlers in flight answer, then disconnect."""
        self._closing = True
        if self._snapshots is not None:
            self._snapshots.cancel()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._in_flight.drained.wait(), DRAIN_SECONDS)
        await self.client.close()
        if self._runner is not None:
            await asyncio.wait({self._runner}, timeout=CLOSE_SECONDS)
            self._runner.cancel()  # a sharded client still launching a shard would retry it for ever
            await asyncio.gather(self._runner, return_exceptions=True)

    async def follow_perk(self, member: Member, community: Community, config: CommunitySettings, following: bool) -> str | None:
        """Grant (or take back) the configured follower role; the follow itself is already stored."""
        guild = self._guild(community)
        return None if guild is None else await follower_role(guild, member.id, config, following)

    async def setting_channel(self, member: Member, community: Community, text: str) -> ChannelLookup | None:
        """A channel a setting names, as this server has it (see `discord_lookups`); None for a
        server not in the cache (still starting): cannot tell."""
        guild = self._guild(community)
        return None if guild is None else await channel_lookup(guild, member.id, text)

    async def setting_role(self, community: Community, text: str) -> RoleLookup | None:
        """A role a setting names, as this server has it (see `discord_lookups`)."""
        guild = self._guild(community)
        return None if guild is None else role_lookup(guild, text)

    async def list_event(self, listing: EventListing) -> tuple[str | None, str | None]:
        """Mirror a webinar as a server Event (see `discord_events`)."""
        guild = self._listing_guild(listing)
        if guild is None:
            return None, None  # not a server the bot is in
        return await list_event(guild, listing)

    async def can_post(self, place: Place) -> str | None:
        """Whether the bot can post in the channel later (see `discord_lookups.post_problem`);
        a server not in the cache (still starting) is not held against the channel."""
        community = place.community
        guild = self._guild(community)
        return None if guild is None else post_problem(guild, place.channel_id)

    def _listing_guild(self, listing: EventListing) -> discord.Guild | None:
        return self._guild(listing.community) if listing.community.platform == PLATFORM else None

    def _guild(self, community: Community) -> discord.Guild | None:
        """The server a community is, from discord.py's cache (None: not one the bot is in)."""
        return self.client.get_guild(int(community.id)) if community.id.isdigit() else None

    # -- commands and member counts ----------------------------------------------------------------

    async def _sync_commands(self) -> None:
        """Guild commands (DISCORD_GUILD_IDS) update at once; global ones may take a while to show in clients."""
        if self.settings.discord_guild_ids:
            for guild_id in self.settings.discord_guild_ids:
                guild = discord.Object(guild_id)
                self.tree.copy_global_to(guild=guild)
                synced = await self.tree.sync(guild=guild)
                log.info("synced %d slash commands to guild=%s", len(synced), guild_id)
        else:
            synced = await self.tree.sync()
            log.info("synced %d slash commands globally", len(synced))

    async def _snapshot_loop(self) -> None:
        """A daily member count per guild feeds the growth report, intents or not."""
        while True:
            await asyncio.sleep(self.snapshot_every)
            for guild in list(self.client.guilds):
                try:
                    count = guild.member_count
                    if not self.settings.discord_members_intent or count is None:
                        count = (await self.client.fetch_guild(guild.id, with_counts=True)).approximate_member_count
                    if count is not None:
                        await self._record_member_count(guild, count)
                except Exception:
                    log.exception("member count snapshot failed guild=%s", guild.id)

    async def _record_member_count(self, guild: discord.Guild, count: int) -> None:
        await self.bot.engagement.record_member_count(self._community(guild), count, self.bot.clock.now())


def _keyed(kwargs: dict[str, Any], key: str | None) -> dict[str, Any]:
    """Message kwargs with the idempotency key's nonce (discord.py adds enforce_nonce)."""
    return kwargs if key is None else {**kwargs, "nonce": nonce(key)}

"""Connecting to Discord: the client with only the intents the bot uses, the test seams
(DISCORD_API_BASE, DISCORD_GATEWAY_URL), and the first connection's failures as one line."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord
import yarl
from discord.gateway import DiscordWebSocket

from bot.config import Settings
from bot.platforms.discord_render import NO_MENTIONS, clip

log = logging.getLogger("bot.platforms.discord")

LIBRARY_GATEWAY = DiscordWebSocket.DEFAULT_GATEWAY


def apply_seams(settings: Settings) -> None:
    """Point discord.py's REST and gateway at DISCORD_API_BASE / DISCORD_GATEWAY_URL (process-wide)."""
    discord.http.Route.BASE = settings.discord_api_base.rstrip("/")
    gateway = settings.discord_gateway_url
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway) if gateway else LIBRARY_GATEWAY


def _client(settings: Settings, ready_timeout: float) -> discord.Client:
    """Only the intents the bot uses; members and message content are privileged and opt-in."""
    discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False  # the bot never speaks
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_scheduled_events = True  # not privileged: "Interested" on a mirrored webinar counts as going
    intents.members = settings.discord_members_intent
    intents.guild_messages = intents.message_content = settings.discord_message_content_intent
    options: dict[str, Any] = {
        "intents": intents,
        "allowed_mentions": NO_MENTIONS,
        "chunk_guilds_at_startup": False,  # interactions carry the member; no member cache needed
        "member_cache_flags": discord.MemberCacheFlags.none(),
        "max_messages": None,
        "guild_ready_timeout": ready_timeout,
    }
    if settings.discord_shards:
        return discord.AutoShardedClient(shard_count=settings.discord_shards, **options)
    return discord.Client(**options)


def _gateway_ended(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and (error := task.exception()) is not None:
        log.error("the Discord gateway connection ended: %s", error)


class FirstConnect(logging.Filter):
    """Until the gateway first connects, discord.py answers a failed connection by logging
    the error with its traceback and retrying forever (`discord.client`, or `discord.shard`
    for a sharded client). While installed (`with watch:`), such a record is kept off the
    log and resolves `failed` with its exception, so start-up can end in one line."""

    LOGGERS = ("discord.client", "discord.shard")

    def __init__(self) -> None:
        super().__init__()
        self.failed: asyncio.Future[BaseException] = asyncio.get_running_loop().create_future()

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is None:
            return True
        if not self.failed.done():
            self.failed.set_result(error)
        return False

    def __enter__(self) -> FirstConnect:
        for name in self.LOGGERS:
            logging.getLogger(name).addFilter(self)
        return self

    def __exit__(self, *exc: object) -> None:
        for name in self.LOGGERS:
            logging.getLogger(name).removeFilter(self)


def _refusal(error: BaseException) -> str:
    """One line for why the gateway ended the first connection."""
    if isinstance(error, discord.PrivilegedIntentsRequired):
        return ("config: Discord refused a privileged intent: turn on the intents set in DISCORD_MEMBERS_INTENT and "
                "DISCORD_MESSAGE_CONTENT_INTENT in the Developer Portal (Bot, Privileged Gateway Intents), or set them to false")  # fmt: skip
    if isinstance(error, discord.ConnectionClosed):
        if error.code == 4004:
            return "config: DISCORD_TOKEN was refused by the Discord gateway (4004 Authentication failed)"
        why = " ".join(filter(None, [str(error.code), clip(error.reason or "", 80)]))
        return f"discord: the Discord gateway closed the connection ({why})"
    return f"discord: the Discord gateway connection failed ({_reason(error)})"


def _reason(error: BaseException) -> str:
    return clip(str(error), 160) or type(error).__name__

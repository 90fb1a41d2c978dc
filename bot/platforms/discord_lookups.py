"""What a setting names on Discord (`/config set jobs_channel news`, `moderator_role Mods`):
whether the server has that channel or role, whether the member who named a channel can see
it, the form a setting stores, and whether a role carries moderating powers. From
discord.py's cache (the Guilds intent keeps every channel with its overwrites, and the
roles); the member's view is the interaction's own (`CURRENT`), else fetched once."""

from __future__ import annotations

import re
from contextvars import ContextVar

import discord

from bot.platforms.base import ChannelLookup, RoleLookup
from bot.platforms.discord_commands import POSTING_CHANNELS
from bot.platforms.discord_roles import POWERS, find_role

CURRENT: ContextVar[discord.Interaction | None] = ContextVar("discord_interaction", default=None)
"""The interaction being handled in this task (set by `DiscordPlatform._handle`): its member,
with the roles and permissions Discord sent, is who a channel must be visible to."""
CHANNEL_REF = re.compile(r"<#(\d{1,20})>|(\d{15,20})")


async def channel_lookup(guild: discord.Guild, member_id: str, text: str) -> ChannelLookup:
    """A text or announcement channel of `guild` by mention, id or name (any case, `#` or
    not; of channels with one name, one the member can see, and of those one the bot can
    post in), as its mention."""
    raw = text.strip()
    ref = CHANNEL_REF.fullmatch(raw)
    if ref is not None:
        found = guild.get_channel(int(ref.group(1) or ref.group(2)))
        candidates = [found] if found is not None else []
    else:
        name = raw.lstrip("#").strip().casefold()
        candidates = sorted((c for c in guild.channels if c.name.casefold() == name), key=lambda c: (c.position, c.id))
    candidates = [c for c in candidates if c.type in POSTING_CHANNELS]
    if not candidates:
        return ChannelLookup(False)
    seen = [channel for channel in candidates if await _can_see(guild, member_id, channel)]
    if seen:
        channel = next((c for c in seen if post_problem(guild, str(c.id)) is None), seen[0])
        return ChannelLookup(True, f"<#{channel.id}>", channel.name, True)
    return ChannelLookup(True, f"<#{candidates[0].id}>", candidates[0].name, False)


async def _can_see(guild: discord.Guild, member_id: str, channel: discord.abc.GuildChannel) -> bool:
    interaction = CURRENT.get()
    if interaction is not None and str(interaction.user.id) == member_id:
        if interaction.permissions.administrator:
            return True
        if isinstance(interaction.user, discord.Member):
            return channel.permissions_for(interaction.user).view_channel
    member = guild.get_member(int(member_id)) if member_id.isdigit() else None
    if member is None:
        try:
            member = await guild.fetch_member(int(member_id))
        except (discord.HTTPException, ValueError):
            return True  # cannot tell: not held against the channel
    return channel.permissions_for(member).view_channel


def role_lookup(guild: discord.Guild, text: str) -> RoleLookup:
    """A role of `guild` by mention, id or name (any case); stored as typed, as `find_role`
    reads it. Its identity is its id. `@everyone` (the role every member has, by name,
    mention or id) and `@here` are `everyone`: no setting can name them."""
    if text.strip().casefold() in ("@everyone", "@here"):
        return RoleLookup(True, text.strip(), str(guild.id), text.strip().lower(), everyone=True)
    role = find_role(list(guild.roles), text)
    if role is not None and role.is_default():
        return RoleLookup(True, text.strip(), str(role.id), "@everyone", everyone=True)
    if role is None:
        return RoleLookup(False)
    return RoleLookup(True, text.strip(), str(role.id), role.name, bool(role.permissions.value & POWERS.value))


def post_problem(guild: discord.Guild, channel_id: str) -> str | None:
    """Whether the bot can post in a channel of `guild` later, outside any interaction (a
    webinar's reminders, a job feed, the daily question): from discord.py's cache (the
    Guilds intent keeps every channel with its overwrites, and the bot's own roles), the
    bot's View Channel and Send Messages there. None when it can (or the bot's own member
    is not cached yet: cannot tell), else one sentence for the member."""
    me = guild.me
    if me is None:
        return None
    channel = guild.get_channel_or_thread(int(channel_id)) if channel_id.isdigit() else None
    if channel is None:
        return "That is not a channel of this server that I can find; pick one from the # list."
    if not isinstance(channel, discord.abc.Messageable):
        return f"{channel.mention} takes no messages; pick a text channel."
    permissions = channel.permissions_for(me)
    send = permissions.send_messages_in_threads if isinstance(channel, discord.Thread) else permissions.send_messages
    missing = [name for name, allowed in (("View Channel", permissions.view_channel), ("Send Messages", send))
               if not allowed]  # fmt: skip
    if missing:
        return (f"I cannot post in {channel.mention}: I lack {' and '.join(missing)} there. Give the bot's role "
                "that in the channel's permissions, or pick another channel.")  # fmt: skip
    return None

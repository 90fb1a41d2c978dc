"""Roles on Discord: who moderates and organizes (server permissions, or the roles named
in the community's settings), and which roles carry moderating powers (never given as the
follower role)."""

from __future__ import annotations

import logging

import discord

from bot.config import CommunitySettings
from bot.model import Role

log = logging.getLogger(__name__)


ADMINISTRATOR = discord.Permissions(administrator=True).value
MANAGE_GUILD = discord.Permissions(manage_guild=True).value


def names_a_role(config: CommunitySettings) -> bool:
    """Whether the community names an organizer or moderator role: only then do a member's
    server roles matter to `role_of` (else its permissions decide)."""
    settings = config.values
    return bool(settings.get("organizer_role") or settings.get("moderator_role"))


def role_of(roles: list[discord.Role], permissions: discord.Permissions, config: CommunitySettings) -> Role:
    """Organizer: the organizer_role or Administrator. Moderator: the moderator_role or Manage Server."""
    settings, granted = config.values, permissions.value
    if granted & ADMINISTRATOR or find_role(roles, settings.get("organizer_role")):
        return Role.ORGANIZER
    if granted & MANAGE_GUILD or find_role(roles, settings.get("moderator_role")):
        return Role.MODERATOR
    return Role.MEMBER


POWERS = discord.Permissions.elevated() | discord.Permissions(mention_everyone=True)


def grants_power(role: discord.Role, roles: list[discord.Role], config: CommunitySettings) -> bool:
    """True for a role /follow must never hand out or take away: the moderator or organizer
    role, or one with moderating permissions (Administrator, Manage Server, Manage Roles...)."""
    if role.permissions.value & POWERS.value:
        return True
    return role in (find_role(roles, config.moderator_role), find_role(roles, config.organizer_role))


def find_role(roles: list[discord.Role], wanted: str | None) -> discord.Role | None:
    """A configured role, by id, mention (<@&id>) or name (case-insensitive)."""
    if not wanted:
        return None
    key = wanted.strip().removeprefix("<@&").removesuffix(">").lstrip("@").casefold()
    return next((r for r in roles if str(r.id) == key or r.name.casefold() == key), None)


async def follower_role(guild: discord.Guild, member_id: str, config: CommunitySettings, following: bool) -> str | None:
    """Grant (or take back) the configured follower role to a member of `guild`: a sentence
    for the member, or None when there is no such role, it carries moderating powers (else
    any member could /follow their way to moderator), or Discord refused (the bot needs
    Manage Roles, above that role: logged)."""
    if not config.follower_role:
        return None
    role = find_role(guild.roles, config.follower_role)
    if role is None:
        log.warning("follower role not found community=%s role=%r", guild.id, config.follower_role)
        return None
    if grants_power(role, guild.roles, config):
        log.warning("follower role refused: it carries moderator powers community=%s role=%s", guild.id, role.id)
        return None
    try:
        target = await guild.fetch_member(int(member_id))
        if following:
            await target.add_roles(role, reason="followed the association (/follow)")
        else:
            await target.remove_roles(role, reason="unfollowed the association (/unfollow)")
    except discord.HTTPException as exc:
        log.warning("could not change follower role community=%s member=%s status=%s (the bot needs "
                    "Manage Roles, above that role)", guild.id, member_id, exc.status)  # fmt: skip
        return None
    return f"You now have the {role.name} role." if following else f"The {role.name} role was removed."

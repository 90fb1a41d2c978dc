"""Roles on Discord: who moderates and organizes (server permissions, or the roles named
in the community's settings), and which roles carry moderating powers (never given as the
follower role)."""

from __future__ import annotations

import discord

from bot.config import CommunitySettings
from bot.model import Role


def role_of(roles: list[discord.Role], permissions: discord.Permissions, config: CommunitySettings) -> Role:
    """Organizer: the organizer_role or Administrator. Moderator: the moderator_role or Manage Server."""
    if permissions.administrator or find_role(roles, config.organizer_role):
        return Role.ORGANIZER
    if permissions.manage_guild or find_role(roles, config.moderator_role):
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

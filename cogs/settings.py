"""/config show and /config set: per-community settings for organizers. Each feature
declares its own settings (see bot/community.py); this cog only shows and sets them."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from pydantic import Field as ArgField

from bot.app import Bot, Context
from bot.cards import Card, Field, notice
from bot.commands import Args, Choice, Picks, command, suggests
from bot.community import MAX_VALUE, CommunityConfig
from bot.config import Setting
from bot.errors import UserError
from bot.model import Community, Member, Place, Role
from bot.text import INVISIBLE, channel_from_text, echo, is_channel_mention
from bot.timeparse import ZONE_WORDS, zone_names

if TYPE_CHECKING:  # what the platform knows of a channel or role (bot/platforms/base.py)
    from bot.platforms.base import ChannelLookup, RoleLookup

CLEAR_WORDS = {"none", "off", "unset", "-"}
EVERYONE = re.compile(r"[@!](everyone|here|channel)|<!(everyone|here|channel)(\|[^>]*)?>", re.IGNORECASE)
"""A mention of every member (Discord's @everyone and @here, Slack's !channel, <!here>):
never a role a setting can name."""
COMMON_ZONES = ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "UTC")
"""Suggested for `timezone` before anything is typed (the association's members)."""
ChannelFinder = Callable[[Member, Community, str], Awaitable["ChannelLookup | None"]]
RoleFinder = Callable[[Community, str], Awaitable["RoleLookup | None"]]


class SetArgs(Args):
    positional = ("key", "value")
    key: str = ArgField(description="the setting to change, picked from the list (/config show lists them all)")
    value: str = ArgField(description="its new value, suggested for the setting: a channel, role, time zone or "
                                      "yes/no; none clears it")  # fmt: skip

    @suggests("key")
    @classmethod
    async def keys(cls, cog: Settings, ctx: Context, typed: str) -> list[Choice]:
        """Every declared setting, with what it is for."""
        return [Choice(f"{key}: {setting.help}", key) for key, (_, setting) in cog.config.catalogue.items()]

    @suggests("value")
    @classmethod
    async def values(cls, cog: Settings, ctx: Context, typed: str) -> list[Choice | Picks]:
        """What the setting named in `key` takes: the channels the member can see for a channel
        setting and roles for a role setting (the platform lists them: `Picks`), time zones
        matching what was typed (any case, or ET/CT/MT/PT) for timezone, the choices of a
        switch (yes, no); then its current value and none."""
        key = setting_key(str((getattr(ctx.event, "options", None) or {}).get("key") or ""))
        declared = cog.config.catalogue.get(key)
        if declared is None:
            return []
        setting = declared[1]
        current = ctx.config.get(key)
        offered: list[Choice | Picks] = []
        if setting.channel:
            offered.append(Picks("channel"))
        elif setting.role:
            offered.append(Picks("role"))
        elif key == "timezone":
            offered += zone_choices(typed)
        elif setting.choices:
            offered += [Choice(choice, choice) for choice in setting.choices]
        if current and not (setting.channel or setting.role):  # a channel or role is in the platform's list
            offered.insert(0, Choice(f"{current} (now)", current))
        offered.append(Choice("none (clear it)", "none"))
        return offered


def setting_key(typed: str) -> str:
    """`Trivia-Channel ` -> `trivia_channel`: keys in any case, with - for _, and without the
    zero-width characters a copy from a chat (or an older Slack reply) may carry."""
    return INVISIBLE.sub("", typed).strip().lower().replace("-", "_")


def zone_choices(typed: str) -> list[Choice]:
    """Time zones whose name contains what was typed, in any case and with spaces for
    underscores (`new y`, `utc`, `CHICAGO`), those starting with it first; an abbreviation
    (ET, CT, MT, PT, EST...) names its zone; nothing typed: the association's usual zones."""
    wanted = " ".join(typed.split()).casefold()
    if not wanted:
        return [Choice(zone, zone) for zone in COMMON_ZONES]
    abbreviated = ZONE_WORDS.get(wanted)
    found = [Choice(f"{abbreviated} ({wanted.upper()})", abbreviated)] if abbreviated else []
    key = wanted.replace(" ", "_")
    names = [z for z in zone_names() if key in z.casefold() and z != abbreviated]
    names.sort(key=lambda z: (not z.casefold().rpartition("/")[2].startswith(key), z))
    return found + [Choice(zone, zone) for zone in names]


class Settings:
    """Community settings"""

    name = "config"

    def __init__(self, config: CommunityConfig, titles: dict[str, str], channels: ChannelFinder | None = None,
                 roles: RoleFinder | None = None,
                 can_post: Callable[[Place], Awaitable[str | None]] | None = None) -> None:  # fmt: skip
        self.config = config
        self.can_post = can_post
        """Whether the bot can post in a channel (`Bot.can_post`): a channel setting it cannot
        post in is refused when set, not when the first post fails."""
        self.titles = titles
        self.channels = channels
        """What the platform knows of a channel a setting names (`Bot.setting_channel`)."""
        self.roles = roles
        """What the platform knows of a role a setting names (`Bot.setting_role`)."""

    @command("config show", role=Role.ORGANIZER, help="Show this community's settings")
    async def show(self, ctx: Context, args: object) -> Card:
        fields = []
        for feature, entries in self.config.by_feature(ctx.config).items():
            lines = [f"{s.key} = {value if value is not None else _unset(s.default)}  - {s.help}" for s, value in entries]
            fields.append(Field(self.titles.get(feature, "General"), "\n".join(lines), inline=False))
        return Card(title="Community settings", fields=tuple(fields),
                    footer="Change one with /config set KEY VALUE (VALUE none clears it).", ephemeral=True)  # fmt: skip

    @command("config set", args=SetArgs, role=Role.ORGANIZER, help="Change a setting (VALUE none clears it)")
    async def set(self, ctx: Context, args: SetArgs) -> Card:
        key = setting_key(args.key)
        typed = INVISIBLE.sub("", args.value)  # a name, zone or channel never holds a zero-width character
        value = None if typed.strip().lower() in CLEAR_WORDS else typed
        declared = self.config.catalogue.get(key)
        if value is not None and declared is not None and declared[1].choices:  # a switch: yes or no
            choices = declared[1].choices
            if value.strip().lower() not in choices:
                raise UserError(f"{key} is {' or '.join(choices)}, or none to clear it.")
            value = value.strip().lower()
        if value is not None and declared is not None and 0 < len(value.strip()) <= MAX_VALUE:
            if declared[1].channel:
                value = await self._channel(ctx, key, value)
            elif declared[1].role:
                value = await self._role(ctx, declared[1], value)
        updated = await self.config.set(ctx.community, key, value, ctx.member, ctx.now)
        stored = updated.get(key)
        return notice(f"{key} is now {stored}." if stored is not None else f"{key} is cleared.")


    async def _channel(self, ctx: Context, key: str, typed: str) -> str:
        """The channel a setting names, as the platform stores it; refused when the platform
        can tell it has no such channel, or that the organizer cannot see it (the console
        cannot: any name is taken)."""
        found = await self.channels(ctx.member, ctx.community, typed) if self.channels else None
        if found is None:
            return typed
        if not found.exists:
            raise UserError(f"{key}: there is no channel {echo(typed.strip())} here that the bot can see; "
                            "pick one from the # list.", argument="value")  # fmt: skip
        if not found.visible:
            raise UserError(f"{key}: {echo(typed.strip())} is not a channel you can see; pick one you can.",
                            argument="value")  # fmt: skip
        if self.can_post is not None and is_channel_mention(found.value):
            reason = await self.can_post(Place(ctx.community, *channel_from_text(found.value)))
            if reason is not None:
                raise UserError(f"{key}: {reason}", argument="value")
        return found.value

    async def _role(self, ctx: Context, setting: Setting, typed: str) -> str:
        """The role a setting names, as the platform stores it; refused when the platform can
        tell it has no such role, when a role the bot hands out (`given`: follower_role) carries
        moderating powers or is the moderator or organizer role, or when a role with powers is
        the one the bot hands out (everyone who follows would hold it)."""
        key = setting.key
        found = await self.roles(ctx.community, typed) if self.roles else None
        special = EVERYONE.fullmatch(typed.strip())
        if (found is not None and found.everyone) or (special and (found is None or not found.exists)):
            kind = found.kind if found is not None else "role"
            word = (special.group(1) or special.group(2)).lower() if special else "everyone"
            named = "the everyone role" if found is not None and found.everyone and word == "everyone" else f"the {word} mention"
            what = key.removesuffix("_role")
            raise UserError(f"{key}: {named} stands for every member, so it cannot be {'an' if what[0] in 'aeiou' else 'a'} "
                            f"{what} {kind}; pick a {kind} of its own.", argument="value")  # fmt: skip
        if found is None:
            return typed
        if not found.exists:
            raise UserError(f"{key}: there is no {found.kind} {echo(typed.strip())} here.", argument="value")
        if setting.given and found.powerful:
            raise UserError(f"{key}: {echo(found.name)} carries moderating powers, so it is never handed out on "
                            "/follow; pick a role without them.", argument="value")  # fmt: skip
        for other_key, (_, other) in self.config.catalogue.items():
            clash = other.role and other_key != key and (other.powers if setting.given else setting.powers and other.given)
            current = ctx.config.get(other_key) if clash else None
            if not current:
                continue
            same = await self.roles(ctx.community, current)
            if same is not None and same.exists and same.key == found.key:
                if setting.given:
                    reason = "so it would never be handed out on /follow"
                else:
                    reason = "which the bot hands to everyone who runs /follow"
                raise UserError(f"{key}: {echo(found.name)} is the {other_key} ({reason}); pick another "
                                f"{found.kind}.", argument="value")  # fmt: skip
        return found.value


def _unset(default: str | None) -> str:
    return f"(not set: {default})" if default else "(not set)"


def setup(bot: Bot) -> None:
    bot.add_cog(Settings(bot.config, bot.registry.cog_titles, bot.setting_channel, bot.setting_role, bot.can_post))

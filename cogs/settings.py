"""/config show and /config set: per-community settings for organizers. Each feature
declares its own settings (see bot/community.py); this cog only shows and sets them."""

from __future__ import annotations

from zoneinfo import available_timezones

from pydantic import Field as ArgField

from bot.app import Bot, Context
from bot.cards import Card, Field, notice
from bot.commands import Args, Choice, command, suggests
from bot.community import CommunityConfig
from bot.model import Role

CLEAR_WORDS = {"none", "off", "unset", "-"}


class SetArgs(Args):
    positional = ("key", "value")
    key: str = ArgField(description="the setting, as /config show lists it, like trivia_channel or timezone")
    value: str = ArgField(description="its new value, like #trivia, Board or America/New_York; none clears it")

    @suggests("key")
    @classmethod
    async def keys(cls, cog: Settings, ctx: Context, typed: str) -> list[Choice]:
        """Every declared setting, with what it is for."""
        return [Choice(f"{key}: {setting.help}", key) for key, (_, setting) in cog.config.catalogue.items()]

    @suggests("value")
    @classmethod
    async def values(cls, cog: Settings, ctx: Context, typed: str) -> list[Choice]:
        """The setting's current value and none; time zones for timezone."""
        key = str((getattr(ctx.event, "options", None) or {}).get("key") or "").strip().lower().replace("-", "_")
        current = ctx.config.get(key) if key in cog.config.catalogue else None
        choices = [Choice(f"{current} (now)", current)] if current else []
        choices.append(Choice("none (clear it)", "none"))
        if key == "timezone" and len(typed.strip()) >= 2:
            choices += [Choice(zone, zone) for zone in sorted(available_timezones()) if "/" in zone or zone == "UTC"]
        return choices


class Settings:
    """Community settings"""

    name = "config"

    def __init__(self, config: CommunityConfig, titles: dict[str, str]) -> None:
        self.config = config
        self.titles = titles

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
        key = args.key.lower().replace("-", "_")
        value = None if args.value.lower() in CLEAR_WORDS else args.value
        updated = await self.config.set(ctx.community, key, value, ctx.member, ctx.now)
        stored = updated.get(key)
        return notice(f"{key} is now {stored}." if stored is not None else f"{key} is cleared.")


def _unset(default: str | None) -> str:
    return f"(not set: {default})" if default else "(not set)"


def setup(bot: Bot) -> None:
    bot.add_cog(Settings(bot.config, bot.registry.cog_titles))

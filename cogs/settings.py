"""/config show and /config set: per-community settings for organizers."""

from __future__ import annotations

from bot.app import Bot, CommunityConfig, Context
from bot.cards import Card, Field, notice
from bot.commands import Args, command
from bot.config import CommunitySettings
from bot.model import Role

CLEAR_WORDS = {"none", "off", "unset", "-"}


class SetArgs(Args):
    positional = ("key", "value")
    key: str
    value: str


class Settings:
    """Community settings"""

    name = "config"

    def __init__(self, config: CommunityConfig) -> None:
        self.config = config

    @command("config show", role=Role.ORGANIZER, help="Show this community's settings")
    async def show(self, ctx: Context, args: object) -> Card:
        described = CommunitySettings.model_fields
        fields = tuple(
            Field(key, f"{value if value is not None else '(not set)'}  - {described[key].description}", inline=False)
            for key, value in ctx.config.model_dump().items()
        )
        return Card(title="Community settings", fields=fields, footer="Change one with /config set KEY VALUE.", ephemeral=True)

    @command("config set", args=SetArgs, role=Role.ORGANIZER, help="Change a setting (VALUE none clears it)")
    async def set(self, ctx: Context, args: SetArgs) -> Card:
        key = args.key.lower().replace("-", "_")
        value = None if args.value.lower() in CLEAR_WORDS else args.value
        await self.config.set(ctx.community, key, value, ctx.member, ctx.now)
        return notice(f"{key} is now {value}." if value is not None else f"{key} is cleared.")


def setup(bot: Bot) -> None:
    bot.add_cog(Settings(bot.config))

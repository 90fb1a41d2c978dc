"""/privacy forget-me: every cog's delete-my-data hook, run for the member who asks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.app import Bot, Context
from bot.cards import Button, Card, Style, notice
from bot.commands import button, command
from bot.model import Member

ForgetAll = Callable[[Member], Awaitable[dict[str, int]]]


class Privacy:
    """Your data"""

    name = "privacy"

    def __init__(self, forget_all: ForgetAll) -> None:
        self.forget_all = forget_all

    @command("privacy forget-me", help="Delete what the bot stores about you (asks first)")
    async def forget_me(self, ctx: Context, args: object) -> Card:
        return Card(
            text=(
                "This deletes your follows, votes and scores, and cuts your past activity "
                "loose from your name (the community keeps anonymous counts). It cannot be undone."
            ),
            buttons=(Button("Forget me", "privacy.forget", (ctx.member.id,), Style.DANGER),),
            ephemeral=True,
        )

    @button("privacy.forget")
    async def confirm(self, ctx: Context, member_id: str) -> Card:
        if member_id != ctx.member.id:
            return notice("Only the member who asked can confirm this.")
        ctx.unnamed = True  # the confirmation itself must not leave a row naming the member
        removed = await self.forget_all(ctx.member)
        done = ", ".join(f"{name} {count}" for name, count in removed.items() if count)
        return notice(f"Done: your data is gone ({done or 'nothing was stored'}).")


def setup(bot: Bot) -> None:
    bot.add_cog(Privacy(bot.forget_member))

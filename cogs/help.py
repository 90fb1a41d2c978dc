"""/help: the commands the caller may use, straight from the registry."""

from __future__ import annotations

from bot.app import Bot, Context
from bot.cards import Card, Field
from bot.commands import Args, Registry, command
from bot.errors import UserError


class HelpArgs(Args):
    positional = ("topic",)
    topic: str | None = None


class Help:
    """Help with commands"""

    name = "help"

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    @command("help", args=HelpArgs, help="List the commands you can use, or one group in detail")
    async def help(self, ctx: Context, args: HelpArgs) -> Card:
        usable = [c for c in self.registry.commands.values() if c.spec.role <= ctx.member.role]
        if args.topic:
            topic = args.topic.lower().removeprefix("/")
            chosen = [c for c in usable if c.spec.group == topic or c.spec.name == topic]
            if not chosen:
                raise UserError(f"No commands called /{topic} for you. Try /help.")
            fields = tuple(Field(c.spec.usage, c.spec.help or "", inline=False) for c in chosen)
            return Card(title=f"/{topic}", fields=fields)
        by_cog: dict[str, dict[str, list[str]]] = {}
        for cmd in usable:
            group, _, sub = cmd.spec.name.partition(" ")
            by_cog.setdefault(cmd.cog, {}).setdefault(group, []).append(sub)
        fields = []
        for cog, groups in by_cog.items():
            names = ", ".join(
                f"/{group}" + (" " + "|".join(subs) if any(subs) else "")
                for group, subs in groups.items()
            )
            fields.append(Field(names, self.registry.cog_titles.get(cog, cog), inline=False))
        return Card(
            title="Commands you can use",
            fields=tuple(fields),
            footer="/help GROUP shows each command's arguments, e.g. /help poll.",
        )


def setup(bot: Bot) -> None:
    bot.add_cog(Help(bot.registry))

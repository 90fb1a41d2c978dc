"""A test-only cog: commands that answer with what the Slack adapter must render (a
slow answer, an oversized card, a chart, a file) and a listener that hears messages."""

from __future__ import annotations

import asyncio

from bot.app import Context
from bot.cards import Button, Card, Field, File, Image, notice
from bot.commands import Args, YesNo, command, on
from bot.model import MemberJoined, MemberLeft, MessagePosted

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


class PrivateArgs(Args):
    positional = ("private",)
    private: YesNo = False


class Probe:
    """Probes for tests"""

    name = "probe"

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.heard: list[tuple[str, str, str]] = []
        self.arrivals: list[tuple[str, str, str]] = []

    @command("probe slow", help="Answers when the test opens the gate")
    async def slow(self, ctx: Context, args: object) -> Card:
        await self.gate.wait()
        return notice("The slow answer.", ephemeral=False)

    @command("probe big", help="A card far beyond Slack's limits")
    async def big(self, ctx: Context, args: object) -> Card:
        return Card(
            title="Everything " * 30, text="@here " + "word " * 2000,
            fields=tuple(Field(f"Field {i}", "value " * 50, inline=False) for i in range(80)),
            buttons=tuple(Button(f"Option {i} " * 10, "probe.pick", (i,)) for i in range(30)),
            footer="end of card",
        )  # fmt: skip

    @command("probe chart", args=PrivateArgs, help="A card with a chart")
    async def chart(self, ctx: Context, args: PrivateArgs) -> Card:
        return Card(title="Growth", image=Image("growth.png", PNG, alt="members by week"), ephemeral=args.private)

    @command("probe export", args=PrivateArgs, help="A card with a file")
    async def export(self, ctx: Context, args: PrivateArgs) -> Card:
        return Card(text="Your export.", file=File("votes.csv", b"option,votes\nA,3\n"), ephemeral=args.private)

    @command("probe many", help="Seven private answers to one command")
    async def many(self, ctx: Context, args: object) -> list[Card]:
        return [notice(f"Answer {i}.") for i in range(1, 8)]

    @on(MessagePosted)
    async def hear(self, ctx: Context) -> None:
        assert isinstance(ctx.event, MessagePosted)
        self.heard.append((ctx.member.display_name, ctx.place.channel_name, ctx.event.text))

    @on(MemberJoined)
    async def joined(self, ctx: Context) -> None:
        self.arrivals.append(("joined", ctx.member.id, ctx.place.channel_name))

    @on(MemberLeft)
    async def left(self, ctx: Context) -> None:
        self.arrivals.append(("left", ctx.member.id, ctx.place.channel_name))

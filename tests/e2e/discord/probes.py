"""Test-only cogs: slow work (deferral), typed options, a moderator command, listeners and
live edits, so the adapter is exercised beyond what the catalogue happens to contain."""

from __future__ import annotations

import asyncio
from typing import Literal

from pydantic import Field

from bot.app import Bot, Context
from bot.cards import Button, Card, notice
from bot.commands import Args, ChannelName, Duration, RoleName, YesNo, button, command, on
from bot.model import Member, MemberJoined, MemberLeft, MessagePosted, Role


class Slow:
    """Slow work"""

    name = "slow"

    def __init__(self, delay: float) -> None:
        self.delay = delay

    @command("slow work", help="Takes a while, then answers twice")
    async def work(self, ctx: Context, args: object) -> Card:
        await asyncio.sleep(self.delay)
        await ctx.respond(Card(title="Report", text="part one"))
        return Card(text="part two", ephemeral=True)

    @command("slow secret", help="Takes a while, then answers only you")
    async def secret(self, ctx: Context, args: object) -> Card:
        await asyncio.sleep(self.delay)
        return notice("just for you")

    @command("slow silent", help="Takes a while and answers nothing")
    async def silent(self, ctx: Context, args: object) -> None:
        await asyncio.sleep(self.delay)

    @button("slow.click")
    async def click(self, ctx: Context, n: int) -> Card:
        await asyncio.sleep(self.delay)
        return notice(f"clicked {n} slowly", ephemeral=False)


class EchoArgs(Args):
    positional = ("text",)
    text: str = Field(description="what to repeat")
    count: int = Field(1, ge=1, le=5, description="how many times")
    loud: YesNo = Field(False, description="shout it")
    mood: Literal["calm", "busy"] = Field("calm", description="the tone")
    tags: list[str] = Field([], description="labels to echo")
    within: Duration | None = Field(None, description="a duration like 10m")
    where: ChannelName | None = Field(None, description="a channel to name")
    who: RoleName | None = Field(None, description="a role to name")


class Probe:
    """Probes"""

    name = "probe"

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self.joined: list[Member] = []
        self.left: list[Member] = []

    @command("probe echo", args=EchoArgs, help="Repeat typed options back")
    async def echo(self, ctx: Context, args: EchoArgs) -> Card:
        within = int(args.within.total_seconds()) if args.within else None
        return Card(
            title=args.text,
            text=f"count={args.count} loud={args.loud} mood={args.mood} tags={'|'.join(args.tags)} within={within}"
                 f" where={args.where} who={args.who}",
            buttons=tuple(Button(f"@everyone {i}", "probe.press", (i,)) for i in range(7)),
        )

    @command("probe mod", role=Role.MODERATOR, help="Moderators only")
    async def mod(self, ctx: Context, args: object) -> Card:
        return notice(f"moderated by {ctx.member.display_name}")

    @command("probe tally", help="Post a message, then update it many times quickly")
    async def tally(self, ctx: Context, args: object) -> Card:
        ref = await self.bot.send(ctx.place, Card(text="votes: 0"))
        assert ref is not None
        for n in range(1, 21):
            self.bot.edit(ref, Card(text=f"votes: {n}"))
            await asyncio.sleep(0)
        return notice(f"posted {ref.message_id}")

    @button("probe.press")
    async def press(self, ctx: Context, n: int) -> None:
        return None

    @on(MemberJoined)
    async def welcome(self, ctx: Context) -> None:
        self.joined.append(ctx.member)

    @on(MemberLeft)
    async def farewell(self, ctx: Context) -> None:
        self.left.append(ctx.member)

    @on(MessagePosted)
    async def heard(self, ctx: Context) -> list[Card]:
        text = ctx.event.text  # type: ignore[attr-defined]
        return [Card(text=f"heard: {text}"), notice("a private aside")]

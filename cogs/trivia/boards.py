"""Trivia boards: the categories, leaderboards (equal points share a rank) and each
member's own stats. A cog of its own beside the live rounds, sharing their bank and store."""

from __future__ import annotations

from datetime import timedelta

from bot.app import Context
from bot.cards import Card
from bot.commands import command
from cogs.trivia.args import LeaderboardArgs
from cogs.trivia.bank import QuestionBank
from cogs.trivia.cards import leaderboard_card
from storage.trivia import TriviaStore

PERIODS = {"week": timedelta(days=7), "month": timedelta(days=30), "all": None}


class TriviaBoards:
    """Play technical-services trivia"""

    name = "trivia"  # the same feature as the live rounds: one name in /help, settings and the report

    def __init__(self, bank: QuestionBank, store: TriviaStore) -> None:
        self.bank = bank
        self.store = store

    @command("trivia categories", activity=False, help="List the question categories")
    async def categories(self, ctx: Context, args: object) -> Card:
        lines = [f"{name}: {pack.title} ({len(pack.questions)} questions)" for name, pack in sorted(self.bank.packs.items())]
        return Card(title="Trivia categories", text="\n".join(lines), footer="/trivia start CATEGORY plays one.", ephemeral=True)

    @command("trivia leaderboard", activity=False, args=LeaderboardArgs, help="Top players this week, month or all time")
    async def leaderboard(self, ctx: Context, args: LeaderboardArgs) -> Card:
        category = self.bank.category_named(args.category)
        span = PERIODS[args.period]
        since = ctx.now - span if span else None
        platform = None if args.scope == "everywhere" else ctx.community.platform
        community = ctx.community.id if args.scope == "here" else None
        scores = await self.store.leaderboard(platform, community, since, category)
        where = {"here": "here", "platform": f"on {ctx.community.platform}", "everywhere": "everywhere"}[args.scope]
        period = "all time" if args.period == "all" else f"this {args.period}"
        about = f" in {self.bank.title(category)}" if category else ""
        return leaderboard_card(f"Trivia leaderboard{about}, {period}, {where}", scores)

    @command("trivia stats", activity=False, help="Your answers, accuracy, best streak and wins")
    async def stats(self, ctx: Context, args: object) -> Card:
        s = await self.store.member_stats(ctx.member)
        accuracy = f"{round(100 * s.correct / s.answered)}%" if s.answered else "-"
        return Card(
            title=f"Trivia stats for {ctx.member.display_name}",
            text=(f"Answered {s.answered}, right {s.correct} ({accuracy}). Points {s.points}. "
                  f"Best streak {s.best_streak}. Wins {s.wins} (rounds with 3 or more players)."),
            ephemeral=True,
        )  # fmt: skip

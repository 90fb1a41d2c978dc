"""Trivia on a member's home (Slack's App Home tab): today's question and the member's own
standing. A cog of its own beside the daily question, sharing its bank and stores; it has
no commands, only `home(ctx)`.

Today's question carries the same `trivia.daily:<daily id>:<choice>` buttons as the
channel's post, so a click on the home is the same answer (one per member, refused after
the reveal) and the channel and the home agree. Once the member has answered, the home
shows their choice instead of the buttons (the right answer still comes out only in the
channel, the next day).
"""

from __future__ import annotations

from datetime import timedelta

from bot.app import Context
from bot.cards import Card
from cogs.trivia.bank import Question
from cogs.trivia.cards import choice_label, question_card
from cogs.trivia.daily import DailyQuestion
from storage.trivia import Asked

HOME_PERIOD = timedelta(days=7)  # the standing shown: points and rank over the last week


class TriviaHome:
    """Play technical-services trivia"""

    name = "trivia"  # the same feature as the live rounds: one name in /help and the report

    def __init__(self, daily: DailyQuestion) -> None:
        self.dailies = daily.store
        self.answers = daily.answers
        self.bank = daily.bank

    async def home(self, ctx: Context) -> list[Card]:
        """One or two cards: today's question (its text and up to four choice buttons, one
        actions block), when the community has a daily question open; then the member's
        figures: points and rank this week among the community's players, and answers,
        accuracy, points, best streak and wins over all time. Four indexed queries."""
        cards: list[Card] = []
        asked = await self.dailies.current(ctx.community)
        question = self.bank.question(asked.question_id) if asked is not None else None
        if asked is not None and question is not None and asked.daily_id is not None:
            cards.append(await self._today(ctx, asked, question))
        cards.append(await self._standing(ctx, today=bool(cards)))
        return cards

    async def _today(self, ctx: Context, asked: Asked, question: Question) -> Card:
        assert asked.daily_id is not None
        heading = f"Today's question · {self.bank.title(self.bank.category_of(question.id))}"
        where = asked.place.mention if asked.place is not None else "its channel"
        choice = await self.dailies.choice_of(asked.daily_id, ctx.member.id)
        if choice is None or not 0 <= choice < len(asked.choices):
            return question_card(question, asked, heading, f"Answer here or in {where}; the answer comes out tomorrow.",
                                 "trivia.daily", (asked.daily_id,))  # fmt: skip
        return Card(title=heading, text=f"{question.question}\nYour answer: {choice_label(asked, choice)}",
                    footer=f"The answer comes out tomorrow in {where}.")  # fmt: skip

    async def _standing(self, ctx: Context, *, today: bool) -> Card:
        stats = await self.answers.member_stats(ctx.member)
        if not stats.answered:
            also = ", or answer today's question above" if today else ""
            return Card(title="Your trivia", text=f"You have not played yet. /trivia start plays a round in a channel{also}.")
        week = await self.answers.standing(ctx.member, ctx.community, ctx.now - HOME_PERIOD)
        rank = f"rank {week.rank} of {week.players}" if week.rank is not None else "no answers yet"
        accuracy = round(100 * stats.correct / stats.answered)
        return Card(
            title="Your trivia",
            text=(f"This week: {week.points} points, {rank}.\n"
                  f"All time: {stats.points} points, {stats.correct} of {stats.answered} right ({accuracy}%), "
                  f"best streak {stats.best_streak}, wins {stats.wins}."),
            footer="/trivia leaderboard shows the top players; /trivia stats, your figures.",
        )  # fmt: skip

"""Technical-services trivia: live rounds, a daily question, leaderboards and disputes.

Every timer is a durable scheduler job on the Bot's clock, so rounds survive restarts and
the console's `:wait` plays a round instantly.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.app import Bot, Context, Messenger
from bot.cards import Card, notice
from bot.changes import ContentChangedHook, unheard
from bot.clock import Clock
from bot.commands import button, command, on, timer
from bot.community import CommunityConfig
from bot.errors import UserError
from bot.model import Community, Member, MessagePosted, Place, Role
from bot.quotas import Quota
from bot.scheduler import Scheduler
from cogs.trivia.args import StartArgs
from cogs.trivia.bank import SHIPPED, Question, QuestionBank, load_bank
from cogs.trivia.cards import (
    choice_label,
    closed_question_card,
    question_card,
    reveal_card,
    standings_card,
)
from cogs.trivia.matching import letter_choice, matches, normalise
from storage.trivia import Asked, Round, TriviaStore
from storage.trivia_daily import DailyStore

Content = Callable[[Place, str, str, datetime], None]
PAUSE_BETWEEN_QUESTIONS = timedelta(seconds=5)
DAILY_TIMER = "trivia.daily_post"  # the timer; "trivia.daily" is the daily question's buttons
DAILY_GRACE = timedelta(hours=12)
STALE_ROUND = timedelta(minutes=10)  # a round idle this long at start-up was cut off by downtime: it ends


class Trivia:
    """Play technical-services trivia"""

    name = "trivia"

    def __init__(
        self, bank: QuestionBank, store: TriviaStore, scheduler: Scheduler, messenger: Messenger,
        clock: Clock, config: CommunityConfig, rng: random.Random | None = None, content: Content | None = None,
        content_changed: ContentChangedHook = unheard,
    ) -> None:  # fmt: skip
        self.bank = bank
        self.store = store
        self.scheduler = scheduler
        self.messenger = messenger
        self.clock = clock
        self.config = config
        self.rng = rng or random.Random()
        self.content = content or (lambda place, kind, subject, at: None)
        self.content_changed = content_changed  # a member's home shows their points and today's question

    # -- live rounds --------------------------------------------------------------------------

    @command("trivia start", args=StartArgs, help="Start a round here (one per channel)", quota=Quota(6, 3600, channel=12))
    async def start_round(self, ctx: Context, args: StartArgs) -> None:
        category = self.bank.category_named(args.category)
        pool = await self._pool(ctx.community, category, avoid=[])  # every question not set aside
        if not pool:
            raise UserError("Every question in that category has been set aside by moderators.")
        round_id = await self.store.start_round(
            ctx.place, ctx.member.id, category, min(args.questions, len(pool)), args.seconds, ctx.now
        )
        if round_id is None:
            raise UserError("A round is already running in this channel; /trivia stop ends it.")
        what = self.bank.title(category) if category else "all categories"
        count = min(args.questions, len(pool))
        fewer = f"{what} has {count} to ask here, so this round has {count}. " if count < args.questions else ""
        await ctx.respond(Card(
            title="Trivia time!",
            text=f"{fewer}{count} question{'s' if count != 1 else ''} from {what}, {args.seconds} seconds each. "
                 "Click a letter, or type the answer in the channel.",
        ))  # fmt: skip
        found = await self.store.round(round_id)
        assert found is not None
        async with self._abandon_on_failure(round_id):
            await self._ask(found, 0, ctx.respond)

    @command("trivia stop", help="End the round in this channel (its starter or a moderator)")
    async def stop_round(self, ctx: Context, args: object) -> Card:
        found = await self.store.running_round(ctx.place)
        if found is None:
            raise UserError("No round is running in this channel. /trivia start begins one.")
        if ctx.member.id != found.starter_id and ctx.member.role < Role.MODERATOR:
            raise UserError("Only the member who started this round or a moderator can stop it.")
        asked = await self.store.asked_count(found.id)
        for position in range(asked + 1):
            await self.scheduler.cancel("trivia.reveal", f"{found.id}:{position}")
            await self.scheduler.cancel("trivia.ask", f"{found.id}:{position}")
            if await self.store.reveal(found.id, position, ctx.now):
                await self._close_question(found, position)
        card = await self._finish(found, "stopped", f"Round stopped by {ctx.member.display_name}.")
        return card or notice("That round has already ended.")

    @button("trivia.answer")
    async def answer_button(self, ctx: Context, round_id: int, position: int, choice: int) -> Card:
        asked = await self.store.asked(round_id, position)
        if asked is None or not 0 <= choice < len(asked.choices):
            raise UserError("That button is out of date; it has no effect now.")
        return await self._answer_round(ctx, asked, choice)

    @on(MessagePosted)
    async def typed_answer(self, ctx: Context) -> Card | None:
        """A chat message is an answer only if it names a choice; anything else is chat."""
        text = ctx.event.text  # type: ignore[attr-defined]
        if len(text) > 100:
            return None
        found = await self.store.open_question(ctx.place)
        if found is None:
            return None
        _, asked = found
        question = self.bank.question(asked.question_id)
        if question is None:
            return None
        choice = letter_choice(text)
        if choice is None:
            choice = self._typed_choice(text, question, asked)
        if choice is None:
            return None
        return await self._answer_round(ctx, asked, choice)

    async def _answer_round(self, ctx: Context, asked: Asked, choice: int) -> Card:
        if asked.revealed or (asked.closes_at is not None and ctx.now > asked.closes_at + timedelta(seconds=1)):
            return notice("Time's up for that question.")
        question = self._question(asked.question_id)
        limit = (asked.closes_at - asked.asked_at).total_seconds() if asked.closes_at else 1.0
        taken = (ctx.now - asked.asked_at).total_seconds()
        points = speed_points(question.difficulty.points, taken, limit)
        category = self.bank.category_of(question.id)
        result = await self.store.answer(asked, ctx.community, ctx.member, category, choice, points, ctx.now)
        if result is None:
            return notice("You already answered this question; one answer each.")
        self.content_changed(ctx.community, "trivia", member=ctx.member)  # their points
        return notice(f"Locked in: {choice_label(asked, choice)}")

    async def _ask(self, found: Round, position: int, post: Any) -> None:
        """Ask question `position` of the round; `post` sends the card (reply or channel).

        Safe to run again after a crash: a question already stored is not picked anew,
        only posted if its post never happened, and its reveal is (re)scheduled."""
        asked = await self.store.asked(found.id, position)
        if asked is None:
            picked = await self._pick(found, position)
            if picked is None:  # questions were set aside meanwhile
                await self._finish_and_post(found, "completed", self._ran_out(found, position))
                return
            now = self.clock.now()
            choices = [picked.answer, *picked.wrong]
            self.rng.shuffle(choices)
            closes_at = now + timedelta(seconds=found.seconds)
            await self.store.ask(found.id, position, picked.id, choices, choices.index(picked.answer), now, closes_at)
            asked = await self.store.asked(found.id, position)
            assert asked is not None
        question = self._question(asked.question_id)
        if asked.message is None:
            heading = self._heading(found, position, question)
            footer = f"{found.seconds} seconds. Click a letter, or type the answer."
            ref = await post(question_card(question, asked, heading, footer, "trivia.answer", (found.id, position)))
            if ref is not None:
                await self.store.set_asked_message(found.id, position, ref)
            self.content(found.place, "trivia_asked", question.id, self.clock.now())
        assert asked.closes_at is not None
        await self.scheduler.schedule("trivia.reveal", f"{found.id}:{position}", asked.closes_at)

    @timer("trivia.reveal", rerun=True)
    async def reveal(self, key: str, payload: dict[str, Any]) -> None:
        round_id, position = (int(part) for part in key.split(":"))
        async with self._abandon_on_failure(round_id):
            await self._reveal(round_id, position)

    async def _reveal(self, round_id: int, position: int) -> None:
        """Close the answers and post the reveal (each guarded by what is stored), then take
        the round's next step, which is idempotent: a rerun after a crash posts a reveal
        that never went out, and ends the round or asks the next question exactly once."""
        found = await self.store.round(round_id)
        if found is None or found.status != "running":
            return
        await self.store.reveal(round_id, position, self.clock.now())  # answers close, once
        asked = await self.store.asked(round_id, position)
        if asked is None:
            return
        question = self._question(asked.question_id)
        answers = await self.store.answers(asked)
        if not asked.reveal_posted:  # posted, then marked: a crash between posts it twice, never zero times
            if asked.message is not None:
                self.messenger.edit(asked.message, closed_question_card(question, asked, self._heading(found, position, question)), final=True)
            await self.messenger.send(found.place, reveal_card(question, asked, answers))
            await self.store.mark_reveal_posted(round_id, position, self.clock.now())
        if position + 1 >= found.total:
            await self._finish_and_post(found, "completed", f"That was the last of {found.total} questions.")
        elif await self._pick(found, position + 1) is None:  # ran out: said so, whatever was answered
            await self._finish_and_post(found, "completed", self._ran_out(found, position + 1))
        elif not answers and position > 0 and not await self._answered(round_id, position - 1):
            await self._finish_and_post(found, "abandoned", "Two questions in a row went unanswered, so the round ends here.")
        else:
            await self.scheduler.schedule("trivia.ask", f"{round_id}:{position + 1}", self.clock.now() + PAUSE_BETWEEN_QUESTIONS)

    @timer("trivia.ask", rerun=True)
    async def ask_next(self, key: str, payload: dict[str, Any]) -> None:
        round_id, position = (int(part) for part in key.split(":"))
        found = await self.store.round(round_id)
        if found is None or found.status != "running":
            return

        async def post(card: Card) -> Any:
            return await self.messenger.send(found.place, card)

        async with self._abandon_on_failure(round_id):
            await self._ask(found, position, post)

    @asynccontextmanager
    async def _abandon_on_failure(self, round_id: int) -> AsyncIterator[None]:
        """If the platform cannot post the round's next step, end the round so the channel is
        free again, instead of leaving it running with nothing scheduled."""
        try:
            yield
        except Exception:
            await self.store.finish_round(round_id, "abandoned", self.clock.now())
            raise

    async def start(self) -> None:
        """Reconcile after a restart: every running round has a pending timer that will end
        it (or is ended now)."""
        now = self.clock.now()
        for found in await self.store.running_rounds():
            prefix = f"{found.id}:"
            last = await self.store.last_activity(found.id)
            if last is not None and now - last > STALE_ROUND:  # the bot was down: end it, do not resume
                await self.store.finish_round(found.id, "abandoned", now)
                for name in ("trivia.reveal", "trivia.ask"):
                    for key in await self.scheduler.pending(name, prefix):
                        await self.scheduler.cancel(name, key)
                await self.scheduler.schedule("trivia.interrupted", found.id, now)
                continue
            if await self.scheduler.pending("trivia.reveal", prefix) or await self.scheduler.pending("trivia.ask", prefix):
                continue
            opened = await self.store.open_question(found.place)
            if opened is not None and opened[1].closes_at is not None:
                _, asked = opened
                await self.scheduler.schedule("trivia.reveal", f"{found.id}:{asked.position}", asked.closes_at, revive=True)
            else:
                await self.store.finish_round(found.id, "abandoned", self.clock.now())

    @timer("trivia.interrupted")
    async def interrupted(self, key: str, payload: dict[str, Any]) -> None:
        """Tell the channel that a round the bot was down for has ended, with its standings."""
        found = await self.store.round(int(key))
        if found is None:
            return
        scores = await self.store.round_scores(found.id)
        reason = "This round was interrupted while the bot was offline, so it has ended."
        await self.messenger.send(found.place, standings_card(scores, reason, None))

    async def _close_question(self, found: Round, position: int) -> None:
        """A stopped round's open question keeps its choices readable and loses its buttons."""
        asked = await self.store.asked(found.id, position)
        question = self.bank.question(asked.question_id) if asked is not None else None
        if asked is not None and asked.message is not None and question is not None:
            self.messenger.edit(asked.message, closed_question_card(question, asked, self._heading(found, position, question)), final=True)

    async def _finish(self, found: Round, status: str, reason: str) -> Card | None:
        if not await self.store.finish_round(found.id, status, self.clock.now()):
            return None
        ended = await self.store.round(found.id)
        scores = await self.store.round_scores(found.id)
        winner_id = ended.winner_id if ended else None
        winner = next((s.name for s in scores if winner_id is not None and s.member_id == winner_id), None)
        return standings_card(scores, reason, winner)

    async def _finish_and_post(self, found: Round, status: str, reason: str) -> None:
        card = await self._finish(found, status, reason)
        if card is not None:
            await self.messenger.send(found.place, card)

    async def _answered(self, round_id: int, position: int) -> bool:
        asked = await self.store.asked(round_id, position)
        return asked is not None and bool(await self.store.answers(asked))

    async def _pick(self, found: Round, position: int) -> Question | None:
        """A question for `position`: not set aside, not asked in this round, and not one
        that gives away (or is given away by) a question already asked in it; preferring
        questions not asked here lately. None when no question qualifies."""
        asked_here: set[str] = set()
        for earlier in range(position):
            previous = await self.store.asked(found.id, earlier)
            if previous is not None:
                asked_here.add(previous.question_id)
        disabled = await self.store.flags.disabled(found.place.community)
        usable = [q for q in self.bank.questions(found.category)
                  if q.id not in disabled and q.id not in asked_here and not self.bank.conflicts(q.id) & asked_here]  # fmt: skip
        recent = set(await self.store.recently_asked(found.place.community))
        fresh = [q for q in usable if q.id not in recent]
        pool = fresh or usable
        return self.rng.choice(pool) if pool else None

    async def _pool(self, community: Community, category: str | None, avoid: list[str]) -> list[Question]:
        """Questions not set aside by moderators, preferring those not in `avoid`."""
        disabled = await self.store.flags.disabled(community)
        usable = [q for q in self.bank.questions(category) if q.id not in disabled]
        recent = set(avoid)
        fresh = [q for q in usable if q.id not in recent]
        return fresh or usable

    def _ran_out(self, found: Round, asked: int) -> str:
        what = self.bank.title(found.category) if found.category else "the question bank"
        return (f"We ran out of questions after {asked}: every other question in {what} has been set aside, "
                "or would give away an answer from this round.")  # fmt: skip

    def _heading(self, found: Round, position: int, question: Question) -> str:
        category = self.bank.title(self.bank.category_of(question.id))
        return (f"Question {position + 1} of {found.total} · {category} · "
                f"{question.difficulty.value} ({question.difficulty.points})")  # fmt: skip

    def _typed_choice(self, text: str, question: Question, asked: Asked) -> int | None:
        if matches(text, question.accepted):
            return asked.correct
        typed = normalise(text)
        for index, choice in enumerate(asked.choices):
            if index != asked.correct and typed == normalise(choice):
                return index
        return None

    # -- helpers ------------------------------------------------------------------------------

    def _question(self, question_id: str) -> Question:
        question = self.bank.question(question_id)
        if question is None:
            raise UserError("That question is no longer in the question bank.")
        return question

    async def forget_member(self, member: Member) -> int:
        return await self.store.forget_member(member)


def speed_points(base: int, taken: float, limit: float) -> int:
    """Full points for an instant answer, half at the buzzer."""
    remaining = max(0.0, min(1.0, 1 - taken / limit)) if limit > 0 else 0.0
    return round(base * (0.5 + 0.5 * remaining))


def _daily_key(place: Place) -> str:
    return f"{place.platform}|{place.community.id}|{place.channel_id}"


def setup(bot: Bot) -> None:
    from cogs.trivia.boards import TriviaBoards
    from cogs.trivia.daily import DailyQuestion
    from cogs.trivia.disputes import TriviaDisputes
    from cogs.trivia.home import TriviaHome

    folders = [SHIPPED]
    if bot.settings.bot_trivia_packs:
        folders.append(Path(bot.settings.bot_trivia_packs))
    bank = load_bank(folders)
    trivia = Trivia(bank, TriviaStore(bot.db), bot.scheduler, bot, bot.clock, bot.config, content=bot.engagement.content,
                    content_changed=bot.content_changed)  # fmt: skip
    bot.add_cog(trivia)
    bot.add_cog(TriviaBoards(bank, trivia.store))
    bot.add_cog(TriviaDisputes(bank, trivia.store.flags))
    daily = DailyQuestion(trivia, DailyStore(bot.db))
    bot.add_cog(daily)
    bot.add_cog(TriviaHome(daily))

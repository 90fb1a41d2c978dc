"""The daily question: one question a day in a channel at a local time (a timer series
in the community's zone), answered with buttons all day; the next day's post reveals the
answer and how members chose. Turning it off stops the posts, not the answer: the last
question's answer still comes out at the next would-be posting time (a timer of its own).
A separate cog beside the live rounds, sharing their bank."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.app import Context
from bot.cards import Card, notice
from bot.clock import from_iso, iso
from bot.commands import button, command, timer
from bot.config import Setting
from bot.context import postable
from bot.errors import UserError
from bot.model import Community, Place, Role
from bot.recurrence import Recurrence
from bot.timeparse import format_duration
from cogs.trivia import DAILY_GRACE, DAILY_TIMER, Trivia, _daily_key
from cogs.trivia.args import DailyArgs
from cogs.trivia.bank import Question
from cogs.trivia.cards import choice_label, closed_question_card, daily_results_card, question_card
from storage.trivia import Asked
from storage.trivia_daily import DailyStore

REVEAL_TIMER = "trivia.daily_reveal"


class DailyQuestion:
    """Play technical-services trivia"""

    name = "trivia"  # the same feature as the live rounds: one name in /help, settings and the report
    settings = (Setting("trivia_channel", "where /trivia daily posts when no channel= is given", channel=True),)

    def __init__(self, trivia: Trivia, store: DailyStore) -> None:
        self.trivia = trivia
        self.answers = trivia.store
        self.store = store
        self.scheduler = trivia.scheduler
        self.messenger = trivia.messenger
        self.clock = trivia.clock
        self.config = trivia.config
        self.bank = trivia.bank
        self.rng = trivia.rng
        self.content = trivia.content
        self.content_changed = trivia.content_changed

    async def start(self) -> None:
        """Every channel with the daily question on has its series, and every question
        still to reveal in a channel where it is off has its reveal timer."""
        for place, at in await self.store.daily_channels():
            await self._repeat_daily(place, at)
        for asked, at in await self.store.awaiting_reveal_when_off():
            assert asked.daily_id is not None and asked.place is not None
            if await self.scheduler.status(REVEAL_TIMER, asked.daily_id) is None:
                await self._schedule_reveal(asked, at)

    @command("trivia daily", args=DailyArgs, role=Role.MODERATOR, help="Post a question every day at a local time")
    async def daily(self, ctx: Context, args: DailyArgs) -> Card:
        """channel= names the channel; without it, the trivia_channel setting, else here."""
        if args.channel is not None and not args.channel.strip("#<> "):
            raise UserError("channel= needs a channel, e.g. channel=#trivia.")
        place = ctx.channel(args.channel, "trivia_channel", "#trivia")
        if args.state == "off":
            return await self._off(ctx, place)
        await postable(self.messenger, place)  # the questions go there every day, from a timer
        await self.store.set_daily_channel(place, args.at, True, ctx.member.id)
        due = await self._repeat_daily(place, args.at)
        following = f", the next in {format_duration(due - ctx.now)}" if due else ""
        return notice(
            f"The daily question in {place.mention} is on: every day at {args.at} ({ctx.tz.key}){following}. "
            "Yesterday's answer comes out with each new question.",
            ephemeral=False,
        )

    async def _off(self, ctx: Context, place: Place) -> Card:
        """Stop the posts; the last question's answer comes out when the next would have."""
        at, on = await self.store.daily_channel(place) or ("", False)
        if not on:
            return notice(f"The daily question in {place.mention} was not on.")
        await self.store.set_daily_channel(place, at, False, ctx.member.id)  # keeps its time for the reveal
        await self.scheduler.stop_repeating(DAILY_TIMER, _daily_key(place))
        reveals = [await self._schedule_reveal(asked, at) for asked in await self.store.unrevealed_dailies(place)]
        due = max((when for when in reveals if when is not None), default=None)
        later = (f" The last question's answer still comes out in {format_duration(due - ctx.now)}, as it would have."
                 if due else "")  # fmt: skip
        return notice(f"The daily question in {place.mention} is off.{later}", ephemeral=False)

    async def _schedule_reveal(self, asked: Asked, at: str) -> datetime | None:
        """A one-off reveal at the channel's next posting time; None when nobody saw the
        question (its post failed), so there is nothing to reveal."""
        assert asked.daily_id is not None and asked.place is not None
        if asked.message is None:
            return None
        tz = self.config.timezone(await self.config.get(asked.place.community))
        now = self.clock.now()
        due = Recurrence.daily(at).next_after(now, tz, now) or now
        await self.scheduler.schedule(REVEAL_TIMER, asked.daily_id, due)
        return due

    @timer(REVEAL_TIMER, rerun=True)
    async def reveal_after_off(self, key: str, payload: dict[str, Any]) -> None:
        """The answer to a daily question whose channel turned the daily question off."""
        asked = await self.store.daily(int(key))
        if asked is not None and not asked.revealed:
            await self._reveal_daily(asked)

    async def _repeat_daily(self, place: Place, at: str) -> datetime | None:
        """The daily post is a series at a local wall time in the community's zone (a zone
        change moves it); a post more than 12 hours late is skipped, the series goes on."""
        payload = {"platform": place.platform, "community": place.community.id,
                   "channel": place.channel_id, "channel_name": place.channel_name}  # fmt: skip
        return await self.scheduler.repeat(
            DAILY_TIMER, _daily_key(place), Recurrence.daily(at), community=place.community, payload=payload,
            grace=DAILY_GRACE,
        )  # fmt: skip

    @timer(DAILY_TIMER, rerun=True)
    async def post_daily(self, key: str, payload: dict[str, Any]) -> None:
        """Reveal the earlier daily questions, then post this occurrence's question once
        (keyed by the local day, so a rerun after a crash posts what is missing only)."""
        place = Place(Community(payload["platform"], payload["community"]), payload["channel"], payload["channel_name"])
        setting = await self.store.daily_channel(place)
        if setting is None or not setting[1]:
            return  # turned off
        now = self.clock.now()
        tz = self.config.timezone(await self.config.get(place.community))
        day = from_iso(payload.get("occurrence") or iso(now)).astimezone(tz).date().isoformat()
        asked = await self.store.daily_on(place, day)
        for earlier in await self.store.unrevealed_dailies(place):
            if asked is None or earlier.daily_id != asked.daily_id:
                await self._reveal_daily(earlier)
        if asked is None:
            question = await self._pick_daily(place)
            if question is None:
                return
            choices = [question.answer, *question.wrong]
            self.rng.shuffle(choices)
            daily_id = await self.store.post_daily(place, day, question.id, choices, choices.index(question.answer), now)
            asked = await self.store.daily(daily_id) if daily_id is not None else await self.store.daily_on(place, day)
        if asked is None or asked.message is not None or asked.daily_id is None:
            return
        question = self.trivia._question(asked.question_id)
        card = question_card(question, asked, f"Question of the day · {self.bank.title(self.bank.category_of(question.id))}",
                             "Answer any time today; the answer comes out tomorrow.", "trivia.daily", (asked.daily_id,))  # fmt: skip
        ref = await self.messenger.send(place, card)
        if ref is not None:
            await self.store.set_daily_message(asked.daily_id, ref)
        self.content(place, "trivia_daily", question.id, self.clock.now())
        self.content_changed(place.community, "trivia")  # members' homes show today's question

    @button("trivia.daily")
    async def daily_answer(self, ctx: Context, daily_id: int, choice: int) -> Card:
        asked = await self.store.daily(daily_id)
        if asked is None or not 0 <= choice < len(asked.choices):
            raise UserError("That button is out of date; it has no effect now.")
        if asked.revealed:
            return notice("That daily question is closed; its answer is out.")
        question = self.trivia._question(asked.question_id)
        result = await self.answers.answer(
            asked, ctx.community, ctx.member, self.bank.category_of(question.id), choice,
            question.difficulty.points, ctx.now,
        )  # fmt: skip
        if result is None:
            return notice("You already answered today's question; one answer each.")
        self.content_changed(ctx.community, "trivia", member=ctx.member)  # their home: answered, points
        return notice(f"Locked in: {choice_label(asked, choice)}. The answer comes out tomorrow.")

    async def _reveal_daily(self, asked: Asked) -> None:
        assert asked.daily_id is not None and asked.place is not None
        if not await self.store.reveal_daily(asked.daily_id, self.clock.now()):
            return
        self.content_changed(asked.place.community, "trivia")  # no longer today's question on homes
        if asked.message is None:  # its post failed: nobody saw the question, nothing to reveal
            return
        question = self.trivia._question(asked.question_id)
        self.messenger.edit(asked.message, closed_question_card(question, asked, "Question of the day"), final=True)
        await self.messenger.send(asked.place, daily_results_card(question, asked, await self.answers.answers(asked)))

    async def _pick_daily(self, place: Place) -> Question | None:
        pool = await self.trivia._pool(place.community, None, avoid=await self.store.daily_question_ids(place))
        return self.rng.choice(pool) if pool else None

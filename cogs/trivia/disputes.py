"""Trivia disputes: members flag a question they think is wrong (one flag each, the
latest reason kept); a moderator's flag sets it aside in this community; moderators read
the queue (how many members flagged each question, and why) and restore a question, which
clears its flags and puts it back in play."""

from __future__ import annotations

from bot.app import Context
from bot.cards import Card, notice
from bot.commands import command
from bot.errors import UserError
from bot.model import Role
from bot.quotas import Quota
from bot.text import echo, neutralise
from cogs.trivia.args import FlagArgs, QuestionArgs
from cogs.trivia.bank import QuestionBank
from cogs.trivia.cards import flag_queue_card
from storage.trivia_flags import FlagStore


class TriviaDisputes:
    """Play technical-services trivia"""

    name = "trivia"  # the same feature as the live rounds: one name in /help, settings and the report

    def __init__(self, bank: QuestionBank, flags: FlagStore) -> None:
        self.bank = bank
        self.flags = flags

    @command("trivia flag", args=FlagArgs, help="Dispute a question; a moderator's flag sets it aside", quota=Quota(10, 3600))
    async def flag(self, ctx: Context, args: FlagArgs) -> Card:
        question_id = args.question_id.lower()
        if self.bank.question(question_id) is None:
            raise UserError(f"There is no question {echo(question_id)}; its id is at the foot of each question, like marc21-001.")
        by_moderator = ctx.member.role >= Role.MODERATOR
        reason = " ".join(neutralise(" ".join(args.reason)).split())
        first = await self.flags.flag(question_id, ctx.community, ctx.member, by_moderator, reason, ctx.now)
        if by_moderator:
            return notice(f"{question_id} is set aside here and will not be asked again. Thank you.")
        if not first:
            return notice(f"You had already flagged {question_id}; your reason is updated. Thanks.")
        return notice(f"Thanks: {question_id} is flagged for the moderators to check.")

    @command("trivia flags", activity=False, role=Role.MODERATOR, help="Questions members have disputed here, how many and why")
    async def queue(self, ctx: Context, args: object) -> Card:
        disputed = await self.flags.queue(ctx.community)
        if not disputed:
            return notice("No question has been flagged here.")
        return flag_queue_card(disputed)

    @command("trivia restore", args=QuestionArgs, role=Role.MODERATOR,
             help="Put a set-aside question back in play and clear its flags")  # fmt: skip
    async def restore(self, ctx: Context, args: QuestionArgs) -> Card:
        question_id = args.question_id.lower()
        disputed = await self.flags.disputed(question_id, ctx.community)
        if disputed is None:
            raise UserError(f"{echo(question_id)} has no flags here; /trivia flags lists the questions that do.")
        cleared = await self.flags.clear(question_id, ctx.community)
        flags = f"{cleared} flag is" if cleared == 1 else f"{cleared} flags are"
        if disputed.set_aside:
            return notice(f"{question_id} is back in play here; its {flags} cleared.", ephemeral=False)
        return notice(f"{question_id} was not set aside; its {flags} cleared.")

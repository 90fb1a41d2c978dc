"""Quick polls: create, vote by button, live tallies, close on a deadline, results and CSV.

The arguments and the create form are in `args`, the anonymous-poll key in `keys`, how a
poll looks in `render`; this module is the cog and its setup."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from bot.app import Bot, Context, Messenger
from bot.cards import Card, notice
from bot.clock import Clock
from bot.commands import button, command, timer
from bot.errors import UserError
from bot.model import ButtonPressed, Member, MessageRef, Place, Role
from bot.quotas import Quota
from bot.scheduler import Scheduler
from bot.text import neutralise
from bot.timeparse import closes_in
from cogs.polls.args import EXAMPLE, POLL_FORM, CreatePoll, ExportArgs, PollId
from cogs.polls.keys import load_key, voter_hash
from cogs.polls.render import chart_png, export_csv, export_votes_csv, live_card, results_card
from storage.ballots import key_fingerprint, save_key_fingerprint
from storage.polls import Poll, PollStore, Tally

Content = Callable[[Place, str, str, datetime], None]
log = logging.getLogger(__name__)
DELETE_WINDOW = timedelta(minutes=10)  # how long a poll's creator may delete it (before others vote)


class Polls:
    """Quick polls"""

    name = "polls"

    def __init__(
        self, store: PollStore, scheduler: Scheduler, messenger: Messenger, clock: Clock, secret: bytes,
        content: Content | None = None,
    ) -> None:  # fmt: skip
        self.store = store
        self.scheduler = scheduler
        self.messenger = messenger
        self.clock = clock
        self.secret = secret
        self.content = content or (lambda place, kind, subject, at: None)
        self.key_warning: str | None = None

    # -- commands ----------------------------------------------------------------------------

    @command("poll create", args=CreatePoll, help="Ask a question with 2 to 25 options",
             quota=Quota(5, 600, channel=20), form=POLL_FORM)  # fmt: skip
    async def create(self, ctx: Context, args: CreatePoll) -> None:
        closes_at = ctx.now + args.closes if args.closes else None
        poll_id = await self.store.create(
            ctx.place, ctx.member.id, ctx.member.display_name, neutralise(args.question),
            [neutralise(o).strip() for o in args.options], args.multi, args.anonymous,
            args.hidden, ctx.now, closes_at,
        )  # fmt: skip
        if closes_at is not None:
            await self.scheduler.schedule("poll.close", poll_id, closes_at)
        poll = await self._poll(ctx, poll_id)
        ref = await ctx.respond(live_card(poll, await self._tally(poll), ctx.now))
        if ref is not None:
            await self.store.set_message(poll_id, ref)
        self.content(ctx.place, "poll_posted", str(poll_id), ctx.now)

    @button("poll.vote")
    async def vote(self, ctx: Context, poll_id: int, position: int) -> Card:
        poll = await self._poll(ctx, poll_id)
        ctx.unnamed = poll.anonymous  # the engagement log keeps no trace of who voted when
        if not 0 <= position < len(poll.options):
            raise UserError("That option is not on this poll.")
        # the click names its message: a vote cast before create() has stored the poll's
        # message (a click racing the reply) still updates the tally
        clicked = ctx.event.message if isinstance(ctx.event, ButtonPressed) else None
        if not poll.accepts_votes(ctx.now):
            await self._end(poll)  # the deadline passed and the close timer has not run yet
            self._refresh(poll, poll.message or clicked)  # a click on a closed poll re-renders it
            return _closed(poll_id)
        # the click's engagement event commits with the ballot (ctx.engagement(): a rider)
        if poll.anonymous:  # batched, shuffled, the log erased; answered after the commit
            change = await self.store.ballots.cast(poll_id, self.voter(poll, ctx.member), position, poll.multi, ctx.now,
                                                   ctx.engagement())  # fmt: skip
        else:
            change = await self.store.vote(poll_id, ctx.member.id, position, poll.multi, ctx.now, ctx.now,
                                           ctx.engagement())  # fmt: skip
        if change is None:
            self._refresh(poll, poll.message or clicked)
            return _closed(poll_id)
        if change.refused:
            return notice(f"You can choose up to {poll.multi}; click one of your choices to remove it first.")
        if poll.message is None and clicked is not None:  # posted with no ts (a response_url): closing edits it
            await self.store.set_message(poll_id, clicked)
        self._refresh(poll, poll.message or clicked)
        if not change.chosen:
            return notice(f"Vote removed. You have no vote on poll #{poll_id}.")
        labels = ", ".join(poll.options[p] for p in change.chosen)
        return notice(f"Your vote{'s' if len(change.chosen) > 1 else ''}: {labels}.")

    @command("poll results", activity=False, args=PollId, help="Show a poll's results with a chart")
    async def results(self, ctx: Context, args: PollId) -> Card:
        poll = await self._poll(ctx, args.id)
        tally = await self._tally(poll)
        if poll.is_open and poll.hidden:
            return notice(f"Poll #{poll.id} hides its results until it closes; {tally.voters} voted so far.")
        chart = await asyncio.to_thread(chart_png, poll, tally)
        return results_card(poll, tally, now=ctx.now, chart=chart)

    @command("poll list", activity=False, help="List the open polls in this channel")
    async def list(self, ctx: Context, args: object) -> Card:
        ids = await self.store.open_polls(ctx.community, ctx.place.channel_id)
        if not ids:
            return notice("No open polls here. Start one with " + EXAMPLE)
        lines = []
        for poll_id in ids:
            poll = await self._poll(ctx, poll_id)
            tally = await self._tally(poll)
            closing = f", {closes_in(poll.closes_at, ctx.now)}" if poll.closes_at else ""
            lines.append(f"#{poll.id} {poll.question} ({tally.voters} voted{closing})")
        return Card(title="Open polls here", text="\n".join(lines), ephemeral=True)

    @command("poll close", args=PollId, help="Close a poll now (its creator or a moderator)")
    async def close(self, ctx: Context, args: PollId) -> Card | None:
        poll = await self._poll(ctx, args.id)
        if ctx.member.id != poll.creator_id and ctx.member.role < Role.MODERATOR:
            raise UserError(f"Only the poll's creator or a moderator can close poll #{poll.id}.")
        card = await self._close(poll)
        if card is None:
            return notice(f"Poll #{poll.id} is already closed. /poll results {poll.id} shows how it ended.")
        await ctx.respond(card)  # this answer is the announcement
        await self.store.mark_announced(poll.id, self.clock.now())
        return None

    @command("poll delete", args=PollId, help="Delete a poll: its creator within 10 minutes if no one else voted, or a moderator")
    async def delete(self, ctx: Context, args: PollId) -> Card:
        """A poll posted by mistake goes: its creator may delete it within DELETE_WINDOW of
        asking and before anyone else votes; a moderator may at any time. Its message says
        so (no buttons), its pending close is cancelled, its ballots are zeroed on disk."""
        poll = await self._poll(ctx, args.id)
        moderator = ctx.member.role >= Role.MODERATOR
        if not moderator:
            if ctx.member.id != poll.creator_id:
                raise UserError(f"Only the poll's creator or a moderator can delete poll #{poll.id}.")
            if ctx.now - poll.created_at > DELETE_WINDOW:
                raise UserError(f"Poll #{poll.id} is over {DELETE_WINDOW.seconds // 60} minutes old; "
                                f"/poll close {poll.id} ends it, or ask a moderator to delete it.")  # fmt: skip
        if not await self.store.delete(poll.id, ctx.now, None if moderator else self.voter(poll, ctx.member)):
            raise UserError(f"Others have voted in poll #{poll.id}; /poll close {poll.id} ends it instead.")
        await self.scheduler.cancel("poll.close", poll.id)
        if poll.message is not None:
            who = "a moderator" if moderator and ctx.member.id != poll.creator_id else "its creator"
            self.messenger.edit(poll.message, Card(title=f"Poll #{poll.id} was deleted by {who}."), final=True)
        return notice(f"Poll #{poll.id} is deleted.")

    @command("poll export", activity=False, args=ExportArgs, role=Role.ORGANIZER,
             help="Download a poll's results as CSV (votes=yes: one row per vote)")
    async def export(self, ctx: Context, args: ExportArgs) -> Card:
        poll = await self._poll(ctx, args.id)
        if poll.is_open and poll.hidden:
            raise UserError(f"Poll #{poll.id} hides its results until it closes.")
        if args.votes:
            if poll.anonymous:
                raise UserError(f"Poll #{poll.id} is anonymous: its votes are not linked to members.")
            file = export_votes_csv(poll, await self.store.votes(poll), ctx.tz)
            return Card(text=f"Poll #{poll.id} votes as CSV: {file.filename}", file=file, ephemeral=True)
        file = export_csv(poll, await self._tally(poll))
        return Card(text=f"Poll #{poll.id} results as CSV: {file.filename}", file=file, ephemeral=True)

    # -- the deadline ------------------------------------------------------------------------

    @timer("poll.close", rerun=True)
    async def close_due(self, key: str, payload: dict[str, Any]) -> None:
        """Close, show the final tally on the poll message, announce once. Each step is
        guarded by what is stored, so a crash at any line is safe to run again."""
        poll = await self.store.get(int(key))
        if poll is not None:
            await self._end(poll)

    @timer("poll.refresh", rerun=True)
    async def refresh_due(self, key: str, payload: dict[str, Any]) -> None:
        """Re-render a poll message from the stored state (after a restart)."""
        poll = await self.store.get(int(key))
        if poll is not None and poll.message is not None:
            self._refresh(poll, poll.message)

    async def start(self) -> None:
        """Warn when the anonymous-poll key sits beside the data, and checkpoint away a
        write-ahead log a crash may have left with anonymous ballots in it. Reconcile after
        a restart: every open poll with a deadline has a pending close (past deadlines
        close at once), results a crash left unposted are posted, and open poll messages
        are re-rendered from the stored tally once the platforms are up."""
        await save_key_fingerprint(self.store.db, key_fingerprint(self.secret), self.clock.now())
        if self.key_warning:
            log.warning(self.key_warning)
        await self.store.ballots.erase_log()
        for poll_id, closes_at in await self.store.open_deadlines():
            if await self.scheduler.status("poll.close", poll_id) not in ("pending", "running"):
                await self.scheduler.schedule("poll.close", poll_id, closes_at, revive=True)
        now = self.clock.now()
        for poll_id in await self.store.unannounced():
            await self.scheduler.schedule("poll.close", poll_id, now, revive=True)
        for community_poll in await self.store.open_with_message():
            await self.scheduler.schedule("poll.refresh", community_poll, now, revive=True)

    async def stop(self) -> None:
        """Write and answer the anonymous ballots still waiting for their batch."""
        await self.store.ballots.close()

    async def _end(self, poll: Poll) -> None:
        await self._close(poll)
        closed = await self.store.get(poll.id)
        assert closed is not None
        if closed.message is not None:
            self._refresh(closed, closed.message)  # the final edit, again: it must land (a rerun)
        if closed.announced_at is None:
            await self.messenger.send(closed.place, results_card(closed, await self._tally(closed)))
            await self.store.mark_announced(closed.id, self.clock.now())

    async def _close(self, poll: Poll) -> Card | None:
        """Close once: returns the results card for the one call that closed it."""
        if not await self.store.close(poll.id, self.clock.now()):
            return None
        await self.scheduler.cancel("poll.close", poll.id)
        closed = await self.store.get(poll.id)
        assert closed is not None
        card = results_card(closed, await self._tally(closed))
        if closed.message is not None:
            self.messenger.edit(closed.message, card, final=True)
        return card

    # -- helpers -----------------------------------------------------------------------------

    def voter(self, poll: Poll, member: Member) -> str:
        """The member id, or for anonymous polls a keyed hash nobody can reverse without the key."""
        return self.anonymous_voter(poll.id, member) if poll.anonymous else member.id

    def anonymous_voter(self, poll_id: int, member: Member) -> str:
        return voter_hash(self.secret, poll_id, member)

    def _refresh(self, poll: Poll, message: MessageRef | None) -> None:
        """Update the poll message with the tally as it is when the (coalesced) edit goes out."""
        if message is None:
            return

        async def latest() -> Card:
            current = await self.store.get(poll.id)
            assert current is not None
            tally = await self._tally(current)
            return live_card(current, tally, self.clock.now()) if current.is_open else results_card(current, tally)

        self.messenger.edit(message, latest, final=not poll.is_open)

    async def _poll(self, ctx: Context, poll_id: int) -> Poll:
        """The poll, if it belongs to this channel: a poll is read and managed only where it
        was asked (a private channel's poll is never shown elsewhere)."""
        poll = await self.store.get(poll_id, ctx.community)
        if poll is None or poll.place.channel_id != ctx.place.channel_id:
            raise UserError(f"There is no poll #{poll_id} in this channel. /poll list shows the open ones here.")
        return poll

    async def _tally(self, poll: Poll) -> Tally:
        return await self.store.tally(poll.id, len(poll.options))

    async def forget_member(self, member: Member) -> int:
        hashed = [
            (poll_id, self.anonymous_voter(poll_id, member))
            for poll_id in await self.store.anonymous_poll_ids(member.platform)
        ]
        return await self.store.forget_voter(member.platform, hashed, member.id)


def _closed(poll_id: int) -> Card:
    return notice(f"Poll #{poll_id} is closed; votes are no longer counted.")


def setup(bot: Bot) -> None:
    key, warning = load_key(bot.settings)
    polls = Polls(PollStore(bot.db), bot.scheduler, bot, bot.clock, key, bot.engagement.content)
    polls.key_warning = warning  # None, or logged at start: the key sits beside the data
    bot.add_cog(polls)

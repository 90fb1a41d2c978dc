"""Webinars: scheduled in members' own zones, RSVPs with live counts, reminders sent
once, calendar import (kept in sync hourly) and export.

The commands' arguments are in `args`, the reminder timers and their deliveries in
`reminders`, imported calendars' syncs in `sync` (reading and writing .ics in `calendar`),
how webinars look in `cards`; this module is the cog and its setup.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from bot.app import Bot, Context, Messenger
from bot.cards import Card, File, notice
from bot.changes import ContentChangedHook, unheard
from bot.clock import Clock
from bot.commands import button, command, on, timer
from bot.community import CommunityConfig
from bot.config import Setting
from bot.context import postable
from bot.errors import UserError
from bot.fetched import FetchResult
from bot.model import EventInterest, EventListing, Member, Place, Role
from bot.quotas import Quota, button_quota
from bot.recurrence import Recurrence
from bot.scheduler import Scheduler
from bot.text import neutralise, truncate
from bot.timeparse import format_duration
from cogs.webinars.args import ADD_FORM, AddArgs, EditArgs, IcsArgs, ImportArgs, WebinarId, offsets
from cogs.webinars.calendar import export_ics, read_calendar
from cogs.webinars.cards import announcement, attendees_card, change_notice, list_card
from cogs.webinars.reminders import Reminders, SendDirect
from cogs.webinars.sync import SYNC_EVERY, sync_calendar
from cogs.webinars.when import Start, check_start, parse_start
from storage.webinars import Webinar, WebinarStore

log = logging.getLogger(__name__)

Fetch = Callable[..., Awaitable[FetchResult]]
Content = Callable[[Place, str, str, datetime], None]
ListEvent = Callable[[EventListing], Awaitable[tuple[str | None, str | None]]]


HOME_WEBINARS = 3  # webinars shown on a member's home


class Webinars:
    """Webinars and continuing education"""

    name = "webinars"
    settings = (Setting("webinars_channel", "where /webinar add and /webinar import post when no channel= is given",
                        channel=True),)

    def __init__(
        self, store: WebinarStore, scheduler: Scheduler, messenger: Messenger, clock: Clock, config: CommunityConfig,
        fetch: Fetch, send_direct: SendDirect, content: Content, list_event: ListEvent,
        content_changed: ContentChangedHook = unheard,
    ) -> None:  # fmt: skip
        self.store = store
        self.scheduler = scheduler
        self.messenger = messenger
        self.clock = clock
        self.config = config
        self.fetch = fetch
        self.content = content
        self.list_event = list_event
        self.content_changed = content_changed  # members' homes show the next webinars
        self.reminders = Reminders(store, scheduler, messenger, clock, send_direct)

    # -- moderators ------------------------------------------------------------------------------

    @command("webinar add", args=AddArgs, role=Role.MODERATOR, help="Schedule a webinar with reminders and RSVPs",
             quota=Quota(20, 3600, channel=40, moderators=True), form=ADD_FORM)
    async def add(self, ctx: Context, args: AddArgs) -> Card:
        start = self._start(args.when, ctx)
        place = await self._place(ctx, args.channel)
        webinar_id = await self.store.add(
            f"{uuid.uuid4()}@alcts-bot", place, neutralise(args.title), neutralise(args.description), args.url,
            start.local, start.zone, start.utc, args.duration, offsets(args.reminders), ctx.member.id, ctx.now,
        )  # fmt: skip
        webinar = await self._webinar(ctx, webinar_id)
        await self.reminders.schedule(webinar)
        ref = await (ctx.respond if place == ctx.place else lambda c: self.messenger.send(place, c))(
            announcement(webinar, await self.store.counts(webinar.id)))  # fmt: skip
        if ref is not None:
            await self.store.set_message(webinar.id, ref)
        self.content(place, "webinar_announced", str(webinar.id), ctx.now)
        self.content_changed(ctx.community, "webinars")
        note = await self.mirror(webinar)
        told = ", ".join(format_duration(o) for o in webinar.reminders) or "no"
        return notice(f"Webinar #{webinar.id} is set for {start.describe()}, {format_duration(args.duration)}; "
                      f"reminders {told} before, and at the start.{' ' + note if note else ''}")  # fmt: skip

    @command("webinar edit", args=EditArgs, role=Role.MODERATOR, help="Move or change a webinar",
             quota=Quota(30, 3600, moderators=True))
    async def edit(self, ctx: Context, args: EditArgs) -> Card:
        webinar = await self._webinar(ctx, args.id)
        if webinar.status != "scheduled":
            raise UserError(f"Webinar #{webinar.id} is cancelled; add a new one instead.")
        if all(v is None for v in (args.when, args.title, args.url, args.description, args.duration)):
            raise UserError(f"Nothing to change: give when=, title=, url=, description= or duration=, "
                            f"e.g. /webinar edit {webinar.id} when=\"Dec 4 2pm\".")  # fmt: skip
        start = self._start(args.when, ctx, webinar.zone) if args.when else None
        if await self.messenger.can_post(webinar.place) is not None:  # its reminders go there
            raise UserError(f"Webinar #{webinar.id} is announced in {webinar.place.mention}, where I can no longer "
                            "post; invite me back there, or cancel it and add it again in another channel.")  # fmt: skip
        await self.store.change(
            webinar.id, ctx.now, title=args.title and neutralise(args.title), url=args.url,
            description=args.description and neutralise(args.description), duration=args.duration,
            local_start=start.local if start else None, zone=start.zone if start else None,
            starts_at=start.utc if start else None,
        )  # fmt: skip
        changed = await self._webinar(ctx, webinar.id)
        await self.after_change(changed, moved=start is not None and start.utc != webinar.starts_at)
        what = f"now {start.describe()}" if start else "updated"
        return notice(f"Webinar #{changed.id} is {what}.")

    @command("webinar cancel", args=WebinarId, role=Role.MODERATOR, help="Cancel a webinar and its reminders",
             quota=Quota(20, 3600, moderators=True))
    async def cancel(self, ctx: Context, args: WebinarId) -> Card:
        webinar = await self._webinar(ctx, args.id)
        if not await self.store.cancel(webinar.id, ctx.now):
            return notice(f"Webinar #{webinar.id} was already cancelled.")
        cancelled = await self._webinar(ctx, webinar.id)
        await self.mirror(cancelled)
        await self.reminders.cancel_outdated(cancelled)
        await self.reminders.tell_rsvps(cancelled, "Cancelled")
        self._refresh(cancelled)
        return notice(f"Webinar #{webinar.id} ({webinar.title}) is cancelled; its reminders will not go out.",
                      ephemeral=False)  # fmt: skip

    @command("webinar import", args=ImportArgs, role=Role.MODERATOR, help="Import webinars from an iCalendar (.ics) feed",
             quota=Quota(5, 3600, channel=10, moderators=True))
    async def import_calendar(self, ctx: Context, args: ImportArgs) -> Card:
        place = await self._place(ctx, args.channel)
        if (existing := await self.store.calendar_for(place, args.url)) is not None:
            raise UserError(f"That calendar is already imported here (calendar #{existing}); it is checked every hour.")
        result = await self.fetch(args.url, accept="text/calendar, */*;q=0.5")
        calendar = read_calendar(result.body, args.url, now=ctx.now, zone=ctx.tz.key)
        calendar_id = await self.store.add_calendar(place, args.url, calendar.title, ctx.member.id, ctx.now)
        added, updated, removed = await sync_calendar(self, calendar_id, place, calendar.occurrences)
        await self.scheduler.repeat("webinar.sync", str(calendar_id), Recurrence.every(SYNC_EVERY), community=ctx.community)
        skipped = f" ({calendar.skipped} later ones skipped: at most 500 at a time)" if calendar.skipped else ""
        return notice(f"Imported {added} webinar{'s' if added != 1 else ''} from {calendar.title} for the next 90 days"
                      f"{skipped}; it is checked for changes every hour.", ephemeral=False)  # fmt: skip

    # -- members ---------------------------------------------------------------------------------

    @command("webinar list", activity=False, help="Upcoming webinars")
    async def list(self, ctx: Context, args: object) -> Card:
        return list_card(await self.store.upcoming(ctx.community, ctx.now))

    @command("webinar show", activity=False, args=WebinarId, help="One webinar with its RSVPs")
    async def show(self, ctx: Context, args: WebinarId) -> Card:
        webinar = await self._webinar(ctx, args.id)
        card = announcement(webinar, await self.store.counts(webinar.id))
        return Card(title=card.title, text=card.text, fields=card.fields, buttons=card.buttons, links=card.links,
                    footer=card.footer, ephemeral=True)  # fmt: skip

    @command("webinar ics", activity=False, args=IcsArgs, help="A calendar file (.ics) of one webinar or all upcoming ones")
    async def ics(self, ctx: Context, args: IcsArgs) -> Card:
        if args.which == "all":
            webinars = await self.store.upcoming(ctx.community, ctx.now, limit=200)
            name = "webinars.ics"
        else:
            webinars = [await self._webinar(ctx, int(args.which))]
            name = f"webinar-{args.which}.ics"
        data = export_ics(webinars, ctx.now)
        return Card(text=f"{len(webinars)} webinar{'s' if len(webinars) != 1 else ''} as {name}; open it to add to your calendar.",
                    file=File(name, data, "text/calendar"), ephemeral=True)  # fmt: skip

    @command("webinar attendees", activity=False, args=WebinarId, role=Role.ORGANIZER, help="Who is going to a webinar")
    async def attendees(self, ctx: Context, args: WebinarId) -> Card:
        webinar = await self._webinar(ctx, args.id)
        return attendees_card(webinar, await self.store.rsvps(webinar.id))

    async def home(self, ctx: Context) -> list[Card]:
        """The member's home (Slack's App Home): the next few webinars, with their RSVP buttons."""
        webinars = await self.store.upcoming(ctx.community, ctx.now, limit=HOME_WEBINARS)
        if not webinars:
            return [Card(title="Upcoming webinars", text="No webinars are scheduled yet.")]
        return [announcement(w, await self.store.counts(w.id)) for w in webinars]

    @button("webinar.rsvp")
    @button_quota(Quota(20, 600))
    async def rsvp(self, ctx: Context, webinar_id: int, answer: str) -> Card:
        webinar = await self._open(ctx, webinar_id)
        if answer not in ("going", "not"):
            raise UserError("That button is out of date; it has no effect now.")
        await self.store.rsvp(webinar.id, ctx.member, ctx.now, going=answer == "going",
                              remind=False if answer == "not" else None)  # fmt: skip
        self._refresh(webinar)
        if answer == "going":
            return notice(f"You're going to {truncate(webinar.title, 100)}. Click Remind me for a private reminder.")
        return notice(f"Noted: not going to {truncate(webinar.title, 100)}.")

    @button("webinar.remind")
    @button_quota(Quota(20, 600))
    async def remind(self, ctx: Context, webinar_id: int) -> Card:
        webinar = await self._open(ctx, webinar_id)
        current = await self.store.rsvp(webinar.id, ctx.member, ctx.now)
        turned_on = not current.remind
        await self.store.rsvp(webinar.id, ctx.member, ctx.now, remind=turned_on, going=True if turned_on else None)
        self._refresh(webinar)
        if turned_on:
            return notice(f"I'll send you a direct message before {truncate(webinar.title, 100)} starts.")
        return notice("No more private reminders for this webinar.")

    # -- timers ----------------------------------------------------------------------------------

    @timer("webinar.remind", rerun=True)
    async def send_reminder(self, key: str, payload: dict[str, Any]) -> None:
        """One reminder, `ID:VERSION:OFFSET`, delivered once (reminders.py)."""
        await self.reminders.send(key)

    @timer("webinar.sync", rerun=True, limit=2)
    async def sync(self, key: str, payload: dict[str, Any]) -> None:
        """Hourly: the calendar's events by UID and SEQUENCE; changes announced once."""
        found = await self.store.calendar(int(key))
        if found is None or not found[2]:
            await self.scheduler.stop_repeating("webinar.sync", key)
            return
        place, url, _ = found
        now = self.clock.now()
        try:
            result = await self.fetch(url, accept="text/calendar, */*;q=0.5")
            calendar = read_calendar(result.body, url, now=now, zone=self.config.timezone(await self.config.get(place.community)).key)
        except UserError as exc:
            await self.store.synced(int(key), now, str(exc))
            return
        await sync_calendar(self, int(key), place, calendar.occurrences)
        await self.store.synced(int(key), now, None)

    async def start(self) -> None:
        """Every scheduled webinar has its pending reminders (made again if lost); every
        imported calendar has its hourly sync."""
        for webinar in await self.store.scheduled():
            await self.reminders.schedule(webinar, only_missing=True)
        for calendar_id in await self.store.calendars():
            if not await self.scheduler.repeating("webinar.sync", str(calendar_id)):
                found = await self.store.calendar(calendar_id)
                if found is not None:
                    await self.scheduler.repeat("webinar.sync", str(calendar_id), Recurrence.every(SYNC_EVERY),
                                                community=found[0].community)  # fmt: skip

    # -- helpers ---------------------------------------------------------------------------------

    async def after_cancel(self, webinar_id: int) -> None:
        """A cancelled webinar: its listing, reminders, those going, the channel and its message."""
        cancelled = await self.store.get(webinar_id)
        assert cancelled is not None
        await self.mirror(cancelled)
        await self.reminders.cancel_outdated(cancelled)
        await self.reminders.tell_rsvps(cancelled, "Cancelled")
        await self.messenger.send(cancelled.place, change_notice(cancelled, "Cancelled"))
        self._refresh(cancelled)

    async def after_change(self, webinar: Webinar, *, moved: bool, announce: bool = False) -> None:
        """A changed webinar: its listing and message; moved, its reminders and those going too."""
        await self.mirror(webinar)
        if moved:
            await self.reminders.cancel_outdated(webinar)
            await self.reminders.schedule(webinar)
            await self.reminders.tell_rsvps(webinar, "New time")
        if announce:
            await self.messenger.send(webinar.place, change_notice(webinar, "New time" if moved else "Updated"))
        self._refresh(webinar)

    async def mirror(self, webinar: Webinar) -> str | None:
        """Mirror the webinar as the platform's event listing (Discord Scheduled Events);
        returns a sentence for the moderator when the platform refused."""
        listing = EventListing(
            webinar.place.community, webinar.title, webinar.description, webinar.url or "", webinar.starts_at,
            webinar.ends_at, webinar.discord_event_id, cancelled=webinar.status == "cancelled",
        )  # fmt: skip
        try:
            listing_id, note = await self.list_event(listing)
        except Exception:
            log.exception("could not mirror webinar=%s as an event listing", webinar.id)
            return None
        if listing_id and listing_id != webinar.discord_event_id:
            await self.store.set_discord_event(webinar.id, listing_id)
        return note

    @on(EventInterest)
    async def interest(self, ctx: Context) -> None:
        """Interest in the mirrored event listing counts as going (and withdrawing it, not)."""
        event = ctx.event
        assert isinstance(event, EventInterest)
        webinar = await self.store.by_listing(ctx.community.platform, event.listing_id)
        if webinar is None or webinar.place.community != ctx.community or webinar.status != "scheduled":
            return
        if webinar.ends_at <= ctx.now:
            return  # interest in an event that is over changes nothing
        if event.interested:
            await self.store.rsvp(webinar.id, ctx.member, ctx.now, going=True)
        else:
            await self.store.clear_going(webinar.id, ctx.member, ctx.now)
        self._refresh(webinar)

    def _refresh(self, webinar: Webinar) -> None:
        """After a change (RSVP, edit, cancellation): its message and members' homes."""
        self.content_changed(webinar.place.community, "webinars")
        if webinar.message is None:
            return

        async def latest() -> Card:
            current = await self.store.get(webinar.id)
            assert current is not None
            return announcement(current, await self.store.counts(webinar.id))

        self.messenger.edit(webinar.message, latest, final=webinar.status == "cancelled")

    def _start(self, text: str, ctx: Context, zone: str | None = None) -> Start:
        try:
            return check_start(parse_start(text, now=ctx.now, zone=zone or ctx.tz.key), ctx.now)
        except ValueError as exc:
            raise UserError(f"when: {exc}.", argument="when") from None

    async def _place(self, ctx: Context, channel: str | None) -> Place:
        """channel=, else the webinars_channel setting, else here; refused (on the channel
        field) where the bot cannot post, since reminders go there later."""
        return await postable(self.messenger, ctx.channel(channel, "webinars_channel", "#webinars"))

    async def _webinar(self, ctx: Context, webinar_id: int) -> Webinar:
        webinar = await self.store.get(webinar_id)
        if webinar is None or webinar.place.community != ctx.community:
            raise UserError(f"There is no webinar #{webinar_id} here; /webinar list shows what is coming up.")
        return webinar

    async def _open(self, ctx: Context, webinar_id: int) -> Webinar:
        webinar = await self._webinar(ctx, webinar_id)
        if webinar.status != "scheduled":
            raise UserError(f"Webinar #{webinar.id} was cancelled.")
        if webinar.ends_at <= ctx.now:
            raise UserError(f"Webinar #{webinar.id} is over.")
        return webinar

    async def forget_member(self, member: Member) -> int:
        return await self.store.forget_member(member)


def setup(bot: Bot) -> None:
    bot.add_cog(Webinars(WebinarStore(bot.db), bot.scheduler, bot, bot.clock, bot.config, bot.fetch,
                         bot.send_direct, bot.engagement.content, bot.list_event, bot.content_changed))  # fmt: skip

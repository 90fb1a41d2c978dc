"""Webinars: scheduled in members' own zones, RSVPs with live counts, reminders sent
once, calendar import (kept in sync hourly) and export.

Reminders are timers `webinar.remind` keyed `ID:VERSION:OFFSET` (OFFSET seconds before the
start; 0 is the start notice). A webinar's version rises when its time changes or it is
cancelled, so an old reminder never goes out. Each delivery (the channel, or one member's
DMs) is recorded as 'sending' before it is sent and 'sent' after, with the idempotency key
`webinar:ID:VERSION:OFFSET:TARGET`: a rerun after a crash sends only what is missing and
asks the platform about what was 'sending' (bot/platforms/base.py: at-least-once, a
duplicate only where the platform cannot recognise the key). A reminder
missed while the bot was down goes out late only within REMINDER_GRACE, and never once
the webinar has started (the start notice itself within its grace).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from bot.app import Bot, Context, Messenger
from bot.cards import Card, File, notice
from bot.changes import ContentChangedHook, unheard
from bot.clock import Clock
from bot.commands import button, command, on, timer
from bot.community import CommunityConfig
from bot.config import Setting
from bot.context import postable
from bot.errors import DirectMessagesClosed, UserError
from bot.fetched import FetchResult
from bot.model import EventInterest, EventListing, Member, Place, Role
from bot.quotas import Quota, button_quota
from bot.recurrence import Recurrence
from bot.scheduler import Scheduler
from bot.text import neutralise, truncate
from bot.timeparse import format_duration
from cogs.webinars.args import ADD_FORM, AddArgs, EditArgs, IcsArgs, ImportArgs, WebinarId, offsets
from cogs.webinars.calendar import Occurrence, export_ics, read_calendar
from cogs.webinars.cards import announcement, attendees_card, change_notice, list_card, reminder
from cogs.webinars.when import Start, check_start, parse_start
from storage.webinars import Webinar, WebinarStore

log = logging.getLogger(__name__)

REMINDER_GRACE = timedelta(minutes=15)
SYNC_EVERY = timedelta(hours=1)
MIRRORED_PER_SYNC = 25
ANNOUNCED_PER_SYNC = 10  # imported webinars announced one by one per sync; the rest in one list  # imported webinars mirrored as platform event listings per sync
Fetch = Callable[..., Awaitable[FetchResult]]
SendDirect = Callable[..., Awaitable[Any]]  # (member, card, *, key=, since=)
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
        self.send_direct = send_direct
        self.content = content
        self.list_event = list_event
        self.content_changed = content_changed  # members' homes show the next webinars

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
        await self._schedule_reminders(webinar)
        ref = await (ctx.respond if place == ctx.place else lambda c: self.messenger.send(place, c))(
            announcement(webinar, await self.store.counts(webinar.id)))  # fmt: skip
        if ref is not None:
            await self.store.set_message(webinar.id, ref)
        self.content(place, "webinar_announced", str(webinar.id), ctx.now)
        self.content_changed(ctx.community, "webinars")
        note = await self._list(webinar)
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
        await self._after_change(changed, moved=start is not None and start.utc != webinar.starts_at)
        what = f"now {start.describe()}" if start else "updated"
        return notice(f"Webinar #{changed.id} is {what}.")

    @command("webinar cancel", args=WebinarId, role=Role.MODERATOR, help="Cancel a webinar and its reminders",
             quota=Quota(20, 3600, moderators=True))
    async def cancel(self, ctx: Context, args: WebinarId) -> Card:
        webinar = await self._webinar(ctx, args.id)
        if not await self.store.cancel(webinar.id, ctx.now):
            return notice(f"Webinar #{webinar.id} was already cancelled.")
        cancelled = await self._webinar(ctx, webinar.id)
        await self._list(cancelled)
        await self._cancel_reminders(cancelled)
        await self._tell_rsvps(cancelled, "Cancelled")
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
        added, updated, removed = await self._sync(calendar_id, place, calendar.occurrences)
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
        webinar_id, version, offset = (int(part) for part in key.split(":"))
        webinar = await self.store.get(webinar_id)
        if webinar is None or webinar.status != "scheduled" or webinar.version != version:
            return  # moved or cancelled: this reminder lapsed
        now = self.clock.now()
        if (offset > 0 and now >= webinar.starts_at) or now > webinar.starts_at - timedelta(seconds=offset) + REMINDER_GRACE:
            log.warning("webinar reminder skipped, too late webinar=%s offset=%s", webinar_id, offset)
            return
        done = await self.store.deliveries(webinar_id, version, offset)
        if (since := await self._intend(done, key, "channel")) is not False:
            await self.messenger.send(webinar.place, reminder(webinar, offset), key=f"webinar:{key}:channel", since=since)
            await self.store.deliver(webinar_id, version, offset, "channel", self.clock.now())
        for rsvp in await self.store.rsvps(webinar_id):
            target = f"dm:{rsvp.member.platform}:{rsvp.member.id}"
            if not rsvp.remind or (since := await self._intend(done, key, target)) is False:
                continue
            try:
                await self.send_direct(rsvp.member, reminder(webinar, offset, direct=True),
                                       key=f"webinar:{key}:{target}", since=since)  # fmt: skip
            except DirectMessagesClosed:
                if await self.store.told_dm_closed(webinar_id, rsvp.member):
                    await self.messenger.send(webinar.place, notice(
                        f"{rsvp.member.display_name}: I could not send your reminder for {webinar.title} as a direct "
                        "message because your direct messages are closed; reminders will appear here.", ephemeral=False))  # fmt: skip
            await self.store.deliver(webinar_id, version, offset, target, self.clock.now())

    async def _intend(self, done: dict[str, tuple[str, datetime]], key: str, target: str) -> datetime | None | bool:
        """Before sending a reminder to `target`: False when it was sent; else the intent
        is stored ('sending') and the result is None (a first attempt) or the time of the
        earlier intent (a crash or a failure came between it and the 'sent' mark: the
        platform resolves it by the idempotency key instead of a blind re-send)."""
        state = done.get(target)
        if state is None:
            webinar_id, version, offset = (int(part) for part in key.split(":"))
            await self.store.sending(webinar_id, version, offset, target, self.clock.now())
            return None
        if state[0] == "sent":
            return False
        log.warning("webinar reminder resolved after an interruption key=%s target=%s", key, target)
        return state[1]

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
        await self._sync(int(key), place, calendar.occurrences)
        await self.store.synced(int(key), now, None)

    async def start(self) -> None:
        """Every scheduled webinar has its pending reminders (made again if lost); every
        imported calendar has its hourly sync."""
        for webinar in await self.store.scheduled():
            await self._schedule_reminders(webinar, only_missing=True)
        for calendar_id in await self.store.calendars():
            if not await self.scheduler.repeating("webinar.sync", str(calendar_id)):
                found = await self.store.calendar(calendar_id)
                if found is not None:
                    await self.scheduler.repeat("webinar.sync", str(calendar_id), Recurrence.every(SYNC_EVERY),
                                                community=found[0].community)  # fmt: skip

    # -- helpers ---------------------------------------------------------------------------------

    async def _sync(self, calendar_id: int, place: Place, occurrences: list[Occurrence]) -> tuple[int, int, int]:
        now = self.clock.now()
        added = updated = removed = 0
        seen = set()
        more: list[Webinar] = []  # imported beyond those announced one by one: listed in one card
        for occurrence in occurrences:
            seen.add(occurrence.key)
            existing = await self.store.by_source(calendar_id, occurrence.key)
            if existing is None:
                if occurrence.cancelled:
                    continue
                webinar_id = await self.store.add(
                    f"{uuid.uuid5(uuid.NAMESPACE_URL, f'{calendar_id}|{occurrence.key}')}@alcts-bot", place,
                    occurrence.title, occurrence.description, occurrence.url, occurrence.local_start, occurrence.zone,
                    occurrence.starts_at, occurrence.duration, [timedelta(hours=24), timedelta(hours=1)], None, now,
                    all_day=occurrence.all_day, calendar_id=calendar_id, source_key=occurrence.key,
                    source_sequence=occurrence.sequence,
                )  # fmt: skip
                webinar = await self.store.get(webinar_id)
                assert webinar is not None
                await self._schedule_reminders(webinar)
                if added < ANNOUNCED_PER_SYNC:
                    ref = await self.messenger.send(place, announcement(webinar, await self.store.counts(webinar.id)))
                    if ref is not None:
                        await self.store.set_message(webinar.id, ref)
                else:
                    more.append(webinar)
                self.content(place, "webinar_announced", str(webinar.id), now)
                if added < MIRRORED_PER_SYNC:  # platforms cap event listings (Discord: about 100 a server)
                    await self._list(webinar)
                added += 1
            elif existing.status == "scheduled" and occurrence.cancelled:
                if await self.store.cancel(existing.id, now):
                    await self._after_cancel(existing.id)
                    removed += 1
            elif existing.status == "scheduled" and occurrence.sequence > (existing.source_sequence or 0):
                moved = occurrence.starts_at != existing.starts_at
                await self.store.change(
                    existing.id, now, title=occurrence.title, description=occurrence.description, url=occurrence.url,
                    duration=occurrence.duration, source_sequence=occurrence.sequence,
                    local_start=occurrence.local_start if moved else None, zone=occurrence.zone if moved else None,
                    starts_at=occurrence.starts_at if moved else None,
                )  # fmt: skip
                changed = await self.store.get(existing.id)
                assert changed is not None
                await self._after_change(changed, moved=moved, announce=True)
                updated += 1
        if more:
            await self.messenger.send(place, _more_card(more))
        if added:
            self.content_changed(place.community, "webinars")
        for webinar in await self.store.from_calendar(calendar_id, now):
            removed_from_calendar = webinar.source_key not in seen and webinar.starts_at <= now + timedelta(days=89)
            if removed_from_calendar and await self.store.cancel(webinar.id, now):
                await self._after_cancel(webinar.id)
                removed += 1
        return added, updated, removed

    async def _after_cancel(self, webinar_id: int) -> None:
        cancelled = await self.store.get(webinar_id)
        assert cancelled is not None
        await self._list(cancelled)
        await self._cancel_reminders(cancelled)
        await self._tell_rsvps(cancelled, "Cancelled")
        await self.messenger.send(cancelled.place, change_notice(cancelled, "Cancelled"))
        self._refresh(cancelled)

    async def _after_change(self, webinar: Webinar, *, moved: bool, announce: bool = False) -> None:
        await self._list(webinar)
        if moved:
            await self._cancel_reminders(webinar)
            await self._schedule_reminders(webinar)
            await self._tell_rsvps(webinar, "New time")
        if announce:
            await self.messenger.send(webinar.place, change_notice(webinar, "New time" if moved else "Updated"))
        self._refresh(webinar)

    async def _list(self, webinar: Webinar) -> str | None:
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

    async def _schedule_reminders(self, webinar: Webinar, *, only_missing: bool = False) -> None:
        now = self.clock.now()
        for offset in (*webinar.reminders, timedelta(0)):
            due = webinar.starts_at - offset
            if due + REMINDER_GRACE <= now:
                continue
            key = f"{webinar.id}:{webinar.version}:{int(offset.total_seconds())}"
            if only_missing and await self.scheduler.status("webinar.remind", key) is not None:
                continue
            await self.scheduler.schedule("webinar.remind", key, due, grace=REMINDER_GRACE)

    async def _cancel_reminders(self, webinar: Webinar) -> None:
        for key in await self.scheduler.pending("webinar.remind", f"{webinar.id}:"):
            if not key.startswith(f"{webinar.id}:{webinar.version}:"):
                await self.scheduler.cancel("webinar.remind", key)

    async def _tell_rsvps(self, webinar: Webinar, what: str) -> None:
        """Those going hear of a new time or a cancellation, privately where they can be."""
        for rsvp in await self.store.rsvps(webinar.id):
            if rsvp.going:
                try:
                    await self.send_direct(rsvp.member, change_notice(webinar, what))
                except DirectMessagesClosed:
                    log.info("could not tell member=%s of webinar=%s change: DMs closed", rsvp.member.id, webinar.id)
                except Exception:
                    log.exception("could not tell member=%s of webinar=%s change", rsvp.member.id, webinar.id)

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


def _more_card(webinars: list[Webinar]) -> Card:
    listed = list_card(webinars[:50])
    extra = f"\n...and {len(webinars) - 50} more (/webinar list)." if len(webinars) > 50 else ""
    return Card(title=f"{len(webinars)} more webinars from the calendar", text=listed.text + extra,
                footer="/webinar show ID for one, with its RSVP buttons.")  # fmt: skip


def setup(bot: Bot) -> None:
    bot.add_cog(Webinars(WebinarStore(bot.db), bot.scheduler, bot, bot.clock, bot.config, bot.fetch,
                         bot.send_direct, bot.engagement.content, bot.list_event, bot.content_changed))  # fmt: skip

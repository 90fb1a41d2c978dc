"""Webinar reminders: the timers that send them, each delivery recorded, and the private
notes to those going when a webinar moves or is cancelled.

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
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from bot.app import Messenger
from bot.cards import notice
from bot.clock import Clock
from bot.errors import DirectMessagesClosed
from bot.scheduler import Scheduler
from cogs.webinars.cards import change_notice, reminder
from storage.webinars import Webinar, WebinarStore

log = logging.getLogger("cogs.webinars")  # the cog's logger, as before the split

REMINDER_GRACE = timedelta(minutes=15)
SendDirect = Callable[..., Awaitable[Any]]  # (member, card, *, key=, since=)


class Reminders:
    """A webinar's reminder timers and their deliveries; the cog's `webinar.remind` timer
    hands each one to `send`."""

    def __init__(
        self, store: WebinarStore, scheduler: Scheduler, messenger: Messenger, clock: Clock, send_direct: SendDirect,
    ) -> None:  # fmt: skip
        self.store = store
        self.scheduler = scheduler
        self.messenger = messenger
        self.clock = clock
        self.send_direct = send_direct

    async def schedule(self, webinar: Webinar, *, only_missing: bool = False) -> None:
        """A timer for each reminder and the start notice still due (within REMINDER_GRACE);
        `only_missing`: only those the scheduler does not have (at start-up)."""
        now = self.clock.now()
        for offset in (*webinar.reminders, timedelta(0)):
            due = webinar.starts_at - offset
            if due + REMINDER_GRACE <= now:
                continue
            key = f"{webinar.id}:{webinar.version}:{int(offset.total_seconds())}"
            if only_missing and await self.scheduler.status("webinar.remind", key) is not None:
                continue
            await self.scheduler.schedule("webinar.remind", key, due, grace=REMINDER_GRACE)

    async def cancel_outdated(self, webinar: Webinar) -> None:
        """Cancel the pending reminders made for an earlier version of the webinar (its old
        time, or before it was cancelled)."""
        for key in await self.scheduler.pending("webinar.remind", f"{webinar.id}:"):
            if not key.startswith(f"{webinar.id}:{webinar.version}:"):
                await self.scheduler.cancel("webinar.remind", key)

    async def send(self, key: str) -> None:
        """Send the reminder `key` (ID:VERSION:OFFSET) where it is still due: the channel, then
        each member who asked for a private one."""
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

    async def tell_rsvps(self, webinar: Webinar, what: str) -> None:
        """Those going hear of a new time or a cancellation, privately where they can be."""
        for rsvp in await self.store.rsvps(webinar.id):
            if rsvp.going:
                try:
                    await self.send_direct(rsvp.member, change_notice(webinar, what))
                except DirectMessagesClosed:
                    log.info("could not tell member=%s of webinar=%s change: DMs closed", rsvp.member.id, webinar.id)
                except Exception:
                    log.exception("could not tell member=%s of webinar=%s change", rsvp.member.id, webinar.id)

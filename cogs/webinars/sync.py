"""Imported calendars: each sync brings a calendar's webinars in step with its feed, by
UID and SEQUENCE, announcing each change once; the cog's `webinar.sync` timer runs it hourly."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.cards import Card
from bot.model import Place
from cogs.webinars.calendar import Occurrence
from cogs.webinars.cards import announcement, list_card
from storage.webinars import Webinar

if TYPE_CHECKING:
    from cogs.webinars import Webinars

SYNC_EVERY = timedelta(hours=1)
MIRRORED_PER_SYNC = 25  # imported webinars mirrored as platform event listings per sync
ANNOUNCED_PER_SYNC = 10  # imported webinars announced one by one per sync; the rest in one list


async def sync_calendar(cog: Webinars, calendar_id: int, place: Place, occurrences: list[Occurrence]) -> tuple[int, int, int]:
    """Bring the webinars imported from calendar `calendar_id` in step with its `occurrences`:
    new ones added and announced, changed ones (a higher SEQUENCE) updated, cancelled or
    vanished ones (within the 90 days imported) cancelled; returns (added, updated, removed)."""
    now = cog.clock.now()
    added = updated = removed = 0
    seen = set()
    more: list[Webinar] = []  # imported beyond those announced one by one: listed in one card
    for occurrence in occurrences:
        seen.add(occurrence.key)
        existing = await cog.store.by_source(calendar_id, occurrence.key)
        if existing is None:
            if occurrence.cancelled:
                continue
            webinar_id = await cog.store.add(
                f"{uuid.uuid5(uuid.NAMESPACE_URL, f'{calendar_id}|{occurrence.key}')}@alcts-bot", place,
                occurrence.title, occurrence.description, occurrence.url, occurrence.local_start, occurrence.zone,
                occurrence.starts_at, occurrence.duration, [timedelta(hours=24), timedelta(hours=1)], None, now,
                all_day=occurrence.all_day, calendar_id=calendar_id, source_key=occurrence.key,
                source_sequence=occurrence.sequence,
            )  # fmt: skip
            webinar = await cog.store.get(webinar_id)
            assert webinar is not None
            await cog.reminders.schedule(webinar)
            if added < ANNOUNCED_PER_SYNC:
                ref = await cog.messenger.send(place, announcement(webinar, await cog.store.counts(webinar.id)))
                if ref is not None:
                    await cog.store.set_message(webinar.id, ref)
            else:
                more.append(webinar)
            cog.content(place, "webinar_announced", str(webinar.id), now)
            if added < MIRRORED_PER_SYNC:  # platforms cap event listings (Discord: about 100 a server)
                await cog.mirror(webinar)
            added += 1
        elif existing.status == "scheduled" and occurrence.cancelled:
            if await cog.store.cancel(existing.id, now):
                await cog.after_cancel(existing.id)
                removed += 1
        elif existing.status == "scheduled" and occurrence.sequence > (existing.source_sequence or 0):
            moved = occurrence.starts_at != existing.starts_at
            await cog.store.change(
                existing.id, now, title=occurrence.title, description=occurrence.description, url=occurrence.url,
                duration=occurrence.duration, source_sequence=occurrence.sequence,
                local_start=occurrence.local_start if moved else None, zone=occurrence.zone if moved else None,
                starts_at=occurrence.starts_at if moved else None,
            )  # fmt: skip
            changed = await cog.store.get(existing.id)
            assert changed is not None
            await cog.after_change(changed, moved=moved, announce=True)
            updated += 1
    if more:
        await cog.messenger.send(place, more_card(more))
    if added:
        cog.content_changed(place.community, "webinars")
    for webinar in await cog.store.from_calendar(calendar_id, now):
        removed_from_calendar = webinar.source_key not in seen and webinar.starts_at <= now + timedelta(days=89)
        if removed_from_calendar and await cog.store.cancel(webinar.id, now):
            await cog.after_cancel(webinar.id)
            removed += 1
    return added, updated, removed


def more_card(webinars: list[Webinar]) -> Card:
    """The imported webinars beyond those announced one by one, in one card."""
    listed = list_card(webinars[:50])
    extra = f"\n...and {len(webinars) - 50} more (/webinar list)." if len(webinars) > 50 else ""
    return Card(title=f"{len(webinars)} more webinars from the calendar", text=listed.text + extra,
                footer="/webinar show ID for one, with its RSVP buttons.")  # fmt: skip

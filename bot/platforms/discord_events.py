"""Webinars as Discord Guild Scheduled Events: create, move, cancel; and "Interested" clicks
handed to the platform as raw payloads (discord.py caches too little to report them)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import discord

from bot.model import EventListing
from bot.text import truncate

log = logging.getLogger(__name__)

NEEDS_MANAGE_EVENTS = "I can't add it to the server's Events: the bot needs the Manage Events permission."
EVENT_NAME_MAX, EVENT_DESCRIPTION_MAX, EVENT_LOCATION_MAX = 100, 1000, 100
INTEREST_EVENTS = {"GUILD_SCHEDULED_EVENT_USER_ADD": True, "GUILD_SCHEDULED_EVENT_USER_REMOVE": False}


async def list_event(guild: discord.Guild, listing: EventListing) -> tuple[str | None, str | None]:
    """Mirror a webinar as an external Guild Scheduled Event: create it (no `listing_id`),
    update it, or cancel it. Returns (the event's id, a sentence for the moderator when the
    bot lacks Manage Events); never raises for what Discord refuses."""
    try:
        if listing.listing_id is None:
            if listing.cancelled:
                return None, None
            created = await guild.create_scheduled_event(**event_fields(listing), reason="webinar added")
            return str(created.id), None
        try:
            event = await guild.fetch_scheduled_event(int(listing.listing_id), with_counts=False)
        except discord.NotFound:  # deleted in Discord: a live webinar gets a new one
            if listing.cancelled:
                return None, None
            created = await guild.create_scheduled_event(**event_fields(listing), reason="webinar changed")
            return str(created.id), None
        if listing.cancelled:
            await cancel_event(event)
        elif event.status is discord.EventStatus.scheduled:  # an active or ended one keeps its time
            await event.edit(**event_fields(listing), reason="webinar changed")
        return listing.listing_id, None
    except discord.Forbidden as exc:
        log.warning("no scheduled event for guild=%s: missing Manage Events (code %s)", guild.id, exc.code)
        return None, NEEDS_MANAGE_EVENTS
    except discord.HTTPException as exc:
        log.warning("Discord refused the scheduled event guild=%s status=%s code=%s: %s",
                    guild.id, exc.status, exc.code, exc.text)  # fmt: skip
        return None, None
    except Exception:
        log.exception("could not mirror a webinar as a scheduled event guild=%s", guild.id)
        return None, None


def raw_interest_events(client: discord.Client) -> None:
    """Hand GUILD_SCHEDULED_EVENT_USER_ADD/_REMOVE to the platform as raw payloads
    (`on_alcts_event_interest(data, interested)`). discord.py 2.7 has no raw variant and its
    `on_scheduled_event_user_add` drops a user it has not cached, which without the members
    intent is nearly everyone; so its parser for these two events is wrapped (it still runs)."""
    parsers = client._connection.parsers
    for name, interested in INTEREST_EVENTS.items():
        original = parsers.get(name)

        def parse(data: dict[str, Any], original: Callable[[Any], None] | None = original, interested: bool = interested) -> None:
            if original is not None:
                original(data)
            client.dispatch("alcts_event_interest", data, interested)

        parsers[name] = parse


def event_fields(listing: EventListing) -> dict[str, Any]:
    """An external event: the join link as its location when it fits (else "Online", the
    link heading the description), within Discord's lengths."""
    location, description = listing.location.strip(), listing.description.strip()
    if not location or len(location) > EVENT_LOCATION_MAX:
        if location:
            description = f"Join: {location}\n\n{description}".strip()
        location = "Online"
    fields: dict[str, Any] = {
        "name": truncate(listing.title.strip() or "Webinar", EVENT_NAME_MAX),
        "start_time": listing.starts_at,
        "end_time": listing.ends_at,
        "entity_type": discord.EntityType.external,
        "privacy_level": discord.PrivacyLevel.guild_only,
        "location": location,
    }
    if description:
        fields["description"] = truncate(description, EVENT_DESCRIPTION_MAX)
    return fields


async def cancel_event(event: discord.ScheduledEvent) -> None:
    """Cancel a scheduled event (status 4); one Discord will not cancel (already started,
    or refused) is deleted; an ended or cancelled one is left as it is."""
    if event.status is discord.EventStatus.scheduled:
        try:
            await event.cancel(reason="webinar cancelled")
            return
        except discord.Forbidden:
            raise
        except discord.HTTPException as exc:
            log.info("scheduled event=%s not cancelled (%s %s); deleting it", event.id, exc.status, exc.code)
    elif event.status is not discord.EventStatus.active:
        return
    await event.delete(reason="webinar cancelled")

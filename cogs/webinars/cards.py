"""How webinars look: the announcement with RSVP buttons, reminders, lists, attendees."""

from __future__ import annotations

from bot.cards import Button, Card, Field, Link, Style, timestamp
from bot.text import truncate
from bot.timeparse import format_duration
from storage.webinars import Counts, Rsvp, Webinar


def when_fields(webinar: Webinar) -> tuple[Field, ...]:
    if webinar.all_day:
        when = timestamp(webinar.starts_at, "D") + " (all day)"
    else:
        when = f"{timestamp(webinar.starts_at, 'F')} ({timestamp(webinar.starts_at, 'R')})"
    fields = [Field("When", when, inline=False)]
    if not webinar.all_day:
        fields.append(Field("Length", format_duration(webinar.duration)))
    return tuple(fields)


def announcement(webinar: Webinar, counts: Counts) -> Card:
    """The webinar's own message: time in each reader's zone, Join link, live RSVP counts."""
    if webinar.status == "cancelled":
        return Card(title=f"Cancelled: {webinar.title}", text=truncate(webinar.description, 500),
                    fields=when_fields(webinar), footer=f"Webinar #{webinar.id} was cancelled.")  # fmt: skip
    links = (Link("Join webinar", webinar.url),) if webinar.url else ()
    buttons = (
        Button(f"Going ({counts.going})", "webinar.rsvp", (webinar.id, "going"), Style.SUCCESS),
        Button(f"Not going ({counts.not_going})", "webinar.rsvp", (webinar.id, "not")),
        Button("Remind me", "webinar.remind", (webinar.id,), Style.PRIMARY),
    )
    return Card(
        title=webinar.title,
        text=truncate(webinar.description, 1000),
        fields=(*when_fields(webinar), Field("RSVPs", f"{counts.going} going · {counts.not_going} not going")),
        buttons=buttons,
        links=links,
        footer=f"Webinar #{webinar.id}. /webinar ics {webinar.id} adds it to your calendar.",
    )


def reminder(webinar: Webinar, offset_seconds: int, *, direct: bool = False) -> Card:
    if offset_seconds == 0:
        heading, lead = f"Starting now: {webinar.title}", f"Started {timestamp(webinar.starts_at, 'R')}."
    else:  # the relative time goes in the text: titles are plain text on Slack
        heading, lead = f"Reminder: {webinar.title}", f"Starts {timestamp(webinar.starts_at, 'R')}."
    links = (Link("Join webinar", webinar.url),) if webinar.url else ()
    footer = "You asked to be reminded." if direct else f"Webinar #{webinar.id}."
    return Card(title=heading, text=lead, fields=when_fields(webinar), links=links, footer=footer)


def change_notice(webinar: Webinar, what: str) -> Card:
    return Card(title=f"{what}: {webinar.title}", fields=when_fields(webinar), footer=f"Webinar #{webinar.id}.")


def list_card(webinars: list[Webinar]) -> Card:
    if not webinars:
        return Card(text="No webinars are coming up. Moderators add them with /webinar add.", ephemeral=True)
    lines = [f"#{w.id} {truncate(w.title, 100)}: {timestamp(w.starts_at, 'F')}" for w in webinars]
    return Card(title="Upcoming webinars", text="\n".join(lines), footer="/webinar show ID for details.", ephemeral=True)


def attendees_card(webinar: Webinar, rsvps: list[Rsvp]) -> Card:
    going = [r.member.display_name for r in rsvps if r.going]
    not_going = sum(1 for r in rsvps if r.going is False)
    reminders = sum(1 for r in rsvps if r.remind)
    text = ", ".join(sorted(going, key=str.lower)) or "Nobody yet."
    return Card(title=f"Going to #{webinar.id} {truncate(webinar.title, 80)} ({len(going)})", text=text,
                footer=f"{not_going} not going; {reminders} asked for a reminder.", ephemeral=True)  # fmt: skip

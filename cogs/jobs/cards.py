"""How job posts look: one card per job, a digest for the rest of a busy poll, lists."""

from __future__ import annotations

from bot.cards import Button, Card, Field, Link, timestamp
from bot.text import truncate
from storage.job_posts import Feed, JobItem

DIGEST_LIMIT = 25


def job_card(item: JobItem, source: str) -> Card:
    """Title, employer, location, posted date (native timestamp), summary, Apply and Save."""
    fields = []
    if item.employer:
        fields.append(Field("Employer", item.employer))
    if item.location:
        fields.append(Field("Location", item.location))
    if item.published_at:
        fields.append(Field("Posted", timestamp(item.published_at, "D")))
    if item.closes_at:
        fields.append(Field("Closes", timestamp(item.closes_at, "D")))
    links = (Link("View posting", item.link),) if item.link else ()
    return Card(
        title=truncate(item.title, 200),
        text=item.summary,
        fields=tuple(fields),
        buttons=(Button("Save", "jobs.save", (item.id,)),),
        links=links,
        footer=f"Job post via {truncate(source, 80)}. /jobs saved lists what you saved.",
    )


def digest_card(items: list[JobItem], source: str) -> Card:
    """More new jobs than a poll posts one by one, in one message."""
    lines = [_line(item) for item in items[:DIGEST_LIMIT]]
    more = len(items) - DIGEST_LIMIT
    if more > 0:
        lines.append(f"...and {more} more.")
    return Card(title=f"{len(items)} more new job{'s' if len(items) != 1 else ''} from {truncate(source, 80)}",
                text="\n".join(lines), footer="/jobs latest lists recent posts.")  # fmt: skip


def list_card(title: str, items: list[JobItem], empty: str) -> Card:
    if not items:
        return Card(text=empty, ephemeral=True)
    return Card(title=title, text="\n".join(_line(item) for item in items), ephemeral=True)


def feeds_card(feeds: list[Feed], interval_minutes: int) -> Card:
    if not feeds:
        return Card(text="No job feeds here yet. /jobs subscribe URL adds one.", ephemeral=True)
    fields = tuple(Field(f"#{feed.id} {truncate(feed.title, 60)}", _state(feed, interval_minutes), inline=False) for feed in feeds)
    return Card(title="Job feeds", fields=fields, footer="/jobs unsubscribe ID removes one.", ephemeral=True)


def _state(feed: Feed, interval_minutes: int) -> str:
    parts = [f"{feed.url} → {feed.place.mention}"]
    filters = ", ".join(f for f in (feed.keywords and f"keywords={feed.keywords}", feed.exclude and f"exclude={feed.exclude}") if f)
    if filters:
        parts.append(filters)
    seen = f"{feed.items_seen} item{'s' if feed.items_seen != 1 else ''} seen"
    fetched = f"last fetch {timestamp(feed.last_fetch_at, 'R')}" if feed.last_fetch_at else "not fetched yet"
    parts.append(f"{fetched}, {seen}, every {interval_minutes} min")
    if feed.disabled_reason:
        parts.append(f"DISABLED: {feed.disabled_reason}")
    elif feed.failures:
        parts.append(f"{feed.failures} failure{'s' if feed.failures != 1 else ''} in a row: {feed.last_error}")
    if not feed.disabled_reason and feed.next_try_at:
        parts.append(f"next try {timestamp(feed.next_try_at, 'R')}")
    if feed.flag:
        parts.append(f"flagged: {feed.flag}")
    return "\n".join(parts)


def _line(item: JobItem) -> str:
    where = ", ".join(part for part in (item.employer, item.location) if part)
    text = f"• {truncate(item.title, 120)}" + (f" ({where})" if where else "")
    return text + (f": {item.link}" if item.link else "")

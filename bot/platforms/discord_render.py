"""Card -> Discord message parts (embed, buttons, chart attachment), within Discord's limits.

Buttons go into a *stopped* `View`: discord.py then sends their components but never keeps
the view in memory. Clicks are routed by `custom_id` alone (see `DiscordPlatform`), which is
what makes them work after a restart and keeps memory flat however many messages are sent.
Link buttons (`Card.links`) follow the card's buttons, within the same 5-a-row, 25 limit.

Times (`bot.cards.timestamp`, Discord's own `<t:UNIX:STYLE>`) pass through where Discord
renders them: the description and fields. Embed titles and footers are plain text, where
the markup would show raw, so a title with a time moves to the top of the description (in
bold) and a footer with a time to its bottom (as `-# ` subtext); button labels, plain
text too, get the time in words (UTC).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import discord

from bot.cards import (
    TIMESTAMP,
    Button,
    Card,
    File,
    Image,
    Link,
    Style,
    readable_times,
    usable_links,
)
from bot.text import strip_mass_mentions, truncate

log = logging.getLogger(__name__)

CONTENT_MAX = 2000  # a message's content (an embed's description holds 4,096)
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELDS_MAX = 25
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FOOTER_MAX = 2048
EMBED_TOTAL_MAX = 6000
BUTTONS_PER_ROW = 5
ROWS_MAX = 5
LABEL_MAX = 80
CUSTOM_ID_MAX = 100
LINK_URL_MAX = 512
RENDERED = 256  # cards whose message is remembered (see remembered_renders)
BLANK = "\u200b"  # Discord refuses empty field names and values

STYLES = {
    Style.PRIMARY: discord.ButtonStyle.primary,
    Style.SECONDARY: discord.ButtonStyle.secondary,
    Style.SUCCESS: discord.ButtonStyle.success,
    Style.DANGER: discord.ButtonStyle.danger,
}
NO_MENTIONS = discord.AllowedMentions.none()


def clip(text: str, limit: int) -> str:
    """Outside content made safe and short: no mass mentions (nothing pings anyway: every
    message is sent with AllowedMentions.none()), within Discord's limit."""
    return truncate(strip_mass_mentions(text), limit)


@dataclass(frozen=True)
class Rendered:
    """One card, ready to send (`send_kwargs`) or to replace an earlier message (`edit_kwargs`)."""

    embed: discord.Embed | None
    view: discord.ui.View | None
    uploads: tuple[Image | File, ...] = ()
    content: str | None = None

    def send_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"allowed_mentions": NO_MENTIONS}
        if self.content is not None:
            kwargs["content"] = self.content
        if self.embed is not None:
            kwargs["embed"] = self.embed
        if self.view is not None:
            kwargs["view"] = self.view
        if self.uploads:
            kwargs["files"] = self._files()
        return kwargs

    def edit_kwargs(self) -> dict[str, Any]:
        """Everything is set, so what the new card lacks (buttons, a chart) is removed."""
        return {
            "content": self.content,
            "embed": self.embed,
            "view": self.view,
            "attachments": self._files(),
            "allowed_mentions": NO_MENTIONS,
        }

    def _files(self) -> list[discord.File]:
        """Fresh File objects on every call: discord.py consumes them when it sends."""
        return [
            discord.File(io.BytesIO(item.data), filename=item.filename,
                         description=(item.alt if isinstance(item, Image) else None) or None)
            for item in self.uploads
        ]  # fmt: skip


def remembered_renders(size: int = RENDERED) -> Callable[[Card], Rendered]:
    """`render`, remembering the latest `size` cards without buttons, links, a chart or a
    file (a thousand voters share three answers: "Your vote: RDA."). Their embed is only
    read when sent; a card with buttons gets a new View each time (a View is a live object
    of one message)."""
    remembered = lru_cache(maxsize=size)(render)

    def rendered(card: Card) -> Rendered:
        if not card.text_only:
            return render(card)
        try:
            return remembered(card)
        except TypeError:  # a card holding a list, not a tuple: unhashable, made afresh
            return render(card)

    return rendered


def render(card: Card) -> Rendered:
    """A chart (`card.image`) shows inside the embed; a download (`card.file`) is attached.
    A private answer that is only a line or two of text ("Your vote: RDA.") is sent as the
    message's content, as Discord's own replies are: an embed around it costs its weight
    twice (sent, and echoed back in Discord's reply) on the busiest path, a vote."""
    if card.ephemeral and card.text_only and not (card.title or card.fields or card.footer):
        text = strip_mass_mentions(card.text)
        if text and len(text) <= CONTENT_MAX:  # longer: an embed holds more
            return Rendered(None, None, (), content=text)
    embed = _embed(card)
    view = _view(card.buttons, card.links)
    uploads = tuple(item for item in (card.image, card.file) if item is not None)
    if embed is None:  # a message needs some content besides buttons
        return Rendered(None, view, uploads, content=BLANK)
    return Rendered(embed, view, uploads)


def _embed(card: Card) -> discord.Embed | None:
    if not (card.title or card.text or card.fields or card.footer or card.image):
        return None
    title, text, footer = _place_times(card.title, card.text, card.footer)
    embed = discord.Embed(
        title=clip(title, TITLE_MAX) or None,
        description=clip(text, DESCRIPTION_MAX) or None,
    )
    fields = card.fields[:FIELDS_MAX]
    if len(card.fields) > FIELDS_MAX:
        log.warning("card has %d fields; Discord shows %d", len(card.fields), FIELDS_MAX)
    for field in fields:
        embed.add_field(
            name=clip(field.name, FIELD_NAME_MAX) or BLANK,
            value=clip(field.value, FIELD_VALUE_MAX) or BLANK,
            inline=field.inline,
        )
    if footer:
        embed.set_footer(text=clip(footer, FOOTER_MAX))
    if card.image is not None:
        embed.set_image(url=f"attachment://{card.image.filename}")
    _fit(embed)
    return embed


def _place_times(title: str, text: str, footer: str) -> tuple[str, str, str]:
    """Move a title or footer holding a time into the description, where Discord renders it."""
    if TIMESTAMP.search(title):
        text = f"**{title}**" + (f"\n{text}" if text else "")
        title = ""
    if TIMESTAMP.search(footer):
        subtext = "\n".join(f"-# {line}" for line in footer.splitlines() if line.strip())
        text = f"{text}\n{subtext}" if text else subtext
        footer = ""
    return title, text, footer


def _fit(embed: discord.Embed) -> None:
    """Keep the whole embed within 6,000 characters: drop trailing fields, then cut the text."""
    while len(embed) > EMBED_TOTAL_MAX and embed.fields:
        embed.remove_field(len(embed.fields) - 1)
    excess = len(embed) - EMBED_TOTAL_MAX
    if excess > 0 and embed.description:
        embed.description = truncate(embed.description, max(1, len(embed.description) - excess))


def _view(buttons: tuple[Button, ...], links: tuple[Link, ...] = ()) -> discord.ui.View | None:
    usable = [b for b in buttons if 1 <= len(b.custom_id) <= CUSTOM_ID_MAX]
    if len(usable) < len(buttons):
        log.error("dropped buttons whose custom_id is over %d characters", CUSTOM_ID_MAX)
    items: list[Button | Link] = [*usable, *usable_links(links, LINK_URL_MAX)]
    if len(items) > BUTTONS_PER_ROW * ROWS_MAX:
        log.warning("card has %d buttons and links; Discord shows %d", len(items), BUTTONS_PER_ROW * ROWS_MAX)
        items = items[: BUTTONS_PER_ROW * ROWS_MAX]
    if not items:
        return None
    view = discord.ui.View(timeout=None)
    for index, item in enumerate(items):
        label = clip(readable_times(item.label), LABEL_MAX) or "\u2026"
        if isinstance(item, Link):
            view.add_item(discord.ui.Button(label=label, url=item.url, style=discord.ButtonStyle.link,
                                            row=index // BUTTONS_PER_ROW))  # fmt: skip
            continue
        view.add_item(discord.ui.Button(
            label=label,
            custom_id=item.custom_id,
            style=STYLES[item.style],
            row=index // BUTTONS_PER_ROW,
        ))  # fmt: skip
    view.stop()  # rendered, never listened to: clicks are routed by custom_id
    return view

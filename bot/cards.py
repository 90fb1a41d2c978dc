"""What a handler answers with. Platforms render a Card as a Discord embed and view,
Slack Block Kit, or console text; cogs never see those formats."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Style(StrEnum):
    PRIMARY = "primary"
    SECONDARY = "secondary"
    SUCCESS = "success"
    DANGER = "danger"


@dataclass(frozen=True)
class Button:
    """A button whose id carries everything its handler needs: `action:arg:arg`.

    Handlers are found by `action` (e.g. "poll.vote"), so a click still works after a
    restart, when no in-memory object remembers the message.
    """

    label: str
    action: str
    args: tuple[str | int, ...] = ()
    style: Style = Style.SECONDARY

    @property
    def custom_id(self) -> str:
        return ":".join([self.action, *map(str, self.args)])


@dataclass(frozen=True)
class Field:
    name: str
    value: str
    inline: bool = True


@dataclass(frozen=True)
class Image:
    """A picture made by the bot (a chart), as PNG bytes."""

    filename: str
    data: bytes = field(repr=False)
    alt: str = ""


@dataclass(frozen=True)
class File:
    """A file for the member to download (a CSV export)."""

    filename: str
    data: bytes = field(repr=False)
    mime: str = "text/csv"


@dataclass(frozen=True)
class Card:
    title: str = ""
    text: str = ""
    fields: tuple[Field, ...] = ()
    buttons: tuple[Button, ...] = ()
    image: Image | None = None
    file: File | None = None
    footer: str = ""
    ephemeral: bool = False
    """Shown only to the member who acted ("only you")."""

    def plain_text(self) -> str:
        """The card as plain lines, for notifications and the console."""
        lines = [part for part in (self.title, self.text) if part]
        lines += [f"{f.name}: {f.value}" for f in self.fields]
        if self.footer:
            lines.append(self.footer)
        return "\n".join(lines)


def notice(text: str, *, ephemeral: bool = True) -> Card:
    """A one-line answer, private by default (errors, confirmations)."""
    return Card(text=text, ephemeral=ephemeral)

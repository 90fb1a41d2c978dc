"""Small frozen types shared by the core, the cogs and every platform."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Any, NamedTuple


class Role(IntEnum):
    """Who may do what; each role may do everything the roles below it may."""

    MEMBER = 1
    MODERATOR = 2
    ORGANIZER = 3

    @classmethod
    def parse(cls, text: str) -> Role:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown role {text!r}: use member, moderator or organizer") from None

    @property
    def label(self) -> str:
        return self.name.lower()


def clean_text(text: str) -> str:
    """`text` with anything that is not valid UTF-8 (lone surrogates) replaced by U+FFFD."""
    return str(text).encode("utf-8", "replace").decode("utf-8")


@dataclass(frozen=True)
class Community:
    """A Discord guild, a Slack workspace or the console's single community. Identity is
    (platform, id): the display name is not compared or hashed, so a timer that knows only
    the id finds the same settings as a command."""

    platform: str
    id: str
    name: str = field(default="", compare=False)


@dataclass(frozen=True)
class Place:
    """A channel in a community; identity is (community, channel_id), not the name."""

    community: Community
    channel_id: str
    channel_name: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if type(self.channel_id) is not str or not self.channel_id.isascii():
            object.__setattr__(self, "channel_id", clean_text(self.channel_id))
        if not self.channel_name.isascii():
            object.__setattr__(self, "channel_name", clean_text(self.channel_name))

    @property
    def platform(self) -> str:
        return self.community.platform

    @property
    def mention(self) -> str:
        """`#name`, or where only the id is known the platform's channel link `<#id>`
        (Discord and Slack render it as the channel's name)."""
        if self.channel_name and (self.channel_name != self.channel_id or self.platform == "console"):
            return f"#{self.channel_name}"
        return f"<#{self.channel_id}>"


@dataclass(frozen=True)
class Member:
    """A person as a platform sees them, with the role the platform granted. Two Members
    are equal when they are the same account (platform and id); names and roles change."""

    platform: str
    id: str
    display_name: str = field(compare=False)
    role: Role = field(default=Role.MEMBER, compare=False)

    def __post_init__(self) -> None:
        # the platform boundary: ids are text (a Slack id can arrive as a huge number) and
        # names are valid UTF-8 (a bad byte on the console becomes U+FFFD), so nothing a
        # platform hands over can make a database write fail
        if type(self.id) is not str or not self.id.isascii():
            object.__setattr__(self, "id", clean_text(self.id))
        if not self.display_name.isascii():
            object.__setattr__(self, "display_name", clean_text(self.display_name))

    @property
    def mention(self) -> str:
        return f"@{self.display_name}"


@dataclass(frozen=True)
class MessageRef:
    """Where a sent message lives, so it can be edited later (even after a restart)."""

    platform: str
    channel_id: str
    message_id: str

    def encode(self) -> str:
        return f"{self.platform}:{self.channel_id}:{self.message_id}"

    @classmethod
    def decode(cls, text: str) -> MessageRef:
        platform, channel_id, message_id = text.split(":", 2)
        return cls(platform, channel_id, message_id)


# -- interactions: what a platform hands to Bot.dispatch ---------------------------------


@dataclass(frozen=True)
class Interaction:
    member: Member
    place: Place

    @property
    def community(self) -> Community:
        return self.place.community


@dataclass(frozen=True)
class CommandInvoked(Interaction):
    """A command, either as text (`poll create "Q?" A B`), as typed options (Discord), or
    as a submitted form (`form=True`: `options` are the form's values, see bot/forms.py)."""

    text: str = ""
    name: str | None = None
    options: dict[str, Any] | None = None
    form: bool = False

    def __post_init__(self) -> None:
        if not self.text.isascii():
            object.__setattr__(self, "text", clean_text(self.text))


@dataclass(frozen=True)
class ButtonPressed(Interaction):
    custom_id: str = ""
    message: MessageRef | None = None


@dataclass(frozen=True)
class MessagePosted(Interaction):
    text: str = ""

    def __post_init__(self) -> None:
        if not self.text.isascii():
            object.__setattr__(self, "text", clean_text(self.text))


@dataclass(frozen=True)
class EventInterest(Interaction):
    """A member marked (or unmarked) interest in a platform event listing (a Discord
    Scheduled Event) that the bot created; `listing_id` is the platform's id for it."""

    listing_id: str = ""
    interested: bool = True


@dataclass(frozen=True)
class EventListing:
    """A webinar as a platform's own event listing (Discord Scheduled Events): what the
    platform shows, and `listing_id` once it exists. Times are aware UTC datetimes."""

    community: Community
    title: str
    description: str
    location: str
    starts_at: datetime
    ends_at: datetime
    listing_id: str | None = None
    cancelled: bool = False


@dataclass(frozen=True)
class MemberJoined(Interaction):
    """A member joined the community (a Discord server, a Slack workspace), or only a
    channel of it when `channel_only` (Slack's member_joined_channel)."""

    channel_only: bool = False


@dataclass(frozen=True)
class MemberLeft(Interaction):
    """A member left the community, or only a channel of it when `channel_only`."""

    channel_only: bool = False


class EngagementEvent(NamedTuple):
    """One row of the engagement log; a tuple so it goes to SQLite as it is."""

    at: str
    platform: str
    community_id: str
    member_id: str | None
    kind: str
    cog: str | None
    subject: str | None = None

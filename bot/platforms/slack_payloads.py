"""The shapes of Slack's payloads (step 4 of bot/platforms/slack_edge.py): strict pydantic
models of the slash commands, interactions and events the bot takes, with their limits.
Ids are short strings, texts bounded and valid UTF-8 (no lone surrogates), lists bounded.

Models only: the functions that validate a payload against them (and refuse it) are in
slack_edge; no I/O, no slack library.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from bot.platforms.base import INT64

MAX_ID = 64  # U0123ABCD, C..., T..., trigger ids and timestamps are well within
MAX_NAME = 255  # channel and user names, types, subtypes
MAX_TEXT = 4000  # what a member may type after the slash command
MAX_MESSAGE = 40000  # a chat message (Slack's own limit)
MAX_URL = 2000
MAX_ACTION_ID = 255  # Slack's limit for an action_id
MAX_VALUE = 2000  # and for a button's value
MAX_ACTIONS = 25


def _utf8(value: str) -> str:
    """SQLite, the network and every library after this expect text that encodes."""
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("text is not valid UTF-8") from None
    return value


def _text(max_length: int, min_length: int = 0) -> Any:
    return Annotated[str, StringConstraints(min_length=min_length, max_length=max_length), AfterValidator(_utf8)]


Id = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID, pattern=r"^[A-Za-z0-9._-]+$")]
Name = _text(MAX_NAME)
Url = Annotated[str, StringConstraints(max_length=MAX_URL, pattern=r"^https?://[!-~]+$")]


class Model(BaseModel):
    """Strict: a number where a string belongs (a 20-digit id sent as a number) is refused."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class SlashCommand(Model):
    command: _text(64, 1)  # type: ignore[valid-type]
    text: _text(MAX_TEXT) = ""  # type: ignore[valid-type]
    team_id: Id
    channel_id: Id
    user_id: Id
    channel_name: Name = ""  # type: ignore[valid-type]
    user_name: Name = ""  # type: ignore[valid-type]
    response_url: Url | None = None
    trigger_id: Id | None = None
    enterprise_id: Id | None = None


class Team(Model):
    id: Id
    domain: Name = ""  # type: ignore[valid-type]


class User(Model):
    id: Id
    username: Name = ""  # type: ignore[valid-type]
    name: Name = ""  # type: ignore[valid-type]
    team_id: Id | None = None


class Channel(Model):
    id: Id
    name: Name = ""  # type: ignore[valid-type]


class Container(Model):
    type: Name = ""  # type: ignore[valid-type]
    message_ts: Id | None = None
    channel_id: Id | None = None
    is_ephemeral: bool = False


class Action(Model):
    action_id: _text(MAX_ACTION_ID, 1)  # type: ignore[valid-type]
    value: _text(MAX_VALUE) | None = None  # type: ignore[valid-type]
    action_ts: Id | None = None
    block_id: Name = ""  # type: ignore[valid-type]
    type: Name = ""  # type: ignore[valid-type]


class View(Model):
    id: Id
    hash: Id | None = None
    callback_id: Name = ""  # type: ignore[valid-type]
    type: Name = ""  # type: ignore[valid-type]
    private_metadata: _text(3000) = ""  # type: ignore[valid-type]  # Slack's limit; a form's state (slack_forms)


class BlockActions(Model):
    type: Literal["block_actions"]
    user: User
    team: Team | None = None
    channel: Channel | None = None
    container: Container = Container()
    view: View | None = None  # a click on the App Home tab: a view, no channel
    actions: list[Action] = Field(min_length=1, max_length=MAX_ACTIONS)
    response_url: Url | None = None
    trigger_id: Id | None = None

    @model_validator(mode="after")
    def _somewhere(self) -> BlockActions:
        if self.channel is None and not self.container.channel_id and self.view is None:
            raise ValueError("a click outside any channel or view")
        return self

    @property
    def on_home(self) -> bool:
        """A click in a view (the App Home tab), not on a message in a channel."""
        return self.channel is None and not self.container.channel_id

    @property
    def channel_id(self) -> str:
        return self.channel.id if self.channel is not None else str(self.container.channel_id or "")


class ViewSubmission(Model):
    type: Literal["view_submission"]
    user: User
    team: Team | None = None
    view: View
    trigger_id: Id | None = None


class MessageEvent(Model):
    type: Literal["message"]
    channel: Id
    user: Id | None = None
    text: _text(MAX_MESSAGE) = ""  # type: ignore[valid-type]
    subtype: Name | None = None  # type: ignore[valid-type]
    bot_id: Id | None = None
    channel_type: Name | None = None  # type: ignore[valid-type]
    ts: Id | None = None
    event_ts: Id | None = None


class JoinedUser(Model):
    id: Id
    name: Name = ""  # type: ignore[valid-type]
    is_bot: bool = False


class TeamJoin(Model):
    type: Literal["team_join"]
    user: JoinedUser
    event_ts: Id | None = None


class ChannelMembership(Model):
    type: Literal["member_joined_channel", "member_left_channel"]
    user: Id
    channel: Id
    channel_type: Name | None = None  # type: ignore[valid-type]
    team: Id | None = None
    event_ts: Id | None = None


class AppHomeOpened(Model):
    type: Literal["app_home_opened"]
    user: Id
    channel: Id | None = None
    tab: Name = ""  # type: ignore[valid-type]
    event_ts: Id | None = None


EVENT_MODELS: dict[str, type[Model]] = {
    "app_home_opened": AppHomeOpened,
    "message": MessageEvent,
    "team_join": TeamJoin,
    "member_joined_channel": ChannelMembership,
    "member_left_channel": ChannelMembership,
}


class EventType(Model):
    type: Name  # type: ignore[valid-type]


class EventEnvelope(Model):
    type: Literal["event_callback"]
    event_id: Id
    team_id: Id | None = None
    event_time: int | None = Field(default=None, ge=0, lt=INT64)
    event: EventType


class UrlVerification(Model):
    type: Literal["url_verification"]
    challenge: _text(200, 1)  # type: ignore[valid-type]


class Envelope(Model):
    """Just enough to route an event request or an interactive payload."""

    type: Name  # type: ignore[valid-type]

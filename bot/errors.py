"""Errors whose message is meant for the person who typed the command."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.model import Member


class UserError(Exception):
    """A one-sentence problem shown to the member; never a traceback. `argument` names the
    argument it is about, if one: a submitted form shows the sentence on that field."""

    def __init__(self, message: str = "", argument: str | None = None) -> None:
        super().__init__(message)
        self.argument = argument


class UsageError(UserError):
    """The command was typed wrong: a missing or malformed argument."""


class NotAllowed(UserError):
    """The member may not do that (their role), or not now (over its quota): a refusal, not
    a problem with what they typed or filled in. A form's submission shows it as a notice,
    never on a field, and no form opens for it."""


class DirectMessagesClosed(Exception):
    """A direct message could not reach `member`: they do not accept direct messages from
    the bot (or from server members), or cannot take any. `reason` is one sentence that
    names them, fit to show to whoever asked for the message."""

    def __init__(self, member: Member, reason: str) -> None:
        super().__init__(reason)
        self.member = member
        self.reason = reason


class MessageGone(Exception):
    """The message to edit no longer exists (deleted, or its channel is gone): edits of it
    stop instead of being retried. Platforms raise it from `edit`."""

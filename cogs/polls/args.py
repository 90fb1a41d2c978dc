"""The poll commands' arguments: the create model and its form, a poll's number (with the
open polls here as suggestions) and the export's options."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from pydantic import Field, ValidationInfo, field_validator, model_validator

from bot.commands import Args, Choice, Deadline, YesNo, field_error, suggests
from bot.forms import Form, FormField, exact_instant
from bot.model import Role
from bot.text import neutralise, shows, visible

if TYPE_CHECKING:
    from bot.app import Context
    from cogs.polls import Polls

MAX_OPTIONS = 25
LONGEST_POLL = timedelta(days=32)
SHORTEST_POLL = timedelta(minutes=1)
EXAMPLE = '/poll create "Question?" "Yes" "No"'


class CreatePoll(Args):
    positional = ("question", "options")
    question: str = Field(min_length=1, description="what to ask, up to 300 characters")
    options: list[str] = Field([], validate_default=True, description="the answers to choose from: 2 to 25, each up to 75 characters")
    multi: int = Field(1, ge=1, description="how many answers each member may choose (all: any number)")
    anonymous: YesNo = Field(False, description="yes: votes are never linked to who cast them, not even in the export")
    hidden: YesNo = Field(False, description="yes: the results stay hidden until the poll closes")
    closes: Deadline | None = Field(
        None, description='a duration (2h, 3d) or a time ("friday 5pm") when voting ends; default: closed by hand'
    )

    @model_validator(mode="before")
    @classmethod
    def _multi_all(cls, data: Any) -> Any:
        """`multi=all` (or the form's "several answers" box ticked) allows every option;
        the box left empty allows one."""
        if isinstance(data, dict) and "multi" in data:
            multi = data["multi"]
            if multi is True or (isinstance(multi, str) and multi.strip().lower() in ("all", "yes", "any")):
                data = {**data, "multi": max(1, len(data.get("options") or []))}
            elif multi is False:
                data = {**data, "multi": 1}
        return data

    @field_validator("question")
    @classmethod
    def _question(cls, value: str) -> str:
        visible(value, "question")
        if len(value) > 300:
            raise ValueError(f"the question is {len(value)} characters; keep it to 300")
        return value

    @field_validator("options")
    @classmethod
    def _options(cls, value: list[str]) -> list[str]:
        options = [neutralise(o).strip() for o in value]  # `Yes` and `Yes` + a zero-width space are one
        if len(options) < 2:
            raise ValueError(f"needs at least 2 options, e.g. {EXAMPLE}")
        if len(options) > MAX_OPTIONS:
            raise ValueError(f"has {len(options)} options; a poll takes at most {MAX_OPTIONS}")
        for option in options:
            if not shows(option):
                raise ValueError("an option is empty")
            if len(option) > 75:
                raise ValueError(f"option {option[:20]!r}... is {len(option)} characters; keep options to 75")
        if len({o.casefold() for o in options}) != len(options):
            raise ValueError("two options are the same; make each option different")
        return value

    @field_validator("closes", mode="before")
    @classmethod
    def _picked_closes(cls, value: Any, info: ValidationInfo) -> Any:
        """An exact instant (the form's date and time picker) as the span until it, refused
        without examples of typing when it is not 1 minute to 32 days ahead."""
        now = (info.context or {}).get("now")
        instant = exact_instant(value) if isinstance(value, str) and now is not None else None
        if instant is None:
            return value
        span = instant - now
        if span <= timedelta(0):
            raise ValueError("that time is in the past; pick when voting ends, from 1 minute to 32 days ahead")
        if not SHORTEST_POLL <= span <= LONGEST_POLL:
            raise ValueError("pick when voting ends from 1 minute to 32 days ahead")
        return span

    @field_validator("closes")
    @classmethod
    def _closes(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and not SHORTEST_POLL <= value <= LONGEST_POLL:
            raise ValueError("closes must be between 1 minute and 32 days ahead, e.g. closes=2h, closes=3d or closes=\"friday 5pm\"")
        return value

    @model_validator(mode="after")
    def _multi(self) -> CreatePoll:
        if self.multi > len(self.options):
            raise field_error("multi", f"multi={self.multi} is more than the {len(self.options)} options", self.multi)
        return self


POLL_FORM = Form(
    "Create a poll",
    (
        FormField("question", "Question", required=True, max_length=300, placeholder="What should we read next?"),
        FormField("options", "Options", kind="lines", required=True, max_length=75, items=(2, MAX_OPTIONS),
                  hint="2 to 25 answers, each up to 75 characters"),
        FormField("settings", "Settings", kind="flags", choices=(
            ("multi", "Members may choose several answers"),
            ("anonymous", "Anonymous: votes never linked to voters"),
            ("hidden", "Hide results until the poll closes"),
        )),
        FormField("closes", "Voting ends", kind="datetime", placeholder='2h, 3d or "friday 5pm"',
                  hint="Leave empty to close the poll by hand"),
    ),
    submit="Create poll",
)  # fmt: skip


class PollId(Args):
    positional = ("id",)
    id: int = Field(ge=1, description="the poll's number, as its title and /poll list show it")

    @suggests("id")
    @classmethod
    async def open_here(cls, cog: Polls, ctx: Context, typed: str) -> list[Choice]:
        """The open polls in this channel, newest first (a poll is read and managed only where
        it was asked); to close or delete, a member's own unless a moderator."""
        own_only = getattr(ctx.event, "name", None) in ("poll close", "poll delete") and ctx.member.role < Role.MODERATOR
        choices = []
        for poll_id in reversed(await cog.store.open_polls(ctx.community, ctx.place.channel_id)):
            poll = await cog.store.get(poll_id, ctx.community)
            if poll is not None and not (own_only and poll.creator_id != ctx.member.id):
                choices.append(Choice(f"#{poll.id} {poll.question}", poll.id))
        return choices


class ExportArgs(PollId):
    votes: YesNo = Field(False, description="yes: one row per vote instead of the totals (not for anonymous polls)")

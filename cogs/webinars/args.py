"""The webinar commands' arguments: what each takes and how it is checked."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from pydantic import Field, ValidationInfo, field_validator

from bot.commands import Args, ChannelName, Choice, Duration, suggests
from bot.forms import Form, FormField
from bot.text import visible
from bot.timeparse import parse_duration
from cogs.jobs.args import http_url
from cogs.webinars.when import check_offsets, check_start, parse_start

if TYPE_CHECKING:
    from bot.app import Context
    from cogs.webinars import Webinars


def offsets(value: str) -> list[timedelta]:
    parts = [p.strip() for p in value.replace(";", ",").split(",") if p.strip()]
    return check_offsets([parse_duration(p) for p in parts])


def check_length(value: timedelta) -> timedelta:
    if not timedelta(minutes=5) <= value <= timedelta(hours=12):
        raise ValueError("duration is from 5 minutes to 12 hours, e.g. duration=90m")
    return value


WHEN = 'when it starts, like "Dec 3 2pm", "tuesday 11am ET" or 2026-12-03 14:00'


def start_text(value: str, info: ValidationInfo) -> str:
    """A start that can be read, is to come and is at most two years ahead, checked with the
    other arguments (a form shows every field's problem at once): in the community's zone
    (`now` and `tz` from the validation context; without them the handler checks it)."""
    context = info.context or {}
    if "now" in context and "tz" in context:
        check_start(parse_start(value, now=context["now"], zone=context["tz"].key), context["now"])
    return value


async def upcoming(cog: Webinars, ctx: Context) -> list[Choice]:
    """This community's upcoming webinars, soonest first, with their local start."""
    return [Choice(f"#{w.id} {w.title} · {w.starts_at.astimezone(ctx.tz):%b %-d %H:%M}", w.id)
            for w in await cog.store.upcoming(ctx.community, ctx.now)]  # fmt: skip


class AddArgs(Args):
    positional = ("title", "when")
    title: str = Field(min_length=1, max_length=200, description="the webinar's title")
    when: str = Field(min_length=1, max_length=100, description=WHEN)
    duration: Duration = Field(timedelta(hours=1), description="how long it runs, like 90m or 2h")
    url: str | None = Field(None, description="the link to join, starting with https://")
    description: str = Field("", max_length=2000, description="what it is about, for the announcement")
    reminders: str = Field("24h,1h", description="when to remind before the start, separated by commas, like 24h,1h")
    channel: ChannelName | None = Field(None, description="where to announce it (default: webinars_channel, else here)")

    _url = field_validator("url")(classmethod(lambda cls, v: v if v is None else http_url(v)))
    _title = field_validator("title")(classmethod(lambda cls, v: visible(v, "title")))
    _when = field_validator("when")(classmethod(lambda cls, v, info: start_text(v, info)))

    @field_validator("reminders")
    @classmethod
    def _reminders(cls, value: str) -> str:
        offsets(value)  # raises ValueError with one sentence
        return value

    @field_validator("duration")
    @classmethod
    def _duration(cls, value: timedelta) -> timedelta:
        return check_length(value)


ADD_FORM = Form(
    "Schedule a webinar",
    (
        FormField("title", "Title", required=True, max_length=200),
        FormField("when", "Starts", kind="datetime", required=True, placeholder='"Dec 3 2pm" or 2026-12-03 14:00',
                  hint="In the community's time zone unless you name another (ET, PT, UTC)",
                  picker_hint="In your own time zone; members see it in theirs"),
        FormField("url", "Link to join", placeholder="https://..."),
        FormField("description", "What it is about", kind="paragraph", max_length=2000),
        FormField("duration", "How long", placeholder="1h", hint="Like 90m or 2h; 1 hour if empty"),
        FormField("channel", "Announce in", kind="channel", hint="Default: the webinars channel, else here"),
        FormField("reminders", "Reminders before", placeholder="24h,1h", hint="Separated by commas; 24h,1h if empty"),
    ),
    submit="Schedule",
)  # fmt: skip
"""The form of /webinar add; Discord shows its first five fields (the rest keep their defaults)."""


class WebinarId(Args):
    positional = ("id",)
    id: int = Field(ge=1, description="the webinar's number, as /webinar list shows it")

    @suggests("id")
    @classmethod
    async def upcoming(cls, cog: Webinars, ctx: Context, typed: str) -> list[Choice]:
        return await upcoming(cog, ctx)


class EditArgs(WebinarId):
    when: str | None = Field(None, max_length=100, description="the new start, " + WHEN.removeprefix("when it starts, "))
    title: str | None = Field(None, min_length=1, max_length=200, description="the new title")
    url: str | None = Field(None, description="the new link to join, starting with https://")
    description: str | None = Field(None, max_length=2000, description="the new description")
    duration: Duration | None = Field(None, description="the new length, like 90m or 2h")

    _url = field_validator("url")(classmethod(lambda cls, v: v if v is None else http_url(v)))
    _title = field_validator("title")(classmethod(lambda cls, v: v if v is None else visible(v, "title")))

    @field_validator("duration")
    @classmethod
    def _duration(cls, value: timedelta | None) -> timedelta | None:
        return value if value is None else check_length(value)


class IcsArgs(Args):
    positional = ("which",)
    which: str = Field(description="a webinar's number, or all for every upcoming one")

    @suggests("which")
    @classmethod
    async def upcoming(cls, cog: Webinars, ctx: Context, typed: str) -> list[Choice]:
        return [Choice("all upcoming webinars", "all"),
                *(Choice(c.label, str(c.value)) for c in await upcoming(cog, ctx))]  # fmt: skip

    @field_validator("which")
    @classmethod
    def _which(cls, value: str) -> str:
        if value.lower() != "all" and not (value.isdigit() and 0 < int(value) < 2**63):
            raise ValueError("give a webinar number or all, e.g. /webinar ics 3")
        return value.lower()


class ImportArgs(Args):
    positional = ("url",)
    url: str = Field(description="the iCalendar (.ics) feed's address, starting with https://")
    channel: ChannelName | None = Field(None, description="where to announce them (default: webinars_channel, else here)")

    _url = field_validator("url")(classmethod(lambda cls, v: http_url(v)))

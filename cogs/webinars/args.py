"""The webinar commands' arguments: what each takes and how it is checked."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, field_validator

from bot.commands import Args, Duration
from bot.timeparse import parse_duration
from cogs.jobs import http_url
from cogs.webinars.when import check_offsets


def offsets(value: str) -> list[timedelta]:
    parts = [p.strip() for p in value.replace(";", ",").split(",") if p.strip()]
    return check_offsets([parse_duration(p) for p in parts])


def check_length(value: timedelta) -> timedelta:
    if not timedelta(minutes=5) <= value <= timedelta(hours=12):
        raise ValueError("duration is from 5 minutes to 12 hours, e.g. duration=90m")
    return value


class AddArgs(Args):
    positional = ("title", "when")
    title: str = Field(min_length=1, max_length=200)
    when: str = Field(min_length=1, max_length=100)
    duration: Duration = timedelta(hours=1)
    url: str | None = None
    description: str = Field("", max_length=2000)
    reminders: str = "24h,1h"
    channel: str | None = None

    _url = field_validator("url")(classmethod(lambda cls, v: v if v is None else http_url(v)))

    @field_validator("reminders")
    @classmethod
    def _reminders(cls, value: str) -> str:
        offsets(value)  # raises ValueError with one sentence
        return value

    @field_validator("duration")
    @classmethod
    def _duration(cls, value: timedelta) -> timedelta:
        return check_length(value)


class EditArgs(Args):
    positional = ("id",)
    id: int = Field(ge=1)
    when: str | None = Field(None, max_length=100)
    title: str | None = Field(None, min_length=1, max_length=200)
    url: str | None = None
    description: str | None = Field(None, max_length=2000)
    duration: Duration | None = None

    _url = field_validator("url")(classmethod(lambda cls, v: v if v is None else http_url(v)))

    @field_validator("duration")
    @classmethod
    def _duration(cls, value: timedelta | None) -> timedelta | None:
        return value if value is None else check_length(value)


class WebinarId(Args):
    positional = ("id",)
    id: int = Field(ge=1)


class IcsArgs(Args):
    positional = ("which",)
    which: str

    @field_validator("which")
    @classmethod
    def _which(cls, value: str) -> str:
        if value.lower() != "all" and not (value.isdigit() and 0 < int(value) < 2**63):
            raise ValueError("give a webinar number or all, e.g. /webinar ics 3")
        return value.lower()


class ImportArgs(Args):
    positional = ("url",)
    url: str
    channel: str | None = None

    _url = field_validator("url")(classmethod(lambda cls, v: http_url(v)))

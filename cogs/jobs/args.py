"""The job commands' arguments: what each takes and how it is checked (feed and job
addresses with `http_url`), the subscribe form, and a feed's number (with this
community's feeds as suggestions)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from pydantic import Field, ValidationInfo, field_validator

from bot.commands import Args, ChannelName, Choice, When, suggests
from bot.forms import Form, FormField
from bot.text import quoted, visible
from bot.timeparse import FURTHEST_AHEAD

if TYPE_CHECKING:
    from bot.app import Context
    from cogs.jobs import JobPosts

HOST = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$|^\[[0-9a-f:.]+\]$")


def http_url(value: str) -> str:
    """An http(s) address with a well-formed host and no spaces; raises ValueError."""
    value = value.strip()
    try:
        parts = urlsplit(value)
        host = parts.netloc.rsplit("@", 1)[-1].rsplit(":", 1)[0] if not parts.netloc.endswith("]") else parts.netloc
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        host, port_ok, parts = "", False, urlsplit("")
    if (parts.scheme not in ("http", "https") or not host or not port_ok or any(c.isspace() for c in value)
            or len(value) > 2000 or not HOST.match(host.lower().rstrip("."))):  # fmt: skip
        raise ValueError(f"{quoted(value)} is not a web address; give one starting with https://")
    return value


class SubscribeArgs(Args):
    positional = ("url",)
    url: str = Field(description="the RSS or Atom feed's address, starting with https://")
    keywords: str | None = Field(None, description="post only jobs with one of these terms, separated by commas")
    exclude: str | None = Field(None, description="skip jobs with any of these terms, separated by commas")
    channel: ChannelName | None = Field(None, description="where new jobs go (default: jobs_channel, else here)")
    backfill: int = Field(0, ge=0, le=20, description="how many of the newest jobs already in the feed to post now")

    _url = field_validator("url")(classmethod(lambda cls, v: http_url(v)))


SUBSCRIBE_FORM = Form(
    "Subscribe to a job feed",
    (
        FormField("url", "Feed address (RSS or Atom)", required=True, placeholder="https://..."),
        FormField("channel", "Post jobs in", kind="channel", hint="Default: the jobs channel, else here"),
        FormField("keywords", "Only jobs mentioning", placeholder="cataloging, metadata",
                  hint="Separated by commas; every job if empty"),
        FormField("exclude", "Skip jobs mentioning", placeholder="intern"),
        FormField("backfill", "Post the newest now", kind="choice",
                  choices=(("0", "None"), ("3", "3"), ("5", "5"), ("10", "10"), ("20", "20"))),
    ),
    submit="Subscribe",
)  # fmt: skip


class FeedId(Args):
    positional = ("id",)
    id: int = Field(ge=1, description="the feed's number, as /jobs feeds lists it")

    @suggests("id")
    @classmethod
    async def feeds_here(cls, cog: JobPosts, ctx: Context, typed: str) -> list[Choice]:
        """This community's job feeds (a feed is managed from anywhere in its community)."""
        return [Choice(f"#{feed.id} {feed.title or feed.url}", feed.id) for feed in await cog.store.feeds(ctx.community)]


class UrlArgs(Args):
    positional = ("url",)
    url: str = Field(description="the RSS or Atom feed's address, starting with https://")

    _url = field_validator("url")(classmethod(lambda cls, v: http_url(v)))


class PostArgs(Args):
    positional = ("title", "url")
    title: str = Field(min_length=1, max_length=200, description="the job's title")
    url: str = Field(description="the job ad's address, starting with https://")
    employer: str | None = Field(None, max_length=120, description="who is hiring")
    location: str | None = Field(None, max_length=120, description="where the job is, or remote")
    closes: When | None = Field(None, description='the application deadline, like 2026-05-01 or "friday 5pm"')

    _url = field_validator("url")(classmethod(lambda cls, v: http_url(v)))
    _title = field_validator("title")(classmethod(lambda cls, v: visible(v, "title")))

    @field_validator("closes")
    @classmethod
    def _closes(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        now = (info.context or {}).get("now")
        if value is not None and now is not None and value > now + FURTHEST_AHEAD:
            raise ValueError("closes is more than two years ahead; give the application deadline, like 2026-05-01")
        return value


class LatestArgs(Args):
    positional = ("count",)
    count: int = Field(5, ge=1, le=20, description="how many job posts to show")
    keywords: str | None = Field(None, description="only jobs with one of these terms, separated by commas")

"""Trivia commands' arguments: each field describes itself (Discord shows the descriptions,
`/help trivia start` too) and each model lists `examples` for `/help`."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, field_validator

from bot.commands import Args, ChannelName, Choice, suggests
from bot.text import echo, shows

if TYPE_CHECKING:
    from bot.app import Context

HH_MM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
REASON_MAX = 200
"""A flag's reason is a sentence or two; longer is refused with the length."""


class StartArgs(Args):
    positional = ("category",)
    examples: ClassVar[tuple[str, ...]] = ("/trivia start", "/trivia start marc21 questions=5 seconds=30")
    category: str | None = Field(None, description="a category from /trivia categories; none means all of them")
    questions: int = Field(10, ge=1, le=50, description="how many questions the round asks")
    seconds: int = Field(20, ge=10, le=120, description="seconds to answer each question")

    @suggests("category")
    @classmethod
    async def categories(cls, cog: Any, ctx: Context, typed: str) -> list[Choice]:
        return loaded_categories(cog)


class LeaderboardArgs(Args):
    positional = ("period",)
    examples: ClassVar[tuple[str, ...]] = ("/trivia leaderboard", "/trivia leaderboard all category=rda scope=everywhere")
    period: Literal["week", "month", "all"] = Field("week", description="the last week, the last month, or all time")
    category: str | None = Field(None, description="count only this category's questions")
    scope: Literal["here", "platform", "everywhere"] = Field(
        "here", description="this community, every community on this platform, or everywhere"
    )

    @suggests("category")
    @classmethod
    async def categories(cls, cog: Any, ctx: Context, typed: str) -> list[Choice]:
        return loaded_categories(cog)


class FlagArgs(Args):
    positional = ("question_id", "reason")
    examples: ClassVar[tuple[str, ...]] = ("/trivia flag marc21-001 the answer changed in 2019",)
    question_id: str = Field(description="the id at the foot of the question, like marc21-001")
    reason: list[str] = Field([], validate_default=True, description=f"what is wrong, up to {REASON_MAX} characters")

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: list[str]) -> list[str]:
        if not value or not shows(" ".join(value)):
            raise ValueError("say what is wrong, e.g. /trivia flag marc21-001 the answer changed in 2019")
        length = len(" ".join(value))
        if length > REASON_MAX:
            raise ValueError(f"the reason is {length} characters; keep it to {REASON_MAX} (a sentence or two)")
        return value


class QuestionArgs(Args):
    positional = ("question_id",)
    examples: ClassVar[tuple[str, ...]] = ("/trivia restore marc21-001",)
    question_id: str = Field(description="the question's id, as /trivia flags lists it")


class DailyArgs(Args):
    positional = ("state",)
    examples: ClassVar[tuple[str, ...]] = ("/trivia daily on at=09:30 channel=#trivia", "/trivia daily off")
    state: Literal["on", "off"] = Field(description="on starts the daily question, off stops it")
    at: str = Field("10:00", description="the local time of day to post, like 10:00 or 14:30")
    channel: ChannelName | None = Field(None, description="the channel to post in (default: trivia_channel, else here)")

    @field_validator("at")
    @classmethod
    def _at(cls, value: str) -> str:
        match = HH_MM.match(value)
        if not match:
            raise ValueError(f"at={echo(value)} should be a time of day like 10:00 or 14:30")
        return f"{int(match.group(1)):02d}:{match.group(2)}"


def loaded_categories(cog: Any) -> list[Choice]:
    """The categories of the loaded packs (the trivia cogs keep them in `bank`)."""
    return [Choice(f"{name}: {pack.title}", name) for name, pack in sorted(cog.bank.packs.items())]

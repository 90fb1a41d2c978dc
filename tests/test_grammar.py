"""The one text grammar: tokens, options, lists, durations, times, friendly errors."""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import Field

from bot.commands import Args, Duration, Registry, When, YesNo, command
from bot.errors import UsageError
from bot.grammar import UnknownCommand, build_args, resolve_text
from bot.model import Role
from bot.timeparse import format_duration, parse_duration, parse_when

NOW = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)  # 09:00 in Chicago, a Friday
CHICAGO = ZoneInfo("America/Chicago")
CONTEXT = {"now": NOW, "tz": CHICAGO}


class CreatePoll(Args):
    positional = ("question", "options")
    question: str = Field(max_length=300)
    options: list[str]
    multi: int = Field(1, ge=1)
    anonymous: YesNo = False
    closes: Duration | None = None


class Start(Args):
    positional = ("category",)
    category: str | None = None
    questions: int = Field(10, ge=1, le=50)
    period: Literal["week", "month", "all"] = "week"


class Add(Args):
    positional = ("title", "when")
    title: str
    when: When


class Catalogue:
    @command("poll create", args=CreatePoll)
    async def create(self, ctx: object, args: CreatePoll) -> None: ...

    @command("trivia start", args=Start)
    async def start(self, ctx: object, args: Start) -> None: ...

    @command("webinar add", args=Add, role=Role.MODERATOR)
    async def add(self, ctx: object, args: Add) -> None: ...

    @command("follow")
    async def follow(self, ctx: object, args: object) -> None: ...


@pytest.fixture(scope="module")
def registry() -> Registry:
    reg = Registry()
    reg.collect(Catalogue())
    return reg


def parse(registry: Registry, text: str) -> Args:
    found, tokens = resolve_text(registry, text)
    return build_args(found.spec, tokens, CONTEXT)


def test_positionals_list_and_options(registry: Registry) -> None:
    args = parse(registry, 'poll create "Which standard?" MARC RDA "Dublin Core" multi=2 anonymous=yes closes=1h')
    assert args == CreatePoll(
        question="Which standard?", options=["MARC", "RDA", "Dublin Core"], multi=2,
        anonymous=True, closes=timedelta(hours=1),
    )  # fmt: skip


def test_smart_quotes_from_phones_work(registry: Registry) -> None:
    args = parse(registry, "poll create \u201cBest tag?\u201d 245 650")
    assert args.question == "Best tag?"


def test_an_unknown_option_is_refused_with_a_suggestion_and_an_escape(registry: Registry) -> None:
    with pytest.raises(UsageError, match=r"there is no option anonymus=\. Did you mean anonymous=\? To use 'anonymus=yes' as text, write anonymus\\=yes"):
        parse(registry, 'poll create "Salary survey" "Under 50k" "50k+" anonymus=yes')
    with pytest.raises(UsageError, match=r"there is no option a=\."):
        parse(registry, 'poll create "Pick" a=b c=d')
    args = parse(registry, r'poll create "Pick" a\=b "c\=d"')
    assert args.options == ["a=b", "c=d"]


def test_option_names_are_read_after_folding_case_width_and_invisible_characters(registry: Registry) -> None:
    for typed in ("Anonymous=yes", "\uff41nonymous=yes", "anonymous\u200b=yes", "\u202eanonymous=yes", "ANONYMOUS=yes"):
        assert parse(registry, f'poll create "Pay?" a b {typed}').anonymous is True, typed
    with pytest.raises(UsageError, match="Did you mean anonymous="):
        parse(registry, 'poll create "Pay?" a b Anonymus=yes')


def test_a_repeated_option_is_refused(registry: Registry) -> None:
    with pytest.raises(UsageError, match="multi= is given twice"):
        parse(registry, "poll create Q a b multi=1 multi=2")



def test_list_option_as_one_string_splits_on_semicolons(registry: Registry) -> None:
    args = parse(registry, 'poll create "Pick" options="x; y;z"')
    assert args.options == ["x", "y", "z"]


def test_missing_argument_names_it_and_shows_usage(registry: Registry) -> None:
    with pytest.raises(UsageError, match=r"poll create: OPTIONS is missing\. Usage: /poll create QUESTION OPTION OPTION\.\.\."):
        parse(registry, 'poll create "Question?"')


def test_bad_number_names_the_argument(registry: Registry) -> None:
    with pytest.raises(UsageError, match=r"trivia start: questions must be a whole number \(got 'ten'\)"):
        parse(registry, "trivia start questions=ten")


def test_range_and_choice_errors_name_the_argument(registry: Registry) -> None:
    with pytest.raises(UsageError, match="questions should be less than or equal to 50"):
        parse(registry, "trivia start questions=99")
    with pytest.raises(UsageError, match="period should be 'week', 'month' or 'all'"):
        parse(registry, "trivia start period=year")


def test_too_many_positionals_is_an_error(registry: Registry) -> None:
    with pytest.raises(UsageError, match="unexpected extra"):
        parse(registry, "trivia start marc21 extra")


def test_unclosed_quote_is_a_user_error(registry: Registry) -> None:
    with pytest.raises(UsageError, match="quote is not closed"):
        parse(registry, 'poll create "Which')


def test_unknown_command_suggests_the_closest(registry: Registry) -> None:
    with pytest.raises(UnknownCommand, match=r"Unknown command /folow\. Did you mean /follow\? Try /help\."):
        parse(registry, "folow")
    with pytest.raises(UnknownCommand, match=r"Unknown command /poll creat\. Did you mean /poll create\?"):
        parse(registry, "poll creat")
    with pytest.raises(UnknownCommand, match=r"^Unknown command /zzzz\. Try /help\.$"):
        parse(registry, "zzzz")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("10m", 600), ("2h", 7200), ("3d", 259200), ("1w", 604800), ("1h30m", 5400),
     ("2 hours", 7200), ("1.5h", 5400)],
)  # fmt: skip
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["45", "2027", "1700", " 90 ", "1.5"])
def test_a_number_without_a_unit_is_not_a_duration(text: str) -> None:
    with pytest.raises(ValueError, match=r"has no unit; durations look like"):
        parse_duration(text)
    assert parse_duration(text, unit="s") == timedelta(seconds=float(text))  # the console's `:wait 90`


@pytest.mark.parametrize("text", ["soon", "10x", "h", "", "1h and 2m"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="durations look like"):
        parse_duration(text)


def test_format_duration() -> None:
    assert format_duration(timedelta(hours=1)) == "1 hour"
    assert format_duration(timedelta(minutes=90)) == "1 hour 30 minutes"
    assert format_duration(timedelta(seconds=20)) == "20 seconds"


@pytest.mark.parametrize(
    ("text", "expected_local"),
    [
        ("2026-12-01T14:00", datetime(2026, 12, 1, 14, 0)),
        ("2026-12-01 14:00", datetime(2026, 12, 1, 14, 0)),
        ("tomorrow 2pm", datetime(2026, 11, 28, 14, 0)),
        ("today 17:30", datetime(2026, 11, 27, 17, 30)),
        ("monday 10am", datetime(2026, 11, 30, 10, 0)),
        ("friday 10am", datetime(2026, 12, 4, 10, 0)),
        ("2pm", datetime(2026, 11, 27, 14, 0)),
        ("8am", datetime(2026, 11, 28, 8, 0)),
        ("Dec 3 2pm", datetime(2026, 12, 3, 14, 0)),
    ],
)
def test_times_read_in_the_community_zone(text: str, expected_local: datetime) -> None:
    assert parse_when(text, now=NOW, tz=CHICAGO) == expected_local.replace(tzinfo=CHICAGO).astimezone(UTC)


def test_relative_time() -> None:
    assert parse_when("in 2 hours", now=NOW, tz=CHICAGO) == NOW + timedelta(hours=2)


def test_when_field_goes_through_the_grammar(registry: Registry) -> None:
    args = parse(registry, 'webinar add "RDA basics" "tomorrow 2pm"')
    assert args.when == datetime(2026, 11, 28, 20, 0, tzinfo=UTC)
    with pytest.raises(UsageError, match="is not a time I understand"):
        parse(registry, 'webinar add "RDA basics" "when pigs fly"')


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("poll create Q a b closes=99999999999w", "'99999999999w' is far too long; durations look like"),
        ('webinar add RDA "in 999999999 days"', "'in 999999999 days' is out of range; times look like"),
        ('webinar add RDA "9999-12-31 23:59"', "'9999-12-31 23:59' is out of range; times look like"),
        ("poll create Q a b multi=99999999999999999999", "multi=99999999999999999999 is out of range"),
    ],
)
def test_values_too_big_to_handle_are_usage_errors_not_crashes(registry: Registry, text: str, message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        parse(registry, text)


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=80))
def test_no_input_raises_anything_but_a_usage_error(registry: Registry, text: str) -> None:
    with contextlib.suppress(UsageError):
        parse(registry, text)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["poll create ", "trivia start ", "webinar add "]), st.text(max_size=60))
def test_known_commands_with_any_arguments_raise_only_usage_errors(registry: Registry, head: str, rest: str) -> None:
    with contextlib.suppress(UsageError):
        parse(registry, head + rest)


def test_an_exact_name_is_looked_up_without_the_grammar(registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.grammar

    def no_grammar(text: str) -> list[str]:
        raise AssertionError(f"tokenized {text!r}")

    with monkeypatch.context() as patch:
        patch.setattr(bot.grammar, "tokenize", no_grammar)
        for name in ("follow", "trivia start", "poll create"):
            found, tokens = resolve_text(registry, name)
            assert (found.spec.name, tokens) == (name, [])
    for text in ("Follow", "/follow", " follow ", "trivia   start", "TRIVIA start"):  # other spellings: the grammar
        found, tokens = resolve_text(registry, text)
        assert found.spec.name == text.strip(" /").lower().replace("   ", " ") and tokens == []
    with pytest.raises(UsageError, match="QUESTION is missing"):  # the name alone still has its arguments checked
        parse(registry, "poll create")


def test_a_command_without_arguments_shares_one_frozen_instance(registry: Registry) -> None:
    spec = registry.commands["follow"].spec
    first, again = build_args(spec, [], CONTEXT), build_args(spec, [], CONTEXT)
    assert first is again is spec.no_args
    with pytest.raises(ValueError):  # frozen: no handler can change what the next call gets
        first.extra = 1  # type: ignore[attr-defined]
    assert registry.commands["trivia start"].spec.no_args is None  # a command with arguments builds its own
    with pytest.raises(UsageError, match="unexpected"):
        build_args(spec, ["surprise"], CONTEXT)

"""Errors repeat at most 80 characters of what a member typed, whatever the command, the
option, the reader that refused it (the grammar, pydantic, a validator, a handler) and
however long the input: `bot.text.echo` is the one clip."""

from __future__ import annotations

import asyncio
import string
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from bot.app import Bot
from bot.cards import Card
from bot.grammar import describe_error
from bot.model import CommandInvoked
from bot.text import ECHO_LIMIT, clip_echoes, echo, quoted
from tests.harness import TestBot, organizer_bot

FILLERS = {  # a value each required argument accepts, so the junk is what gets refused
    "question": "Lunch?", "options": "a;b", "id": "1", "question_id": "rda-001", "reason": "wrong",
    "state": "on", "url": "http://127.0.0.1:9/feed", "title": "Talk", "when": "tomorrow 2pm", "which": "1",
    "network": "facebook", "count": "5", "key": "jobs_channel", "value": "#jobs",
}  # fmt: skip
ALPHABET = string.ascii_letters + string.digits + ".,:;/-_+#@!?()[]{}<>&*%$~^|" + "éЖ中€"
JUNK = st.text(alphabet=ALPHABET + " ", min_size=ECHO_LIMIT + 70, max_size=700).filter(lambda s: s.strip() == s)
ERROR_BOUND = 900
"""An error is at most this long, however long the input (the longest usage line is ~200)."""

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_echo_and_quoted_cut_to_80_characters() -> None:
    assert echo("z" * 300) == "z" * 79 + "…" and len(echo("z" * 300)) == ECHO_LIMIT
    assert echo("a  b\nc") == "a b c" and quoted("x" * 81) == repr("x" * 79 + "…")
    assert echo(10**100).endswith("…") and len(echo(10**100)) == ECHO_LIMIT


def longest_echo(text: str, typed: str) -> int:
    """The longest run of `text` that repeats part of `typed` (in any case)."""
    text, typed = text.lower(), typed.lower()
    best = 0
    for start in range(len(text)):
        while start + best < len(text) and text[start : start + best + 1] in typed:
            best += 1
    return best


@given(typed=JUNK, before=st.text(max_size=40), after=st.text(max_size=40),
       change=st.sampled_from([str, str.upper, str.lower, repr, lambda s: s[3:-3]]))  # fmt: skip
@settings(max_examples=200, deadline=None)
def test_clip_echoes_cuts_any_long_echo_in_a_message(typed: str, before: str, after: str, change: Any) -> None:
    message = f"{before}{change(typed)}{after}"
    clipped = clip_echoes(message, {"field": [typed]})
    assert longest_echo(clipped, typed) <= ECHO_LIMIT
    assert len(clipped) <= len(before) + len(after) + ECHO_LIMIT + 2


class Pair(BaseModel):
    number: int
    ratio: float
    pick: list[int]


@pytest.mark.parametrize("field", ["number", "ratio", "pick"])
def test_describe_error_never_repeats_more_than_80_characters_of_pydantics_message(field: str) -> None:
    junk = "9z" * 200
    data: dict[str, Any] = {"number": 1, "ratio": 1.0, "pick": [1], field: [junk] if field == "pick" else junk}
    with pytest.raises(ValidationError) as caught:
        Pair.model_validate(data)
    error = caught.value.errors(include_url=False)[0]
    forged = {**error, "msg": f"Input should be fine, not {junk!r} nor {junk.upper()}"}  # a message that embeds it
    for each in (error, forged):
        described = describe_error(each)
        assert longest_echo(described, junk) <= ECHO_LIMIT and len(described) < 250, described


# -- every command, every option, through the real dispatch ----------------------------------


class Refusals:
    """The error cards the Bot answers with (`Bot._safe_respond` answers only errors)."""

    def __init__(self) -> None:
        self.texts: list[str] = []


@pytest.fixture(scope="module")
def echo_bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[asyncio.AbstractEventLoop, TestBot, Refusals]]:
    with organizer_bot(tmp_path_factory.mktemp("echo")) as (loop, testbot):
        refusals = Refusals()
        original = Bot._safe_respond

        async def spy(self: Bot, responder: Any, card: Card) -> None:
            refusals.texts.append(card.plain_text())
            await original(self, responder, card)

        Bot._safe_respond = spy  # type: ignore[method-assign]
        try:
            yield loop, testbot, refusals
        finally:
            Bot._safe_respond = original  # type: ignore[method-assign]


def _slots() -> list[tuple[str, str]]:
    from pathlib import Path

    registry = TestBot(Path("/tmp/unused-echo")).bot.registry
    slots = [(name, field) for name, cmd in registry.commands.items() for field in cmd.spec.args.model_fields]
    slots += [(name, "(extra)") for name in registry.commands]  # one word more than the command takes
    return [*slots, ("(command)", "(command)"), ("poll", "(command)")]  # an unknown command or subcommand


@given(slot=st.sampled_from(_slots()), junk=JUNK, typed_options=st.booleans())
@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])  # fmt: skip
def test_no_error_repeats_more_than_80_characters_of_any_option(echo_bot: Any, slot: tuple[str, str], junk: str,
                                                                typed_options: bool) -> None:  # fmt: skip
    loop, testbot, refusals = echo_bot
    name, field = slot
    refusals.texts.clear()
    if field == "(command)":
        event = CommandInvoked(testbot.console.member, testbot.console.place, text=f"{name} {junk}".strip())
    else:
        command = testbot.bot.registry.commands[name]
        args = command.spec.args
        options = {f: FILLERS.get(f, "1") for f, info in args.model_fields.items() if info.is_required()}
        if field != "(extra)":
            options[field] = junk
        if typed_options and field != "(extra)":  # as Discord sends them
            event = CommandInvoked(testbot.console.member, testbot.console.place, name=name, options=options)
        else:
            words = [f"{f}={_quote(v)}" for f, v in options.items()] + ([_quote(junk)] if field == "(extra)" else [])
            event = CommandInvoked(testbot.console.member, testbot.console.place, text=" ".join([name, *words]))
    loop.run_until_complete(testbot.bot.dispatch(event, testbot.console._responder()))
    loop.run_until_complete(testbot.bot.idle())
    for text in refusals.texts:
        assert longest_echo(text, junk) <= ECHO_LIMIT, (slot, text)
        assert len(text) <= ERROR_BOUND, (slot, text)


def _quote(value: str) -> str:
    return f'"{value}"' if " " in value else value


def test_an_echo_cut_twice_keeps_one_ellipsis_and_the_spacing() -> None:
    """A validator's own echo ("at=ZZZ…") that the whole command line repeats too is cut
    again: one "…" at the end, and the space before it kept."""
    typed = "trivia daily on at=" + "Z" * 300
    message = "trivia daily: at=" + "Z" * 300 + " should be a time of day like 10:00 or 14:30"
    for once in (message, clip_echoes(message, "Z" * 300)):
        clipped = clip_echoes(once, typed)
        assert clipped.startswith("trivia daily: at=Z") and clipped.endswith("… should be a time of day like 10:00 or 14:30")
        assert clipped.count("…") == 1 and longest_echo(clipped, typed) <= ECHO_LIMIT
    assert echo("a" * 78 + "……" + "b") == "a" * 78 + "…"  # typed ellipses: still one at the cut


@pytest.mark.parametrize(
    ("line", "cut"),
    [
        (f"/trivia daily on at={'Z' * 300}", "at=Z"),
        (f'/webinar add T "tomorrow 2pm" url={"Z" * 300}', "'Z"),
        (f"/jobs subscribe {'Z' * 300}", "'Z"),
        (f"/jobs subscribe https://{'Z' * 300}.org/feed", "'https://Z"),
        (f"/jobs post T {'Z' * 300}", "'Z"),
    ],
)
async def test_every_cut_echo_ends_in_one_ellipsis(testbot: TestBot, line: str, cut: str) -> None:
    out = (await testbot.push(":as olga organizer", line)).splitlines()[-1]
    assert out.count("…") == 1 and "……" not in out, out
    assert f": {cut}" in out or f" {cut}" in out, out
    assert ":at=" not in out and longest_echo(out, line) <= ECHO_LIMIT, out

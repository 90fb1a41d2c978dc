"""Hypothesis fuzzing of every command's text and of button ids through the real dispatch
path: bad input always gets one sentence, never an internal error or a logged traceback."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.model import ButtonPressed, Member
from bot.platforms.base import custom_id_fits
from tests.harness import TestBot, organizer_bot

# commands that fetch the URL they are given are left out: random hosts would mean DNS
# look-ups beyond this machine (their URL checks are tested in test_jobs and test_webinars)
FETCHING = {"jobs subscribe", "jobs test", "webinar import", "stats accounts"}
SORRY = "Something went wrong"
FUZZ = settings(max_examples=250, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])  # fmt: skip


class Loud(logging.Handler):
    """Collects records with a traceback or at ERROR."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def fuzz_bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[asyncio.AbstractEventLoop, TestBot, Loud]]:
    with organizer_bot(tmp_path_factory.mktemp("fuzz")) as (loop, testbot):
        loud = Loud()
        logging.getLogger().addHandler(loud)
        try:
            yield loop, testbot, loud
        finally:
            logging.getLogger().removeHandler(loud)


def _names() -> list[str]:
    from pathlib import Path

    return sorted(set(TestBot(Path("/tmp/unused-fuzz")).bot.registry.commands) - FETCHING)


WORDS = st.sampled_from(["1", "2", "7", "42", "0", "-1", "99999999999999999999", "all", "on", "off", "yes", "x=1", "closes=1h",
                         "multi=3", "at=25:00", "\"", "'", "\\", "\u202e", "\u200b", "@everyone", "<!channel>",
                         "2026-02-30", "tomorrow 2pm", "9999-12-31", "re:(", "https://x.org", "#chan", "A" * 300])  # fmt: skip
TEXT = st.one_of(st.text(max_size=60), st.lists(WORDS, max_size=6).map(" ".join))


@FUZZ
@given(name=st.sampled_from(_names()), text=TEXT)
def test_any_text_after_any_command_is_answered_in_one_sentence(fuzz_bot: Any, name: str, text: str) -> None:
    loop, testbot, loud = fuzz_bot
    loud.records.clear()
    out = loop.run_until_complete(testbot.push(f"/{name} {text}".replace("\n", " ")))
    assert SORRY not in out, out
    assert not loud.records, [r.getMessage() for r in loud.records]


ACTIONS = st.sampled_from(["poll.vote", "trivia.answer", "trivia.daily", "jobs.save", "webinar.rsvp", "webinar.remind",
                           "privacy.forget", "nothing.here", ""])  # fmt: skip
ARG = st.one_of(st.integers(min_value=-(10**25), max_value=10**25).map(str), st.text(max_size=12), WORDS)


@FUZZ
@given(action=ACTIONS, args=st.lists(ARG, max_size=4))
def test_any_button_id_is_answered_in_one_sentence(fuzz_bot: Any, action: str, args: list[str]) -> None:
    loop, testbot, loud = fuzz_bot
    loud.records.clear()
    custom_id = ":".join([action, *args])[:100]
    before = testbot.out.tell()
    event = ButtonPressed(Member("console", "ann", "ann"), testbot.console.place, custom_id=custom_id)
    loop.run_until_complete(testbot.bot.dispatch(event, testbot.console._responder()))
    loop.run_until_complete(testbot.bot.idle())
    out = testbot.out.getvalue()[before:]
    assert SORRY not in out, (custom_id, out)
    assert not loud.records, (custom_id, [r.getMessage() for r in loud.records])


NUMBERISH = st.text(alphabet="0123456789-+_ \u0661\u0662", max_size=25)
EDGE = st.integers(min_value=2**63 - 10**4, max_value=2**63 + 10**4)  # 19 digits, either side of the limit
EDGES = st.one_of(EDGE.map(str), EDGE.map(lambda n: f"-{n}"), EDGE.map(lambda n: f"{n // 10}"))


@settings(max_examples=2000, deadline=None)
@given(parts=st.lists(st.one_of(NUMBERISH, ARG, EDGES), min_size=1, max_size=4))
def test_a_button_id_fits_64_bits_exactly_when_every_number_in_it_does(parts: list[str]) -> None:
    """custom_id_fits skips parts too short to overflow; it must agree with parsing them all."""
    custom_id = ":".join(["poll.vote", *parts])
    expected = True
    for part in parts:
        try:
            number = int(part)
        except ValueError:
            continue
        expected = expected and -(2**63) <= number < 2**63
    assert custom_id_fits(custom_id) is expected, custom_id

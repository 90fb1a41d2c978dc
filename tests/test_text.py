"""`bot.text.shows`: the one "must show something" check for a poll's question and options,
a webinar's and a job's title."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.text import BLANKS, shows
from tests.harness import TestBot

INVISIBLES = ["\ufe0f", "\ufe00\ufe0f", "\U000e0100", "\U000e01ef", "\u034f", "\u17b4", "\u17b5", "\u0301",
              "\u2800", "\u3164", "\u115f\u1160", "\uffa0", "\u00ad", "\U000e0020", "\u200b \u3000", "\u2063",
              "\ufeff", "\u061c", "\U0001d173", "\u180b", "\u180e", " \u0301\u0308 "]  # fmt: skip
NOTHING = st.text(alphabet=st.one_of(st.characters(categories=["M", "C", "Z"]), st.sampled_from(sorted(BLANKS))))
SOMETHING = st.characters(categories=["L", "N", "P", "S"]).filter(lambda c: c not in BLANKS)


@pytest.mark.parametrize("text", INVISIBLES)
def test_marks_selectors_and_fillers_alone_show_nothing(text: str) -> None:
    assert not shows(text)


@given(NOTHING)
@settings(max_examples=500, deadline=None)
def test_text_of_marks_controls_spaces_and_blanks_shows_nothing(text: str) -> None:
    assert not shows(text)


@given(before=NOTHING, visible=SOMETHING, after=NOTHING)
@settings(max_examples=500, deadline=None)
def test_one_letter_number_mark_or_symbol_shows(before: str, visible: str, after: str) -> None:
    assert shows(before + visible + after)


@pytest.mark.parametrize("text", ["Lunch?", "é", "e\u0301", "❤\ufe0f", "中", "7", "?", "´", "\u309b", "👍🏽", "#"])
def test_ordinary_text_shows(text: str) -> None:
    assert shows(text) and any(unicodedata.category(c)[0] in "LNPS" for c in text)


async def test_a_poll_webinar_or_job_of_variation_selectors_is_refused(testbot: TestBot) -> None:
    for line, what in (('/poll create "\ufe0f\ufe0f" yes no', "question"), ('/poll create Q "\u034f" no', None),
                       ('/webinar add "\U000e0100" "Dec 3 2pm"', "title"),
                       ('/jobs post "\u17b4\u17b5" https://jobs.example.org/1', "title")):  # fmt: skip
        out = await testbot.push(":as olga organizer", line)
        assert ("nothing visible in it" if what else "empty") in out, (line, out)
    assert await testbot.db.scalar("SELECT COUNT(*) FROM polls") == 0

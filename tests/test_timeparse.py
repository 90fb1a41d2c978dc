"""One reader of times for every command: `/poll create closes=` and `/webinar add WHEN` (and
`/jobs post closes=`) accept the same phrases and agree on the instant; zone abbreviations
are DST-correct; garbage is refused in one sentence."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.commands import Args, Deadline, When
from bot.model import Role
from bot.timeparse import parse_duration, parse_when, read_time, zone_named
from cogs.webinars.when import parse_start
from tests.harness import START, TestBot

NOW = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)  # 09:00 in Chicago, a Friday
ZONES = ["America/Chicago", "America/New_York", "Europe/London", "UTC", "Australia/Sydney"]


class Closes(Args):
    closes: Deadline


class Starts(Args):
    when: When


def poll_closes(text: str, now: datetime, zone: str) -> datetime:
    """The instant `/poll create closes=TEXT` closes at: its own validator, as the grammar runs it."""
    args = Closes.model_validate({"closes": text}, context={"now": now, "tz": ZoneInfo(zone)})
    return now + args.closes


def webinar_starts(text: str, now: datetime, zone: str) -> datetime:
    """The instant `/webinar add T TEXT` starts at (the cog's own reader); a time it refuses
    only as more than two years ahead (a webinar's own limit, not the reading) as read."""
    try:
        return parse_start(text, now=now, zone=zone).utc
    except ValueError as exc:
        if "more than two years ahead" not in str(exc):
            raise
        return read_time(text, now=now, zone=zone).utc


def outcome(read: object, text: str, now: datetime, zone: str) -> datetime | str:
    try:
        return read(text, now, zone)  # type: ignore[operator]
    except ValueError as exc:  # pydantic's ValidationError is a ValueError too
        return "refused: " + type(exc).__name__


# -- the forms both accept -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "utc"),
    [
        ("friday 5pm", datetime(2026, 12, 4, 23, 0)),  # a weekday is the next one after today
        ("5pm friday", datetime(2026, 12, 4, 23, 0)),
        ("5 p.m. on Friday", datetime(2026, 12, 4, 23, 0)),
        ("next friday at 17:00", datetime(2026, 12, 4, 23, 0)),
        ("Dec 3 2pm ET", datetime(2026, 12, 3, 19, 0)),  # EST: UTC-5
        ("2pm ET Dec 3", datetime(2026, 12, 3, 19, 0)),
        ("Dec 3 2pm CT", datetime(2026, 12, 3, 20, 0)),
        ("Dec 3 2pm MT", datetime(2026, 12, 3, 21, 0)),
        ("Dec 3 2pm PT", datetime(2026, 12, 3, 22, 0)),
        ("Dec 3 2pm UTC", datetime(2026, 12, 3, 14, 0)),
        ("Dec 3 2pm america/new_york", datetime(2026, 12, 3, 19, 0)),
        ("July 3 2pm ET", datetime(2027, 7, 3, 18, 0)),  # EDT in summer: UTC-4; and next July
        ("July 3 2pm PT", datetime(2027, 7, 3, 21, 0)),
        ("Thursday 3 December 2026, 14:00 CST", datetime(2026, 12, 3, 20, 0)),  # what the bot echoes back
        ("noon tomorrow", datetime(2026, 11, 28, 18, 0)),
        ("midnight", datetime(2026, 11, 28, 6, 0)),  # 00:00, the start of the next day: like 12am
        ("friday midnight", datetime(2026, 12, 4, 6, 0)),
        ("Dec 3 midnight ET", datetime(2026, 12, 3, 5, 0)),
        ("2pm", datetime(2026, 11, 27, 20, 0)),
        ("8am", datetime(2026, 11, 28, 14, 0)),  # passed today: tomorrow
        ("12/3 2pm", datetime(2026, 12, 3, 20, 0)),
        ("2026-12-03T14:00-05:00", datetime(2026, 12, 3, 19, 0)),
    ],
)
def test_both_commands_read_a_phrase_as_the_same_instant(typed: str, utc: datetime) -> None:
    expected = utc.replace(tzinfo=UTC)
    assert poll_closes(typed, NOW, "America/Chicago") == expected
    assert webinar_starts(typed, NOW, "America/Chicago") == expected
    assert parse_when(typed, now=NOW, tz=ZoneInfo("America/Chicago")) == expected  # /jobs post closes=


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("2pm2pm", "gives two times of day (2pm and 2pm)"),
        ("2pm 3pm friday", "gives two times of day (2pm and 3pm)"),
        ("friday friday 5pm", "gives two days (friday and friday)"),
        ("tomorrow Dec 3 2pm", "gives two days"),
        ("Dec 3 2pm ET PT", "names two time zones (ET and PT)"),
        ("13pm", "'13pm' is not a time of day"),
        ("friday 3 December 2026", "3 December 2026 is a Thursday, not a Friday"),
        ("December 2026 5pm", "needs a month and a day"),
        ("2pmx", "'2pmx' is not a"),  # a time, or (for a deadline) a duration
        ("Dec 3 2pm Mars/Base", "'Mars/Base' is not a time zone"),
        ("today 8am", "is in the past"),
        ("2027-03-14 02:30", "02:30 does not exist on 14 March 2027 in America/Chicago"),
    ],
)
def test_garbage_is_refused_in_one_sentence_by_both(typed: str, words: str) -> None:
    for read in (poll_closes, webinar_starts):
        with pytest.raises(ValueError, match=re.escape(words)) as caught:
            read(typed, NOW, "America/Chicago")
        message = str(caught.value)
        if read is webinar_starts:
            assert "\n" not in message and message.count(". ") == 0, message  # one sentence


@pytest.mark.parametrize("typed", ["2027", "1700", "90", " 45 ", "1.5"])
def test_a_bare_number_is_no_deadline_and_no_duration(typed: str) -> None:
    """`closes=2027` once closed a poll in 33 minutes (seconds); a number needs a unit."""
    with pytest.raises(ValueError, match=re.escape("has no unit; give a unit, like 2h or 3d, or a time")):
        poll_closes(typed, NOW, "America/Chicago")
    with pytest.raises(ValueError, match="has no unit"):
        parse_when(f"in {typed}", now=NOW, tz=ZoneInfo("America/Chicago"))
    assert poll_closes(f"{typed.strip()}h", NOW, "America/Chicago") == NOW + timedelta(hours=float(typed))


def test_midnight_is_a_time_of_day_like_noon() -> None:
    assert read_time("midnight", now=NOW, zone="UTC").local == datetime(2026, 11, 28, 0, 0)
    assert read_time("tomorrow midnight", now=NOW, zone="UTC") == read_time("tomorrow 12am", now=NOW, zone="UTC")
    with pytest.raises(ValueError, match="gives two times of day"):
        read_time("midnight noon", now=NOW, zone="UTC")
    assert zone_named("midnight") is None


def test_12_noon_and_12_midnight_are_noon_and_midnight() -> None:
    at = {text: read_time(text, now=NOW, zone="UTC").local for text in (
        "12 noon", "12 midnight", "friday 12 noon", "tomorrow, 12 midnight", "Dec 3 12 noon", "12 noon Dec 3",
        "Dec 12 noon", "Dec 12 12 midnight", "next friday 12 midnight")}  # fmt: skip
    assert at["12 noon"] == datetime(2026, 11, 28, 12, 0)  # 15:00 now: noon has passed today
    assert at["12 midnight"] == datetime(2026, 11, 28, 0, 0) == read_time("midnight", now=NOW, zone="UTC").local
    assert at["friday 12 noon"] == datetime(2026, 12, 4, 12, 0)
    assert at["tomorrow, 12 midnight"] == datetime(2026, 11, 28, 0, 0)
    assert at["Dec 3 12 noon"] == at["12 noon Dec 3"] == datetime(2026, 12, 3, 12, 0)
    assert at["Dec 12 noon"] == datetime(2026, 12, 12, 12, 0)  # there the 12 is the day
    assert at["Dec 12 12 midnight"] == datetime(2026, 12, 12, 0, 0)
    assert at["next friday 12 midnight"] == datetime(2026, 12, 4, 0, 0)
    assert read_time("12 noon ET", now=NOW, zone="UTC").utc == datetime(2026, 11, 27, 17, 0, tzinfo=UTC)


def test_time_zones_are_named_in_any_case() -> None:
    assert zone_named("utc") == zone_named("UTC") == "UTC"
    assert zone_named("america/new_york") == "America/New_York"
    assert zone_named("Et") == "America/New_York"
    assert zone_named("friday") is None and zone_named("Mars/Base") is None


def test_a_repeated_hour_keeps_which_one_it_is() -> None:
    """An instant in the hour the clocks repeat (the second 01:30 CST) stays itself."""
    now = datetime(2027, 11, 7, 6, 0, tzinfo=UTC)  # 01:00 CDT, the first time round
    wall = read_time("in 90m", now=now, zone="America/Chicago")
    assert wall.utc == now + timedelta(minutes=90) and wall.describe().endswith("01:30 CST (07:30 UTC)")


# -- the property: any phrase either is refused by both or is the same instant for both ---------

DAYS = st.sampled_from(["", "today", "tomorrow", "friday", "next monday", "sun", "Dec 3", "3 December 2027",
                        "12/3", "jan 5", "feb 29", "2027-03-14", "July 4th", "the 3rd of march"])  # fmt: skip
CLOCKS = st.sampled_from(["", "5pm", "5 pm", "10:30am", "17:00", "noon", "midnight", "12am", "12:05 p.m.", "0:15", "2:30",
                          "1:30", "13pm", "2pm2pm", "7"])  # fmt: skip
ZONE_WORDS = st.sampled_from(["", "ET", "ct", "MT", "PT", "UTC", "America/New_York", "Europe/Paris", "Mars/Base"])


@st.composite
def phrases(draw: st.DrawFn) -> str:
    parts = [draw(DAYS), draw(CLOCKS), draw(ZONE_WORDS)]
    order = draw(st.permutations(parts))
    return " ".join(p for p in order if p) or draw(st.text(max_size=20))


@st.composite
def instants(draw: st.DrawFn) -> datetime:
    minutes = draw(st.integers(0, 3 * 365 * 24 * 60))
    return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes, seconds=draw(st.integers(0, 59)))


@settings(max_examples=600, deadline=None)
@given(text=st.one_of(phrases(), st.text(max_size=40)), now=instants(), zone=st.sampled_from(ZONES))
def test_any_phrase_is_the_same_instant_for_polls_and_webinars(text: str, now: datetime, zone: str) -> None:
    webinar = outcome(webinar_starts, text, now, zone)
    poll = outcome(poll_closes, text, now, zone)
    if isinstance(webinar, datetime):
        assert poll == webinar, (text, now, zone)
        assert webinar > now
    elif isinstance(poll, datetime):  # only a duration ("2h", never a bare "90") is a deadline and not a start
        assert poll == now + parse_duration(text), (text, now, zone)


@settings(max_examples=300, deadline=None)
@given(text=phrases(), now=instants(), zone=st.sampled_from(ZONES))
def test_time_phrases_are_accepted_by_both_or_by_neither(text: str, now: datetime, zone: str) -> None:
    assert isinstance(outcome(webinar_starts, text, now, zone), datetime) == isinstance(
        outcome(poll_closes, text, now, zone), datetime
    ), text


# -- through the commands ----------------------------------------------------------------------


@pytest.fixture
async def testbot(tmp_path: Path) -> AsyncIterator[TestBot]:
    bot = TestBot(tmp_path, member="mo", role=Role.MODERATOR)
    await bot.start()
    yield bot
    await bot.stop()


async def test_poll_and_webinar_commands_agree_on_dec_3_2pm_et(testbot: TestBot) -> None:
    assert START.weekday() == 4  # a Friday
    await testbot.push('/poll create "Lunch?" yes no closes="Dec 3 2pm ET"', '/webinar add "BIBFRAME" "2pm ET Dec 3"')
    closes = await testbot.db.scalar("SELECT closes_at FROM polls")
    starts = await testbot.db.scalar("SELECT starts_at FROM webinars")
    assert datetime.fromisoformat(closes) == datetime.fromisoformat(starts) == datetime(2026, 12, 3, 19, 0, tzinfo=UTC)


async def test_poll_and_webinar_commands_refuse_2pm2pm_in_one_sentence(testbot: TestBot) -> None:
    poll = await testbot.push('/poll create "Lunch?" yes no closes=2pm2pm')
    webinar = await testbot.push('/webinar add "BIBFRAME" 2pm2pm')
    for out in (poll, webinar):
        assert "'2pm2pm' gives two times of day (2pm and 2pm)" in out, out
    assert await testbot.db.scalar("SELECT COUNT(*) FROM polls") == 0
    assert await testbot.db.scalar("SELECT COUNT(*) FROM webinars") == 0

"""Cards: link buttons and times, as the core writes them and as the console shows them."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.cards import (
    TIMESTAMP,
    Button,
    Card,
    Field,
    Link,
    readable_times,
    relative,
    timestamp,
    usable_links,
)
from bot.errors import DirectMessagesClosed
from bot.model import Member
from bot.platforms.console import render
from tests.harness import TestBot

WHEN = datetime(2026, 12, 3, 20, 0, tzinfo=UTC)  # a Thursday; 14:00 in Chicago (CST)
CHICAGO = ZoneInfo("America/Chicago")


def test_timestamp_is_discords_markup_in_whole_seconds() -> None:
    assert timestamp(WHEN) == "<t:1796328000:F>"
    assert timestamp(WHEN + timedelta(seconds=59.9), "R") == "<t:1796328059:R>"
    assert timestamp(WHEN.astimezone(CHICAGO), "t") == "<t:1796328000:t>"  # the instant, not the wall time
    assert timestamp(datetime(2026, 12, 3, 20, 0), "d") == "<t:1796328000:d>"  # naive counts as UTC
    with pytest.raises(ValueError, match="style"):
        timestamp(WHEN, "x")
    found = TIMESTAMP.findall(f"from {timestamp(WHEN, 'f')} to <t:1796331600> (not <t:abc:F>)")
    assert found == [("1796328000", "f"), ("1796331600", "")]


@pytest.mark.parametrize(
    ("style", "chicago", "utc"),
    [
        ("t", "14:00 CST", "20:00 UTC"),
        ("T", "14:00:00 CST", "20:00:00 UTC"),
        ("d", "3 Dec 2026", "3 Dec 2026"),
        ("D", "3 December 2026", "3 December 2026"),
        ("f", "3 December 2026, 14:00 CST", "3 December 2026, 20:00 UTC"),
        ("F", "Thursday 3 December 2026, 14:00 CST", "Thursday 3 December 2026, 20:00 UTC"),
    ],
)
def test_times_read_in_a_zone(style: str, chicago: str, utc: str) -> None:
    text = f"at {timestamp(WHEN, style)}."
    assert readable_times(text, CHICAGO) == f"at {chicago}."
    assert readable_times(text) == f"at {utc}."


def test_relative_times_need_a_now() -> None:
    text = f"closes {timestamp(WHEN, 'R')}"
    assert readable_times(text, CHICAGO, WHEN - timedelta(hours=2)) == "closes in 2 hours"
    assert readable_times(text, CHICAGO, WHEN + timedelta(days=3)) == "closes 3 days ago"
    assert readable_times(text, CHICAGO) == "closes 3 December 2026, 14:00 CST"  # no clock: absolute
    assert relative(WHEN, WHEN) == "in a few seconds"
    assert relative(WHEN, WHEN + timedelta(minutes=1)) == "1 minute ago"
    assert relative(WHEN, WHEN - timedelta(minutes=100)) == "in 2 hours"
    assert relative(WHEN, WHEN - timedelta(days=60)) == "in 2 months"
    assert relative(WHEN, WHEN + timedelta(days=800)) == "2 years ago"
    assert readable_times("<t:999999999999:F> and <t:1>", UTC) == "<t:999999999999:F> and 1 January 1970, 00:00 UTC"


def test_plain_text_writes_times_in_utc() -> None:
    card = Card(title=f"Webinar {timestamp(WHEN, 't')}", text=f"Starts {timestamp(WHEN)}",
                fields=(Field("Closes", timestamp(WHEN, "D")),), footer=timestamp(WHEN, "R"))  # fmt: skip
    assert card.plain_text() == (
        "Webinar 20:00 UTC\nStarts Thursday 3 December 2026, 20:00 UTC\nCloses: 3 December 2026\n"
        "3 December 2026, 20:00 UTC"
    )
    assert "<t:" not in card.plain_text()


def test_only_http_links_are_kept(caplog: pytest.LogCaptureFixture) -> None:
    links = (
        Link("Apply", "https://jobs.example.org/42?ref=bot"), Link("", "http://example.org/x"),
        Link("Script", "javascript:alert(1)"), Link("Mail", "mailto:a@example.org"),
        Link("Spaced", "https://example.org/a b"), Link("Hostless", "https:///path"),
        Link("Long", "https://example.org/" + "a" * 600), Link("Relative", "/jobs/42"),
    )  # fmt: skip
    with caplog.at_level(logging.WARNING, "bot.cards"):
        kept = usable_links(links, 512)
    assert kept == [Link("Apply", "https://jobs.example.org/42?ref=bot"), Link("example.org", "http://example.org/x")]
    assert len([r for r in caplog.records if "link dropped" in r.getMessage()]) == 6


def test_direct_messages_closed_carries_the_member_and_one_sentence() -> None:
    ann = Member("slack", "U1", "Ann")
    error = DirectMessagesClosed(ann, "Ann does not accept direct messages from the bot.")
    assert error.member is ann and str(error) == error.reason == "Ann does not accept direct messages from the bot."


# -- the console -----------------------------------------------------------------------------


def test_console_shows_links_after_buttons_and_local_times() -> None:
    card = Card(
        title=f"Webinar on {timestamp(WHEN, 'D')}", text=f"Starts {timestamp(WHEN)} ({timestamp(WHEN, 'R')})",
        fields=(Field(f"Ends {timestamp(WHEN, 't')}", "on time"),), footer=f"RSVP by {timestamp(WHEN, 'f')}",
        buttons=(Button("Going", "rsvp.yes", (3,)), Button(f"Remind me {timestamp(WHEN, 't')}", "rsvp.remind")),
        links=(Link("Join", "https://meet.example.org/r/3"), Link("Bad", "ftp://example.org/")),
    )  # fmt: skip
    assert render(card, tz=CHICAGO, now=WHEN - timedelta(days=3)).splitlines() == [
        "Webinar on 3 December 2026",
        "Starts Thursday 3 December 2026, 14:00 CST (in 3 days)",
        "  Ends 14:00 CST  on time",
        "RSVP by 3 December 2026, 14:00 CST",
        "[1 Going] [2 Remind me 14:00 CST] [Join \u2192 https://meet.example.org/r/3]",
    ]
    assert render(Card(text="Links only", links=(Link("Apply", "https://x.org/"),))).splitlines()[-1] == "[Apply \u2192 https://x.org/]"


async def test_console_prints_links_times_and_direct_messages(testbot: TestBot) -> None:
    console = testbot.console
    card = Card(
        text=f"Webinar {timestamp(testbot.later(7200))}, starts {timestamp(testbot.later(7200), 'R')}",
        buttons=(Button("Vote", "poll.vote", (1, 0)), Button("Other", "poll.vote", (1, 1))),
        links=(Link("Apply", "https://jobs.example.org/apply"),),
    )  # fmt: skip
    await console.send(console.place, card)
    printed = testbot.out.getvalue().splitlines()
    # START is 15:00 UTC on Friday 27 November 2026: 11:00 in the default zone (America/Chicago)
    assert printed[-2] == "Webinar Friday 27 November 2026, 11:00 CST, starts in 2 hours"
    assert printed[-1] == "[1 Vote] [2 Other] [Apply \u2192 https://jobs.example.org/apply]"
    assert "No button '3'" in await testbot.push(":click 3")  # links are not clickable

    bea = Member("console", "bea", "Bea")
    ref = await console.send_direct(bea, Card(text="Your RSVP is saved.", buttons=(Button("Cancel", "rsvp.no", (3,)),),
                                               links=(Link("Calendar", "https://example.org/cal.ics"),), ephemeral=True))  # fmt: skip
    assert testbot.out.getvalue().splitlines()[-2:] == [
        "(direct to Bea) Your RSVP is saved.",
        "[1 Cancel] [Calendar \u2192 https://example.org/cal.ics]",
    ]
    assert ref.channel_id == "@bea" and console.shown[-1].owner == "bea"
    # someone else's :click does not reach Bea's direct message; Bea's does
    assert "No button 'Cancel'" in await testbot.push(":click Cancel")
    answered = await testbot.push(":as Bea", ":click Cancel")
    assert answered.splitlines()[-1] == "(direct to Bea) That button no longer does anything."


def test_card_init_takes_every_field_with_its_default() -> None:
    """Card's own __init__ (faster than the generated frozen one) takes exactly the
    dataclass's fields, with their defaults: a field added to one is added to both."""
    import dataclasses
    import inspect

    params = inspect.signature(Card).parameters
    fields = dataclasses.fields(Card)
    assert list(params) == [f.name for f in fields]
    assert [p.default for p in params.values()] == [f.default for f in fields]
    assert dataclasses.asdict(Card(**{f.name: f.default for f in fields})) == {f.name: f.default for f in fields}

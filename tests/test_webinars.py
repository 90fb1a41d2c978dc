"""Webinars through the console: zones and daylight saving, RSVPs, reminders sent once
across restarts and crashes, the grace window, edits and cancellations, calendars."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import icalendar
import pytest
from aiohttp import web

from bot.errors import DirectMessagesClosed
from bot.model import ButtonPressed, Member, Role
from cogs.webinars.when import parse_start
from tests.harness import TestBot

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # 06:00 in Chicago
ADD = '/webinar add "Intro to BIBFRAME" "Dec 2 2pm" url=https://zoom.example.org/j/1 reminders=24h,1h'


def reminders(out: str) -> list[str]:
    """Each reminder's heading, with the line under it (`Starts in 1 day.`) folded in."""
    lines, found = out.splitlines(), []
    for index, line in enumerate(lines):
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if "Reminder:" in line and following.startswith("Starts "):
            found.append(f"{line} s{following[1:].rstrip('.')}")
        elif "Starting now:" in line:
            found.append(line)
    return found


@pytest.fixture
async def talks(tmp_path: Path) -> AsyncIterator[TestBot]:
    testbot = TestBot(tmp_path, member="mo", role=Role.MODERATOR)
    testbot.clock.set(NOW)
    await testbot.start()
    yield testbot
    await testbot.stop()


async def later(tmp_path: Path, at: datetime, **settings: Any) -> TestBot:
    testbot = TestBot(tmp_path, member="mo", role=Role.MODERATOR, **settings)
    testbot.clock.set(at)
    return await testbot.start()


# -- times ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "described"),
    [
        ("Dec 3 2pm ET", "Thursday 3 December 2026, 14:00 EST (19:00 UTC)"),
        ("2026-12-03T14:00 America/New_York", "Thursday 3 December 2026, 14:00 EST (19:00 UTC)"),
        ("2026-12-03T14:00-05:00", "Thursday 3 December 2026, 13:00 CST (19:00 UTC)"),
        ("tomorrow 2pm", "Tuesday 1 December 2026, 14:00 CST (20:00 UTC)"),
        ("2027-07-01 10:00 ET", "Thursday 1 July 2027, 10:00 EDT (14:00 UTC)"),
        ("2027-11-07 01:30", "Sunday 7 November 2027, 01:30 CDT (06:30 UTC)"),  # happens twice: the first
    ],
)
def test_times_are_read_in_the_right_zone_and_echoed_unambiguously(typed: str, described: str) -> None:
    assert parse_start(typed, now=NOW, zone="America/Chicago").describe() == described


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("2027-03-14 02:30", "02:30 does not exist on 14 March 2027 in America/Chicago"),
        ("2026-11-01 10:00", "is in the past"),
        ("whenever", "is not a time I understand"),
        ("Dec 3 2pm Mars/Base", "'Mars/Base' is not a time zone"),
    ],
)
def test_bad_times_are_one_sentence(typed: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_start(typed, now=NOW, zone="America/Chicago")


async def test_a_webinar_set_before_a_daylight_saving_change_keeps_its_local_hour(talks: TestBot) -> None:
    out = await talks.push('/webinar add "Spring cataloging" "2027-03-18 14:00"')
    assert "Thursday 18 March 2027, 14:00 CDT (19:00 UTC)" in out  # set in CST, held in CDT
    assert await talks.db.scalar("SELECT local_start || ' ' || zone FROM webinars") == "2027-03-18T14:00:00 America/Chicago"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('/webinar add "T" "2020-01-01 10:00"', "is in the past"),
        ('/webinar add "T" "Dec 3 2pm" duration=13h', "duration is from 5 minutes to 12 hours"),
        ('/webinar add "T" "Dec 3 2pm" reminders=31d', "each reminder is from 1 minute to 30 days"),
        ('/webinar add "T" "Dec 3 2pm" reminders=-1h', "is not a duration"),
        ('/webinar add "T" "Dec 3 2pm" url=ftp://x.org', "is not a web address"),
        ('/webinar add "Far" "Dec 31 9999 5pm" duration=12h', "more than two years ahead"),
        ('/webinar add "Far" "2029-01-01T10:00:00+00:00"', "more than two years ahead"),
        ('/webinar add "\u200b\u200b" "Dec 3 2pm"', "the title has nothing visible in it"),
        ('/webinar add "\u3164" "Dec 3 2pm"', "the title has nothing visible in it"),
        ("/webinar edit 9 title=x", "There is no webinar #9 here"),
        ("/webinar ics soon", "give a webinar number or all"),
    ],
)
async def test_bad_input_is_one_sentence_and_stores_nothing(talks: TestBot, line: str, message: str) -> None:
    out = await talks.push(line)
    assert message in out and out.count("\n") == 1 and out.startswith("(only you)")
    assert await talks.db.scalar("SELECT COUNT(*) FROM webinars") == 0


async def test_an_edit_is_refused_far_ahead_or_with_an_invisible_title(talks: TestBot) -> None:
    await talks.push(ADD)
    out = await talks.push('/webinar edit 1 when="Dec 31 9999 5pm"', "/webinar edit 1 title=\u200b")
    assert "more than two years ahead" in out and "the title has nothing visible in it" in out
    assert await talks.db.scalar("SELECT title || ' ' || starts_at FROM webinars") == (
        "Intro to BIBFRAME 2026-12-02T20:00:00.000000Z")


async def test_a_far_future_webinar_stored_earlier_never_breaks_the_lists(talks: TestBot) -> None:
    """A row stored before starts were bounded (ending past year 9999) is listed, exported
    and shown like any other: nothing crashes for everyone."""
    await talks.push(ADD)
    far = datetime(9999, 12, 31, 23, 0, tzinfo=UTC)
    await talks.db.execute(
        "INSERT INTO webinars (uid, platform, community_id, channel_id, channel_name, title, description, url,"
        " local_start, zone, starts_at, duration_seconds, all_day, reminders, created_by, created_at, updated_at)"
        " VALUES ('far@x', 'console', 'local', 'general', 'general', 'Far', '', NULL, '9999-12-31T17:00:00',"
        " 'America/Chicago', ?, 43200, 0, '', 'mo', ?, ?)",
        (far.strftime("%Y-%m-%dT%H:%M:%S.000000Z"), NOW.isoformat(), NOW.isoformat()),
    )  # fmt: skip
    out = await talks.push("/webinar list", "/webinar show 2", "/webinar ics all", "/webinar ics 2")
    assert "Something went wrong" not in out and "#1 Intro to BIBFRAME" in out and "#2 Far" in out
    assert "2 webinars as webinars.ics" in out and "1 webinar as webinar-2.ics" in out
    member = Member("console", "ann", "Ann", Role.MEMBER)
    cards = await talks.bot.home(member, talks.console.place)
    assert [c.title for c in cards if c.title in ("Intro to BIBFRAME", "Far")] == ["Intro to BIBFRAME", "Far"]


# -- RSVPs and reminders ------------------------------------------------------------------------


async def test_two_members_rsvp_and_each_reminder_appears_once(talks: TestBot) -> None:
    out = await talks.push(ADD)
    assert "Webinar #1 is set for Wednesday 2 December 2026, 14:00 CST (20:00 UTC), 1 hour" in out
    assert "[1 Going (0)] [2 Not going (0)] [3 Remind me] [Join webinar → https://zoom.example.org/j/1]" in out
    await talks.push(":as ann", ":click Going", ":as ben", ":click Remind me")
    assert "2 going · 0 not going" in await talks.push("/webinar show 1")
    out = await talks.wait(3 * 86400)
    assert reminders(out) == [
        "Reminder: Intro to BIBFRAME starts in 1 day",
        "(direct to ben) Reminder: Intro to BIBFRAME starts in 1 day",
        "Reminder: Intro to BIBFRAME starts in 1 hour",
        "(direct to ben) Reminder: Intro to BIBFRAME starts in 1 hour",
        "Starting now: Intro to BIBFRAME",
        "(direct to ben) Starting now: Intro to BIBFRAME",
    ]
    out = await talks.push(":as olga organizer", "/webinar attendees 1")
    assert "Going to #1 Intro to BIBFRAME (2)" in out and "ann, ben" in out


async def test_rsvp_counts_hold_under_500_concurrent_clicks(talks: TestBot) -> None:
    await talks.push(ADD)
    console = talks.console
    clicks = [
        talks.bot.dispatch(ButtonPressed(Member("console", f"m{n}", f"m{n}"), console.place,
                                         custom_id=f"webinar.rsvp:1:{'going' if n % 3 else 'not'}"), console._responder())
        for n in range(500)
    ]  # fmt: skip
    await asyncio.gather(*clicks)
    await talks.bot.idle()
    assert await talks.db.scalar("SELECT COUNT(*) FROM webinar_rsvps WHERE going = 1") == 333
    assert "333 going · 167 not going" in await talks.push("/webinar show 1")


async def test_reminders_are_sent_once_across_a_restart(tmp_path: Path) -> None:
    first = await later(tmp_path, NOW)
    await first.push(ADD, ":as ben", ":click Remind me")
    await first.wait(33 * 3600)  # past the 24 h reminder (Dec 1 20:00Z)
    await first.stop()
    second = await later(tmp_path, first.clock.now())
    out = await second.wait(2 * 86400)
    assert reminders(out) == [
        "Reminder: Intro to BIBFRAME starts in 1 hour",
        "(direct to ben) Reminder: Intro to BIBFRAME starts in 1 hour",
        "Starting now: Intro to BIBFRAME",
        "(direct to ben) Starting now: Intro to BIBFRAME",
    ]
    await second.stop()


async def test_a_crash_in_the_middle_of_sending_sends_only_what_is_missing(tmp_path: Path) -> None:
    first = await later(tmp_path, NOW)
    await first.push(ADD, ":as ann", ":click Remind me", ":as ben", ":click Remind me")
    hung = asyncio.Event()
    real = first.console.send_direct

    async def send_direct(member: Member, card: Any, **keyed: Any) -> Any:
        if member.id == "ben":
            hung.set()
            await asyncio.sleep(3600)  # killed while sending ben's DM
        return await real(member, card, **keyed)

    first.console.send_direct = send_direct  # type: ignore[method-assign]
    first.clock.set(datetime(2026, 12, 1, 20, 0, tzinfo=UTC))
    runner = asyncio.create_task(first.bot.scheduler.run_due())
    await asyncio.wait_for(hung.wait(), 5)
    await first.bot.scheduler.stop(grace=0)
    runner.cancel()
    await asyncio.gather(runner, return_exceptions=True)
    before = first.out.getvalue()
    await first.db.close()
    assert reminders(before) == ["Reminder: Intro to BIBFRAME starts in 1 day",
                                 "(direct to ann) Reminder: Intro to BIBFRAME starts in 1 day"]  # fmt: skip

    second = await later(tmp_path, first.clock.now() + timedelta(minutes=5))
    out = await second.wait(1)
    assert reminders(out) == ["(direct to ben) Reminder: Intro to BIBFRAME starts in 1 day"]
    await second.stop()


async def test_the_grace_window_sends_late_reminders_only_briefly_and_never_after_the_start(tmp_path: Path) -> None:
    first = await later(tmp_path, NOW)
    await first.push(ADD)
    await first.stop()
    # down over the 24 h reminder for 10 minutes: sent late
    second = await later(tmp_path, datetime(2026, 12, 1, 20, 10, tzinfo=UTC))
    assert reminders(await second.wait(1)) == ["Reminder: Intro to BIBFRAME starts in 1 day"]
    await second.stop()
    # down over the 1 h reminder for 40 minutes: skipped; the start notice still comes
    third = await later(tmp_path, datetime(2026, 12, 2, 19, 40, tzinfo=UTC))
    out = await third.wait(3600)
    assert reminders(out) == ["Starting now: Intro to BIBFRAME"]
    await third.stop()


async def test_a_start_notice_is_never_sent_long_after_the_start(tmp_path: Path) -> None:
    first = await later(tmp_path, NOW)
    await first.push(ADD)
    await first.stop()
    second = await later(tmp_path, datetime(2026, 12, 2, 21, 0, tzinfo=UTC))  # an hour after the start
    assert reminders(await second.wait(60)) == []
    await second.stop()


async def test_dm_closed_members_hear_once_in_the_channel(talks: TestBot) -> None:
    await talks.push(ADD, ":as ben", ":click Remind me")

    async def closed(member: Member, card: Any, **keyed: Any) -> Any:
        raise DirectMessagesClosed(member, f"{member.display_name} takes no direct messages.")

    talks.console.send_direct = closed  # type: ignore[method-assign]
    out = await talks.wait(3 * 86400)
    assert out.count("ben: I could not send your reminder for Intro to BIBFRAME as a direct message") == 1
    assert len(reminders(out)) == 3  # the channel reminders still go out


# -- changes -----------------------------------------------------------------------------------


async def test_a_moved_webinar_reminds_at_the_new_time_only_and_tells_those_going(talks: TestBot) -> None:
    await talks.push(ADD, ":as ann", ":click Going")
    out = await talks.push(":as mo moderator", '/webinar edit 1 when="Dec 4 2pm"')
    assert "Webinar #1 is now Friday 4 December 2026, 14:00 CST (20:00 UTC)." in out
    assert "(direct to ann) New time: Intro to BIBFRAME" in out
    out = await talks.wait(5 * 86400)
    starts = [line for line in out.splitlines() if line.startswith("Starting now")]
    assert len(reminders(out)) == 3 and len(starts) == 1
    assert "Friday 4 December 2026, 14:00 CST" in out.split("Starting now")[1]


async def test_a_cancelled_webinar_sends_nothing_and_tells_those_going(talks: TestBot) -> None:
    await talks.push(ADD, ":as ann", ":click Going")
    out = await talks.push(":as mo moderator", "/webinar cancel 1")
    assert "Webinar #1 (Intro to BIBFRAME) is cancelled" in out and "(direct to ann) Cancelled: Intro to BIBFRAME" in out
    assert reminders(await talks.wait(5 * 86400)) == []
    click = ButtonPressed(Member("console", "ann", "ann"), talks.console.place, custom_id="webinar.rsvp:1:going")
    await talks.bot.dispatch(click, talks.console._responder())  # an old message's button
    assert "Webinar #1 was cancelled." in talks.out.getvalue()
    assert "No webinars are coming up" in await talks.push("/webinar list")


# -- calendars ---------------------------------------------------------------------------------


SERIES = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
X-WR-CALNAME:ALCTS webinars
BEGIN:VTIMEZONE
TZID:America/Chicago
BEGIN:STANDARD
DTSTART:19701101T020000
RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU
TZOFFSETFROM:-0500
TZOFFSETTO:-0600
TZNAME:CST
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:19700308T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU
TZOFFSETFROM:-0600
TZOFFSETTO:-0500
TZNAME:CDT
END:DAYLIGHT
END:VTIMEZONE
BEGIN:VEVENT
UID:metadata-hour@alcts.example.org
SEQUENCE:{seq}
DTSTAMP:20261101T000000Z
DTSTART;TZID=America/Chicago:20270211T140000
DTEND;TZID=America/Chicago:20270211T150000
RRULE:FREQ=WEEKLY;COUNT=6
EXDATE;TZID=America/Chicago:20270218T140000
SUMMARY:Metadata hour
DESCRIPTION:Join at https://zoom.example.org/j/9 @everyone
END:VEVENT
BEGIN:VEVENT
UID:metadata-hour@alcts.example.org
RECURRENCE-ID;TZID=America/Chicago:20270304T140000
SEQUENCE:{seq}
DTSTAMP:20261101T000000Z
DTSTART;TZID=America/Chicago:20270304T160000
DTEND;TZID=America/Chicago:20270304T170000
SUMMARY:Metadata hour (moved)
END:VEVENT
END:VCALENDAR
"""


@pytest.fixture
async def calendar_server() -> AsyncIterator[dict[str, Any]]:
    state: dict[str, Any] = {"body": SERIES.format(seq=0)}

    async def ics(request: web.Request) -> web.Response:
        return web.Response(text=state["body"], content_type="text/calendar")

    app = web.Application()
    app.router.add_get("/cal.ics", ics)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    state["url"] = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/cal.ics"  # type: ignore[union-attr]
    yield state
    await runner.cleanup()


async def test_importing_a_recurring_series_across_dst_with_exdate_and_an_override(tmp_path: Path, calendar_server: dict[str, Any]) -> None:
    talks = await later(tmp_path, datetime(2027, 1, 20, 12, tzinfo=UTC), bot_allow_private_urls=True)
    out = await talks.push(f"/webinar import {calendar_server['url']}")
    assert "Imported 5 webinars from ALCTS webinars for the next 90 days" in out  # 6 weekly, less one EXDATE
    rows = await talks.db.fetchall("SELECT title, local_start, zone, starts_at FROM webinars ORDER BY starts_at")
    assert [tuple(r) for r in rows] == [
        ("Metadata hour", "2027-02-11T14:00:00", "America/Chicago", "2027-02-11T20:00:00.000000Z"),
        ("Metadata hour", "2027-02-25T14:00:00", "America/Chicago", "2027-02-25T20:00:00.000000Z"),
        ("Metadata hour (moved)", "2027-03-04T16:00:00", "America/Chicago", "2027-03-04T22:00:00.000000Z"),
        ("Metadata hour", "2027-03-11T14:00:00", "America/Chicago", "2027-03-11T20:00:00.000000Z"),
        ("Metadata hour", "2027-03-18T14:00:00", "America/Chicago", "2027-03-18T19:00:00.000000Z"),  # CDT now
    ]
    assert "@everyone" not in out
    # an update with a higher SEQUENCE: applied and announced once; a removed date is cancelled
    calendar_server["body"] = SERIES.format(seq=1).replace("SUMMARY:Metadata hour\n", "SUMMARY:Metadata hour live\n").replace(
        "EXDATE;TZID=America/Chicago:20270218T140000", "EXDATE;TZID=America/Chicago:20270218T140000,20270311T140000")
    out = await talks.wait(3600)
    assert out.count("Updated: Metadata hour live") == 3 and out.count("Cancelled: Metadata hour") == 1
    assert "Updated" not in await talks.wait(3600)  # the same SEQUENCE again changes nothing
    await talks.stop()


async def test_bad_calendars_are_one_sentence(tmp_path: Path, calendar_server: dict[str, Any]) -> None:
    talks = await later(tmp_path, NOW, bot_allow_private_urls=True)
    calendar_server["body"] = "<html>not a calendar</html>"
    out = await talks.push(f"/webinar import {calendar_server['url']}")
    assert "is not an iCalendar (.ics) file" in out and out.count("\n") == 1
    assert await talks.db.scalar("SELECT COUNT(*) FROM webinar_calendars") == 0
    await talks.stop()


async def test_a_huge_calendar_is_imported_bounded(tmp_path: Path, calendar_server: dict[str, Any]) -> None:
    events = "".join(
        f"BEGIN:VEVENT\nUID:e{n}\nDTSTAMP:20261101T000000Z\nDTSTART:202612{1 + n % 28:02d}T{n % 24:02d}0000Z\n"
        f"SUMMARY:Event {n}\nDESCRIPTION:{'x' * 200}\nEND:VEVENT\n" for n in range(10_000)
    )  # fmt: skip
    calendar_server["body"] = f"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//EN\n{events}END:VCALENDAR\n"
    talks = await later(tmp_path, NOW, bot_allow_private_urls=True)
    out = await talks.push(f"/webinar import {calendar_server['url']}")
    assert "later ones skipped: at most 500 at a time" in out
    assert await talks.db.scalar("SELECT COUNT(*) FROM webinars") == 500
    await talks.stop()


async def test_ics_export_parses_back_at_the_same_times(talks: TestBot) -> None:
    await talks.push(ADD, '/webinar add "Spring cataloging" "2027-03-18 14:00" description="Bring your questions"')
    out = await talks.push("/webinar ics all")
    assert "2 webinars as webinars.ics" in out
    data = (talks.path / "files" / "webinars.ics").read_bytes()
    events = icalendar.Calendar.from_ical(data).walk("VEVENT")
    starts = sorted(e.get("DTSTART").dt for e in events)
    assert starts == [datetime(2026, 12, 2, 20, tzinfo=UTC), datetime(2027, 3, 18, 19, tzinfo=UTC)]
    first = next(e for e in events if str(e.get("SUMMARY")) == "Intro to BIBFRAME")
    assert str(first.get("URL")) == "https://zoom.example.org/j/1" and "Join: https://zoom.example.org/j/1" in str(first.get("DESCRIPTION"))
    uid, sequence = str(first.get("UID")), int(first.get("SEQUENCE"))
    await talks.push('/webinar edit 1 title="Intro to BIBFRAME 2.0"')
    await talks.push("/webinar ics 1")
    again = icalendar.Calendar.from_ical((talks.path / "files" / "webinar-1.ics").read_bytes()).walk("VEVENT")[0]
    assert str(again.get("UID")) == uid and int(again.get("SEQUENCE")) == sequence + 1


# -- the piped console, as a new user would run it ------------------------------------------------


def test_piped_console_two_members_rsvp_and_each_reminder_once(tmp_path: Path) -> None:
    """Done means: a webinar two days ahead, two RSVPs (one reminder), each reminder once."""
    session = "\n".join([ADD, ":as ann", ":click Going", ":as ben", ":click Remind me", ":wait 3d", ""])
    result = subprocess.run(
        [sys.executable, "-m", "bot", "shell", "--role", "moderator", "--now", "2026-11-30T12:00:00Z"],
        input=session, capture_output=True, text=True, cwd=tmp_path, timeout=60,
        env={"BOT_DATABASE": str(tmp_path / "bot.sqlite3"), "PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert reminders(result.stdout) == [
        "Reminder: Intro to BIBFRAME starts in 1 day",
        "(direct to ben) Reminder: Intro to BIBFRAME starts in 1 day",
        "Reminder: Intro to BIBFRAME starts in 1 hour",
        "(direct to ben) Reminder: Intro to BIBFRAME starts in 1 hour",
        "Starting now: Intro to BIBFRAME",
        "(direct to ben) Starting now: Intro to BIBFRAME",
    ]


SINGLE = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:single@test
SEQUENCE:{seq}
DTSTAMP:20261101T000000Z
DTSTART:{start}
DTEND:{end}
SUMMARY:Single talk{suffix}
DESCRIPTION:<p>Come <b>now</b></p>
END:VEVENT
END:VCALENDAR
"""


async def test_a_moved_calendar_event_is_updated_in_place_and_a_second_import_is_refused(
    tmp_path: Path, calendar_server: dict[str, Any]
) -> None:  # fmt: skip
    calendar_server["body"] = SINGLE.format(seq=0, start="20261203T200000Z", end="20261203T210000Z", suffix="")
    talks = await later(tmp_path, NOW, bot_allow_private_urls=True)
    out = await talks.push(f"/webinar import {calendar_server['url']}", ":as ann", ":click Going")
    assert "Imported 1 webinar" in out and "<b>" not in out and "Come now" in out
    again = await talks.push(":as mo moderator", f"/webinar import {calendar_server['url']}")
    assert "already imported here (calendar #1)" in again
    calendar_server["body"] = SINGLE.format(seq=2, start="20261204T200000Z", end="20261204T210000Z", suffix=" (moved)")
    out = await talks.wait(3600)
    assert "New time: Single talk (moved)" in out and "Cancelled" not in out
    rows = await talks.db.fetchall("SELECT id, title, starts_at, status FROM webinars")
    assert [tuple(r) for r in rows] == [(1, "Single talk (moved)", "2026-12-04T20:00:00.000000Z", "scheduled")]
    assert await talks.db.scalar("SELECT COUNT(*) FROM webinar_rsvps WHERE going = 1") == 1  # ann's RSVP kept
    await talks.stop()

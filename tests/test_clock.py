"""Times as integers on the hot path: the text and the local day and hour made from them
are exactly what `iso()` and `astimezone()` give, also across DST and in zones whose
offset is not a whole hour."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.clock import IsoText, LocalHours, from_micros, iso, micros

ZONES = [ZoneInfo(name) for name in (
    "America/Chicago", "Asia/Kolkata", "Asia/Kathmandu", "Australia/Lord_Howe", "America/St_Johns",
    "Pacific/Chatham", "Europe/London", "UTC",
)] + [timezone(timedelta(hours=5, minutes=45))]  # fmt: skip

TIMES = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))


@settings(max_examples=300, deadline=None)
@given(st.lists(TIMES, min_size=1, max_size=20), st.sampled_from(ZONES))
def test_integer_times_give_the_same_text_day_and_hour(times: list[datetime], zone: ZoneInfo) -> None:
    text, hours = IsoText(), LocalHours()  # shared across the list: the caches are exercised
    for when in times:
        for moment in (when, when + timedelta(microseconds=1), when + timedelta(minutes=15)):
            us = micros(moment)
            assert from_micros(us) == moment
            assert text(us) == iso(moment)
            local = moment.astimezone(zone)
            assert hours(us, zone) == (local.date().isoformat(), local.hour)


def test_every_minute_around_dst_changes() -> None:
    hours = LocalHours()
    for zone, start in ((ZoneInfo("America/Chicago"), datetime(2026, 3, 8, 6, tzinfo=UTC)),
                        (ZoneInfo("America/Chicago"), datetime(2026, 11, 1, 5, tzinfo=UTC)),
                        (ZoneInfo("Australia/Lord_Howe"), datetime(2026, 4, 4, 13, tzinfo=UTC))):  # half-hour DST
        for minute in range(0, 4 * 60):
            moment = start + timedelta(minutes=minute, seconds=59)
            local = moment.astimezone(zone)
            assert hours(micros(moment), zone) == (local.date().isoformat(), local.hour), moment


def test_micros_reads_naive_times_as_utc_and_converts_others() -> None:
    assert micros(datetime(2026, 1, 1)) == micros(datetime(2026, 1, 1, tzinfo=UTC))
    assert micros(datetime(2026, 1, 1, 1, tzinfo=timezone(timedelta(hours=1)))) == micros(datetime(2026, 1, 1, tzinfo=UTC))
    assert IsoText()(micros(datetime(2026, 12, 1, 15, 0, 0, 1000, tzinfo=UTC))) == "2026-12-01T15:00:00.001000Z"


@settings(max_examples=400, deadline=None)
@given(
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
    st.sampled_from([UTC, timezone(timedelta(0)), timezone(timedelta(hours=-5)), ZoneInfo("UTC"), ZoneInfo("Asia/Kolkata"), None]),
)
def test_iso_of_a_utc_time_is_the_text_of_every_other(moment: datetime, zone: timezone | ZoneInfo | None) -> None:
    """`iso`'s shortcut for times already in UTC writes exactly what the general path does."""
    dt = moment.replace(tzinfo=zone)
    general = (dt if dt.tzinfo is None else dt.astimezone(UTC)).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"
    assert iso(dt) == general
    if dt.tzinfo is not None:
        assert iso(dt.astimezone(UTC)) == general  # the shortcut's own case

"""Hypothesis through the real adapter: signed slash commands with any text, clicks with
any action id and value, events of any JSON shape. Whatever comes in: no HTTP 500, no
traceback in the log, and the bot still serves afterwards.

Each test shares one running bot across its examples (a fresh one per example would
take most of the time budget), so the examples also meet state earlier ones left."""

from __future__ import annotations

import itertools
import json
import logging
import os
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.commands import Registry
from tests.e2e.slack.conftest import ANN, BEA, CAL, GENERAL, NEWS, SlackHarness
from tests.e2e.slack.test_edges import signed

FUZZ = settings(  # derandomized: the same examples every run, so CI is not flaky; FUZZ_RANDOM=1 explores
    max_examples=200, deadline=None, database=None, derandomize=not os.environ.get("FUZZ_RANDOM"),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)  # fmt: skip
NETWORK = ("jobs subscribe", "jobs test", "webinar import", "stats accounts")  # would fetch the URL typed
FORM = "application/x-www-form-urlencoded"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20) | st.sampled_from(["U0ANN0001", GENERAL, "99999999999999999999", "\ud800", ""]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)  # fmt: skip
tokens = st.one_of(
    st.text(max_size=30),
    st.from_regex(r"[a-z_]{1,10}=[^\s]{0,20}", fullmatch=True),
    st.integers().map(str),
    st.sampled_from(['"', "'", "=", "multi=", "closes=", "anonymous=yes", "anonymus=yes", "questions=3",
                     "99999999999999999999", "-1", "0", "\u202e", "\u200b", "<@U0ANN0001|ann>",
                     "<#C0GENERAL|general>", "<!here>", "&amp;", "*bold*", "[a](https://x.invalid)",
                     "2026-02-30T25:00", "tomorrow 2pm", "1w", "9999d", "a" * 300]),  # fmt: skip
)


NUMBERS = st.integers().map(str) | st.sampled_from(["1", "0", "99999999999999999999", "-99999999999999999999",
                                                    "-0", " 1", "1_0", "\u0661", "9" * 5000])  # fmt: skip


def button_ids(registry: Registry) -> st.SearchStrategy[str]:
    """Ids shaped like the registry's buttons (`poll.vote:<int>:<int>`), with any numbers
    and text in their places, and some with the wrong number of parts."""
    def exact(prefix: str, kinds: tuple[type, ...]) -> st.SearchStrategy[str]:
        parts = [NUMBERS if kind is int else st.text(max_size=10) for kind in kinds]
        return st.tuples(*parts).map(lambda values: ":".join([prefix, *values]))

    shaped = st.one_of(*(exact(prefix, route.kinds) for prefix, route in sorted(registry.buttons.items())))
    loose = st.builds(lambda prefix, rest: ":".join([prefix, *rest]),
                      st.sampled_from([*sorted(registry.buttons), "link", "gone.away"]),
                      st.lists(NUMBERS | st.text(max_size=10), max_size=4))  # fmt: skip
    return shaped | loose


def traceback_records(caplog: pytest.LogCaptureFixture, since: int = 0) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records[since:]
            if r.exc_info or "Traceback" in r.getMessage()]  # fmt: skip


@pytest.fixture
async def serving_after(slack: SlackHarness) -> AsyncIterator[None]:
    """After all the examples of a test: the bot still answers."""
    yield
    await still_serving(slack)


async def still_serving(slack: SlackHarness) -> None:
    assert slack.http is not None
    async with slack.http.get(slack.wire.app_url.replace("/slack/events", "/healthz")) as response:
        assert response.status == 200
    [answer] = await slack.command("stats me", user=BEA)
    assert answer.text


@pytest.mark.timeout(120)
@pytest.mark.usefixtures("serving_after")
@FUZZ
@given(data=st.data())
async def test_fuzzed_command_text(slack: SlackHarness, caplog: pytest.LogCaptureFixture, data: st.DataObject) -> None:
    caplog.set_level(logging.INFO)
    assert slack.http is not None
    names = sorted(n for n in slack.bot.registry.commands if not n.startswith(NETWORK))
    head = data.draw(st.sampled_from(names) | st.text(max_size=20), label="command")
    args = data.draw(st.lists(tokens, max_size=6), label="args")
    text = " ".join([head, *args]) if data.draw(st.booleans()) else data.draw(st.text(max_size=300), label="text")
    user = data.draw(st.sampled_from([ANN, ANN, BEA, CAL]), label="user")
    raw = urlencode(slack.wire.command(text, user, data.draw(st.sampled_from([GENERAL, NEWS])))).encode()
    since = len(caplog.records)
    status, _ = await slack.wire.post_raw(slack.http, raw, signed(raw, FORM))
    await slack.settle()
    assert status == 200
    assert not traceback_records(caplog, since), traceback_records(caplog, since)


@pytest.mark.timeout(120)
@pytest.mark.usefixtures("serving_after")
@FUZZ
@given(data=st.data())
async def test_fuzzed_button_clicks(slack: SlackHarness, caplog: pytest.LogCaptureFixture, data: st.DataObject) -> None:
    caplog.set_level(logging.INFO)
    assert slack.http is not None
    if not await slack.count("SELECT COUNT(*) FROM polls"):  # a poll for poll.vote:1:N to find
        await slack.command('poll create "Lunch?" Tacos Soup Salad multi=2')
    structured = button_ids(slack.bot.registry)
    value = data.draw(structured | st.text(max_size=300) | st.none(), label="value")
    action_id = data.draw(st.none() | structured | st.text(max_size=300), label="action_id")
    payload = slack.wire.click(value or "x", data.draw(st.sampled_from([ANN, BEA])), GENERAL, message_ts="1.000001")
    action = payload["actions"][0]
    action["action_id"] = action_id if action_id is not None else (value or "x")
    if value is None:
        del action["value"]
    if data.draw(st.booleans(), label="mutate"):  # a field of the payload replaced by any JSON
        key = data.draw(st.sampled_from(["user", "team", "channel", "container", "actions", "type", "trigger_id"]))
        payload[key] = data.draw(json_values, label=key)
    raw = urlencode({"payload": json.dumps(payload)}).encode()
    since = len(caplog.records)
    status, _ = await slack.wire.post_raw(slack.http, raw, signed(raw, FORM))
    await slack.settle()
    assert status in (200, 400)
    assert not traceback_records(caplog, since), traceback_records(caplog, since)


EVENT_IDS = itertools.count(1)


@pytest.mark.timeout(120)
@pytest.mark.usefixtures("serving_after")
@FUZZ
@given(data=st.data())
async def test_fuzzed_event_shapes(slack: SlackHarness, caplog: pytest.LogCaptureFixture, data: st.DataObject) -> None:
    caplog.set_level(logging.INFO)
    assert slack.http is not None
    kinds = st.sampled_from(["message", "team_join", "member_joined_channel", "member_left_channel", "reaction_added"])
    users = st.sampled_from([ANN, "U0BOTUSER", "U0NOBODY1"]) | st.fixed_dictionaries({"id": json_values}) | json_values
    event = data.draw(st.fixed_dictionaries(
        {"type": kinds | json_values},
        optional={"user": users, "channel": st.just(GENERAL) | json_values, "text": st.text(max_size=50) | json_values,
                  "subtype": st.none() | json_values, "bot_id": json_values,
                  "channel_type": st.sampled_from(["channel", "group", "im"]) | json_values},
    ), label="event")  # fmt: skip
    body: Any = slack.wire.event(event, f"Ev{next(EVENT_IDS):08d}")
    if data.draw(st.booleans(), label="mutate"):
        key = data.draw(st.sampled_from(["type", "event_id", "team_id", "event", "event_time", "authorizations"]))
        body[key] = data.draw(json_values | st.sampled_from(["url_verification", "event_callback"]), label=key)
    if data.draw(st.integers(0, 9), label="shape") == 0:
        body = data.draw(json_values, label="body")
    raw = json.dumps(body).encode()
    since = len(caplog.records)
    status, _ = await slack.wire.post_raw(slack.http, raw, signed(raw))
    await slack.settle()
    assert status in (200, 400)
    assert not traceback_records(caplog, since), traceback_records(caplog, since)




async def test_webinar_ics_with_a_20_digit_number_is_one_sentence(
    slack: SlackHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    [answer] = await slack.command("webinar ics 99999999999999999999")
    assert not traceback_records(caplog), traceback_records(caplog)
    assert "went wrong" not in answer.text

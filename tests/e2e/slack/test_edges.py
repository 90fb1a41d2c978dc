"""The HTTP edge under bad input: unsigned or malformed bodies get 400 or 401 (never 500)
and a few log lines for a thousand of them; signed but mutated payloads never reach a
traceback; the signature is checked over the raw bytes before anything is parsed."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from typing import Any
from urllib.parse import urlencode

import pytest

import bot.platforms.slack_inbound as inbound_module
from bot.platforms.base import STALE_BUTTON
from bot.platforms.slack_edge import MAX_BODY, TOO_LONG, UNREADABLE
from tests.e2e.slack.conftest import ANN, GENERAL, SlackHarness
from tests.e2e.slack.fake_slack import SIGNING_SECRET

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def signed(raw: bytes, content_type: str = JSON, timestamp: str | None = None, secret: str = SIGNING_SECRET) -> dict[str, str]:
    stamp = timestamp if timestamp is not None else str(int(time.time()))
    digest = hmac.new(secret.encode(), b"v0:" + stamp.encode() + b":" + raw, hashlib.sha256).hexdigest()
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}


BAD_BODIES: list[tuple[str, bytes, str]] = [
    ("bad JSON", b'{"type": "event_callback", ', JSON),
    ("a JSON list", b"[1,2,3]", JSON),
    ("JSON null", b"null", JSON),
    ("JSON string", b'"event_callback"', JSON),
    ("invalid UTF-8", b'{"type": "\xff\xfe"}', JSON),
    ("invalid UTF-8 in a form", b"command=%2Falcts&text=\xc3\x28", FORM),
    ("percent-encoded bad UTF-8", b"command=%2Falcts&text=%C3%28", FORM),
    ("not form-encoded", b"<xml>hello</xml>", "text/xml"),
    ("no content type", b"command=/alcts", ""),
    ("payload that is not JSON", b"payload=%7Bnot+json", FORM),
    ("payload that is a list", b"payload=%5B1%2C2%5D", FORM),
    ("deeply nested JSON", b"[" * 100_000 + b"]" * 100_000, JSON),
    ("a 5,000-digit number", b'{"event_time": ' + b"9" * 5000 + b"}", JSON),
    ("a form field repeated", b"command=%2Falcts&command=%2Fother", FORM),
    ("a form that is not a form", b"&&&===", FORM),
]


def traceback_records(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]


async def test_unsigned_malformed_bodies_get_401_and_signed_ones_400(slack: SlackHarness, caplog: pytest.LogCaptureFixture) -> None:
    assert slack.http is not None
    with caplog.at_level(logging.INFO):
        for name, raw, content_type in BAD_BODIES:
            unsigned = {"Content-Type": content_type} if content_type else {}
            assert (await slack.wire.post_raw(slack.http, raw, unsigned))[0] == 401, name
            forged = signed(raw, content_type, secret="not-the-secret")
            assert (await slack.wire.post_raw(slack.http, raw, forged))[0] == 401, name
            assert (await slack.wire.post_raw(slack.http, raw, signed(raw, content_type)))[0] == 400, name
        for stamp in ("soon", "", "-5", "1e9", "\u0661\u0662", "9" * 40):
            raw = b'{"type": "url_verification", "challenge": "c"}'
            headers = {**signed(raw, JSON), "X-Slack-Request-Timestamp": stamp}
            assert (await slack.wire.post_raw(slack.http, raw, headers))[0] == 401, stamp
    await slack.settle()
    assert not traceback_records(caplog)
    for table in ("engagement_events", "seen_events", "members_seen"):
        assert await slack.count(f"SELECT COUNT(*) FROM {table}") == 0, table
    assert slack.fake.posts == [] and slack.fake.called("users.info") == []


async def test_a_huge_body_is_refused_without_being_read(slack: SlackHarness) -> None:
    assert slack.http is not None
    raw = b'{"a": "' + b"x" * (MAX_BODY + 10) + b'"}'
    for headers in ({"Content-Type": JSON}, signed(raw)):
        assert (await slack.wire.post_raw(slack.http, raw, headers))[0] == 400

    async def chunks() -> Any:  # no Content-Length: read up to the limit, then refused
        for _ in range(MAX_BODY // 65536 + 2):
            yield b"x" * 65536

    async with slack.http.post(slack.wire.app_url, data=chunks(), headers={"Content-Type": JSON}) as response:
        assert response.status == 400


async def test_a_thousand_bad_requests_write_a_few_lines(slack: SlackHarness, caplog: pytest.LogCaptureFixture) -> None:
    assert slack.http is not None
    requests = []
    for i in range(1000):
        name, raw, content_type = BAD_BODIES[i % len(BAD_BODIES)]
        if name == "deeply nested JSON":
            raw = b"[[[]]]"
        headers = signed(raw, content_type) if i % 2 else {"Content-Type": content_type or JSON}
        requests.append((raw, headers))
    gate = asyncio.Semaphore(50)

    async def send(raw: bytes, headers: dict[str, str]) -> int:
        assert slack.http is not None
        async with gate:
            return (await slack.wire.post_raw(slack.http, raw, headers))[0]

    with caplog.at_level(logging.DEBUG):
        statuses = await asyncio.gather(*(send(raw, headers) for raw, headers in requests))
        slack.platform.edge.flush()
    assert set(statuses) <= {400, 401} and statuses.count(401) >= 500
    logged = sum(len(caplog.handler.format(r)) for r in caplog.records)
    assert logged < 20_000, logged
    assert not traceback_records(caplog)
    assert slack.platform.edge.refused == 1000
    summary = [r.getMessage() for r in caplog.records if "rejected since" in r.getMessage()]
    assert summary and "999 more" in summary[0], [r.getMessage() for r in caplog.records]
    # and it still serves
    [answer] = await slack.command("follow")
    assert answer.text.startswith("You now follow ALCTS here.")


async def test_the_signature_is_checked_before_anything_is_parsed(
    slack: SlackHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert slack.http is not None
    parsed: list[bytes] = []

    def spy(raw: bytes, content_type: str) -> Any:
        parsed.append(raw)
        raise AssertionError("parsed before the signature was checked")

    monkeypatch.setattr(inbound_module, "parse", spy)
    payload = slack.wire.command("follow", ANN, GENERAL)
    raw = urlencode(payload).encode()
    for headers in ({"Content-Type": FORM}, signed(raw, FORM, secret="wrong"),
                    signed(raw, FORM, timestamp=str(int(time.time()) - 301))):  # fmt: skip
        assert (await slack.wire.post_raw(slack.http, raw, headers))[0] == 401
    assert parsed == []


async def command_ack(slack: SlackHarness, payload: dict[str, Any]) -> tuple[int, Any]:
    assert slack.http is not None
    raw = urlencode(payload).encode()
    status, body = await slack.wire.post_raw(slack.http, raw, signed(raw, FORM))
    await slack.settle()
    return status, json.loads(body)["text"] if body else None


async def interactive(slack: SlackHarness, payload: Any) -> int:
    assert slack.http is not None
    raw = urlencode({"payload": json.dumps(payload)}).encode()
    status, _ = await slack.wire.post_raw(slack.http, raw, signed(raw, FORM))
    await slack.settle()
    return status


async def event(slack: SlackHarness, payload: Any) -> int:
    assert slack.http is not None
    raw = json.dumps(payload).encode()
    status, _ = await slack.wire.post_raw(slack.http, raw, signed(raw, JSON))
    await slack.settle()
    return status


async def test_signed_mutated_commands_get_one_sentence(slack: SlackHarness, caplog: pytest.LogCaptureFixture) -> None:
    good = slack.wire.command("follow", ANN, GENERAL)
    mutations: list[tuple[dict[str, Any], str]] = [
        ({k: v for k, v in good.items() if k != "user_id"}, UNREADABLE),
        ({k: v for k, v in good.items() if k != "team_id"}, UNREADABLE),
        ({**good, "channel_id": ""}, UNREADABLE),
        ({**good, "user_id": "U" + "9" * 200}, UNREADABLE),  # an id longer than any Slack id
        ({**good, "user_id": "U0ANN<script>"}, UNREADABLE),
        ({**good, "response_url": "javascript:alert(1)"}, UNREADABLE),
        ({**good, "text": "poll create " + "x" * 5000}, TOO_LONG),
        ({**good, "command": "/other"}, "This app answers /alcts."),
    ]
    with caplog.at_level(logging.INFO):
        for payload, sentence in mutations:
            assert await command_ack(slack, payload) == (200, sentence), payload
        # a 20-digit number where the command takes an id is the core's to refuse, in a sentence
        assert (await command_ack(slack, {**good, "text": "poll results 99999999999999999999"}))[0] == 200
        assert (await command_ack(slack, {**good, "user_id": "99999999999999999999"}))[0] == 200
    assert not traceback_records(caplog), traceback_records(caplog)
    assert await slack.count("SELECT COUNT(*) FROM follows") == 0


async def test_signed_mutated_clicks_and_events_are_acknowledged_and_not_handled(
    slack: SlackHarness, caplog: pytest.LogCaptureFixture
) -> None:
    [poll] = await slack.command('poll create "Lunch?" Tacos Soup')
    good = slack.wire.click(poll.buttons()[0]["value"], ANN, GENERAL, poll.ts)
    action = good["actions"][0]
    clicks: list[Any] = [
        {k: v for k, v in good.items() if k != "user"},
        {k: v for k, v in good.items() if k not in ("channel", "container")},
        {**good, "user": 5}, {**good, "user": {"id": 99999999999999999999}}, {**good, "user": {"id": ["U1"]}},
        {**good, "actions": "poll.vote:1:0"}, {**good, "actions": []}, {**good, "actions": [None]},
        {**good, "actions": [{**action, "action_id": None}]}, {**good, "actions": [{**action, "value": 12}]},
        {**good, "actions": [action] * 30}, {**good, "container": {"is_ephemeral": "no", "channel_id": GENERAL}},
        {**good, "actions": [{**action, "value": "x" * 3000}]},
        {**good, "actions": [{**action, "value": "poll.vote:1:\ud800"}]},  # a lone surrogate
        {**good, "type": None}, {**good, "type": "view_submission"}, {**good, "type": "shortcut"},
        [good], None, 42, "block_actions",
    ]  # fmt: skip
    events: list[Any] = [
        slack.wire.event({"type": "member_joined_channel", "user": ANN}),  # no channel
        slack.wire.event({"type": "member_joined_channel", "user": {"id": ANN}, "channel": GENERAL}),
        slack.wire.event({"type": "team_join", "user": "U0NEW"}),
        slack.wire.event({"type": "message", "channel": GENERAL, "user": ANN, "text": ["a"]}),
        slack.wire.event({"type": "message", "channel": GENERAL, "user": ANN, "text": "\udc80"}),
        slack.wire.event({"type": "reaction_added", "user": ANN}),  # not subscribed
        {**slack.wire.event({"type": "message"}), "event": None},
        {**slack.wire.event({"type": "message"}), "event": [1, 2]},
        {**slack.wire.event({"type": "message"}), "event_id": 12},
        {**slack.wire.event({"type": "message"}), "event_time": 10**30},
        {"type": "app_rate_limited", "minute_rate_limited": 1}, {"type": None}, {},
        {"type": "url_verification"}, {"type": "url_verification", "challenge": ["c"]},
    ]
    with caplog.at_level(logging.INFO):
        for payload in clicks:
            assert await interactive(slack, payload) in (200, 400), payload
        for payload in events:
            assert await event(slack, payload) in (200, 400), payload
    assert not traceback_records(caplog), traceback_records(caplog)
    assert await slack.count("SELECT COUNT(*) FROM poll_votes") == 0
    assert await slack.count("SELECT COUNT(*) FROM engagement_events WHERE kind != 'command'") == 0
    assert [p for p in slack.fake.posts if p.text.startswith("Your vote")] == []


async def test_a_button_id_with_a_number_beyond_64_bits_is_out_of_date(
    slack: SlackHarness, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        for value in ("poll.vote:99999999999999999999:1", "poll.vote:1:-99999999999999999999",
                      "trivia.answer:" + "9" * 30 + ":0"):  # fmt: skip
            [answer] = await slack.click(value)
            assert answer.ephemeral and answer.text == STALE_BUTTON
    assert not traceback_records(caplog), traceback_records(caplog)

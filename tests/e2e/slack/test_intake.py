"""How the adapter takes work in, through the real slack-bolt app and the fake Slack: the
ack follows the handling (answers nobody waits for go out after it), a bound on work in
flight with a "busy" answer beyond it, a drain on close, and one log line (no traceback)
for a signed payload that lacks a field."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path

import aiohttp
import pytest

from bot.platforms.slack_intake import BUSY, CLOSING
from tests.e2e.slack.burst import add_voters
from tests.e2e.slack.conftest import ANN, GENERAL, SlackHarness
from tests.e2e.slack.fake_slack import FakeSlack
from tests.e2e.slack.probe import Probe


def refusal(body: str) -> str | None:
    return json.loads(body)["text"] if body else None


async def until(check: object, seconds: float = 5) -> None:
    deadline = time.monotonic() + seconds
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_the_ack_follows_the_vote_and_the_answer_follows_the_ack(slack: SlackHarness) -> None:
    [poll] = await slack.command('poll create "Lunch?" Tacos Soup')
    assert slack.http is not None
    slack.fake.delays["response_url"] = 1.0  # a slow answer must not make the ack late
    started = time.perf_counter()
    status, body = await slack.wire.post(slack.http, "interactive", slack.wire.click(
        poll.buttons()[0]["value"], ANN, GENERAL, poll.ts))  # fmt: skip
    acked = time.perf_counter() - started
    assert (status, body) == (200, "") and acked < 0.5, acked
    # acknowledged means stored: the vote is in the database before the ack is sent
    assert await slack.count("SELECT COUNT(*) FROM poll_votes WHERE voter = ?", ANN) == 1
    assert not slack.fake.seen_by(ANN)  # the answer is still on its way
    await slack.settle()
    assert [p.text for p in slack.fake.seen_by(ANN)] == ["Your vote: Tacos."]


async def test_beyond_the_bound_clicks_are_refused_as_busy_and_nothing_is_written(
    slack: SlackHarness, fake_slack: FakeSlack
) -> None:
    [poll] = await slack.command('poll create "Lunch?" Tacos Soup')
    users = add_voters(fake_slack, 60)
    slack.platform.intake.limit = 10
    fake_slack.delays["users.info"] = 0.3  # each click stays in flight a while
    assert slack.http is not None
    value = poll.buttons()[1]["value"]

    async def click(user: str) -> tuple[str, int, str]:
        assert slack.http is not None
        status, body = await slack.wire.post(slack.http, "interactive", slack.wire.click(value, user, GENERAL, poll.ts))
        return user, status, body

    answers = await asyncio.gather(*(click(user) for user in users))
    await slack.settle()
    assert all(status == 200 for _, status, _ in answers)
    accepted = {user for user, _, body in answers if not body}
    refused = {user for user, _, body in answers if refusal(body) == BUSY}
    assert accepted | refused == set(users) and len(accepted) >= 10 and refused, (len(accepted), len(refused))
    assert slack.platform.intake.peak <= 10
    voters = {r["voter"] for r in await slack.bot.db.fetchall("SELECT voter FROM poll_votes")}
    assert voters == accepted  # nothing half-written for a refused click
    seen = {r["member_id"] for r in await slack.bot.db.fetchall("SELECT member_id FROM engagement_events")}
    assert not seen & refused
    # a refused member is told where they look, once
    busy_notices = [p.user for p in fake_slack.posts if p.ephemeral and p.text == BUSY]
    assert busy_notices and set(busy_notices) <= refused and len(busy_notices) == len(set(busy_notices))
    # and trying again in a moment works
    [again] = await slack.click(value, user=sorted(refused)[0], message_ts=poll.ts)
    assert again.text == "Your vote: Soup."


async def test_a_busy_bot_refuses_commands_with_a_text_and_events_with_503_which_slack_retries(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    probe = Probe()
    harness = await SlackHarness(tmp_path, fake_slack, cogs=(probe,)).start()
    harness.platform.intake.limit = 1
    assert harness.http is not None
    http, wire = harness.http, harness.wire
    try:
        slow = asyncio.create_task(wire.post(http, "command", wire.command("probe slow", ANN, GENERAL)))
        await until(lambda: harness.platform.intake.in_flight == 1)
        status, body = await wire.post(http, "command", wire.command("follow", ANN, GENERAL))
        assert status == 200 and refusal(body) == BUSY  # Slack shows a command's ack text to its sender
        joined = wire.event({"type": "member_joined_channel", "user": ANN, "channel": GENERAL}, "Ev0BUSY01")
        assert (await wire.post(http, "event", joined))[0] == 503  # not acknowledged: Slack retries it
        probe.gate.set()
        assert (await slow)[0] == 200
        await harness.settle()
        assert await harness.count("SELECT COUNT(*) FROM follows") == 0 and probe.arrivals == []
        retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_error"}
        for _ in range(2):  # the retry is handled; a second one is a duplicate
            assert (await wire.post(http, "event", joined, headers=retry))[0] == 200
            await harness.settle()
        assert probe.arrivals == [("joined", ANN, "general")]
    finally:
        probe.gate.set()
        await harness.stop()


async def test_close_refuses_new_work_and_drains_what_is_in_flight(tmp_path: Path, fake_slack: FakeSlack) -> None:
    probe = Probe()
    harness = await SlackHarness(tmp_path, fake_slack, cogs=(probe,)).start()
    harness.platform.intake.budget = 0.2  # acked at the budget, still working after it
    http = aiohttp.ClientSession()
    wire = harness.wire
    closing: asyncio.Task[None] | None = None
    try:
        [poll] = await harness.command('poll create "Lunch?" Tacos Soup')
        assert (await wire.post(http, "command", wire.command("probe slow", ANN, GENERAL)))[0] == 200
        closing = asyncio.create_task(harness.bot.close())
        await until(lambda: harness.platform.intake.closing)
        status, body = await wire.post(http, "interactive", wire.click(poll.buttons()[0]["value"], ANN, GENERAL, poll.ts))
        assert status == 200 and refusal(body) == CLOSING
        joined = wire.event({"type": "member_joined_channel", "user": ANN, "channel": GENERAL})
        assert (await wire.post(http, "event", joined))[0] == 503
        await asyncio.sleep(0.3)
        assert not closing.done()  # waiting for the slow command, however long (up to DRAIN_LIMIT)
        probe.gate.set()
        await asyncio.wait_for(closing, 10)
    finally:
        probe.gate.set()
        await http.close()
        if harness.http is not None:
            await harness.http.close()
        if closing is None:
            await harness.bot.close()
    assert [p.text for p in fake_slack.in_channel(GENERAL)][-1] == "The slow answer."
    assert not [p for p in fake_slack.posts if p.text.startswith("Your vote")]


@pytest.mark.parametrize("kind", ["command", "interactive", "event"])
async def test_a_signed_payload_missing_a_field_is_one_log_line(
    slack: SlackHarness, caplog: pytest.LogCaptureFixture, kind: str
) -> None:
    payloads = {
        "command": {k: v for k, v in slack.wire.command("follow", ANN, GENERAL).items() if k != "channel_id"},
        "interactive": {k: v for k, v in slack.wire.click("poll.vote:1:0", ANN, GENERAL).items()
                        if k not in ("user", "channel", "container")},
        "event": slack.wire.event({"type": "member_joined_channel", "user": ANN}),
    }  # fmt: skip
    with caplog.at_level(logging.INFO):
        assert await slack.send(kind, payloads[kind]) == 200
    assert [r for r in caplog.records if "malformed payload" in r.getMessage()]
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records if r.exc_info]

"""Replays: a signed request sent again, byte for byte, within Slack's 5-minute window (a
network retry, or someone who captured it) is acknowledged and changes nothing, also
after a restart; requests that only look alike are still handled."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from pathlib import Path

import pytest

from bot.platforms.slack_payloads import BlockActions, SlashCommand, ViewSubmission
from bot.platforms.slack_replay import request_identity
from tests.e2e.slack.conftest import ANN, BEA, GENERAL, SlackHarness
from tests.e2e.slack.fake_slack import FakeSlack

VOTES = "SELECT COUNT(*) FROM poll_votes"


def replay_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage().startswith("replayed slack request")]


async def test_a_replayed_signed_vote_changes_nothing(slack: SlackHarness, caplog: pytest.LogCaptureFixture) -> None:
    assert slack.http is not None
    [poll] = await slack.command('poll create "Which schema?" MARC BIBFRAME')
    body, headers = slack.wire.signed("interactive", slack.wire.click(poll.buttons()[1]["value"], ANN, GENERAL, poll.ts))
    assert await slack.wire.post_raw(slack.http, body, headers) == (200, "")
    await slack.settle()
    assert await slack.count(VOTES) == 1
    answers = len(slack.fake.seen_by(ANN))
    with caplog.at_level(logging.INFO):
        assert await slack.wire.post_raw(slack.http, body, headers) == (200, "")  # acknowledged, quietly
        await slack.settle()
    assert await slack.count(VOTES) == 1  # handled again, the second click would have taken the vote back
    assert len(slack.fake.seen_by(ANN)) == answers  # and no message to the member
    assert len(replay_lines(caplog)) == 1 and not [r for r in caplog.records if r.levelno >= logging.WARNING]
    await slack.restart()  # the identity is in SQLite, not in memory
    assert await slack.wire.post_raw(slack.http, body, headers) == (200, "")
    await slack.settle()
    assert await slack.count(VOTES) == 1 and len(slack.fake.seen_by(ANN)) == answers
    # a new click on the same button is a new request: the toggle works as it always did
    await slack.click(poll.buttons()[1]["value"], message_ts=poll.ts)
    assert await slack.count(VOTES) == 0


async def test_a_replayed_poll_create_makes_one_poll(slack: SlackHarness, caplog: pytest.LogCaptureFixture) -> None:
    assert slack.http is not None
    body, headers = slack.wire.signed("command", slack.wire.command('poll create "Lunch?" Tacos Soup', ANN, GENERAL))
    assert (await slack.wire.post_raw(slack.http, body, headers))[0] == 200
    await slack.settle()
    posts = len(slack.fake.posts)
    with caplog.at_level(logging.INFO):
        for _ in range(3):
            assert await slack.wire.post_raw(slack.http, body, headers) == (200, "")
        await slack.settle()
    assert await slack.count("SELECT COUNT(*) FROM polls") == 1
    assert len(slack.fake.posts) == posts and len(replay_lines(caplog)) == 3
    assert await slack.count("SELECT COUNT(*) FROM engagement_events WHERE kind = 'command'") == 1


async def test_without_a_trigger_id_the_request_timestamp_tells_commands_apart(slack: SlackHarness) -> None:
    assert slack.http is not None
    payload = slack.wire.command('poll create "Lunch?" Tacos Soup', ANN, GENERAL)
    del payload["trigger_id"]
    now = int(time.time())
    first = slack.wire.signed("command", payload, timestamp=now - 10)
    again = slack.wire.signed("command", payload, timestamp=now - 9)  # the same words a second later
    for body, headers in (first, first, again):
        assert (await slack.wire.post_raw(slack.http, body, headers))[0] == 200
    await slack.settle()
    assert await slack.count("SELECT COUNT(*) FROM polls") == 2  # the replay of the first was dropped


async def test_concurrent_replays_are_handled_once(slack: SlackHarness) -> None:
    assert slack.http is not None
    [poll] = await slack.command('poll create "Lunch?" Tacos Soup')
    body, headers = slack.wire.signed("interactive", slack.wire.click(poll.buttons()[0]["value"], BEA, GENERAL, poll.ts))
    answers = await asyncio.gather(*(slack.wire.post_raw(slack.http, body, headers) for _ in range(20)))
    await slack.settle()
    assert {status for status, _ in answers} == {200}
    assert await slack.count(VOTES) == 1
    assert [p.text for p in slack.fake.seen_by(BEA)] == ["Your vote: Tacos."]


def test_request_identities() -> None:
    command = {"command": "/alcts", "text": "follow", "team_id": "T1", "channel_id": "C1", "user_id": "U1"}
    with_trigger = SlashCommand.model_validate({**command, "trigger_id": "123.456.abc"})
    assert request_identity(with_trigger, "1700000000") == "command:123.456.abc"
    bare = SlashCommand.model_validate(command)
    assert request_identity(bare, None) is None  # nothing tells two of them apart: not deduplicated
    assert request_identity(bare, "1700000000") != request_identity(bare, "1700000001")
    assert request_identity(bare, "1700000000") != request_identity(
        SlashCommand.model_validate({**command, "text": "unfollow"}), "1700000000")  # fmt: skip

    def click(**changes: object) -> BlockActions:
        action = {"action_id": "poll.vote:1:0", "value": "poll.vote:1:0", "action_ts": "1700000000.1"}
        body = {"type": "block_actions", "user": {"id": "U1"}, "team": {"id": "T1"},
                "container": {"message_ts": "1.2", "channel_id": "C1"}, "actions": [action], "trigger_id": "t1"}  # fmt: skip
        for key, value in changes.items():
            if key in action:
                action[key] = value  # type: ignore[assignment]
            else:
                body[key] = value
        return BlockActions.model_validate(body)

    base = request_identity(click())
    assert base is not None and base == request_identity(click(trigger_id="t2"))  # by action_ts, not trigger
    for change in ({"action_ts": "1700000000.2"}, {"user": {"id": "U2"}}, {"team": {"id": "T2"}},
                   {"container": {"message_ts": "1.3", "channel_id": "C1"}}):  # fmt: skip
        assert request_identity(click(**change)) != base, change
    # the button (a poll's option) is not part of it: the identity is stored for a day
    assert request_identity(click(action_id="poll.vote:1:1", value="poll.vote:1:1")) == base
    # and it is keyed: the same click under another key is another identity
    assert request_identity(click(), key=b"k1") not in (base, request_identity(click(), key=b"k2"))
    no_ts = click(action_ts=None)
    assert request_identity(no_ts) == "action:t1"
    view = {"type": "view_submission", "user": {"id": "U1"}, "view": {"id": "V1", "hash": "h1"}}
    assert request_identity(ViewSubmission.model_validate({**view, "trigger_id": "t9"})) == "view:t9"
    assert request_identity(ViewSubmission.model_validate(view)) == "view:V1:h1"


async def test_the_stored_identity_of_a_click_never_tells_the_option(slack: SlackHarness) -> None:
    """Someone with the database who knows who clicked an anonymous poll, and roughly when,
    can neither try each option against the stored identity (it does not depend on the
    option) nor check a guess of the click at all (the hash is keyed with a secret that is
    not in the database)."""
    [poll] = await slack.command('poll create "Which schema?" MARC BIBFRAME Dublin anonymous=yes')
    values = [button["value"] for button in poll.buttons()]
    payload = slack.wire.click(values[1], ANN, GENERAL, poll.ts)
    assert await slack.send("interactive", payload) == 200
    assert await slack.count(VOTES) == 1
    await slack.bot.db.flush()
    stored = [row[0] for row in await slack.bot.db.fetchall(
        "SELECT event_id FROM seen_events WHERE platform = 'slack' AND event_id LIKE 'action:%'")]  # fmt: skip
    assert len(stored) == 1
    action = payload["actions"][0]
    for value in values:  # the guesser's brute force: each option, hashed as the identity once was
        for fields in ([f"{value}\x1e{action['action_ts']}"], [action["action_ts"]]):  # with and without the option
            parts = [payload["team"]["id"], ANN, poll.ts, *fields]
            assert "action:" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40] != stored[0], value
    for value in values:  # and even with the key, every option gives the same identity
        guess = {**payload, "actions": [{**action, "action_id": value, "value": value}]}
        assert request_identity(BlockActions.model_validate(guess), key=slack.platform._identity_key) == stored[0]


async def test_in_socket_mode_a_redelivered_click_or_command_is_handled_once(tmp_path: Path, fake_slack: FakeSlack,
                                                                             caplog: pytest.LogCaptureFixture) -> None:  # fmt: skip
    harness = await SlackHarness(tmp_path, fake_slack, socket_mode=True, slack_signing_secret=None).start()
    try:
        create = harness.wire.command('poll create "Lunch?" Tacos Soup', ANN, GENERAL)
        for _ in range(2):
            await fake_slack.envelope("slash_commands", create)
            await harness.settle()
        assert await harness.count("SELECT COUNT(*) FROM polls") == 1
        [poll] = [p for p in fake_slack.posts if p.buttons()]
        vote = harness.wire.click(poll.buttons()[0]["value"], ANN, GENERAL, poll.ts)
        for _ in range(2):
            await fake_slack.envelope("interactive", vote)
            await harness.settle()
        assert await harness.count(VOTES) == 1
        with caplog.at_level(logging.INFO):  # and a malformed envelope is one line, not a traceback
            await fake_slack.envelope("interactive", {**vote, "user": 5})
            await fake_slack.envelope("slash_commands", {**create, "user_id": None})
            await harness.settle()
        assert [r for r in caplog.records if "malformed payload" in r.getMessage()]
        assert not [r for r in caplog.records if r.exc_info]
    finally:
        await harness.stop()

"""The Slack adapter in Socket Mode: the fake hands out a ws://127.0.0.1 URL and pushes
envelopes; the app acks each one over the socket."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import SORRY
from bot.config import ConfigError
from tests.e2e.slack.conftest import ANN, CAL, EVE, GENERAL, NEWS, SlackHarness
from tests.e2e.slack.fake_slack import FakeSlack
from tests.e2e.slack.probe import Probe


@pytest.fixture
async def socket_slack(tmp_path: Path, fake_slack: FakeSlack) -> AsyncIterator[tuple[SlackHarness, Probe]]:
    probe = Probe()
    harness = await SlackHarness(tmp_path, fake_slack, socket_mode=True, cogs=(probe,),
                                 slack_signing_secret=None).start()  # fmt: skip
    yield harness, probe
    await harness.stop()


async def test_it_connects_with_the_app_token_and_serves_no_http_endpoint(socket_slack: tuple[SlackHarness, Probe]) -> None:
    harness, _ = socket_slack
    assert len(harness.fake.called("apps.connections.open")) == 2  # the token check, then the socket
    assert len(harness.fake.sockets) == 1
    assert harness.http is not None
    base = harness.wire.app_url.removesuffix("/slack/events")
    async with harness.http.get(base + "/healthz") as response:
        assert (response.status, await response.json()) == (200, {"status": "ok", "platform": "slack", "mode": "socket"})
    async with harness.http.post(harness.wire.app_url, data=b"{}") as response:
        assert response.status == 404


async def test_envelopes_are_acked_and_handled(socket_slack: tuple[SlackHarness, Probe]) -> None:
    harness, probe = socket_slack
    ack = await harness.fake.envelope("slash_commands", harness.wire.command("follow", ANN, GENERAL))
    assert set(ack) == {"envelope_id"} and ack["envelope_id"].startswith("env-")
    await harness.bot.idle()
    assert harness.fake.in_channel(GENERAL)[0].text.startswith("You now follow ALCTS here.")

    card = (await harness.command("privacy forget-me"))[0]
    answer = (await harness.click(card.buttons()[0]["value"], ephemeral=True))[0]
    assert answer.text.startswith("Done: your data is gone")

    joined = {"type": "member_joined_channel", "user": EVE, "channel": NEWS}
    await harness.event(joined, "Ev0SOCKET1")
    await harness.event(joined, "Ev0SOCKET1", retry_attempt=1, retry_reason="timeout")
    await harness.event({"type": "message", "channel": GENERAL, "channel_type": "channel", "user": ANN, "text": "MARC"})
    assert probe.arrivals == [("joined", EVE, "announcements")]
    assert probe.heard == [("Ann", "general", "MARC")]  # real name: ann set no display name


async def test_a_form_is_opened_grown_and_submitted_over_socket_mode(socket_slack: tuple[SlackHarness, Probe]) -> None:
    harness, _ = socket_slack
    assert await harness.command("poll create") == []
    view = harness.fake.latest_view()
    body = await harness.submit_view(view["id"], {"question": "Tea?", "options.0": "Tea", "options.1": "tea"})
    assert body["response_action"] == "errors" and list(body["errors"]) == ["options.0"]  # on the field, in the ack
    assert await harness.click_view(view["id"], "form.add:options") == {}
    assert "options.2" in [block.get("block_id") for block in harness.fake.views[view["id"]]["blocks"]]
    values = {"question": "Tea or coffee?", "options.0": "Tea", "options.1": "Coffee", "options.2": "Both"}
    assert await harness.submit_view(view["id"], values) == {}
    assert await harness.count("SELECT COUNT(*) FROM poll_options") == 3
    assert "Tea or coffee?" in harness.fake.in_channel(GENERAL)[0].everything()


async def test_a_wrong_app_token_stops_start_with_a_clear_error(tmp_path: Path, fake_slack: FakeSlack) -> None:
    harness = SlackHarness(tmp_path, fake_slack, socket_mode=True, slack_app_token="xapp-wrong")
    with pytest.raises(ConfigError, match=r"^config: SLACK_APP_TOKEN was refused by Slack \(invalid_auth\)$"):
        await harness.start()
    await harness.bot.close()


async def test_every_command_of_the_catalogue_answers_in_socket_mode(socket_slack: tuple[SlackHarness, Probe]) -> None:
    harness, probe = socket_slack
    probe.gate.set()  # /probe slow answers at once
    for name, command in harness.bot.registry.commands.items():
        opened = len(harness.fake.called("views.open"))
        posts = await harness.command(name, user=CAL)
        if command.spec.form is not None:  # alone, a command with a form opens it (test_forms.py)
            assert posts == [] and len(harness.fake.called("views.open")) == opened + 1, f"/{name} opened no form"
            continue
        assert posts, f"/{name} got no answer"
        assert all(SORRY not in p.everything() for p in posts), f"/{name} failed: {posts}"

"""Acknowledged means durable, through the real `alcts-bot run` and the fake Slack: a burst
of 1,000 signed vote clicks from distinct members, the process killed with SIGKILL at
several moments (or stopped with SIGTERM while the Web API is slow), then restarted on the
same database. Slack does not redeliver clicks, so every click acked as taken must be
stored, exactly once, and after the restart the poll message shows the stored tally."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from pathlib import Path

import aiohttp
import pytest

from tests.e2e.slack.burst import (
    BotProcess,
    Click,
    add_voters,
    check_every_accepted_vote_stored_once,
    create_poll,
    fire,
    integrity,
    poll_id,
    stored_votes,
    until,
    vote_clicks,
)
from tests.e2e.slack.conftest import ANN, GENERAL
from tests.e2e.slack.fake_slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack, SlackWire

KILLS = {"after 100 acks": ("acks", 100), "after 500 acks": ("acks", 500), "mid-burst": ("seconds", 0.4)}


@pytest.fixture
def voters(fake_slack: FakeSlack) -> list[str]:
    return add_voters(fake_slack)


def clean(log: str) -> None:
    assert "Traceback" not in log, log[-3000:]
    assert BOT_TOKEN not in log and SIGNING_SECRET not in log


async def burst_then_kill(bot: BotProcess, voters: list[str], kind: str, at: float) -> tuple[list[Click], int]:
    """A poll, then a burst of votes cut by SIGKILL; the clicks and the poll's id."""
    poll, values = await create_poll(bot)
    clicks = vote_clicks(voters, len(values))
    accepted = 0

    def answered(click: Click) -> None:
        nonlocal accepted
        accepted += click.accepted
        if kind == "acks" and accepted == at:
            bot.kill()

    timer = asyncio.get_running_loop().call_later(at, bot.kill) if kind == "seconds" else None
    await fire(bot.url, SlackWire(bot.fake), clicks, values, poll.ts, answered=answered)
    if timer is not None:
        timer.cancel()
    bot.kill()  # the burst may have ended before the moment came
    assert await bot.wait() == -signal.SIGKILL
    return clicks, poll_id(values)


@pytest.mark.parametrize("moment", list(KILLS))
async def test_sigkill_in_a_vote_burst_loses_no_acknowledged_vote(
    tmp_path: Path, fake_slack: FakeSlack, voters: list[str], moment: str
) -> None:
    kind, at = KILLS[moment]
    bot = await BotProcess(tmp_path, fake_slack).start()
    try:
        clicks, poll = await burst_then_kill(bot, voters, kind, at)
        accepted = sum(click.accepted for click in clicks)
        if kind == "acks":
            assert at <= accepted < len(clicks), accepted  # killed part-way through
        await bot.start()  # a new process on the same database
        rows = stored_votes(bot.database, poll)
        check_every_accepted_vote_stored_once(clicks, rows)
        assert integrity(bot.database) == "ok"
        assert all(click.refused is None for click in clicks), "100 connections stay within the in-flight bound"
        # start-up re-renders the poll message from the stored tally (the core's part)
        [message] = [p for p in fake_slack.in_channel(GENERAL) if p.buttons()]
        await until(lambda: f"{len(rows)} voters so far" in message.everything(), seconds=30)  # under a loaded CI machine the restart takes its time
        assert await bot.terminate() == 0
    finally:
        bot.kill()
    clean(bot.log_text())


async def test_sigterm_with_a_slow_web_api_loses_no_acknowledged_vote_and_exits_0(
    tmp_path: Path, fake_slack: FakeSlack, voters: list[str]
) -> None:
    bot = await BotProcess(tmp_path, fake_slack).start()
    try:
        poll, values = await create_poll(bot)
        fake_slack.delays.update({"chat.postEphemeral": 3.0, "response_url": 3.0})  # every answer takes 3 s
        clicks = vote_clicks(voters, len(values))
        accepted = 0

        def answered(click: Click) -> None:
            nonlocal accepted
            accepted += click.accepted
            if accepted == 150 and click.accepted:  # once: a second SIGTERM means "exit now" (130)
                assert bot.proc is not None
                bot.proc.send_signal(signal.SIGTERM)

        await fire(bot.url, SlackWire(fake_slack), clicks, values, poll.ts, answered=answered)
        code = await asyncio.wait_for(bot.wait(), 60)
    finally:
        bot.kill()
    log = bot.log_text()
    assert code == 0, log[-3000:]
    acked = {click.user for click in clicks if click.accepted}
    assert len(acked) >= 150
    check_every_accepted_vote_stored_once(clicks, stored_votes(bot.database, poll_id(values)))
    assert integrity(bot.database) == "ok"
    # the answers in flight went out before the exit, however slow the Web API was
    answered_users = {p.user for p in fake_slack.posts if p.ephemeral and p.text.startswith("Your vote")}
    assert acked <= answered_users, f"{len(acked - answered_users)} acknowledged votes got no answer"
    refusals = {click.refused for click in clicks if click.refused}
    assert refusals <= {"The bot is busy right now; nothing was recorded. Please try again in a moment.",
                        "The bot is restarting; nothing was recorded. Please try again in a moment."}  # fmt: skip
    clean(log)



async def test_a_form_cut_short_by_sigkill_can_be_sent_again_and_is_stored_once(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    """Killed while a form's submission is handled (not acknowledged: Slack shows the member
    an error and keeps the modal open), the member presses Create poll again after the
    restart: the poll is stored once, not dropped as a view already submitted."""
    bot = await BotProcess(tmp_path, fake_slack).start()
    try:
        wire = SlackWire(fake_slack, bot.url)
        async with aiohttp.ClientSession() as session:
            status, _ = await wire.post(session, "command", wire.command("poll create", ANN, GENERAL))
            assert status == 200
            await until(lambda: fake_slack.called("views.open"))
            view = fake_slack.latest_view()
            assert await bot.terminate() == 0  # restarted: the member's details are not cached
            await bot.start()
            wire = SlackWire(fake_slack, bot.url)
            fake_slack.delays["users.info"] = 2.0  # the submission is still being handled when killed
            values = {"question": "Kept?", "options.0": "Yes", "options.1": "No"}
            first = asyncio.ensure_future(wire.post(session, "interactive", wire.view_submission(view["id"], values)))
            await asyncio.sleep(1.0)
            bot.kill()
            await asyncio.gather(first, return_exceptions=True)
            assert await bot.wait() == -signal.SIGKILL
            fake_slack.delays.clear()
            await bot.start()
            wire = SlackWire(fake_slack, bot.url)
            status, body = await wire.post(session, "interactive", wire.view_submission(view["id"], values))
            assert status == 200 and not body  # the modal closes: the poll is stored
            status, body = await wire.post(session, "interactive", wire.view_submission(view["id"], values))
            assert status == 200 and not body  # sent once more: acknowledged, not stored again
        with sqlite3.connect(bot.database) as conn:
            assert conn.execute("SELECT question FROM polls").fetchall() == [("Kept?",)]
        assert integrity(bot.database) == "ok"
        assert await bot.terminate() == 0
    finally:
        bot.kill()
    clean(bot.log_text())

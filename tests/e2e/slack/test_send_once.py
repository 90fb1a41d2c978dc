"""Sent once across a crash between Slack taking a reminder and the bot recording it: the
reminder is posted with its idempotency key in the message `metadata`, the bot dies before
its 'sent' mark, and the restarted bot finds the delivery 'sending', reads the channel's
`conversations.history` (include_all_metadata) from shortly before the intent, finds the
key and does not post again. The clock is the real time here, as Slack's `ts` is.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from storage.webinars import WebinarStore
from tests.e2e.slack.conftest import GENERAL, MOD
from tests.e2e.slack.fake_slack import FakeSlack
from tests.e2e.slack.test_webinars import WebinarHarness, reminders


@pytest.fixture
async def slack(tmp_path: Path, fake_slack: FakeSlack) -> AsyncIterator[WebinarHarness]:
    harness = WebinarHarness(tmp_path, fake_slack)
    harness.clock.set(datetime.now(UTC))
    await harness.start()
    yield harness
    await harness.stop()


async def test_a_reminder_slack_took_but_the_bot_did_not_record_is_not_posted_again(
    slack: WebinarHarness, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = slack.clock.now()
    # the 1 h reminder falls due within a minute of the real time (Slack's ts is real time)
    starts = now.replace(second=0, microsecond=0) + timedelta(hours=1, minutes=1)
    await slack.command(f'webinar add "Crash course" "{starts:%Y-%m-%d %H:%M} UTC" reminders=1h,30m', user=MOD)
    entered = asyncio.Event()

    async def hung(*args: Any, **kwargs: Any) -> None:
        entered.set()
        await asyncio.sleep(3600)

    monkeypatch.setattr(WebinarStore, "deliver", hung)
    slack.clock.set(starts - timedelta(hours=1))
    runner = asyncio.create_task(slack.bot.scheduler.run_due())
    await asyncio.wait_for(entered.wait(), 10)
    await slack.bot.scheduler.stop(grace=0)  # killed after Slack took it, before the 'sent' mark
    runner.cancel()
    await asyncio.gather(runner, return_exceptions=True)
    monkeypatch.undo()
    posted = reminders(fake_slack.in_channel(GENERAL), "Reminder: Crash course")
    assert len(posted) == 1 and posted[0].metadata and posted[0].metadata["event_type"] == "alcts_delivery"

    await slack.restart()  # a new process on the same database
    await slack.until(starts - timedelta(hours=1) + timedelta(seconds=30))
    assert reminders(fake_slack.in_channel(GENERAL), "Reminder: Crash course") == posted
    assert fake_slack.called("conversations.history")  # resolved by the key, in the history
    await slack.until(starts - timedelta(minutes=30))  # the next reminder: a new delivery, posted
    assert len(reminders(fake_slack.in_channel(GENERAL), "Reminder: Crash course")) == 2
    rows = await slack.bot.db.fetchall("SELECT offset_seconds, state FROM webinar_deliveries ORDER BY 1 DESC")
    assert [tuple(r) for r in rows] == [(3600, "sent"), (1800, "sent")]


"""Discord's edge under bad input: a button id whose number is beyond what storage takes
is answered as out of date, in one sentence, without reaching the core."""

from __future__ import annotations

import logging

import pytest

from bot.platforms.base import STALE_BUTTON
from tests.e2e.discord.conftest import ALICE, StartBot
from tests.e2e.discord.fake_discord import FakeDiscord

MESSAGE = 4


async def test_a_custom_id_with_a_number_beyond_64_bits_is_out_of_date(
    fake: FakeDiscord, start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    running = await start_bot()
    await fake.reply(await fake.slash("poll create", ALICE, question="Lunch?", options="Tacos;Soup"))
    with caplog.at_level(logging.INFO):
        for custom_id in ("poll.vote:99999999999999999999:1", "jobs.save:-99999999999999999999",
                          "webinar.remind:" + "9" * 30):  # fmt: skip
            answer = await fake.reply(await fake.click(custom_id, ALICE))
            assert (answer.type, answer.ephemeral, answer.text) == (MESSAGE, True, STALE_BUTTON)
    assert not [r.getMessage() for r in caplog.records if r.exc_info]
    assert await running.rows("SELECT COUNT(*) FROM engagement_events WHERE kind = 'button'") == [(0,)]

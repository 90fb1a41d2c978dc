"""Link buttons, native times and direct messages, through discord.py to the fake Discord."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.cards import Button, Card, Link, timestamp
from bot.errors import DirectMessagesClosed
from bot.model import Community, Member, Place
from tests.e2e.discord.conftest import ALICE, StartBot
from tests.e2e.discord.fake_discord import CHANNEL_ID, GUILD_ID, FakeDiscord, buttons

WHEN = datetime(2026, 12, 3, 20, 0, tzinfo=UTC)
GENERAL = Place(Community("discord", str(GUILD_ID), "ALCTS Test Guild"), str(CHANNEL_ID), "general")
ALICE_MEMBER = Member("discord", str(ALICE.id), "alice")
CARD = Card(
    title="Cataloging job", text=f"Applications close {timestamp(WHEN)} ({timestamp(WHEN, 'R')}).",
    buttons=(Button("Save", "jobs.save", (42,)),), links=(Link("Apply", "https://jobs.example.org/42"),),
)  # fmt: skip


async def test_a_card_arrives_with_a_link_button_and_a_native_time(fake: FakeDiscord, start_bot: StartBot) -> None:
    running = await start_bot()
    ref = await running.platform.send(GENERAL, CARD)

    [posted] = fake.channel_posts
    assert ref is not None and ref.message_id == posted["id"] and posted["channel_id"] == str(CHANNEL_ID)
    save, apply = buttons(posted)
    assert (save["style"], save["custom_id"]) == (2, "jobs.save:42")
    assert apply == {"type": 2, "style": 5, "label": "Apply", "url": "https://jobs.example.org/42", "disabled": False}
    description = posted["embeds"][0]["description"]
    assert description == "Applications close <t:1796328000:F> (<t:1796328000:R>)."


async def test_send_direct_opens_the_dm_and_posts_there(fake: FakeDiscord, start_bot: StartBot) -> None:
    running = await start_bot()
    ref = await running.platform.send_direct(ALICE_MEMBER, CARD)
    again = await running.platform.send_direct(ALICE_MEMBER, Card(text="Second note."))

    first, second = fake.dms_to(ALICE)
    assert ("POST", "/api/v10/users/@me/channels") in fake.requests
    assert ref.channel_id == again.channel_id == first["channel_id"] and int(ref.channel_id) in fake.dm_channels
    assert ref.channel_id != str(CHANNEL_ID) and fake.channel_posts == []  # only Alice sees it
    assert (ref.message_id, second["id"]) == (first["id"], again.message_id)
    assert [b.get("url") for b in buttons(first)] == [None, "https://jobs.example.org/42"]
    assert "<t:1796328000:F>" in first["embeds"][0]["description"]
    await running.platform.edit(ref, Card(text="Applications closed."))  # a DM is edited like any message
    assert fake.messages[int(ref.message_id)]["embeds"][0]["description"] == "Applications closed."


async def test_closed_dms_raise_direct_messages_closed(fake: FakeDiscord, start_bot: StartBot) -> None:
    running = await start_bot()
    fake.close_dms(ALICE)
    with pytest.raises(DirectMessagesClosed) as raised:
        await running.platform.send_direct(ALICE_MEMBER, CARD)
    assert raised.value.member == ALICE_MEMBER
    assert str(raised.value) == "alice does not accept direct messages from the bot or from server members."
    assert fake.direct_messages == [] and fake.channel_posts == []

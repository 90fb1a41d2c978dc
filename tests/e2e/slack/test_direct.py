"""Link buttons, native dates and direct messages, through slack-bolt and slack-sdk to the fake."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from slack_sdk.errors import SlackApiError

from bot.cards import Button, Card, Link, timestamp
from bot.errors import DirectMessagesClosed
from bot.model import Member, Place
from tests.e2e.slack.conftest import ANN, GENERAL, SlackHarness

WHEN = datetime(2026, 12, 3, 20, 0, tzinfo=UTC)
F_DATE = "<!date^1796328000^{date_long} {time}|Thursday 3 December 2026, 20:00 UTC>"
CARD = Card(
    title="Cataloging job", text=f"Applications close {timestamp(WHEN)}.",
    buttons=(Button("Save", "jobs.save", (42,)),), links=(Link("Apply", "https://jobs.example.org/42"),),
)  # fmt: skip


def general(slack: SlackHarness) -> Place:
    return Place(slack.platform.community, GENERAL, "general")


async def test_a_card_arrives_with_a_url_button_and_a_slack_date(slack: SlackHarness) -> None:
    ref = await slack.platform.send(general(slack), CARD)

    [post] = slack.fake.in_channel(GENERAL)
    assert ref is not None and (ref.channel_id, ref.message_id) == (GENERAL, post.ts)
    save, apply = post.buttons()
    assert save["value"] == "jobs.save:42" and "url" not in save
    assert apply == {"type": "button", "text": {"type": "plain_text", "text": "Apply", "emoji": True},
                     "action_id": "link:0", "url": "https://jobs.example.org/42"}  # fmt: skip
    assert post.blocks[1]["text"]["text"] == f"Applications close {F_DATE}."
    assert "Thursday 3 December 2026, 20:00 UTC" in post.text  # the notification, in words


async def test_a_click_on_a_url_button_is_acked_and_ignored(slack: SlackHarness, caplog: pytest.LogCaptureFixture) -> None:
    ref = await slack.platform.send(general(slack), CARD)
    assert ref is not None
    await slack.bot.idle()  # the start-up member count is done
    posts, calls = len(slack.fake.posts), len(slack.fake.calls)

    with caplog.at_level(logging.DEBUG):
        status = await slack.send("interactive", slack.wire.link_click("link:0", ANN, GENERAL, ref.message_id))

    assert status == 200
    assert len(slack.fake.posts) == posts  # no answer
    assert [name for name, _ in slack.fake.calls[calls:] if name != "auth.test"] == []  # no lookups (Bolt's authorize aside)
    assert await slack.count("SELECT COUNT(*) FROM engagement_events WHERE kind = 'button'") == 0
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert not [r for r in caplog.records if r.name.startswith("bot.")]
    # a real button on the same message still reaches the core (one no cog registers)
    [answer] = await slack.click("retired.button:42", message_ts=ref.message_id)
    assert "no longer does anything" in answer.text


async def test_send_direct_opens_a_dm_and_posts_there(slack: SlackHarness) -> None:
    ann = Member("slack", ANN, "ann")
    ref = await slack.platform.send_direct(ann, CARD)

    [post] = slack.fake.dms_to(ANN)
    assert ref is not None and ref.channel_id == post.channel == "D0ANN0001" and ref.message_id == post.ts
    assert slack.fake.called("conversations.open")[-1]["users"] == ANN
    assert post.via == "chat.postMessage" and slack.fake.in_channel(GENERAL) == []
    assert [b.get("url") for b in post.buttons()] == [None, "https://jobs.example.org/42"]
    assert F_DATE in post.everything()
    await slack.platform.edit(ref, Card(text="Applications closed."))
    assert post.edits == 1 and post.text == "Applications closed."


@pytest.mark.parametrize(
    ("user", "refuse", "reason"),
    [
        (ANN, "messages_tab_disabled", "Ann does not accept direct messages from the bot."),
        (ANN, "not_allowed", "Ann does not accept direct messages from the bot."),
        ("U0OTHERBT", None, "Ann is a bot and takes no direct messages."),
        ("U0GONE001", None, "Ann has a deactivated account."),
        ("U0NOBODY1", None, "Ann is not in this workspace."),
    ],
)
async def test_closed_dms_raise_direct_messages_closed(slack: SlackHarness, user: str, refuse: str | None,
                                                       reason: str) -> None:  # fmt: skip
    if refuse:
        slack.fake.refuse_dms(user, refuse)
    member = Member("slack", user, "Ann")
    with pytest.raises(DirectMessagesClosed) as raised:
        await slack.platform.send_direct(member, CARD)
    assert raised.value.member == member and str(raised.value) == reason
    assert slack.fake.posts == []


async def test_a_misconfigured_app_is_not_mistaken_for_closed_dms(slack: SlackHarness) -> None:
    slack.fake.scopes.discard("im:write")
    with pytest.raises(SlackApiError, match="missing_scope"):
        await slack.platform.send_direct(Member("slack", ANN, "ann"), CARD)

"""The App Home tab end to end on Slack: a signed `app_home_opened` event makes the bot
publish the member's Home (`views.publish`) with the cogs' home cards (the next webinars
with their RSVP buttons, the latest job posts, the member's follow state with a toggle);
a click on the tab (block_actions with a `view`, no channel, no message, no response_url)
goes through the same core path as a click on a message, and the tab is published again.
"""

from __future__ import annotations

import json

from tests.e2e.slack.conftest import ANN, BEA, MOD, SlackHarness
from tests.e2e.slack.fake_slack import Post

TITLE = "Linked data for catalogers"
ADD = f'webinar add "{TITLE}" "Dec 3 2pm ET" url=<https://meet.example.org/linked-data>'


async def open_home(slack: SlackHarness, user: str, tab: str = "home") -> Post | None:
    status = await slack.send("event", slack.wire.home_opened(user, tab))
    assert status == 200
    return slack.fake.homes.get(user)


async def click_home(slack: SlackHarness, value: str, user: str) -> Post:
    status = await slack.send("interactive", slack.wire.home_click(value, user))
    assert status == 200
    return slack.fake.homes[user]


def values(home: Post) -> list[str]:
    return [b.get("value", "") for b in home.buttons()]


async def test_home_shows_the_next_webinar_and_an_rsvp_click_there_is_recorded(
    slack: SlackHarness,
) -> None:
    await slack.command(ADD, user=MOD)
    await slack.command(
        'jobs post "Metadata librarian" https://jobs.example.org/1 employer="State U"', user=MOD
    )

    home = await open_home(slack, ANN)

    assert home is not None and home.via == "views.publish"
    [call] = slack.fake.called("views.publish")
    assert call["user_id"] == ANN
    assert TITLE in home.headers()
    assert "webinar.rsvp:1:going" in values(home) and "webinar.rsvp:1:not" in values(home)
    assert "Metadata librarian" in home.everything()
    assert "follow.set:on" in values(home) and "do not follow" in home.everything()

    home = await click_home(slack, "webinar.rsvp:1:going", ANN)

    assert (
        await slack.count(
            "SELECT COUNT(*) FROM webinar_rsvps WHERE member_id = ? AND going = 1", ANN
        )
        == 1
    )
    assert f"going to {TITLE}" in home.everything()  # the answer, at the top of the tab
    assert any(
        b.get("value") == "webinar.rsvp:1:going" and "(1)" in b["text"]["text"]
        for b in home.buttons()
    )
    assert len(slack.fake.called("views.publish")) == 2
    assert not slack.fake.seen_by(ANN)  # nothing posted in a channel for a click on the tab


async def test_follow_toggle_on_the_home_tab(slack: SlackHarness) -> None:
    await open_home(slack, BEA)
    home = await click_home(slack, "follow.set:on", BEA)
    assert await slack.count("SELECT COUNT(*) FROM follows WHERE member_id = ?", BEA) == 1
    assert "follow.set:off" in values(home) and "You now follow" in home.everything()

    home = await click_home(slack, "follow.set:off", BEA)
    assert await slack.count("SELECT COUNT(*) FROM follows WHERE member_id = ?", BEA) == 0
    assert "follow.set:on" in values(home)


async def test_messages_tab_and_duplicate_events_publish_nothing_more(slack: SlackHarness) -> None:
    assert await open_home(slack, ANN, tab="messages") is None
    payload = slack.wire.home_opened(ANN)
    await slack.send("event", payload)
    await slack.send("event", json.loads(json.dumps(payload)))  # a retry: same event_id
    assert len(slack.fake.called("views.publish")) == 1
    home = slack.fake.homes[ANN]
    assert (
        "No webinars are scheduled yet." in home.everything()
        and "No job posts yet." in home.everything()
    )

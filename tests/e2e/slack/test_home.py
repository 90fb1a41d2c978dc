"""The App Home tab end to end on Slack: a signed `app_home_opened` event makes the bot
publish the member's Home (`views.publish`) with the cogs' home cards (the next webinars
with their RSVP buttons, the latest job posts, the member's follow state with a toggle);
a click on the tab (block_actions with a `view`, no channel, no message, no response_url)
goes through the same core path as a click on a message, and the tab is published again.

The tab also shows today's question (the same `trivia.daily` buttons as the channel's
post), the member's trivia standing and, for organizers only, the week's growth figures;
and it is published again, coalesced, when content changes (`Bot.content_changed`) for the
members who opened it lately. Those tests shorten the refresher's intervals (seconds in
production) and wait for it (`HomeRefresher.idle`).
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from datetime import timedelta

from tests.e2e.slack.conftest import ANN, BEA, CAL, DEE, GENERAL, MOD, SlackHarness
from tests.e2e.slack.fake_slack import Post
from tests.e2e.timers import run_due

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
    assert all(call.get("channel") for call in slack.fake.called("conversations.info"))  # the tab has none to ask


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


# -- today's question, trivia standing, growth, and refreshes when content changes ------------


def quick(slack: SlackHarness, interval: float = 0.2) -> None:
    """The refresher at test speed: the same rules, shorter waits."""
    homes = slack.platform.homes
    homes.debounce, homes.interval, homes.rate = 0.05, interval, 1000.0


async def refreshed(slack: SlackHarness) -> None:
    """Until every refresh the content changes asked for is published."""
    await slack.platform.homes.idle()
    await slack.settle()


def publishes(slack: SlackHarness, user: str) -> int:
    return sum(1 for call in slack.fake.called("views.publish") if call["user_id"] == user)


def contexts(home: Post) -> str:
    return "\n".join(e["text"] for b in home.blocks if b["type"] == "context" for e in b["elements"])


async def post_daily_question(slack: SlackHarness) -> tuple[int, int]:
    """Turn the daily question on for 10:00 (the harness starts at 09:00 in Chicago) and let
    the hour pass; returns the question's id and the index of its right choice."""
    [on] = await slack.command("trivia daily on at=10:00", user=MOD)
    assert "is on" in on.text
    slack.clock.advance(timedelta(hours=1))
    await run_due(slack.bot)
    await slack.settle()
    row = await slack.bot.db.fetchone("SELECT id, correct FROM trivia_daily")
    assert row is not None
    return int(row[0]), int(row[1])


async def test_home_shows_the_next_webinar_todays_question_and_the_members_trivia_stats(
    slack: SlackHarness,
) -> None:
    quick(slack)
    await slack.command(ADD, user=MOD)
    home = await open_home(slack, ANN)
    assert home is not None and TITLE in home.headers()
    assert not any(h.startswith("Today's question") for h in home.headers())
    assert "You have not played yet." in home.everything()

    daily_id, right = await post_daily_question(slack)  # the post refreshes ANN's open tab
    await refreshed(slack)
    home = slack.fake.homes[ANN]
    [question] = [h for h in home.headers() if h.startswith("Today's question · ")]
    assert [v for v in values(home) if v.startswith("trivia.daily:")] == [
        f"trivia.daily:{daily_id}:{i}" for i in range(4)
    ]
    assert "Answer here or in #general" in contexts(home)
    [posted] = [p for p in slack.fake.in_channel(GENERAL) if p.headers() and "Question of the day" in p.headers()[0]]
    before = publishes(slack, ANN)

    await slack.click(f"trivia.daily:{daily_id}:{right}", ANN, GENERAL, posted.ts)  # in the channel
    await refreshed(slack)

    assert publishes(slack, ANN) == before + 1  # her own answer: her tab only
    home = slack.fake.homes[ANN]
    assert TITLE in home.headers() and question in home.headers()
    assert not [v for v in values(home) if v.startswith("trivia.daily:")]  # answered: no buttons
    assert "Your answer: " in home.everything()
    text = home.everything()
    assert "This week: " in text and "rank 1 of 1" in text and "1 of 1 right (100%)" in text

    home = await open_home(slack, BEA)  # BEA answers on the tab itself, wrongly
    assert home is not None and f"trivia.daily:{daily_id}:0" in values(home)
    wrong = (right + 1) % 4
    home = await click_home(slack, f"trivia.daily:{daily_id}:{wrong}", BEA)

    assert await slack.count("SELECT COUNT(*) FROM trivia_answers WHERE member_id = ?", BEA) == 1
    assert "Locked in: " in home.everything()  # the answer, at the top of the tab
    assert not [v for v in values(home) if v.startswith("trivia.daily:")]
    assert "This week: 0 points, rank 2 of 2." in home.everything() and "0 of 1 right (0%)" in home.everything()
    again = await click_home(slack, f"trivia.daily:{daily_id}:{right}", BEA)  # a stale tab: one answer each
    assert "already answered" in again.everything()
    assert await slack.count("SELECT COUNT(*) FROM trivia_answers WHERE member_id = ?", BEA) == 1


async def test_an_organizer_sees_the_weeks_growth_and_a_member_does_not(slack: SlackHarness) -> None:
    quick(slack)
    await slack.command("follow", user=ANN)
    organizer = await open_home(slack, DEE)  # in SLACK_ORGANIZERS
    member = await open_home(slack, ANN)
    assert organizer is not None and member is not None
    assert "This week's growth" in organizer.headers()
    text = organizer.everything()
    assert "1 (+1 this week)" in text and "Follow rate" in text and "Active members" in text
    assert "This week's growth" not in member.headers() and "Follow rate" not in member.everything()
    seen_by_ann = publishes(slack, ANN)

    await slack.command("follow", user=CAL)  # organizers' figures change; a member's tab does not
    await refreshed(slack)

    assert "2 (+2 this week)" in slack.fake.homes[DEE].everything()
    assert publishes(slack, ANN) == seen_by_ann


async def test_adding_a_webinar_republishes_the_tab_of_a_member_who_had_opened_it(slack: SlackHarness) -> None:
    quick(slack)
    home = await open_home(slack, ANN)
    assert home is not None and "No webinars are scheduled yet." in home.everything()

    await slack.command(ADD, user=MOD)
    await refreshed(slack)

    home = slack.fake.homes[ANN]
    assert TITLE in home.headers() and "webinar.rsvp:1:going" in values(home)
    assert publishes(slack, ANN) == 2
    assert publishes(slack, BEA) == 0  # never opened the tab: nothing published for her


async def test_a_burst_of_rsvps_costs_a_bounded_number_of_publishes_and_ends_current(
    slack: SlackHarness,
) -> None:
    interval = 0.5
    quick(slack, interval)
    [announced] = [p for p in await slack.command(ADD, user=MOD) if p.headers() == [TITLE]]
    viewers = (ANN, BEA, DEE)
    for viewer in viewers:
        await open_home(slack, viewer)
    before = len(slack.fake.called("views.publish"))
    people = [f"U0RSVP{n:03d}" for n in range(50)]
    for n, user in enumerate(people):
        slack.fake.add_user(user, f"rsvp{n}")

    started = time.monotonic()
    await asyncio.gather(*(
        slack.send("interactive", slack.wire.click("webinar.rsvp:1:going", user, GENERAL, announced.ts))
        for user in people
    ))  # fmt: skip
    elapsed = time.monotonic() - started
    await refreshed(slack)

    assert await slack.count("SELECT COUNT(*) FROM webinar_rsvps WHERE going = 1") == 50
    published = len(slack.fake.called("views.publish")) - before
    bound = len(viewers) * (math.ceil(elapsed / interval) + 2)  # one per interval each, and a trailing one
    assert 0 < published <= bound, (published, bound, elapsed)
    assert published < len(viewers) * len(people) / 4  # one per change would be 150
    for viewer in viewers:
        going = [b for b in slack.fake.homes[viewer].buttons() if b.get("value") == "webinar.rsvp:1:going"]
        assert going and going[0]["text"]["text"] == "Going (50)"


async def test_only_recent_viewers_are_refreshed(slack: SlackHarness) -> None:
    quick(slack)
    homes = slack.platform.homes
    homes.limit = 2  # a few thousand in production
    for viewer in (ANN, BEA, DEE):
        await open_home(slack, viewer)

    await slack.command(ADD, user=MOD)
    await refreshed(slack)
    assert (publishes(slack, ANN), publishes(slack, BEA), publishes(slack, DEE)) == (1, 2, 2)  # ANN fell out

    homes.ttl = 1.0  # a day in production
    await asyncio.sleep(1.2)
    await open_home(slack, BEA)  # BEA looks again; DEE's last look is now too old
    await slack.command('webinar add "Serials in transition" "Dec 9 2pm ET"', user=MOD)
    await refreshed(slack)
    assert (publishes(slack, ANN), publishes(slack, BEA), publishes(slack, DEE)) == (1, 4, 2)
    assert "Serials in transition" in slack.fake.homes[BEA].headers()

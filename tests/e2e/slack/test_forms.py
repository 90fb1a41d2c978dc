"""Forms on Slack end to end: a command with a form (`poll create`, `webinar add`) typed
with nothing after it opens a modal (`views.open` in the command's trigger); its "Add
option" button grows the options with `views.update`; the signed `view_submission` runs
the command in the channel the form came from, and is acknowledged with Slack's
`response_action: errors` on the fields at fault, or empty (the modal closes) once the
effect is stored.

Everything goes through the real slack-bolt app (signed HTTP requests) to the fake Slack,
whose views.open checks the trigger (issued, unused, under 3 s old) and the modal's shape
the way Slack does (tests/e2e/slack/fake_views.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.platforms.slack_intake import BUSY
from tests.e2e.slack.conftest import ANN, DEE, GENERAL, MOD, NEWS, RANDOM, SECRET, SlackHarness
from tests.e2e.slack.fake_slack import BOT_USER, FakeSlack
from tests.e2e.slack.test_fuzz import traceback_records
from tests.harness import START
from tests.test_jobs import rss, rss_item

POLLS = ("SELECT question, (SELECT group_concat(label, '|') FROM poll_options o WHERE o.poll_id = p.id),"
         " multi, anonymous, hidden, closes_at, channel_id FROM polls p")  # fmt: skip


async def open_form(slack: SlackHarness, text: str, user: str = ANN, channel: str = GENERAL) -> dict[str, Any]:
    """Run the command; it must answer nothing and open exactly one modal, returned."""
    before = len(slack.fake.called("views.open"))
    posts = await slack.command(text, user, channel)
    assert posts == [], [p.text for p in posts]
    assert len(slack.fake.called("views.open")) == before + 1
    return slack.fake.latest_view()


def block_ids(view: dict[str, Any]) -> list[str]:
    return [block["block_id"] for block in view["blocks"] if "block_id" in block]


def element(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    return dict(next(b["element"] for b in view["blocks"] if b.get("block_id") == block_id))


def stamp(when: datetime) -> int:
    return int(when.timestamp())


async def polls(slack: SlackHarness) -> list[tuple[Any, ...]]:
    await slack.bot.db.flush()
    return [tuple(row) for row in await slack.bot.db.fetchall(POLLS)]


async def test_poll_create_alone_opens_a_modal_in_the_commands_trigger(slack: SlackHarness) -> None:
    view = await open_form(slack, "poll create")
    [call] = slack.fake.called("views.open")
    assert slack.fake.triggers[call["trigger_id"]].user == ANN  # the slash command's own trigger
    assert view["callback_id"] == "form:poll create"
    assert (view["title"]["text"], view["submit"]["text"]) == ("Create a poll", "Create poll")
    assert json.loads(view["private_metadata"])["channel"] == GENERAL
    assert block_ids(view) == ["question", "options.0", "options.1", "options.add", "settings", "closes"]
    question = element(view, "question")
    assert (question["type"], question["max_length"]) == ("plain_text_input", 300)
    assert [element(view, f"options.{i}")["type"] for i in (0, 1)] == ["plain_text_input"] * 2
    required = {b["block_id"]: not b["optional"] for b in view["blocks"] if b["type"] == "input"}
    assert required == {"question": True, "options.0": True, "options.1": True, "settings": False, "closes": False}
    settings = element(view, "settings")
    assert settings["type"] == "checkboxes"
    assert [o["value"] for o in settings["options"]] == ["multi", "anonymous", "hidden"]
    assert element(view, "closes")["type"] == "datetimepicker"
    [add] = [b for b in view["blocks"] if b["type"] == "actions"][0]["elements"]
    assert (add["action_id"], add["text"]["text"]) == ("form.add:options", "Add option")
    assert await polls(slack) == []
    assert await slack.count("SELECT COUNT(*) FROM engagement_events WHERE kind = 'form_opened'") == 1


async def test_problems_are_answered_on_their_fields_and_nothing_is_stored(slack: SlackHarness) -> None:
    view = await open_form(slack, "poll create")
    body = await slack.submit_view(view["id"], {"question": "x" * 301, "options.0": "Tea", "options.1": " "})
    assert body["response_action"] == "errors"
    assert set(body["errors"]) == {"question", "options.0"}
    assert "300" in body["errors"]["question"] and "at least 2 options" in body["errors"]["options.0"]
    assert await polls(slack) == []
    assert slack.fake.posts == []  # shown on the form's fields, not as a message


async def test_add_option_adds_an_input_with_views_update(slack: SlackHarness, caplog: pytest.LogCaptureFixture) -> None:
    view = await open_form(slack, "poll create")
    stale = slack.wire.view_click(view["id"], "form.add:options")
    assert await slack.interact(stale) == {}
    [update] = slack.fake.called("views.update")
    assert (update["view_id"], update["hash"]) == (view["id"], view["hash"])
    grown = slack.fake.views[view["id"]]
    assert block_ids(grown) == ["question", "options.0", "options.1", "options.2", "options.add", "settings", "closes"]
    optional = [b["optional"] for b in grown["blocks"] if b["type"] == "input" and b["block_id"].startswith("options.")]
    assert optional == [False, False, True]
    assert json.loads(grown["private_metadata"]) == {**json.loads(view["private_metadata"]), "items": {"options": 3}}

    with caplog.at_level(logging.INFO):  # the same click again: its view hash is stale now
        assert await slack.interact(stale) == {}
    assert block_ids(slack.fake.views[view["id"]]) == block_ids(grown)
    for _ in range(22):  # up to the 25 options a poll takes; then the button goes
        await slack.click_view(view["id"], "form.add:options")
    full = slack.fake.views[view["id"]]
    assert [b for b in block_ids(full) if b.startswith("options.")] == [f"options.{i}" for i in range(25)]
    assert not [b for b in full["blocks"] if b["type"] == "actions"]
    # nothing reached the core as a button: no answer, no Home tab, no engagement
    assert slack.fake.posts == [] and slack.fake.called("views.publish") == []
    assert await slack.count("SELECT COUNT(*) FROM engagement_events WHERE kind != 'form_opened'") == 0
    assert not traceback_records(caplog)


async def test_a_valid_submission_stores_the_poll_and_posts_it_where_the_form_came_from(slack: SlackHarness) -> None:
    view = await open_form(slack, "poll create", channel=NEWS)
    await slack.click_view(view["id"], "form.add:options")
    closes = START + timedelta(days=2)
    values = {"question": "Next book club pick?", "options.0": "Dune", "options.1": "Emma", "options.2": "Ulysses",
              "settings": ["multi", "anonymous"], "closes": stamp(closes)}  # fmt: skip
    assert await slack.submit_view(view["id"], values) == {}  # the modal closes
    [(question, options, multi, anonymous, hidden, closes_at, channel)] = await polls(slack)
    assert (question, options, multi, anonymous, hidden) == ("Next book club pick?", "Dune|Emma|Ulysses", 3, 1, 0)
    assert datetime.fromisoformat(closes_at) == closes and channel == NEWS
    [card] = slack.fake.in_channel(NEWS)
    assert card.via == "chat.postMessage" and "Next book club pick?" in card.everything()
    assert [b["value"] for b in card.buttons()][:3] == ["poll.vote:1:0", "poll.vote:1:1", "poll.vote:1:2"]
    await slack.click("poll.vote:1:2", channel=NEWS, message_ts=card.ts)
    assert await slack.count("SELECT COUNT(*) FROM poll_votes WHERE poll_id = 1") == 1


async def test_a_replayed_submission_is_acknowledged_and_stores_nothing_more(slack: SlackHarness) -> None:
    view = await open_form(slack, "poll create")
    payload = slack.wire.view_submission(view["id"], {"question": "Tea?", "options.0": "Yes", "options.1": "No"})
    body, headers = slack.wire.signed("interactive", payload)
    assert slack.http is not None
    assert await slack.wire.post_raw(slack.http, body, headers) == (200, "")
    assert await slack.wire.post_raw(slack.http, body, headers) == (200, "")
    await slack.settle()
    assert len(await polls(slack)) == 1 and len(slack.fake.in_channel(GENERAL)) == 1


async def test_webinar_add_opens_for_a_moderator_and_creates_the_webinar_at_the_picked_instant(
    slack: SlackHarness,
) -> None:
    view = await open_form(slack, "webinar add", user=MOD)
    assert view["callback_id"] == "form:webinar add"
    assert element(view, "when")["type"] == "datetimepicker"
    assert element(view, "description")["multiline"] is True
    channel = element(view, "channel")
    assert channel["type"] == "conversations_select" and "default_to_current_conversation" not in channel
    assert "initial_conversation" not in channel  # empty: the webinars channel, else where the form opened
    starts_hint = next(b["hint"]["text"] for b in view["blocks"] if b.get("block_id") == "when")
    assert starts_hint == "In your own time zone; members see it in theirs"  # a picker: no zone to type
    starts = datetime(2026, 12, 3, 19, 0, tzinfo=UTC)
    values = {"title": "Linked data for catalogers", "when": stamp(starts), "url": "https://meet.example.org/ld"}
    assert await slack.submit_view(view["id"], values) == {}
    await slack.bot.db.flush()
    [(title, starts_at, where)] = await slack.bot.db.fetchall("SELECT title, starts_at, channel_id FROM webinars")
    assert title == "Linked data for catalogers" and datetime.fromisoformat(starts_at) == starts
    assert where == GENERAL  # the channel left empty: the channel the form was opened in
    [announcement] = slack.fake.in_channel(GENERAL)
    assert "Linked data for catalogers" in announcement.everything()


async def test_a_member_gets_the_refusal_not_a_form(slack: SlackHarness) -> None:
    [answer] = await slack.command("webinar add", ANN)
    assert answer.ephemeral and "Only moderators can use /alcts webinar add" in answer.text
    assert slack.fake.called("views.open") == []


async def webinars(slack: SlackHarness) -> list[tuple[Any, ...]]:
    await slack.bot.db.flush()
    return [tuple(row) for row in await slack.bot.db.fetchall("SELECT title, channel_id FROM webinars")]


async def test_a_channel_the_bot_cannot_post_in_is_refused_on_its_field_before_anything_is_stored(
    slack: SlackHarness,
) -> None:
    """A private channel the bot is not in (Slack: channel_not_found) or a direct
    conversation: one sentence on the channel field; no webinar, no reminders, no post."""
    view = await open_form(slack, "webinar add", user=MOD)
    when = stamp(START + timedelta(days=1))
    for channel in (SECRET, "D0ANN0001"):
        body = await slack.submit_view(view["id"], {"title": "Linked data", "when": when, "channel": channel})
        assert body["response_action"] == "errors" and list(body["errors"]) == ["channel"], body
        assert body["errors"]["channel"].startswith("I cannot post in that channel")
    assert "/invite @alcts-bot" in body["errors"]["channel"]
    posts = await slack.command(f'webinar add "Linked data" "tomorrow 3pm" channel=<#{SECRET}|secret>', user=MOD)
    assert [p.text for p in posts] == [body["errors"]["channel"]]  # the text form: the same sentence
    assert await webinars(slack) == [] and slack.fake.posts[:-1] == []
    assert await slack.count("SELECT COUNT(*) FROM timers WHERE name = 'webinar.remind'") == 0

    view = await open_form(slack, "jobs subscribe", user=MOD)  # refused before the feed is fetched
    body = await slack.submit_view(view["id"], {"url": "https://jobs.example.org/feed", "channel": SECRET})
    assert list(body["errors"]) == ["channel"] and await slack.count("SELECT COUNT(*) FROM job_feeds") == 0

    slack.fake.channels[SECRET].members.add(BOT_USER)  # invited: the same form, sent again, works
    view = await open_form(slack, "webinar add", user=MOD)
    assert await slack.submit_view(view["id"], {"title": "Linked data", "when": when, "channel": SECRET}) == {}
    view = await open_form(slack, "webinar add", user=MOD)  # a public channel: chat:write.public reaches it
    assert await slack.submit_view(view["id"], {"title": "Metadata", "when": when, "channel": RANDOM}) == {}
    assert await webinars(slack) == [("Linked data", SECRET), ("Metadata", RANDOM)]
    assert [len(slack.fake.in_channel(c)) for c in (SECRET, RANDOM)] == [1, 1]


async def test_a_channel_left_empty_means_the_setting_else_where_the_form_was_opened(slack: SlackHarness) -> None:
    view = await open_form(slack, "webinar add", user=MOD)
    when = stamp(START + timedelta(days=1))
    assert await slack.submit_view(view["id"], {"title": "Here", "when": when}) == {}
    await slack.command(f"config set webinars_channel <#{NEWS}|announcements>", user=DEE)
    view = await open_form(slack, "webinar add", user=MOD)
    assert await slack.submit_view(view["id"], {"title": "There", "when": when}) == {}
    assert await webinars(slack) == [("Here", GENERAL), ("There", NEWS)]


async def test_a_view_is_submitted_once_whatever_its_trigger(slack: SlackHarness, caplog: pytest.LogCaptureFixture) -> None:
    view = await open_form(slack, "poll create")
    values = {"question": "Tea?", "options.0": "Yes", "options.1": "No"}
    first, again = (slack.wire.view_submission(view["id"], values) for _ in range(2))
    assert first["trigger_id"] != again["trigger_id"] and first["view"]["hash"] == again["view"]["hash"]
    with caplog.at_level(logging.INFO):
        assert await slack.interact(first) == {} and await slack.interact(again) == {}
    assert len(await polls(slack)) == 1 and len(slack.fake.in_channel(GENERAL)) == 1
    assert any("form view submitted again" in r.getMessage() for r in caplog.records)


async def test_a_refusal_closes_the_form_with_a_notice_not_a_field_error(slack: SlackHarness) -> None:
    view = await open_form(slack, "webinar add", user=MOD)  # a member sends a moderator's form
    body = await slack.submit_view(view["id"], {"title": "By Ann", "when": stamp(START + timedelta(days=1))}, user=ANN)
    assert body == {}  # the modal closes: no field can fix a role
    [refusal] = slack.fake.seen_by(ANN)
    assert refusal.text == "Only moderators can use /alcts webinar add." and refusal.channel == GENERAL
    assert await webinars(slack) == []


async def test_a_picked_start_past_or_far_ahead_is_shown_on_its_field_with_the_other_problems(
    slack: SlackHarness,
) -> None:
    view = await open_form(slack, "webinar add", user=MOD)
    body = await slack.submit_view(view["id"], {"title": "\u200b", "when": stamp(START - timedelta(hours=1))})
    assert set(body["errors"]) == {"title", "when"}  # together: the start is checked with the rest
    assert body["errors"]["when"] == "Friday 27 November 2026, 08:00 CST (14:00 UTC) is in the past; pick a time to come"
    body = await slack.submit_view(view["id"], {"title": "Far", "when": 253402300799})  # the picker's latest
    assert list(body["errors"]) == ["when"] and "more than two years ahead" in body["errors"]["when"]
    assert not body["errors"]["when"].lower().startswith("when:")
    assert await webinars(slack) == [] and slack.fake.posts == []


async def test_the_text_form_still_works(slack: SlackHarness) -> None:
    posts = await slack.command('poll create "Q?" a b')
    assert slack.fake.called("views.open") == []
    assert [p.channel for p in posts if p.via == "chat.postMessage"] == [GENERAL]
    assert [row[:2] for row in await polls(slack)] == [("Q?", "a|b")]


async def test_a_slow_submission_is_acknowledged_in_time_and_answered_by_message(slack: SlackHarness) -> None:
    view = await open_form(slack, "poll create", channel=SECRET)  # private, the bot not in it
    second = await open_form(slack, "poll create")
    slack.platform.intake.budget = 0.1  # past this the ack goes out before dispatch ends
    slack.platform.channel_names.clear()
    slack.fake.delays["conversations.info"] = 0.5  # Slack slow to name the channel
    body = await slack.submit_view(view["id"], {"question": "x" * 301, "options.0": "a", "options.1": "b"})
    assert body == {}  # acknowledged at the budget: the errors came later...
    [late] = slack.fake.seen_by(ANN)  # ...through the command's response_url, as the bot may not post there
    assert late.via == "response_url" and "Your form was not saved" in late.text and "300" in late.text
    body = await slack.submit_view(second["id"], {"question": "x" * 301, "options.0": "a", "options.1": "b"})
    assert body == {}
    [_, late] = slack.fake.seen_by(ANN)
    assert late.via == "chat.postEphemeral" and late.channel == GENERAL
    assert await slack.submit_view(second["id"], {"question": "Tea?", "options.0": "a", "options.1": "b"}) == {}
    assert [p.via for p in slack.fake.in_channel(GENERAL)] == ["chat.postMessage"]
    assert len(await polls(slack)) == 1


async def test_a_busy_bot_keeps_the_modal_open_and_stores_nothing(slack: SlackHarness) -> None:
    view = await open_form(slack, "poll create")
    slack.platform.intake.limit = 0
    body = await slack.submit_view(view["id"], {"question": "Tea?", "options.0": "Yes", "options.1": "No"})
    assert body == {"response_action": "errors", "errors": {"question": BUSY}}
    assert await polls(slack) == [] and slack.fake.posts == []
    slack.platform.intake.limit = 200  # the member submits again
    assert await slack.submit_view(view["id"], {"question": "Tea?", "options.0": "Yes", "options.1": "No"}) == {}
    assert len(await polls(slack)) == 1


async def test_malformed_submissions_are_acknowledged_and_not_handled(
    slack: SlackHarness, caplog: pytest.LogCaptureFixture
) -> None:
    view = await open_form(slack, "poll create")
    good = slack.wire.view_submission(view["id"], {"question": "Q", "options.0": "a", "options.1": "b"})
    state = good["view"]["state"]["values"]
    bad: list[dict[str, Any]] = [
        {**good, "view": {**good["view"], "callback_id": "form:no such command"}},
        {**good, "view": {**good["view"], "callback_id": "someone else's"}},
        {**good, "view": {**good["view"], "private_metadata": "not json"}},
        {**good, "view": {**good["view"], "private_metadata": json.dumps({"channel": ["C1"]})}},
        {**good, "view": {**good["view"], "state": {"values": {"question": {"value": {"type": "x", "value": 5}}}}}},
        {**good, "view": {**good["view"], "state": {"values": {**state, "closes": {"value": {
            "type": "datetimepicker", "selected_date_time": 10**30}}}}}},
        {**good, "view": {**good["view"], "state": "none"}}, {**good, "view": None}, {**good, "user": None},
    ]  # fmt: skip
    with caplog.at_level(logging.INFO):
        for payload in bad:
            assert await slack.interact(payload) == {}, payload
    assert not traceback_records(caplog), traceback_records(caplog)
    assert await polls(slack) == [] and slack.fake.posts == []


@pytest.fixture
async def slow_feeds() -> AsyncIterator[str]:
    """A feed server on 127.0.0.1 that takes 0.5 s to answer: /jobs is an RSS feed with
    five jobs, any other path an HTML page that is not a feed."""

    async def handle(request: web.Request) -> web.Response:
        await asyncio.sleep(0.5)
        if request.path == "/jobs":
            return web.Response(text=rss([rss_item(n) for n in range(5, 0, -1)]), content_type="application/rss+xml")
        return web.Response(text="<html><body>Careers</body></html>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    await runner.cleanup()


async def test_a_slow_feed_fetch_is_acknowledged_in_time_and_its_results_follow_as_messages(
    tmp_path: Path, fake_slack: FakeSlack, slow_feeds: str
) -> None:
    slack = await SlackHarness(tmp_path, fake_slack, bot_allow_private_urls=True).start()
    try:
        view = await open_form(slack, "jobs subscribe", user=MOD)
        assert block_ids(view) == ["url", "channel", "keywords", "exclude", "backfill"]
        backfill = element(view, "backfill")
        assert backfill["type"] == "static_select" and [o["value"] for o in backfill["options"]][:2] == ["0", "3"]
        body = await slack.submit_view(view["id"], {"url": "ftp://jobs.example.org/feed"})
        assert body["response_action"] == "errors" and list(body["errors"]) == ["url"]  # refused before any fetch

        slack.platform.intake.budget = 0.1  # the fetch takes 0.5 s: Slack would time out at 3 s
        body = await slack.submit_view(view["id"], {"url": slow_feeds + "/careers"})
        assert body == {}  # acknowledged before the fetch ended; its problem comes as a message
        [late] = slack.fake.seen_by(MOD)
        assert late.via == "chat.postEphemeral" and late.text.startswith("Your form was not saved:")
        assert await slack.count("SELECT COUNT(*) FROM job_feeds") == 0

        values = {"url": slow_feeds + "/jobs", "channel": NEWS, "backfill": "3"}
        assert await slack.submit_view(view["id"], values) == {}
        assert await slack.count("SELECT COUNT(*) FROM job_feeds WHERE channel_id = ?", NEWS) == 1
        [subscribed] = slack.fake.in_channel(GENERAL)  # the answer, where the form was opened
        assert subscribed.text.startswith("Subscribed feed #1")
        jobs = [p for p in slack.fake.in_channel(NEWS) if "Metadata Librarian" in p.everything()]
        assert len(jobs) == 3  # the newest three, in the channel picked
    finally:
        await slack.stop()


FUZZ = settings(  # derandomized, as tests/e2e/slack/test_fuzz.py: FUZZ_RANDOM=1 explores
    max_examples=200, deadline=None, database=None, derandomize=not os.environ.get("FUZZ_RANDOM"),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)  # fmt: skip
TEXTS = st.text(max_size=40) | st.sampled_from(["", " ", "x" * 3001, "\ud800", "-5m", "2h", "99999999999999999999",
                                                "<#C0GENERAL>", "<!here>", "multi", "anonymous", "tomorrow 2pm"])  # fmt: skip
ANY = st.none() | st.booleans() | st.integers() | TEXTS | st.lists(TEXTS, max_size=3) | st.dictionaries(TEXTS, TEXTS, max_size=2)
WELL_TYPED = st.fixed_dictionaries(  # what Slack's inputs send, with any values of the right types
    {"type": st.sampled_from(["plain_text_input", "checkboxes", "datetimepicker", "conversations_select", "static_select"])},
    optional={"value": st.none() | TEXTS, "selected_date_time": st.none() | st.integers(-10, 2**40),
              "selected_options": st.lists(st.fixed_dictionaries({"value": TEXTS}), max_size=4),
              "selected_conversation": st.sampled_from([GENERAL, NEWS, SECRET, "C0NOWHERE", "D0ANN0001"]),
              "selected_option": st.none() | st.fixed_dictionaries({"value": TEXTS})},
)  # fmt: skip
INPUTS = st.integers(0, 5).flatmap(lambda n: ANY if n == 0 else WELL_TYPED)  # mostly well typed, some not


@pytest.mark.timeout(120)
@FUZZ
@given(data=st.data())
async def test_fuzzed_form_submissions(slack: SlackHarness, caplog: pytest.LogCaptureFixture, data: st.DataObject) -> None:
    """Any state a submission can carry: answered 200 with no traceback; errors only ever
    on blocks of the view."""
    caplog.set_level(logging.INFO)
    if not slack.fake.views:
        await open_form(slack, "poll create")
        await open_form(slack, "webinar add", user=MOD)
    view_id = data.draw(st.sampled_from(sorted(slack.fake.views)), label="view")
    view = slack.fake.views[view_id]
    payload = slack.wire.view_submission(view_id, {})
    values = payload["view"]["state"]["values"]
    for block in data.draw(st.lists(st.sampled_from([*block_ids(view), "options.7", "x"]) | TEXTS, max_size=4)):
        values[block] = {data.draw(st.sampled_from(["value", "value", "other"]) | TEXTS): data.draw(INPUTS, label=block)}
    if data.draw(st.integers(0, 9), label="metadata") == 0:
        payload["view"]["private_metadata"] = data.draw(TEXTS | st.just(json.dumps({"channel": GENERAL, "items": []})))
    since = len(caplog.records)
    body = await slack.interact(payload)
    assert set(body.get("errors", {})) <= set(block_ids(view)), body
    assert not traceback_records(caplog, since), traceback_records(caplog, since)


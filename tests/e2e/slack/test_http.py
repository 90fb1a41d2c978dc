"""The Slack adapter over HTTP: signed requests to the real AsyncApp, answers at the fake."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest

from bot.app import SORRY
from bot.cards import Card
from bot.config import ConfigError
from bot.model import Place
from tests.e2e.slack.conftest import (
    ANN,
    BEA,
    CAL,
    DEE,
    EVE,
    GENERAL,
    MOD,
    NEWS,
    ORGANIZERS,
    SECRET,
    SlackHarness,
)  # fmt: skip
from tests.e2e.slack.fake_slack import TEAM_ID, FakeSlack, SlackWire
from tests.e2e.slack.probe import Probe


async def test_url_verification_echoes_the_challenge(slack: SlackHarness) -> None:
    assert slack.http is not None
    status, body = await slack.wire.post(slack.http, "event", {"type": "url_verification", "challenge": "c-42", "token": "t"})
    assert (status, json.loads(body)) == (200, {"challenge": "c-42"})


async def test_healthz_answers_beside_the_events_endpoint(slack: SlackHarness) -> None:
    assert slack.http is not None
    async with slack.http.get(slack.wire.app_url.replace("/slack/events", "/healthz")) as response:
        assert response.status == 200
        assert await response.json() == {"status": "ok", "platform": "slack", "mode": "http"}


async def test_the_bare_command_shows_help_in_the_channel(slack: SlackHarness) -> None:
    posts = await slack.command("")
    assert [(p.via, p.channel, p.headers()) for p in posts] == [("chat.postMessage", GENERAL, ["Commands you can use"])]
    assert "config" not in posts[0].everything()  # a member is not shown organizer commands
    assert ("/alcts help poll lists a group's commands; /alcts help poll create shows one in full, with examples."
            in posts[0].everything())  # fmt: skip
    assert slack.fake.called("conversations.info") == []  # the command named its channel
    assert "/alcts config show|set" in (await slack.command("help", user=CAL))[0].everything()


async def test_every_command_of_the_catalogue_answers(slack: SlackHarness) -> None:
    """Derived from the registry, so commands added later are served (or fail) here too."""
    for name, command in slack.bot.registry.commands.items():
        opened = len(slack.fake.called("views.open"))
        posts = await slack.command(name, user=CAL)
        if command.spec.form is not None:  # alone, a command with a form opens it (test_forms.py)
            assert posts == [] and len(slack.fake.called("views.open")) == opened + 1, f"/{name} opened no form"
            continue
        assert posts, f"/{name} got no answer"
        assert all(SORRY not in p.everything() for p in posts), f"/{name} failed: {posts}"


async def test_follow_is_recorded_and_invites_to_the_announcements_channel(slack: SlackHarness) -> None:
    assert "You now follow ALCTS here." in (await slack.command("follow", user=BEA))[0].text  # no channel set
    await slack.command("config set announcements_channel <#C0NEWS001|>", user=CAL)
    posts = await slack.command("follow")
    assert "You now follow ALCTS here. I added you to <#C0NEWS001>." in posts[0].text
    assert ANN in slack.fake.channels[NEWS].members
    assert "You are already in <#C0NEWS001>." in (await slack.command("follow"))[0].text
    assert await slack.count("SELECT COUNT(*) FROM follows WHERE platform = 'slack'") == 2


async def test_follow_is_recorded_even_when_the_invite_fails(slack: SlackHarness) -> None:
    slack.fake.channels[SECRET].members.update({"U0BOTUSER", CAL})  # a private channel the bot and CAL are in
    set_it = await slack.command("config set announcements_channel #secret", user=CAL)
    assert set_it[0].text == f"announcements_channel is now <#{SECRET}|secret>."
    slack.fake.channels[SECRET].members.discard("U0BOTUSER")  # then the bot is removed: its invites fail
    posts = await slack.command("follow")
    assert posts[0].text.startswith("You now follow ALCTS here.")
    assert await slack.count("SELECT COUNT(*) FROM follows WHERE member_id = ?", ANN) == 1


async def test_config_set_refuses_channels_and_user_groups_slack_does_not_have(slack: SlackHarness) -> None:
    async def say(text: str) -> str:
        return (await slack.command(f"config set {text}", user=CAL))[0].text

    assert await say("jobs_channel nosuch") == (
        "jobs_channel: there is no channel nosuch here that the bot can see; pick one from the # list."
    )
    assert await say("jobs_channel #secret") == (  # private, without the bot: Slack says no such channel
        "jobs_channel: there is no channel #secret here that the bot can see; pick one from the # list."
    )
    slack.fake.channels[SECRET].members.add("U0BOTUSER")  # the bot is invited, but CAL is not in it
    assert await say(f"jobs_channel <#{SECRET}|secret>") == (
        f"jobs_channel: <#{SECRET}|secret> is not a channel you can see; pick one you can."
    )
    assert await say("moderator_role modz") == "moderator_role: there is no user group modz here."
    assert await slack.count("SELECT COUNT(*) FROM community_settings") == 0
    # by name: stored as Slack's mention and the user group's id, which the rest of the bot reads
    assert await say("jobs_channel announcements") == f"jobs_channel is now <#{NEWS}|announcements>."
    assert await say("moderator_role @S0ORGANIZ") == f"moderator_role is now {ORGANIZERS}."
    slack.fake.usergroup_handles[ORGANIZERS] = "organizers"
    assert await say("organizer_role Organizers") == f"organizer_role is now {ORGANIZERS}."


async def test_the_bot_joins_a_public_announcements_channel_to_invite(slack: SlackHarness) -> None:
    slack.fake.channels[NEWS].members.discard("U0BOTUSER")
    await slack.command("config set announcements_channel announcements", user=CAL)  # by name
    posts = await slack.command("follow")
    assert "I added you to <#C0NEWS001>." in posts[0].text
    assert [a["channel"] for a in slack.fake.called("conversations.join")] == [NEWS]


async def test_roles_come_from_settings_workspace_flags_and_user_groups(slack: SlackHarness) -> None:
    async def allowed(user: str) -> bool:
        posts = await slack.command("config show", user=user)
        return posts[0].headers() == ["Community settings"]

    await slack.command(f"config set organizer_role <!subteam^{ORGANIZERS}|@organizers>", user=CAL)
    verdicts = {user: await allowed(user) for user in (ANN, BEA, CAL, DEE, EVE, MOD)}
    assert verdicts == {ANN: False, BEA: False, CAL: True, DEE: True, EVE: True, MOD: False}
    refusal = (await slack.command("config show", user=MOD))[0]
    assert refusal.ephemeral and refusal.via == "response_url" and "Only organizers" in refusal.text
    assert await slack.count("SELECT COUNT(*) FROM audit_log WHERE allowed = 0") == 4
    assert len(slack.fake.called("usergroups.users.list")) == 1  # cached within the TTL
    assert sorted(a["user"] for a in slack.fake.called("users.info")) == sorted([ANN, BEA, CAL, DEE, EVE, MOD])


async def test_admin_flags_of_other_teams_and_guests_grant_nothing(slack: SlackHarness) -> None:
    slack.fake.add_user("U0STRANGE", "stranger", is_owner=True, is_admin=True, team_id="T0OTHER")
    slack.fake.add_user("U0GUEST01", "guest", is_admin=True, is_restricted=True)
    for user in ("U0STRANGE", "U0GUEST01"):
        refusal = (await slack.command("config show", user=user))[0]
        assert refusal.ephemeral and "Only organizers" in refusal.text
        refusal = (await slack.command("trivia flags", user=user))[0]
        assert "Only moderators" in refusal.text


async def test_a_button_works_after_a_restart(slack: SlackHarness) -> None:
    card = (await slack.command("privacy forget-me"))[0]
    assert card.ephemeral and card.via == "response_url"
    [button] = card.buttons()
    assert button["value"] == button["action_id"] == f"privacy.forget:{ANN}"
    await slack.restart()
    answer = (await slack.click(button["value"], ephemeral=True))[0]
    assert answer.ephemeral and answer.text.startswith("Done: your data is gone")
    assert (await slack.click(button["value"], user=BEA))[0].text == "Only the member who asked can confirm this."


async def test_a_poll_vote_answers_privately_and_edits_the_poll(slack: SlackHarness) -> None:
    [poll] = await slack.command('poll create "Which schema?" MARC BIBFRAME')
    assert poll.via == "chat.postMessage" and poll.ts
    vote = poll.buttons()[1]["value"]
    [answer] = await slack.click(vote, message_ts=poll.ts)
    assert answer.ephemeral and answer.text == "Your vote: BIBFRAME."
    assert poll.edits >= 1 and "1 vote" in poll.everything()


async def test_bad_signatures_and_stale_requests_leave_no_trace(slack: SlackHarness) -> None:
    assert slack.http is not None
    follow = slack.wire.command("follow", ANN, GENERAL)
    joined = slack.wire.event({"type": "member_joined_channel", "user": ANN, "channel": GENERAL})
    for kind, payload in [("command", follow), ("event", joined)]:
        assert (await slack.wire.post(slack.http, kind, payload, secret="not-the-secret"))[0] == 401
        assert (await slack.wire.post(slack.http, kind, payload, timestamp=int(time.time()) - 360))[0] == 401
    await slack.bot.idle()
    for table in ("engagement_events", "follows", "seen_events", "members_seen"):
        assert await slack.count(f"SELECT COUNT(*) FROM {table}") == 0, table
    assert slack.fake.posts == [] and slack.fake.called("users.info") == []
    assert (await slack.wire.post(slack.http, "command", follow, timestamp=int(time.time()) - 240))[0] == 200


async def test_slow_work_is_acked_at_the_budget_and_continues_after_the_ack(tmp_path: Path, fake_slack: FakeSlack) -> None:
    probe = Probe()
    harness = await SlackHarness(tmp_path, fake_slack, cogs=(probe,)).start()
    harness.platform.intake.budget = 0.3  # Slack's limit is 3 s; ACK_BUDGET is 2.5
    try:
        assert harness.http is not None
        started = time.perf_counter()
        status, _ = await harness.wire.post(harness.http, "command", harness.wire.command("probe slow", ANN, GENERAL))
        assert status == 200 and 0.3 <= time.perf_counter() - started < 3  # the ack waited for the handler
        await asyncio.sleep(0.05)
        assert fake_slack.posts == []  # acked, still working
        probe.gate.set()
        await harness.settle()
        assert [p.text for p in fake_slack.posts] == ["The slow answer."]
    finally:
        await harness.stop()


async def test_cards_beyond_slacks_limits_are_cut_and_still_posted(tmp_path: Path, fake_slack: FakeSlack) -> None:
    harness = await SlackHarness(tmp_path, fake_slack, cogs=(Probe(),)).start()
    try:
        [post] = await harness.command("probe big")
        assert post.via == "chat.postMessage" and len(post.blocks) == 50 and "not shown" in post.everything()
        assert len(post.buttons()) == 30 and all(len(b["text"]["text"]) <= 75 for b in post.buttons())
        assert "@here" not in post.everything()
    finally:
        await harness.stop()


async def test_charts_are_uploaded_and_shown_or_noted(tmp_path: Path, fake_slack: FakeSlack) -> None:
    harness = await SlackHarness(tmp_path, fake_slack, cogs=(Probe(),)).start()
    try:
        [post] = await harness.command("probe chart")
        [image] = [b for b in post.blocks if b["type"] == "image"]
        file_id = image["slack_file"]["id"]
        assert fake_slack.files[file_id]["data"].startswith(b"\x89PNG") and image["alt_text"] == "members by week"
        [private] = await harness.command("probe chart yes")
        assert private.ephemeral and private.via == "response_url"
        assert len(fake_slack.called("files.getUploadURLExternal")) == 1  # the same chart is uploaded once
        fake_slack.reject_slack_files = True  # Slack has not processed the upload yet
        [noted] = await harness.command("probe chart")
        assert "(chart not shown: members by week)" in noted.everything()
    finally:
        await harness.stop()


async def test_files_go_to_the_channel_or_privately_to_the_member(tmp_path: Path, fake_slack: FakeSlack) -> None:
    harness = await SlackHarness(tmp_path, fake_slack, cogs=(Probe(),)).start()
    try:
        posts = await harness.command("probe export")
        assert [(p.via, p.channel) for p in posts] == [("chat.postMessage", GENERAL), ("file", GENERAL)]
        posts = await harness.command("probe export yes")
        assert [(p.via, p.ephemeral, p.channel) for p in posts] == [("response_url", True, GENERAL), ("file", False, "D0ANN0001")]
    finally:
        await harness.stop()


async def test_a_response_url_serves_five_answers_then_chat_post_ephemeral_takes_over(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    harness = await SlackHarness(tmp_path, fake_slack, cogs=(Probe(),)).start()
    try:
        posts = await harness.command("probe many")
        assert [p.via for p in posts] == ["response_url"] * 5 + ["chat.postEphemeral"] * 2
        assert [p.text for p in posts] == [f"Answer {i}." for i in range(1, 8)]
        assert all(p.ephemeral and p.user == ANN for p in posts)
    finally:
        await harness.stop()


async def test_where_the_bot_cannot_post_it_answers_through_response_url(slack: SlackHarness) -> None:
    [post] = await slack.command("follow", channel=SECRET)
    assert (post.via, post.ephemeral, post.channel) == ("response_url", False, SECRET)
    assert post.text.startswith("You now follow ALCTS here.")


async def test_rate_limited_calls_are_retried(slack: SlackHarness) -> None:
    slack.fake.ratelimit_next["chat.postMessage"] = 1
    [post] = await slack.command("follow")
    assert post.via == "chat.postMessage" and len(slack.fake.called("chat.postMessage")) == 2


async def test_send_and_coalesced_edits_outside_an_interaction(slack: SlackHarness) -> None:
    place = Place(slack.platform.community, GENERAL, "general")
    ref = await slack.bot.send(place, Card(text="Tally: 0"))
    assert ref is not None and ref.platform == "slack" and ref.channel_id == GENERAL
    for n in range(1, 21):
        slack.bot.edit(ref, Card(text=f"Tally: {n}"))
    await slack.bot.idle()
    [post] = slack.fake.in_channel(GENERAL)
    assert post.ts == ref.message_id and post.text == "Tally: 20"
    assert len(slack.fake.called("chat.update")) <= 3


async def test_events_become_interactions_and_retries_count_once(tmp_path: Path, fake_slack: FakeSlack) -> None:
    probe = Probe()
    harness = await SlackHarness(tmp_path, fake_slack, cogs=(probe,)).start()
    try:
        joined = {"type": "member_joined_channel", "user": ANN, "channel": NEWS, "channel_type": "C", "team": TEAM_ID}
        assert await harness.event(joined, "Ev0JOINED") == 200
        assert await harness.event(joined, "Ev0JOINED", headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}) == 200
        await harness.restart()  # the ids are remembered in SQLite, not in memory
        assert await harness.event(joined, "Ev0JOINED", headers={"X-Slack-Retry-Num": "2"}) == 200
        await harness.event({"type": "member_left_channel", "user": ANN, "channel": NEWS, "team": TEAM_ID})
        await harness.event({"type": "member_joined_channel", "user": "U0BOTUSER", "channel": NEWS, "team": TEAM_ID})
        assert probe.arrivals == [("joined", ANN, "announcements"), ("left", ANN, "announcements")]
        kinds = "SELECT kind, COUNT(*) FROM engagement_events GROUP BY kind ORDER BY kind"
        await harness.bot.db.flush()
        assert [tuple(r) for r in await harness.bot.db.fetchall(kinds)] == [("member_joined", 1), ("member_left", 1)]
    finally:
        await harness.stop()


async def test_team_join_records_a_member_count_snapshot(slack: SlackHarness) -> None:
    counts = "SELECT members FROM member_counts WHERE platform = 'slack' AND community_id = ? ORDER BY id"
    await slack.bot.idle()
    assert [r[0] for r in await slack.bot.db.fetchall(counts, (TEAM_ID,))] == [6]  # at start: people, not bots
    slack.fake.add_user("U0NEW0001", "newbie")
    await slack.event({"type": "team_join", "user": {"id": "U0NEW0001", "name": "newbie"}})
    assert [r[0] for r in await slack.bot.db.fetchall(counts, (TEAM_ID,))] == [6, 7]
    assert await slack.count("SELECT COUNT(*) FROM engagement_events WHERE kind = 'member_joined'") == 1


async def test_channel_messages_reach_the_core_but_not_bots_or_edits(tmp_path: Path, fake_slack: FakeSlack) -> None:
    probe = Probe()
    harness = await SlackHarness(tmp_path, fake_slack, cogs=(probe,)).start()
    try:
        said = {"type": "message", "channel": GENERAL, "channel_type": "channel", "user": EVE}
        await harness.event({**said, "text": "MARC &amp; <@U0ANN0001|ann>"})
        await harness.event({**said, "text": "beep", "bot_id": "B0OTHER01", "subtype": "bot_message"})
        await harness.event({**said, "text": "edited", "subtype": "message_changed"})
        await harness.event({**said, "text": "mine", "user": "U0BOTUSER", "bot_id": "B0BOTID01"})
        await harness.event({**said, "text": "in a DM", "channel_type": "im"})
        assert probe.heard == [("Eve E.", "general", "MARC & @ann")]
    finally:
        await harness.stop()


async def test_a_wrong_bot_token_stops_start_with_a_clear_error(tmp_path: Path, fake_slack: FakeSlack) -> None:
    harness = SlackHarness(tmp_path, fake_slack, slack_bot_token="xoxb-wrong")
    with pytest.raises(ConfigError, match=r"^config: SLACK_BOT_TOKEN was refused by Slack \(invalid_auth\)$"):
        await harness.start()
    await harness.bot.close()


async def test_a_session_of_many_users_at_once(slack: SlackHarness) -> None:
    """Concurrent commands from several members are all answered, in their own channel."""
    assert slack.http is not None
    wire = SlackWire(slack.fake, slack.wire.app_url)
    payloads = [wire.command("follow", user, GENERAL) for user in (ANN, BEA, CAL, DEE, EVE, MOD)]
    async with aiohttp.ClientSession() as session:
        statuses = await asyncio.gather(*(wire.post(session, "command", p) for p in payloads))
    await slack.bot.idle()
    assert [s for s, _ in statuses] == [200] * 6
    assert await slack.count("SELECT COUNT(*) FROM follows") == 6
    assert len(slack.fake.in_channel(GENERAL)) == 6


async def test_a_trivia_round_takes_clicks_and_typed_answers(slack: SlackHarness) -> None:
    *_, question = await slack.command("trivia start questions=1 seconds=20")
    assert question.via == "chat.postMessage" and len(question.buttons()) == 4
    [clicked] = await slack.click(question.buttons()[0]["value"], user=BEA, message_ts=question.ts)
    assert (clicked.via, clicked.user) == ("response_url", BEA) and clicked.text.startswith("Locked in: A.")
    said = {"type": "message", "channel": GENERAL, "channel_type": "channel", "user": ANN, "text": "b"}
    await slack.event(said)
    [typed] = slack.fake.seen_by(ANN)  # a chat message has no response_url: chat.postEphemeral
    assert typed.via == "chat.postEphemeral" and typed.text.startswith("Locked in: B.")
    slack.clock.advance(timedelta(seconds=25))
    await slack.bot.scheduler.run_due()
    await slack.bot.idle()
    assert question.edits == 1 and "Time's up." in question.text  # the question message, edited by ts
    assert any(p.text.startswith("Answer: ") for p in slack.fake.in_channel(GENERAL))

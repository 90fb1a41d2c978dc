"""Polls end to end on Slack: `/alcts poll create ...` in the text grammar, Block Kit with
vote buttons, private answers to clicks and coalesced `chat.update`s of the poll message,
closing (by hand and on a deadline), the results chart through the files API, the CSV
export, a vote after a restart, and a click delivered over Socket Mode.

Everything goes through the real slack-bolt app (signed HTTP requests, or Socket Mode
envelopes) to the fake Slack; time is the harness's ManualClock and a deadline is reached
by moving it and running the scheduler's due jobs.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.e2e.slack.conftest import ANN, BEA, CAL, DEE, EVE, GENERAL, MOD, SECRET, SlackHarness
from tests.e2e.slack.fake_slack import FakeSlack, Post

QUESTION = "Which metadata standard do you use most?"
QUICK_EDITS = 0.01  # seconds between two updates of one message (the harness's 0.2 is for bursts)
CREATE = f'poll create "{QUESTION}" MARC RDA "Dublin Core"'


class QuickHarness(SlackHarness):
    """The harness with a short cool-down between two updates of one message, so the many
    single clicks here do not each wait 0.2 s for it; the burst test keeps the 0.2 s."""

    async def start(self) -> QuickHarness:
        await super().start()
        self.bot.edits.min_interval = QUICK_EDITS
        return self


@pytest.fixture
async def slack(tmp_path: Path, fake_slack: FakeSlack) -> AsyncIterator[SlackHarness]:
    """Overrides conftest's `slack` in this module."""
    harness = await QuickHarness(tmp_path, fake_slack).start()
    yield harness
    await harness.stop()


def poll_id(post: Post) -> int:
    match = re.match(r"Poll #(\d+) ", post.headers()[0])
    assert match, post.blocks
    return int(match[1])


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def tally(post: Post) -> dict[str, str]:
    """Option -> what its field shows (a count on the live card, a bar on results)."""
    shown = {}
    for block in post.blocks:
        text = block.get("text", {}).get("text", "") if block["type"] == "section" else ""
        if text.startswith("*") and "\n" in text:
            name, value = text.split("\n", 1)
            shown[unescape(name.strip("*"))] = value
    return shown


def contexts(post: Post) -> list[str]:
    return [e["text"] for b in post.blocks if b["type"] == "context" for e in b["elements"]]


def vote_ids(post: Post) -> list[str]:
    return [b["value"] for b in post.buttons()]


async def create(slack: SlackHarness, text: str = CREATE, user: str = ANN) -> Post:
    """Run a `/alcts poll create`; returns the one message it posted."""
    [post] = await slack.command(text, user=user)
    return post


async def vote(slack: SlackHarness, poll: Post, position: int, user: str = ANN) -> Post:
    """Click option `position` on the poll message; returns the one answer it caused."""
    [answer] = await slack.click(f"poll.vote:{poll_id(poll)}:{position}", user=user, message_ts=poll.ts)
    return answer


# -- /alcts poll create -------------------------------------------------------------------------


async def test_poll_create_parses_the_text_grammar_and_posts_block_kit(slack: SlackHarness) -> None:
    text = f'poll create \u201c{QUESTION}\u201d MARC "R&amp;D" "Dublin Core" multi=2 anonymous=yes closes=2h'
    poll = await create(slack, text)  # smart quotes from a phone; Slack escapes & as &amp;

    assert poll.via == "chat.postMessage" and poll.channel == GENERAL and not poll.ephemeral and poll.ts
    number = poll_id(poll)
    assert [b["type"] for b in poll.blocks] == ["header", "section", "section", "section", "section", "context", "actions"]
    assert poll.headers() == [f"Poll #{number}  {QUESTION}"]
    assert re.fullmatch(r"\(closes in 2 hours \(<!date\^\d+\^\{date_long\} \{time\}\|[^>]+>\), choose up to 2, anonymous\)",
                        poll.blocks[1]["text"]["text"])  # the absolute time, in each reader's own zone  # fmt: skip
    assert tally(poll) == {"MARC": "0", "R&D": "0", "Dublin Core": "0"}
    assert poll.blocks[3]["text"]["text"] == "*R&amp;D*\n0"  # escaped for mrkdwn
    assert contexts(poll) == ["0 voters so far. Asked by Ann."]
    assert [(b["type"], b["text"]["text"], b["action_id"], b["value"]) for b in poll.buttons()] == [
        ("button", "MARC", f"poll.vote:{number}:0", f"poll.vote:{number}:0"),
        ("button", "R&D", f"poll.vote:{number}:1", f"poll.vote:{number}:1"),
        ("button", "Dublin Core", f"poll.vote:{number}:2", f"poll.vote:{number}:2"),
    ]  # fmt: skip
    assert poll.text.startswith(f"Poll #{number}  {QUESTION}\n")  # the notification text

    stored = "SELECT question, multi, anonymous, hidden, closes_at, message_ref FROM polls"
    assert [tuple(r) for r in await slack.bot.db.fetchall(stored)] == [
        (QUESTION, 2, 1, 0, "2026-11-27T17:00:00.000000Z", f"slack:{GENERAL}:{poll.ts}")
    ]
    jobs = await slack.bot.db.fetchall("SELECT name, timer_key, status FROM timers WHERE name LIKE 'poll.%'")
    assert [tuple(r) for r in jobs] == [("poll.close", str(number), "pending")]

    hidden = await create(slack, f"{CREATE} hidden=yes")
    assert "results hidden until it closes" in hidden.blocks[1]["text"]["text"]
    assert tally(hidden) == {}  # no counts while hidden: only the labels
    assert [b["text"]["text"] for b in hidden.blocks[2:5]] == ["MARC", "RDA", "Dublin Core"]

    [refused] = await slack.command('poll create "Only one?" yes')
    assert (refused.via, refused.ephemeral, refused.user) == ("response_url", True, ANN)
    assert "needs at least 2 options" in refused.text
    [unquoted] = await slack.command('poll create "Open quote MARC RDA')
    assert unquoted.ephemeral and unquoted.text.startswith("A quote is not closed")
    assert await slack.count("SELECT COUNT(*) FROM polls") == 2


async def test_twenty_five_options_fit_one_actions_block_and_fifty_blocks(slack: SlackHarness) -> None:
    labels = [f"Option {i}" for i in range(25)]
    poll = await create(slack, f'poll create "{QUESTION}" ' + " ".join(f'"{label}"' for label in labels))

    number = poll_id(poll)
    actions = [b for b in poll.blocks if b["type"] == "actions"]
    assert [len(b["elements"]) for b in actions] == [25]  # Slack's limit for one actions block
    assert vote_ids(poll) == [f"poll.vote:{number}:{i}" for i in range(25)]
    assert [b["text"]["text"] for b in poll.buttons()] == labels
    assert len(poll.blocks) <= 50 and list(tally(poll)) == labels
    assert slack.fake.block_error(poll.blocks) is None

    [too_many] = await slack.command(f'poll create "{QUESTION}" ' + " ".join(f"o{i}" for i in range(26)))
    assert too_many.ephemeral and "a poll takes at most 25" in too_many.text


# -- votes ---------------------------------------------------------------------------------------


async def test_a_vote_answers_privately_and_updates_the_poll_message(slack: SlackHarness) -> None:
    poll = await create(slack)
    number = poll_id(poll)

    answer = await vote(slack, poll, 1, user=EVE)

    assert (answer.via, answer.ephemeral, answer.user, answer.text) == ("response_url", True, EVE, "Your vote: RDA.")
    assert slack.fake.in_channel(GENERAL) == [poll]  # nothing new in the channel
    [update] = slack.fake.called("chat.update")
    assert (update["channel"], update["ts"]) == (GENERAL, poll.ts)
    assert poll.edits == 1 and tally(poll) == {"MARC": "0", "RDA": "1", "Dublin Core": "0"}
    assert contexts(poll) == ["1 voter so far. Asked by Ann."]
    assert vote_ids(poll) == [f"poll.vote:{number}:{i}" for i in range(3)]  # still votable

    assert (await vote(slack, poll, 0, user=EVE)).text == "Your vote: MARC."  # single choice: replaced
    assert tally(poll) == {"MARC": "1", "RDA": "0", "Dublin Core": "0"}
    assert (await vote(slack, poll, 0, user=EVE)).text == f"Vote removed. You have no vote on poll #{number}."
    assert tally(poll)["MARC"] == "0"
    stale = await vote(slack, poll, 7, user=EVE)
    assert stale.ephemeral and stale.text == "That option is not on this poll."

    multi = await create(slack, f"{CREATE} multi=2")
    assert (await vote(slack, multi, 0)).text == "Your vote: MARC."
    assert (await vote(slack, multi, 2)).text == "Your votes: MARC, Dublin Core."
    full = await vote(slack, multi, 1)
    assert full.text == "You can choose up to 2; click one of your choices to remove it first."
    assert tally(multi) == {"MARC": "1", "RDA": "0", "Dublin Core": "1"}
    clicks = "SELECT COUNT(*) FROM engagement_events WHERE kind = 'button' AND subject = 'poll.vote'"
    assert await slack.count(clicks) == 7


async def test_where_the_bot_may_not_post_a_click_s_response_url_updates_the_poll(slack: SlackHarness) -> None:
    """A private channel the bot is not in: chat.update cannot reach the poll message, so
    the latest click's response_url replaces it (`replace_original`), tally and closing."""
    [poll] = await slack.command(CREATE, channel=SECRET)
    number = poll_id(poll)
    assert (poll.via, poll.channel, poll.ephemeral) == ("response_url", SECRET, False)

    [answer] = await slack.click(f"poll.vote:{number}:1", channel=SECRET, message_ts=poll.ts)

    assert (answer.ephemeral, answer.user, answer.text) == (True, ANN, "Your vote: RDA.")
    [update] = slack.fake.called("chat.update")
    assert (update["channel"], update["ts"]) == (SECRET, poll.ts)  # refused: channel_not_found
    assert slack.fake.in_channel(SECRET) == [poll]  # replaced, not posted anew
    assert poll.edits == 1 and tally(poll) == {"MARC": "0", "RDA": "1", "Dublin Core": "0"}
    assert vote_ids(poll) == [f"poll.vote:{number}:{i}" for i in range(3)]

    [closed] = await slack.command(f"poll close {number}", channel=SECRET)
    assert (closed.via, closed.ephemeral) == ("response_url", False)
    assert poll.edits == 2 and poll.buttons() == []
    assert poll.headers() == [f"Poll #{number} closed. {QUESTION}"]


async def test_a_burst_of_fifty_clicks_costs_far_fewer_updates(tmp_path: Path, fake_slack: FakeSlack) -> None:
    slack = await SlackHarness(tmp_path, fake_slack).start()  # updates of one message 0.2 s apart
    try:
        voters = [fake_slack.add_user(f"U0VOTER{i:02d}", f"voter{i}").id for i in range(50)]
        poll = await create(slack)
        number = poll_id(poll)
        assert slack.http is not None

        clicks = [slack.wire.click(f"poll.vote:{number}:{i % 3}", user, GENERAL, poll.ts) for i, user in enumerate(voters)]
        statuses = await asyncio.gather(*(slack.wire.post(slack.http, "interactive", c) for c in clicks))
        await slack.bot.idle()

        assert [status for status, _ in statuses] == [200] * 50
        answers = [p for p in fake_slack.posts if p.ephemeral]
        assert len(answers) == 50 and all(p.text.startswith("Your vote: ") for p in answers)
        assert {p.user for p in answers} == set(voters)
        assert tally(poll) == {"MARC": "17", "RDA": "17", "Dublin Core": "16"}  # the last update has the latest tally
        assert contexts(poll) == ["50 voters so far. Asked by Ann."]
        updates = len(fake_slack.called("chat.update"))
        assert poll.edits == updates and 1 <= updates <= 15, updates
    finally:
        await slack.stop()


# -- closing ---------------------------------------------------------------------------------------


async def test_only_the_creator_or_a_moderator_closes_a_poll(slack: SlackHarness) -> None:
    poll = await create(slack, f"{CREATE} closes=1d")
    number = poll_id(poll)
    await vote(slack, poll, 2, user=EVE)

    [refused] = await slack.command(f"poll close {number}", user=EVE)
    assert refused.ephemeral and refused.text == f"Only the poll's creator or a moderator can close poll #{number}."
    assert poll.buttons()  # still open

    [closed] = await slack.command(f"poll close {number}")
    assert closed.via == "chat.postMessage" and not closed.ephemeral
    assert closed.headers() == [f"Poll #{number} closed. {QUESTION}"]
    assert tally(closed)["Dublin Core"].split()[0] == "1" and "100%" in tally(closed)["Dublin Core"]
    assert poll.buttons() == [] and poll.headers() == [f"Poll #{number} closed. {QUESTION}"]  # chat.update
    status = "SELECT status FROM timers WHERE name = 'poll.close'"
    assert [tuple(r) for r in await slack.bot.db.fetchall(status)] == [("cancelled",)]

    late = await vote(slack, poll, 0, user=EVE)
    assert late.text == f"Poll #{number} is closed; votes are no longer counted."
    [again] = await slack.command(f"poll close {number}")
    assert again.text.startswith(f"Poll #{number} is already closed. /alcts poll results {number}")

    for moderator in (BEA, MOD):  # a workspace admin (users.info), one in SLACK_MODERATORS
        other = await create(slack, user=EVE)
        [by_moderator] = await slack.command(f"poll close {poll_id(other)}", user=moderator)
        assert by_moderator.headers() == [f"Poll #{poll_id(other)} closed. {QUESTION}"]
        assert other.buttons() == []


async def test_a_deadline_closes_the_poll_once_and_posts_the_results(slack: SlackHarness) -> None:
    poll = await create(slack, f"{CREATE} closes=10m")
    number = poll_id(poll)
    await vote(slack, poll, 0, user=EVE)
    await vote(slack, poll, 0, user=DEE)
    await vote(slack, poll, 1, user=CAL)
    assert "closes in 10 minutes" in poll.blocks[1]["text"]["text"]

    slack.clock.advance(timedelta(minutes=9))
    assert await slack.bot.scheduler.run_due() == 0
    slack.clock.advance(timedelta(minutes=1))
    assert await slack.bot.scheduler.run_due() == 1
    await slack.bot.idle()

    [results] = slack.fake.in_channel(GENERAL)[1:]
    assert results.via == "chat.postMessage" and results.headers() == [f"Poll #{number} closed. {QUESTION}"]
    assert tally(results)["MARC"].split()[0] == "2" and "67%" in tally(results)["MARC"]
    assert contexts(results) == ["3 voters."]
    assert poll.buttons() == [] and poll.headers() == results.headers()  # the poll message was updated

    slack.clock.advance(timedelta(days=1))
    await slack.bot.scheduler.run_due()  # the hourly snapshot and daily counts run; the close does not again
    assert len(slack.fake.in_channel(GENERAL)) == 2
    [closed_again] = await slack.command(f"poll close {number}")
    assert closed_again.ephemeral and "already closed" in closed_again.text
    assert len(slack.fake.in_channel(GENERAL)) == 2  # the poll and one results post
    late = await vote(slack, poll, 2, user=EVE)
    assert late.text == f"Poll #{number} is closed; votes are no longer counted."


# -- results and export ----------------------------------------------------------------------------


async def test_poll_results_uploads_the_chart_as_a_png(slack: SlackHarness) -> None:
    poll = await create(slack)
    number = poll_id(poll)
    for user, position in ((ANN, 0), (EVE, 1), (DEE, 1)):
        await vote(slack, poll, position, user=user)

    [results] = await slack.command(f"poll results {number}", user=EVE)

    assert results.via == "chat.postMessage" and not results.ephemeral
    assert results.headers() == [f"Poll #{number} (open, no deadline) {QUESTION}"]
    [image] = [b for b in results.blocks if b["type"] == "image"]
    upload = slack.fake.files[image["slack_file"]["id"]]
    assert upload["filename"] == f"poll-{number}.png" and upload["data"].startswith(b"\x89PNG")
    assert len(upload["data"]) > 1000 and upload["shared_in"] is None  # shown by the block, not shared
    assert image["alt_text"] == f"bar chart of poll #{number}"
    [ticket] = slack.fake.called("files.getUploadURLExternal")
    assert ticket["filename"] == f"poll-{number}.png"
    assert tally(results)["RDA"].split()[0] == "2" and contexts(results) == ["3 voters."]
    assert results.buttons() == []  # results are not a ballot

    hidden = await create(slack, f"{CREATE} hidden=yes")
    [withheld] = await slack.command(f"poll results {poll_id(hidden)}")
    assert withheld.ephemeral and "hides its results until it closes" in withheld.text
    assert len(slack.fake.called("files.getUploadURLExternal")) == 1

    [missing] = await slack.command("poll results 99")
    assert missing.ephemeral and missing.text == "There is no poll #99 in this channel. /alcts poll list shows the open ones here."


async def test_poll_export_gives_organizers_a_csv_privately(slack: SlackHarness) -> None:
    poll = await create(slack)
    number = poll_id(poll)
    await vote(slack, poll, 0, user=EVE)
    await vote(slack, poll, 2, user=BEA)

    [refused] = await slack.command(f"poll export {number}")
    assert refused.ephemeral and refused.text == "Only organizers can use /alcts poll export."
    assert slack.fake.files == {}

    answer, shared = await slack.command(f"poll export {number}", user=DEE)  # in SLACK_ORGANIZERS

    assert (answer.via, answer.ephemeral, answer.user) == ("response_url", True, DEE)
    assert answer.text == f"Poll #{number} results as CSV: poll-{number}.csv"
    assert (shared.via, shared.channel, shared.text) == ("file", "D0DEE0001", f"poll-{number}.csv")  # a DM
    [upload] = slack.fake.files.values()
    assert upload["shared_in"] == "D0DEE0001"
    rows = list(csv.reader(io.StringIO(upload["data"].decode("utf-8-sig"))))
    assert rows == [["option", "votes", "share_percent"], ["MARC", "1", "50.0"], ["RDA", "0", "0.0"],
                    ["Dublin Core", "1", "50.0"]]  # fmt: skip
    await slack.command(f"poll export {number} votes=yes", user=DEE)
    votes = next(f for f in slack.fake.files.values() if f["filename"] == f"poll-{number}-votes.csv")
    rows = list(csv.reader(io.StringIO(votes["data"].decode("utf-8-sig"))))
    assert rows[0][:2] == ["voter", "option"] and rows[0][2].startswith("voted_at (")
    assert sorted((r[0], r[1]) for r in rows[1:]) == [("Bea", "Dublin Core"), ("Eve E.", "MARC")]  # names, not ids

    audit = "SELECT member_id, action, allowed FROM audit_log ORDER BY id"
    assert [tuple(r) for r in await slack.bot.db.fetchall(audit)] == [
        (ANN, "/poll export", 0), (DEE, "/poll export", 1), (DEE, "/poll export", 1)
    ]  # fmt: skip


# -- restarts and Socket Mode ----------------------------------------------------------------------


async def test_a_vote_still_counts_after_a_restart(slack: SlackHarness) -> None:
    poll = await create(slack, f"{CREATE} anonymous=yes")
    number = poll_id(poll)
    await vote(slack, poll, 1, user=EVE)
    assert tally(poll)["RDA"] == "1"

    await slack.restart()  # a new process on the same database: nothing in memory survives

    counted = await vote(slack, poll, 0, user=DEE)
    assert counted.ephemeral and counted.text == "Your vote: MARC."
    assert tally(poll) == {"MARC": "1", "RDA": "1", "Dublin Core": "0"}  # the same message, by its ts
    # the anonymous key survived too: the same member toggles the same hashed vote off
    assert (await vote(slack, poll, 1, user=EVE)).text == f"Vote removed. You have no vote on poll #{number}."
    assert tally(poll)["RDA"] == "0"

    [closed] = await slack.command(f"poll close {number}")  # the creator, known by id
    assert closed.headers()[0].startswith(f"Poll #{number} closed.")
    assert poll.buttons() == []  # the stored message ref survived as well


async def test_a_vote_click_over_socket_mode_is_acked_and_counted(tmp_path: Path, fake_slack: FakeSlack) -> None:
    harness = await SlackHarness(tmp_path, fake_slack, socket_mode=True, slack_signing_secret=None).start()
    try:
        poll = await create(harness)
        number = poll_id(poll)
        click = harness.wire.click(f"poll.vote:{number}:2", EVE, GENERAL, poll.ts)

        ack = await fake_slack.envelope("interactive", click)
        await harness.bot.idle()

        assert set(ack) == {"envelope_id"} and ack["envelope_id"].startswith("env-")
        [answer] = fake_slack.seen_by(EVE)
        assert answer.via == "response_url" and answer.text == "Your vote: Dublin Core."
        assert tally(poll) == {"MARC": "0", "RDA": "0", "Dublin Core": "1"}
        assert await harness.count("SELECT COUNT(*) FROM poll_votes WHERE voter = ?", EVE) == 1
    finally:
        await harness.stop()

"""Polls end to end: `/poll create` with typed options, vote buttons and live (coalesced)
tallies, closing, the results chart, the CSV export, and a vote after a restart."""

from __future__ import annotations

import re
from typing import Any

from tests.e2e.discord.conftest import ADMIN, ALICE, MOD, StartBot
from tests.e2e.discord.fake_discord import CHANNEL_ID, MANAGE_GUILD, Answer, FakeDiscord, FakeUser
from tests.e2e.discord.test_events import eventually

STRING, INTEGER, BOOLEAN = 3, 4, 5
MESSAGE, BUTTON = 4, 2
BOB = FakeUser(5101, "bob")
MANAGER = FakeUser(5102, "manny", permissions=MANAGE_GUILD)  # Manage Server: a moderator
QUESTION = "Which metadata standard do you use most?"


async def create(fake: FakeDiscord, user: FakeUser = ALICE, options: str = "MARC; RDA; Dublin Core", **more: Any) -> Answer:
    return await fake.reply(await fake.slash("poll create", user, question=QUESTION, options=options, **more))


def poll_id(answer: Answer) -> int:
    match = re.match(r"Poll #(\d+) ", answer.data["embeds"][0]["title"])
    assert match, answer.data["embeds"]
    return int(match[1])


def tally(message: dict[str, Any]) -> dict[str, str]:
    """Option -> the value its field shows (a count on the live card)."""
    return {f["name"]: f["value"] for f in message["embeds"][0]["fields"]}


def rows(message: dict[str, Any]) -> list[list[dict[str, Any]]]:
    return [row["components"] for row in message.get("components") or []]


def edits_of(fake: FakeDiscord, message: dict[str, Any]) -> list[dict[str, Any]]:
    return [body for mid, body in fake.message_edits if mid == int(message["id"])]


async def test_poll_create_declares_typed_options_and_posts_a_live_card(fake: FakeDiscord, start_bot: StartBot) -> None:
    running = await start_bot()
    options = {o["name"]: o for o in fake.synced("poll create")["options"]}
    # every option optional: /poll create alone opens its form (tests/e2e/discord/test_forms.py)
    assert [(n, o["type"], o["required"]) for n, o in options.items()] == [
        ("question", STRING, False), ("options", STRING, False), ("multi", INTEGER, False),
        ("anonymous", BOOLEAN, False), ("hidden", BOOLEAN, False), ("closes", STRING, False),
    ]  # fmt: skip
    assert "separated by ;" in options["options"]["description"] and options["multi"]["min_value"] == 1
    assert "duration" in options["closes"]["description"]

    answer = await create(fake, options="MARC; RDA;Dublin Core ", multi=2, anonymous=True, hidden=False, closes="2h")

    assert answer.kind == "callback" and answer.type == MESSAGE and not answer.ephemeral
    assert answer.data["allowed_mentions"] == {"parse": []}
    (embed,) = answer.data["embeds"]
    number = poll_id(answer)
    assert embed["title"] == f"Poll #{number}  {QUESTION}"
    assert re.fullmatch(r"\(closes in 2 hours \(<t:\d+:f>\), choose up to 2, anonymous\)", embed["description"])
    assert tally(answer.data) == {"MARC": "0", "RDA": "0", "Dublin Core": "0"}
    assert embed["footer"]["text"] == "0 voters so far. Asked by alice."
    (row,) = rows(answer.data)
    assert [(b["type"], b["label"], b["custom_id"]) for b in row] == [
        (BUTTON, "MARC", f"poll.vote:{number}:0"), (BUTTON, "RDA", f"poll.vote:{number}:1"),
        (BUTTON, "Dublin Core", f"poll.vote:{number}:2"),
    ]  # fmt: skip

    sql = "SELECT multi, anonymous, hidden, closes_at IS NOT NULL, message_ref FROM polls"
    stored = await eventually(lambda: running.rows(sql), lambda found: found[0][-1] is not None)
    assert stored == [(2, 1, 0, 1, f"discord:{CHANNEL_ID}:{answer.message['id']}")]  # type: ignore[index]
    jobs = await running.rows("SELECT name, timer_key, status FROM timers WHERE name LIKE 'poll.%'")
    assert jobs == [("poll.close", str(number), "pending")]

    hidden = await create(fake, options="yes;no", hidden=True)
    assert "results hidden until it closes" in hidden.data["embeds"][0]["description"]
    assert set(tally(hidden.data).values()) == {"\u200b"}  # no counts while hidden

    refused = await create(fake, options="only one")
    assert refused.ephemeral and "needs at least 2 options" in refused.text


async def test_twenty_five_options_render_as_five_rows_of_five(fake: FakeDiscord, start_bot: StartBot) -> None:
    await start_bot()
    labels = [f"Option {i}" for i in range(25)]

    answer = await create(fake, options=";".join(labels))
    seven = await create(fake, options=";".join(labels[:7]))

    number = poll_id(answer)
    assert [len(row) for row in rows(answer.data)] == [5, 5, 5, 5, 5]
    buttons = [b for row in rows(answer.data) for b in row]
    assert [b["custom_id"] for b in buttons] == [f"poll.vote:{number}:{i}" for i in range(25)]
    assert [b["label"] for b in buttons] == labels and {b["type"] for b in buttons} == {BUTTON}
    assert len(answer.data["embeds"][0]["fields"]) == 25
    assert [len(row) for row in rows(seven.data)] == [5, 2]

    too_many = await create(fake, options=";".join(f"o{i}" for i in range(26)))
    assert too_many.ephemeral and "a poll takes at most 25" in too_many.text


async def test_a_vote_is_confirmed_privately_and_the_poll_message_shows_the_tally(
    fake: FakeDiscord, start_bot: StartBot
) -> None:
    await start_bot()
    poll = await create(fake)
    message = poll.message
    assert message is not None
    number = poll_id(poll)

    vote = await fake.reply(await fake.click(f"poll.vote:{number}:1", BOB, message))

    assert vote.type == MESSAGE and vote.ephemeral and vote.text == "Your vote: RDA."
    await fake.wait_for(lambda: tally(message)["RDA"] == "1")
    assert ("PATCH", f"/api/v10/channels/{CHANNEL_ID}/messages/{message['id']}") in fake.requests
    assert tally(message) == {"MARC": "0", "RDA": "1", "Dublin Core": "0"}
    assert message["embeds"][0]["footer"]["text"].startswith("1 voter so far.")
    assert [b["custom_id"] for row in rows(message) for b in row][1] == f"poll.vote:{number}:1"  # still votable

    changed = await fake.reply(await fake.click(f"poll.vote:{number}:0", BOB, message))
    assert changed.text == "Your vote: MARC."  # single choice: the new vote replaces the old
    await fake.wait_for(lambda: tally(message) == {"MARC": "1", "RDA": "0", "Dublin Core": "0"})
    removed = await fake.reply(await fake.click(f"poll.vote:{number}:0", BOB, message))
    assert removed.ephemeral and removed.text == f"Vote removed. You have no vote on poll #{number}."
    await fake.wait_for(lambda: tally(message)["MARC"] == "0")

    stale = await fake.reply(await fake.click(f"poll.vote:{number}:7", BOB, message))
    assert stale.ephemeral and stale.text == "That option is not on this poll."


async def test_a_burst_of_clicks_costs_far_fewer_edits_than_clicks(fake: FakeDiscord, start_bot: StartBot) -> None:
    await start_bot()
    fake.edit_delay = 0.02  # an edit takes a little while, as over a real network
    poll = await create(fake)
    message = poll.message
    assert message is not None
    number = poll_id(poll)
    members = [FakeUser(7000 + i, f"member{i}") for i in range(50)]

    clicks = [await fake.click(f"poll.vote:{number}:{i % 3}", member, message) for i, member in enumerate(members)]
    answers = [await fake.reply(click) for click in clicks]

    assert all(a.ephemeral and a.text.startswith("Your vote: ") for a in answers)
    await fake.wait_for(lambda: tally(message) == {"MARC": "17", "RDA": "17", "Dublin Core": "16"})
    assert message["embeds"][0]["footer"]["text"].startswith("50 voters so far.")
    assert fake.max_edits_in_flight == 1
    assert 1 <= len(edits_of(fake, message)) <= 15, len(edits_of(fake, message))


async def test_only_the_creator_or_a_moderator_closes_a_poll(fake: FakeDiscord, start_bot: StartBot) -> None:
    running = await start_bot()
    poll = await create(fake, closes="1d")
    message = poll.message
    assert message is not None
    number = poll_id(poll)
    await fake.reply(await fake.click(f"poll.vote:{number}:2", BOB, message))

    refused = await fake.reply(await fake.slash("poll close", BOB, id=number))
    assert refused.ephemeral and refused.text == f"Only the poll's creator or a moderator can close poll #{number}."
    assert rows(message)  # still open, still has its buttons

    closed = await fake.reply(await fake.slash("poll close", ALICE, id=number))
    assert not closed.ephemeral and closed.text.startswith(f"Poll #{number} closed. {QUESTION}")
    assert "Dublin Core: 1" in closed.text and "100%" in closed.text
    await fake.wait_for(lambda: not message["components"])  # the original lost its buttons
    assert message["embeds"][0]["title"] == f"Poll #{number} closed. {QUESTION}"
    assert await running.rows("SELECT status FROM timers WHERE name = 'poll.close'") == [("cancelled",)]

    late = await fake.reply(await fake.click(f"poll.vote:{number}:0", BOB, message))
    assert late.text == f"Poll #{number} is closed; votes are no longer counted."
    again = await fake.reply(await fake.slash("poll close", ALICE, id=number))
    assert again.text.startswith(f"Poll #{number} is already closed.")

    other = poll_id(await create(fake, user=BOB))
    by_manager = await fake.reply(await fake.slash("poll close", MANAGER, id=other))
    assert by_manager.text.startswith(f"Poll #{other} closed.")
    by_mod_role = await fake.reply(await fake.slash("poll close", MOD, id=poll_id(await create(fake, user=BOB))))
    assert by_mod_role.ephemeral and "Only the poll's creator or a moderator" in by_mod_role.text  # no role set


async def test_poll_results_sends_the_chart_as_a_png(fake: FakeDiscord, start_bot: StartBot) -> None:
    await start_bot()
    poll = await create(fake)
    number = poll_id(poll)
    for user, position in ((ALICE, 0), (BOB, 1), (MOD, 1)):
        await fake.reply(await fake.click(f"poll.vote:{number}:{position}", user, poll.message))

    results = await fake.reply(await fake.slash("poll results", BOB, id=number))

    assert results.type == MESSAGE and not results.ephemeral
    assert results.message is not None
    (attachment,) = results.message["attachments"]
    assert attachment["filename"] == f"poll-{number}.png" and attachment["size"] > 1000
    (embed,) = results.data["embeds"]
    assert embed["image"]["url"] == f"attachment://poll-{number}.png"
    assert embed["title"] == f"Poll #{number} (open, no deadline) {QUESTION}"
    assert tally(results.data)["RDA"].split()[0] == "2" and embed["footer"]["text"] == "3 voters."
    assert not results.data.get("components")  # results are not a ballot

    hidden = poll_id(await create(fake, options="yes;no", hidden=True))
    withheld = await fake.reply(await fake.slash("poll results", BOB, id=hidden))
    assert withheld.ephemeral and "hides its results until it closes" in withheld.text
    assert withheld.message is not None and not withheld.message["attachments"]


async def test_poll_export_sends_a_csv_to_organizers_only(fake: FakeDiscord, start_bot: StartBot) -> None:
    running = await start_bot()
    poll = await create(fake)
    number = poll_id(poll)
    await fake.reply(await fake.click(f"poll.vote:{number}:0", BOB, poll.message))

    refused = await fake.reply(await fake.slash("poll export", ALICE, id=number))
    assert refused.ephemeral and refused.text == "Only organizers can use /poll export."
    assert refused.message is not None and not refused.message["attachments"]

    export = await fake.reply(await fake.slash("poll export", ADMIN, id=number))
    assert export.type == MESSAGE and export.ephemeral
    assert export.text == f"Poll #{number} results as CSV: poll-{number}.csv"
    assert export.message is not None
    (attachment,) = export.message["attachments"]
    assert attachment["filename"] == f"poll-{number}.csv" and attachment["size"] > 0

    audit = await running.rows("SELECT member_id, action, allowed FROM audit_log ORDER BY id")
    assert audit == [(str(ALICE.id), "/poll export", 0), (str(ADMIN.id), "/poll export", 1)]


async def test_a_vote_button_still_counts_after_a_restart(fake: FakeDiscord, start_bot: StartBot) -> None:
    first = await start_bot()
    poll = await create(fake, anonymous=True)
    message = poll.message
    assert message is not None
    number = poll_id(poll)
    await fake.reply(await fake.click(f"poll.vote:{number}:1", BOB, message))
    await fake.wait_for(lambda: tally(message)["RDA"] == "1")
    await first.bot.close()

    await start_bot()  # a new process, as far as the bot can tell: same database, nothing in memory
    await fake.wait_connected()

    counted = await fake.reply(await fake.click(f"poll.vote:{number}:0", ALICE, message))
    assert counted.text == "Your vote: MARC."
    await fake.wait_for(lambda: tally(message) == {"MARC": "1", "RDA": "1", "Dublin Core": "0"})
    # the anonymous key survived too: the same member toggles the same hashed vote off
    toggled = await fake.reply(await fake.click(f"poll.vote:{number}:1", BOB, message))
    assert toggled.text == f"Vote removed. You have no vote on poll #{number}."
    await fake.wait_for(lambda: tally(message)["RDA"] == "0")

    closed = await fake.reply(await fake.slash("poll close", ALICE, id=number))
    assert closed.text.startswith(f"Poll #{number} closed.")
    await fake.wait_for(lambda: not message["components"])  # the stored message ref survived as well


async def test_a_refused_close_edit_is_retried_until_the_buttons_are_gone(fake: FakeDiscord, start_bot: StartBot) -> None:
    await start_bot()
    poll = await create(fake)
    message = poll.message
    assert message is not None
    number = poll_id(poll)
    fake.failing_edits = 2  # error 30046: discord.py gives up at once, the bot retries
    closed = await fake.reply(await fake.slash("poll close", ALICE, id=number))
    assert closed.text.startswith(f"Poll #{number} closed.")
    await fake.wait_for(lambda: not message["components"], within=30)
    assert message["embeds"][0]["title"] == f"Poll #{number} closed. {QUESTION}"

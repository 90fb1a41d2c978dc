"""Polls through the console: validation, voting rules, anonymity, deadlines, export."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cards import Card
from bot.model import ButtonPressed, Community, Member, MessageRef, Place
from bot.text import spreadsheet_cell as safe_cell
from storage.polls import Poll
from tests.harness import TestBot

POLL_TABLES = {
    "polls": "SELECT * FROM polls", "poll_options": "SELECT * FROM poll_options", "poll_votes": "SELECT * FROM poll_votes",
}
Q = 'poll create "Which metadata standard do you use most?" MARC RDA "Dublin Core"'


def counts(out: str) -> dict[str, int]:
    """Option -> votes from the last printed poll card."""
    block = out.rsplit("Poll #", 1)[1]
    result = {}
    for line in block.splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 2 and parts[-1].rstrip("%").isdigit() and line.startswith("  "):
            label = line[2:].split("  ")[0].strip()
            result[label] = int(line[2:][len(label):].split()[0])
    return result


async def click(testbot: TestBot, member: str, custom_id: str) -> str:
    """A click on a poll message, as a platform would deliver it (also on closed messages)."""
    console = testbot.console
    start = testbot.out.tell()
    event = ButtonPressed(Member("console", member, member), console.place, custom_id=custom_id)
    await testbot.bot.dispatch(event, console._responder())
    return testbot.out.getvalue()[start:]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('/poll create "?" x', 'poll create: needs at least 2 options, e.g. /poll create "Question?" "Yes" "No"'),
        ("/poll create", "poll create: QUESTION is missing."),
        (f'/poll create "{"x" * 301}" a b', "the question is 301 characters; keep it to 300"),
        (f'/poll create Q a "{"y" * 76}"', "is 76 characters; keep options to 75"),
        ("/poll create Q " + " ".join(f"o{i}" for i in range(26)), "has 26 options; a poll takes at most 25"),
        ("/poll create Q MARC marc", "two options are the same"),
        ('/poll create "\u200b" a b', "the question has nothing visible in it"),
        ('/poll create Q a "\u3164"', "an option is empty"),
        ("/poll create Q a b multi=3", "multi=3 is more than the 2 options"),
        ("/poll create Q a b multi=0", "multi should be greater than or equal to 1"),
        ("/poll create Q a b closes=33d", "closes must be between 1 minute and 32 days"),
        ('/poll create "Salary survey" "Under 50k" "50k+" anonymus=yes', "there is no option anonymus=. Did you mean anonymous=?"),
        ('/poll create "Salary" "Under 50k" "50k+" anonymous:yes', "to give anonymous, write anonymous=yes"),
        ('/poll create "Salary" "Under 50k" "50k+" --anonymous', "options are written name=value, e.g. anonymous=yes"),
        ('/poll create "Salary" "Under 50k" "50k+" anonymous =yes', "write anonymous=yes without spaces around ="),
        ('/poll create "Salary" "Under 50k" "50k+" —anonymous', "options are written name=value, e.g. anonymous=yes"),
        ('/poll create "Salary" "Under 50k" "50k+" anonymous：yes', "to give anonymous, write anonymous=yes"),
        ('/poll create "Salary" "Under 50k" "50k+" anonymous ⩵yes', "write anonymous=yes without spaces around ="),
        ('/poll create "Salary" "Under 50k" "50k+" anonymous ＝ yes', "write anonymous=VALUE without spaces around ="),
        ("/poll create Q a b closes=soon", "'soon' is neither a duration nor a time"),
        ("/poll create Q a b closes=-5m", "'-5m' is in the past; give a duration such as 2h or a time to come"),
        ("/poll create Q a b anonymous=maybe", "'maybe' should be yes or no"),
        ("/poll results 99", "There is no poll #99 in this channel."),
        ("/poll results x", "id must be a whole number"),
    ],
)
async def test_validation_errors_are_one_clear_sentence(testbot: TestBot, line: str, message: str) -> None:
    out = await testbot.push(line)
    assert message in out
    assert out.startswith("(only you) ") and out.count("\n") == 1
    assert await testbot.db.scalar("SELECT COUNT(*) FROM polls") == 0 or line.startswith("/poll results")


async def test_a_poll_with_three_voters_one_changing_their_mind(testbot: TestBot) -> None:
    out = await testbot.push(f"/{Q} closes=1h")
    assert "Poll #1  Which metadata standard do you use most?" in out
    assert "[1 MARC] [2 RDA] [3 Dublin Core]" in out
    assert "(only you) Your vote: RDA." in await testbot.push(":click 2")
    assert "Your vote: MARC." in await testbot.push(":as ben", ":click 1")
    out = await testbot.push(":as cat", ":click 1", ":click 3")
    assert "Your vote: MARC." in out and "Your vote: Dublin Core." in out
    out = await testbot.wait(3600)
    assert "Poll #1 closed. Which metadata standard do you use most?" in out
    assert counts(out) == {"MARC": 1, "RDA": 1, "Dublin Core": 1}
    assert "3 voters." in out


async def test_clicking_your_choice_again_removes_it(testbot: TestBot) -> None:
    await testbot.push(f"/{Q}", ":click 1")
    assert "Vote removed. You have no vote on poll #1." in await testbot.push(":click 1")
    assert counts(await testbot.push("/poll results 1")) == {"MARC": 0, "RDA": 0, "Dublin Core": 0}


async def test_multi_lets_a_member_choose_up_to_n(testbot: TestBot) -> None:
    await testbot.push(f"/{Q} multi=2")
    out = await testbot.push(":click 1", ":click 2", ":click 3")
    assert "Your votes: MARC, RDA." in out
    assert "You can choose up to 2; click one of your choices to remove it first." in out
    out = await testbot.push(":click 1", ":click 3", "/poll results 1")
    assert "Your votes: RDA, Dublin Core." in out
    assert counts(out) == {"MARC": 0, "RDA": 1, "Dublin Core": 1}
    assert "Shares are of voters" in out


async def test_hidden_polls_show_tallies_only_after_close(testbot: TestBot) -> None:
    out = await testbot.push(f"/{Q} hidden=yes", ":click 1")
    assert "results hidden until it closes" in out
    assert "  MARC         0" not in out
    out = await testbot.push("/poll results 1")
    assert "Poll #1 hides its results until it closes; 1 voted so far." in out
    out = await testbot.push("/poll close 1")
    assert counts(out) == {"MARC": 1, "RDA": 0, "Dublin Core": 0}


async def test_live_tally_updates_the_poll_message(testbot: TestBot) -> None:
    await testbot.push(f"/{Q}", ":click 2", ":as ben", ":click 2")
    message = next(s for s in testbot.console.shown if s.card.title.startswith("Poll #1"))
    assert [f.value for f in message.card.fields] == ["0", "2", "0"]
    assert message.card.footer.startswith("2 voters so far.")


async def test_anonymous_votes_leave_no_member_id_in_the_database(tmp_path: Path) -> None:
    testbot = await TestBot(tmp_path, member="zed").start()
    await testbot.push(f"/{Q} anonymous=yes", ":click 1", ":as yolanda", ":click 2", ":click 3")
    out = await testbot.push("/poll results 1")
    assert counts(out) == {"MARC": 1, "RDA": 0, "Dublin Core": 1}
    out = await testbot.push(":click 3")
    assert "Vote removed" in out  # double votes are still recognised
    await testbot.stop()
    with sqlite3.connect(tmp_path / "bot.sqlite3") as conn:
        votes = conn.execute("SELECT voter, voted_at FROM poll_votes").fetchall()
        assert len(votes) == 1 and votes[0][1] is None
        assert all(len(voter) == 64 and voter not in {"zed", "yolanda"} for voter, _ in votes)
        for table, query in POLL_TABLES.items():
            assert "yolanda" not in repr(conn.execute(query).fetchall()), table


async def test_export_is_csv_with_voters_only_for_open_ballots(testbot: TestBot) -> None:
    testbot.clock.set(datetime(2026, 12, 1, 20, 30, 15, 123456, tzinfo=UTC))  # 14:30:15 CST
    await testbot.push('/poll create "Formula?" "=SUM(A1)" "+1" "@cmd" "-2" plain', ":click 1", ":as ben", ":click 5")
    out = await testbot.push(":as olga organizer", "/poll export 1")
    data = (testbot.path / "files" / "poll-1.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data  # a BOM and CRLF: Excel reads UTF-8
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [["option", "votes", "share_percent"], ["'=SUM(A1)", "1", "50.0"], ["'+1", "0", "0.0"],
                    ["'@cmd", "0", "0.0"], ["'-2", "0", "0.0"], ["plain", "1", "50.0"]]  # one table per file
    assert "saved to" in out and "voter" not in data.decode()
    await testbot.push("/poll export 1 votes=yes")
    votes = list(csv.reader(io.StringIO((testbot.path / "files" / "poll-1-votes.csv").read_text("utf-8-sig"))))
    assert votes[0] == ["voter", "option", "voted_at (America/Chicago)"]
    assert sorted(votes[1:]) == [["ben", "plain", "2026-12-01 14:30:15"], ["you", "'=SUM(A1)", "2026-12-01 14:30:15"]]

    await testbot.push(":as ann", f"/{Q} anonymous=yes", ":click 1")
    await testbot.push(":as olga organizer", "/poll export 2")
    text = (testbot.path / "files" / "poll-2.csv").read_text()
    assert "voter" not in text and "ann" not in text
    refused = await testbot.push("/poll export 2 votes=yes")
    assert "Poll #2 is anonymous: its votes are not linked to members." in refused
    assert not (testbot.path / "files" / "poll-2-votes.csv").exists()
    assert "Only organizers can use /poll export." in await testbot.push(":as ann member", "/poll export 1")


def test_single_choice_shares_sum_to_exactly_100() -> None:
    from cogs.polls.render import shares
    from storage.polls import Tally

    def poll(multi: int = 1) -> Poll:
        return Poll(id=1, place=Place(Community("console", "local"), "general"), creator_id="a", creator_name="a",
                    question="Q", options=("a", "b", "c"), multi=multi, anonymous=False, hidden=False,
                    created_at=datetime(2026, 12, 1, tzinfo=UTC), closes_at=None, closed_at=None, message=None)  # fmt: skip

    assert shares(poll(), Tally((1, 1, 1), 3), 0) == [34.0, 33.0, 33.0]  # plain rounding: 33 + 33 + 33 = 99
    assert shares(poll(), Tally((2, 2, 3), 7), 1) == [28.6, 28.6, 42.8]  # 28.57, 28.57, 42.86: 100.1 rounded
    assert round(sum(shares(poll(), Tally((1, 1, 1), 3), 1)), 6) == 100.0 and shares(poll(), Tally((0, 0, 0), 0), 0) == [0.0] * 3
    assert shares(poll(multi=2), Tally((3, 2, 1), 3), 0) == [100.0, 67.0, 33.0]  # several choices: no sum


def test_formula_cells_are_escaped() -> None:
    assert [safe_cell(v) for v in ["=1+1", "+1", "-1", "@SUM", "\tx", "ok", "a=b", "\ufeff=9", "\u200b=8+8", "|cmd"]] == [
        "'=1+1", "'+1", "'-1", "'@SUM", "'\tx", "ok", "a=b", "'\ufeff=9", "'\u200b=8+8", "'|cmd"
    ]


async def test_close_rules_and_votes_after_close(testbot: TestBot) -> None:
    await testbot.push(f"/{Q}", ":click 1")
    out = await testbot.push(":as ben", "/poll close 1")
    assert "Only the poll's creator or a moderator can close poll #1." in out
    out = await testbot.push(":as mo moderator", "/poll close 1", "/poll close 1")
    assert "Poll #1 closed." in out
    assert "Poll #1 is already closed. /poll results 1 shows how it ended." in out
    assert "Poll #1 is closed; votes are no longer counted." in await click(testbot, "ben", "poll.vote:1:2")
    assert "That option is not on this poll." in await click(testbot, "ben", "poll.vote:1:7")


async def test_list_shows_open_polls_in_this_channel(testbot: TestBot) -> None:
    await testbot.push(f"/{Q} closes=2h", '/poll create "Coffee?" yes no', ":channel cataloging")
    assert "No open polls here." in await testbot.push("/poll list")
    out = await testbot.push(":channel general", "/poll close 2", "/poll list")
    assert "#1 Which metadata standard do you use most? (0 voted, closes in 2 hours)" in out
    assert "#2 Coffee?" not in out.split("Open polls here")[1]


async def test_a_deadline_fires_exactly_once_across_a_restart(tmp_path: Path) -> None:
    first = await TestBot(tmp_path).start()
    await first.push(f"/{Q} closes=1h", ":click 2")
    await first.stop()  # down before the deadline

    second = TestBot(tmp_path)
    second.clock.advance(timedelta(hours=3))
    await second.start()
    await second.bot.scheduler.run_due()
    await second.bot.idle()
    out = second.out.getvalue()
    assert out.count("Poll #1 closed.") == 1
    assert counts(out) == {"MARC": 0, "RDA": 1, "Dublin Core": 0}
    await second.stop()

    third = TestBot(tmp_path)
    third.clock.advance(timedelta(hours=4))
    await third.start()
    await third.bot.scheduler.run_due()
    assert "closed" not in third.out.getvalue()
    await third.stop()


async def test_500_members_clicking_twice_at_once_give_exact_tallies(testbot: TestBot) -> None:
    await testbot.push(f"/{Q}")
    acks: dict[str, list[str]] = {}

    class Recorder:
        def __init__(self, member: str) -> None:
            self.member = member

        async def respond(self, card: Card) -> MessageRef | None:
            acks.setdefault(self.member, []).append(card.text)
            return None

    place = testbot.console.place
    clicks = [
        testbot.bot.dispatch(
            ButtonPressed(Member("console", f"m{i}", f"m{i}"), place, custom_id=f"poll.vote:1:{(i + k) % 3}"),
            Recorder(f"m{i}"),
        )
        for i in range(500) for k in (0, 1)
    ]  # fmt: skip
    await asyncio.gather(*clicks)
    await testbot.bot.idle()
    rows = await testbot.db.fetchall("SELECT voter, position FROM poll_votes WHERE poll_id = 1")
    stored = {r["voter"]: r["position"] for r in rows}
    assert len(rows) == 500 and len(stored) == 500  # one vote each, never two
    labels = ["MARC", "RDA", "Dublin Core"]
    for member, answers in acks.items():
        assert answers[-1] == f"Your vote: {labels[stored[member]]}."  # the last ack is what is stored
    tally = await testbot.db.fetchall("SELECT position, COUNT(*) AS n FROM poll_votes GROUP BY position")
    assert sum(r["n"] for r in tally) == 500
    await testbot.db.flush()
    assert await testbot.db.scalar("SELECT COUNT(*) FROM engagement_events WHERE subject = 'poll.vote'") == 1000


async def test_a_burst_of_votes_costs_a_handful_of_edits(tmp_path: Path) -> None:
    testbot = TestBot(tmp_path)
    testbot.bot.edits.min_interval = 0.2
    await testbot.start()
    await testbot.push(f"/{Q}")
    place = testbot.console.place
    await asyncio.gather(*(
        testbot.bot.dispatch(ButtonPressed(Member("console", f"m{i}", f"m{i}"), place, custom_id=f"poll.vote:1:{i % 3}"),
                             testbot.console._responder())
        for i in range(300)
    ))  # fmt: skip
    await testbot.bot.idle()
    assert 1 <= testbot.bot.edits.sent <= 10
    message = next(s for s in testbot.console.shown if s.card.title.startswith("Poll #1"))
    assert [f.value for f in message.card.fields] == ["100", "100", "100"]
    await testbot.stop()


async def test_forget_me_removes_votes_including_anonymous_ones(testbot: TestBot) -> None:
    await testbot.push(":as ann", f"/{Q}", ":click 1", f"/{Q} anonymous=yes", ":click 2", ":as ben", ":click 2")
    await testbot.push(":as ann", "/privacy forget-me", ":click 1")
    rows = await testbot.db.fetchall("SELECT poll_id, voter FROM poll_votes ORDER BY poll_id")
    assert len(rows) == 1 and rows[0]["poll_id"] == 2  # only ben's anonymous vote remains
    assert await testbot.db.scalar("SELECT COUNT(*) FROM polls WHERE creator_id = 'ann'") == 0


async def test_polls_belong_to_their_community(testbot: TestBot) -> None:
    await testbot.push(f"/{Q}")
    await testbot.db.execute("UPDATE polls SET community_id = 'elsewhere'")
    polls = next(cog for cog in testbot.bot.cogs if type(cog).__name__ == "Polls")
    polls.store._forget(1)  # changed behind the store's back: drop its cached copy
    assert "There is no poll #1 in this channel." in await testbot.push("/poll results 1")


async def test_mass_mentions_in_polls_are_defused(testbot: TestBot) -> None:
    out = await testbot.push('/poll create "Ping @everyone?" "@here" "<!channel> yes"')
    assert "@everyone" not in out and "@here" not in out and "<!channel>" not in out


async def test_moderator_roles_do_not_change_who_can_vote(testbot: TestBot) -> None:
    await testbot.push(f"/{Q}")
    assert "Your vote: RDA." in await click(testbot, "visitor", "poll.vote:1:1")


async def test_closes_takes_a_duration_or_a_time(testbot: TestBot) -> None:
    out = await testbot.push('/poll create Q a b closes="tomorrow 5pm"')  # 09:00 in Chicago now
    assert "closes in 1 day 8 hours" in out
    out = await testbot.push("/poll create Q a b closes=2026-11-28T12:00")
    assert "closes in 1 day 3 hours" in out  # 12:00 Chicago is 18:00 UTC


async def test_look_alike_options_are_the_same_option(testbot: TestBot) -> None:
    out = await testbot.push('/poll create Q Yes "Yes\u200b" "\u202eoN"')
    assert "two options are the same" in out
    out = await testbot.push('/poll create Q "[official form](https://evil.example/x)" "\uff21BC"')
    assert "official form (https://evil.example/x)" in out and "ABC" in out and "](" not in out


def shell(cwd: Path, db: str, stdin: str, **settings: str) -> subprocess.CompletedProcess[str]:
    """`alcts-bot shell --db DB` run from `cwd`, with no BOT_* setting from outside."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "SLACK_", "BOT_"))}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    env.update(settings)
    return subprocess.run([sys.executable, "-m", "bot", "shell", "--db", db, "--as", "ann"], input=stdin,
                          capture_output=True, text=True, cwd=cwd, env=env, timeout=60)  # fmt: skip


def test_the_key_follows_db_so_forget_me_from_another_folder_finds_the_ballot(tmp_path: Path) -> None:
    here, there = tmp_path / "here", tmp_path / "there"
    (tmp_path / "data").mkdir()
    here.mkdir()
    there.mkdir()
    voted = shell(here, "../data/club.sqlite3", f"/{Q} anonymous=yes\n:click 2\n")
    assert "Your vote: RDA." in voted.stdout, voted.stderr
    assert (tmp_path / "data" / "club.poll-key").exists() and not (here / "data").exists()
    forgot = shell(there, str(tmp_path / "data" / "club.sqlite3"), "/privacy forget-me\n:click 1\n")
    assert "polls 1" in forgot.stdout, forgot.stderr
    with closing(sqlite3.connect(tmp_path / "data" / "club.sqlite3")) as conn:
        assert conn.execute("SELECT COUNT(*) FROM poll_votes").fetchall() == [(0,)]

    shell(here, "../data/club.sqlite3", "/poll create Again? a b anonymous=yes\n:click 1\n")
    (tmp_path / "data" / "club.poll-key").unlink()  # lost: a new key would let ann vote twice
    refused = shell(here, "../data/club.sqlite3", "/help\n")
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1
    assert "club.poll-key is missing, but" in refused.stderr and "holds anonymous ballots" in refused.stderr
    assert not (tmp_path / "data" / "club.poll-key").exists()


@pytest.mark.parametrize("written", ["anonymous＝yes", "аnonymous=yes", "ANONYMOUS=yes", "anonymous\u200b=yes",
                                     "anonymous≔yes", "anonymous᐀yes"])
async def test_look_alike_option_names_are_the_option_not_data(testbot: TestBot, written: str) -> None:
    out = await testbot.push(f'/poll create "Salary" "Under 50k" "50k+" {written}')
    assert "(open, anonymous)" in out and "anonymous=yes" not in out.split("(open")[1]
    assert await testbot.db.scalar("SELECT COUNT(*) FROM poll_options") == 2


async def test_a_colon_inside_an_option_stays_text(testbot: TestBot) -> None:
    out = await testbot.push('/poll create "Time?" "10:30" "Option: b" "hidden: maybe"')
    assert "Poll #1" in out and await testbot.db.scalar("SELECT COUNT(*) FROM poll_options") == 3


def test_a_changed_poll_secret_is_refused_once_anonymous_ballots_exist(tmp_path: Path) -> None:
    first, second = "first secret, 32 characters long", "another secret, also long enough"
    fresh = shell(tmp_path, "club.sqlite3", f"/{Q}\n:click 1\n", BOT_POLL_SECRET=first)  # no anonymous ballot yet
    assert fresh.returncode == 0, fresh.stderr
    assert shell(tmp_path, "club.sqlite3", "/help\n", BOT_POLL_SECRET=second).returncode == 0  # nothing to protect
    voted = shell(tmp_path, "club.sqlite3", f"/{Q} anonymous=yes\n:click 2\n", BOT_POLL_SECRET=second)
    assert "Your vote: RDA." in voted.stdout, voted.stderr
    refused = shell(tmp_path, "club.sqlite3", "/help\n", BOT_POLL_SECRET=first)
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1 and "Traceback" not in refused.stderr
    assert "this anonymous-poll key is not the one the anonymous ballots in" in refused.stderr
    again = shell(tmp_path, "club.sqlite3", "/poll results 2\n", BOT_POLL_SECRET=second)  # the right key: as before
    assert again.returncode == 0 and "RDA          1" in again.stdout, again.stdout


async def test_delete_by_its_creator_in_time_and_before_others_vote_or_by_a_moderator(testbot: TestBot) -> None:
    await testbot.push(":as ann", '/poll create "Typo?" a b closes=2h', ":click 1")  # her own vote does not stop her
    assert "(only you) Poll #1 is deleted." in await testbot.push("/poll delete 1")
    for table in ("poll_options", "poll_votes"):
        assert await testbot.db.scalar(f"SELECT COUNT(*) FROM {table}") == 0, table
    row = await testbot.db.fetchone("SELECT question, creator_id, deleted_at FROM polls WHERE id = 1")
    assert (row[0], row[1]) == ("", None) and row[2]  # emptied; the number is never reused
    assert await testbot.db.scalar("SELECT COUNT(*) FROM timers WHERE name = 'poll.close' AND status = 'pending'") == 0
    assert any((shown.card.title or "") == "Poll #1 was deleted by its creator." for shown in testbot.console.shown)
    assert "There is no poll #1 in this channel." in await testbot.push("/poll results 1")

    await testbot.push('/poll create "Second?" a b', ":as ben", ":click 2")
    refused = await testbot.push(":as ann", "/poll delete 2", ":as ben", "/poll delete 2")
    assert "Others have voted in poll #2; /poll close 2 ends it instead." in refused
    assert "Only the poll's creator or a moderator can delete poll #2." in refused
    await testbot.push(":as ann", '/poll create "Third?" a b anonymous=yes')
    testbot.clock.advance(timedelta(minutes=11))
    assert "is over 10 minutes old" in await testbot.push("/poll delete 3")
    assert "(only you) Poll #2 is deleted." in await testbot.push(":as mo moderator", "/poll delete 2")
    assert await testbot.db.scalar("SELECT COUNT(*) FROM polls WHERE deleted_at IS NULL") == 1

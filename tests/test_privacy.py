"""/privacy forget-me leaves no trace of the member in any table, whatever they did."""

from __future__ import annotations

from tests.harness import TestBot


async def cells_naming(testbot: TestBot, needle: str) -> list[str]:
    """`table.column` of every cell, in every table, that still holds `needle`."""
    await testbot.db.flush()
    found = []
    tables = await testbot.db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
    for table in (row["name"] for row in tables):
        for row in await testbot.db.fetchall(f'SELECT * FROM "{table}"'):  # names from sqlite_master
            found += [f"{table}.{column}" for column, value in dict(row).items() if needle in str(value).lower()]
    return sorted(set(found))


async def test_forget_me_reaches_every_table_that_holds_a_member(testbot: TestBot) -> None:
    await testbot.push(
        ":as olga organizer",
        "/follow",
        "/config set timezone Europe/London",
        "/trivia daily on at=09:00",
        '/poll create "Open?" yes no',
        ":click 1",
        '/poll create "Secret?" yes no anonymous=yes',
        ":click 2",
        "/trivia start questions=1 seconds=10",
        ":click 1",
        "/trivia flag marc21-001 the answer changed",
    )
    await testbot.wait(30)
    assert await cells_naming(testbot, "olga") == [
        "active_members.member_id", "audit_log.member_id", "community_settings.updated_by",
        "engagement_events.member_id", "first_engagement.member_id", "follow_history.member_id",
        "follows.member_id", "member_activity.member_id", "members_seen.display_name", "members_seen.member_id",
        "poll_votes.voter",
        "polls.creator_id", "polls.creator_name", "trivia_answers.member_id", "trivia_answers.member_name",
        "trivia_daily_channels.updated_by", "trivia_flags.member_id", "trivia_flags.member_name",
        "trivia_rounds.starter_id",
    ]  # fmt: skip

    await testbot.push("/privacy forget-me", ":click 1")

    assert await cells_naming(testbot, "olga") == []
    assert await testbot.db.scalar("SELECT COUNT(*) FROM community_settings") == 1  # the setting stays

"""The one dispatch path: roles, engagement logging, errors, and the first cogs."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot.app import Bot, Context
from bot.cards import Card
from bot.commands import button, command
from bot.model import Role
from tests.harness import TestBot


async def test_help_lists_only_what_the_caller_may_use(testbot: TestBot) -> None:
    out = await testbot.push("/help")
    assert "/follow, /unfollow" in out and "/privacy forget-me" in out
    assert "/config" not in out
    out = await testbot.push(":as olga organizer", "/help")
    assert "/config show|set" in out


async def test_help_for_one_group_shows_usage(testbot: TestBot) -> None:
    out = await testbot.push(":as olga organizer", "/help config")
    assert "/config set KEY VALUE" in out
    assert "No commands called /nope" in await testbot.push("/help nope")


async def test_unknown_command_suggests_and_points_to_help(testbot: TestBot) -> None:
    out = await testbot.push("/folow")
    assert out.strip() == "(only you) Unknown command /folow. Did you mean /follow? Try /help."


async def test_follow_is_stored_once_and_counted(testbot: TestBot) -> None:
    out = await testbot.push("/follow", ":as ann", "/help", "/follow", "/follow")
    assert "You now follow ALCTS here. 2 of 2 members follow (100%)." in out
    assert "(only you) You already follow ALCTS here.\n" in out  # nothing changed: said privately
    out = await testbot.push(":as ben", "/help", "/follow")
    assert "3 of 3 members follow (100%)" in out
    out = await testbot.push("/unfollow", "/unfollow")
    assert "You no longer follow ALCTS here." in out
    assert "You were not following ALCTS here." in out
    assert await testbot.db.scalar("SELECT COUNT(*) FROM follows") == 2
    history = await testbot.db.fetchall("SELECT member_id, followed FROM follow_history ORDER BY id")
    assert [tuple(row) for row in history] == [("you", 1), ("ann", 1), ("ben", 1), ("ben", 0)]  # changes only


async def test_every_interaction_records_one_engagement_event(testbot: TestBot) -> None:
    await testbot.push("/help", "/follow", "/nonsense", "hello there")
    await testbot.db.flush()
    rows = await testbot.db.fetchall(
        "SELECT platform, community_id, member_id, kind, cog, subject FROM engagement_events ORDER BY id"
    )
    assert [tuple(r) for r in rows] == [
        ("console", "local", "you", "command", "help", "help"),
        ("console", "local", "you", "command", "follow", "follow"),
        ("console", "local", "you", "refused", None, None),  # a mistyped command is logged, not taking part
        ("console", "local", "you", "message", None, None),
    ]


async def test_refused_and_mistyped_commands_are_not_activity_and_refusals_are_audited_at_a_bounded_rate(
    testbot: TestBot,
) -> None:
    await testbot.push(*["/jobs post x https://example.org"] * 30, '/poll create "Q?" a b c anonymus=yes', "/poll close 99")
    await testbot.db.flush()
    kinds = await testbot.db.fetchall("SELECT kind, cog, COUNT(*) FROM engagement_events GROUP BY 1, 2 ORDER BY 2")
    assert [tuple(r) for r in kinds] == [("refused", "jobs", 30), ("refused", "polls", 2)]
    assert await testbot.db.scalar("SELECT COUNT(*) FROM active_members") == 0
    assert await testbot.db.scalar("SELECT COUNT(*) FROM first_engagement") == 0
    assert await testbot.db.scalar("SELECT COUNT(*) FROM audit_log WHERE allowed = 0") == 20  # then a minute's pause
    testbot.clock.advance(timedelta(seconds=61))
    await testbot.push("/jobs post x https://example.org")
    assert await testbot.db.scalar("SELECT COUNT(*) FROM audit_log WHERE allowed = 0") == 21


async def test_member_refused_moderator_command_is_audited_and_changes_nothing(testbot: TestBot) -> None:
    out = await testbot.push("/config set timezone Europe/London")
    assert out.strip() == "(only you) Only organizers can use /config set."
    assert await testbot.db.scalar("SELECT COUNT(*) FROM community_settings") == 0
    row = await testbot.db.fetchone("SELECT member_id, action, allowed FROM audit_log")
    assert tuple(row) == ("you", "/config set", 0)


async def test_config_set_validates_and_persists(testbot: TestBot) -> None:
    out = await testbot.push(":as olga organizer", "/config set timezone Mars/Base", "/config set colour red")
    assert "timezone: 'Mars/Base' is not a time zone" in out
    assert "There is no setting colour" in out
    out = await testbot.push("/config set timezone Europe/London", "/config show")
    assert "timezone is now Europe/London." in out
    assert "Europe/London" in out.split("Community settings")[1]
    out = await testbot.push("/config set timezone none")
    assert "timezone is cleared." in out
    assert await testbot.db.scalar("SELECT COUNT(*) FROM community_settings") == 0


async def test_forget_me_asks_then_removes_the_members_data(testbot: TestBot) -> None:
    await testbot.push(":as ann", "/follow", "/help")
    out = await testbot.push("/privacy forget-me")
    assert "[1 Forget me]" in out
    out = await testbot.push(":as ben", ":click 1")
    assert "no message with buttons" in out  # ann's confirmation is hers alone
    out = await testbot.push(":as ann", ":click 1")
    assert "Done: your data is gone" in out and "follow 1" in out
    await testbot.db.flush()
    assert await testbot.db.scalar("SELECT COUNT(*) FROM follows WHERE member_id = 'ann'") == 0
    assert await testbot.db.scalar("SELECT COUNT(*) FROM engagement_events WHERE member_id = 'ann'") == 0
    assert await testbot.db.scalar("SELECT COUNT(*) FROM engagement_events WHERE member_id IS NULL") == 0  # deleted
    daily = await testbot.db.scalar("SELECT SUM(events) FROM engagement_daily WHERE kind IN ('command', 'button')")
    assert daily >= 4  # the anonymous daily totals keep ann's follow, help, forget-me and click
    assert await testbot.db.scalar("SELECT COUNT(*) FROM active_members WHERE member_id LIKE 'forgotten:%'") == 1
    assert await testbot.db.scalar("SELECT COUNT(*) FROM members_seen WHERE member_id = 'ann'") == 0


class Broken:
    """Misbehaving on purpose"""

    @command("explode")
    async def explode(self, ctx: Context, args: object) -> Card:
        raise RuntimeError("secret internals")

    @button("broken.slow")
    async def slow(self, ctx: Context, n: int) -> Card:
        return Card(text=f"n={n + 1}")


async def test_a_crashing_handler_never_shows_a_traceback(tmp_path: Path) -> None:
    bot = await TestBot(tmp_path).start()
    bot.bot.add_cog(Broken())
    out = await bot.push("/explode")
    assert out.strip() == "(only you) Something went wrong on our side; it has been logged. Please try again."
    assert "Traceback" not in out and "secret internals" not in out
    await bot.stop()


async def test_buttons_route_by_id_with_typed_arguments(tmp_path: Path) -> None:
    testbot = await TestBot(tmp_path).start()
    testbot.bot.add_cog(Broken())
    from bot.model import ButtonPressed

    console = testbot.console
    await testbot.bot.dispatch(
        ButtonPressed(console.member, console.place, custom_id="broken.slow:41"), console._responder()
    )
    await testbot.bot.dispatch(
        ButtonPressed(console.member, console.place, custom_id="broken.slow:x"), console._responder()
    )
    await testbot.bot.dispatch(
        ButtonPressed(console.member, console.place, custom_id="gone.away:1"), console._responder()
    )
    out = testbot.out.getvalue()
    assert "n=42" in out
    assert "That button is out of date" in out
    assert "That button no longer does anything." in out
    await testbot.stop()


async def test_roles_are_ordered() -> None:
    assert Role.MEMBER < Role.MODERATOR < Role.ORGANIZER
    assert Role.parse("Moderator") is Role.MODERATOR


def test_cogs_are_plain_classes_loaded_by_setup(tmp_path: Path) -> None:
    from bot.clock import SystemClock
    from storage.db import Database
    from tests.harness import make_settings

    bot = Bot(make_settings(tmp_path), Database(tmp_path / "x.sqlite3"), SystemClock())
    bot.load_cogs()
    assert {"help", "follow", "unfollow", "config show", "config set", "privacy forget-me"} <= set(bot.registry.commands)
    assert set(bot.forget_hooks) == {"engagement", "settings", "trivia", "polls", "follow", "jobs", "webinars", "stats"}


async def test_numbers_and_durations_too_big_get_one_sentence_not_an_internal_error(testbot: TestBot) -> None:
    out = await testbot.push("/poll results 99999999999999999999999", "/poll create Q a b closes=99999999999w", ":wait 999999999d")
    assert out.splitlines() == [
        "(only you) poll results: id=99999999999999999999999 is out of range",
        "(only you) poll create: '99999999999w' is far too long; durations look like 90s, 10m, 2h, 3d or 1w",
        "Usage: :wait SECONDS (at most 400 days at a time).",
    ]


async def test_doubled_mass_mentions_do_not_survive_stripping(testbot: TestBot) -> None:
    from bot.text import strip_mass_mentions

    assert strip_mass_mentions("@@everyone @@@here <!<!channel>> <!<!here|here>|x>") == "everyone here channel here"
    out = await testbot.push('/poll create "Ping @@everyone?" "@@here" "<!<!channel>> yes"')
    assert "@everyone" not in out and "@here" not in out and "<!channel>" not in out


async def test_quotas_slow_a_member_down_but_not_moderators(testbot: TestBot) -> None:
    out = await testbot.push(*[f'/poll create "Q{n}?" a b' for n in range(6)])
    assert out.count("Asked by you") == 5
    assert "(only you) You have used /poll create a lot just now; try again in 10 minutes." in out
    assert await testbot.db.scalar("SELECT COUNT(*) FROM polls") == 5  # nothing half-written
    out = await testbot.push('/poll create "Typo" a', '/poll create "Q?" a b')  # a refused typo costs nothing more
    assert "needs at least 2 options" in out and "try again in" in out
    testbot.clock.advance(timedelta(minutes=11))
    assert "Asked by you" in await testbot.push('/poll create "Later?" a b')
    out = await testbot.push(":as mo moderator", *[f'/poll create "M{n}?" a b' for n in range(8)])
    assert out.count("Asked by mo") == 8


async def test_engagement_rows_keep_the_stored_time_text_and_the_communitys_day_and_hour(testbot: TestBot) -> None:
    from datetime import UTC, datetime

    testbot.clock.set(datetime(2026, 11, 28, 5, 59, 59, 999999, tzinfo=UTC))  # 23:59:59.999999 in Chicago
    await testbot.push("/follow")
    testbot.clock.advance(timedelta(microseconds=1))  # midnight in Chicago: the next local day
    await testbot.push("/unfollow")
    await testbot.db.flush()
    at = await testbot.db.fetchall("SELECT at FROM engagement_events WHERE cog = 'follow' ORDER BY id")
    assert [row[0] for row in at] == ["2026-11-28T05:59:59.999999Z", "2026-11-28T06:00:00.000000Z"]
    hours = await testbot.db.fetchall("SELECT day, hour, events FROM engagement_hourly ORDER BY day, hour")
    assert [tuple(row) for row in hours][-2:] == [("2026-11-27", 23, 1), ("2026-11-28", 0, 1)]
    days = await testbot.db.fetchall("SELECT day FROM engagement_daily WHERE cog = 'follow' ORDER BY day")
    assert [row[0] for row in days] == ["2026-11-27", "2026-11-28"]


async def test_a_forgotten_member_who_comes_back_is_a_first_engagement_again(testbot: TestBot) -> None:
    first = "SELECT day FROM first_engagement WHERE member_id = 'you' AND cog = 'follow'"
    await testbot.push("/follow", "/unfollow", "/follow")  # written once, then known: not offered again
    await testbot.db.flush()
    assert [row[0] for row in await testbot.db.fetchall(first)] == ["2026-11-27"]
    await testbot.bot.forget_member(testbot.console.member)
    assert await testbot.db.fetchall(first) == []
    testbot.clock.advance(timedelta(days=2))
    await testbot.push("/follow")
    await testbot.db.flush()
    assert [row[0] for row in await testbot.db.fetchall(first)] == ["2026-11-29"]

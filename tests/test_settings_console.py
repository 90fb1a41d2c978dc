"""Settings values as members type them, and the console's controls (issue #16, item 7)."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from bot.app import Context
from bot.commands import Choice, Picks
from bot.config import Setting
from bot.model import CommandInvoked, Role
from bot.platforms.base import SilentResponder
from bot.platforms.discord_commands import suggest
from tests.harness import TestBot


async def test_a_channel_setting_is_one_value_however_it_is_typed(testbot: TestBot) -> None:
    for typed in ("news", "#news", "#News", " ##news "):
        out = await testbot.push(":as olga organizer", f'/config set jobs_channel "{typed}"')
        assert "jobs_channel" in out and "#news" in out, typed
        assert await testbot.db.scalar("SELECT value FROM community_settings WHERE key = 'jobs_channel'") == "#news"
    await testbot.push("/config set trivia_channel <#123>")  # a Discord mention is kept as sent
    assert await testbot.db.scalar("SELECT value FROM community_settings WHERE key = 'trivia_channel'") == "<#123>"
    for bad in ('"#"', '"two words"'):
        out = await testbot.push(f"/config set webinars_channel {bad}")
        assert "(only you) webinars_channel: give a channel, e.g. #news." in out, bad
    assert await testbot.db.scalar("SELECT COUNT(*) FROM community_settings WHERE key = 'webinars_channel'") == 0


async def test_time_zones_are_matched_without_regard_to_case(testbot: TestBot) -> None:
    for typed, stored in (("utc", "UTC"), ("america/chicago", "America/Chicago"), ("EUROPE/LONDON", "Europe/London")):
        await testbot.push(":as olga organizer", f"/config set timezone {typed}")
        assert await testbot.db.scalar("SELECT value FROM community_settings WHERE key = 'timezone'") == stored
    out = await testbot.push("/config set timezone mars/olympus")
    assert "'mars/olympus' is not a time zone" in out


async def test_time_zones_take_abbreviations_and_spaces_and_store_the_iana_name(testbot: TestBot) -> None:
    typed_as = {"ET": "America/New_York", "edt": "America/New_York", "CT": "America/Chicago", "MST": "America/Denver",
                "pt": "America/Los_Angeles", '"new york"': "America/New_York", '"America/New York"': "America/New_York",
                '"los angeles"': "America/Los_Angeles", "London": "Europe/London"}  # fmt: skip
    for typed, stored in typed_as.items():  # EST is New York's zone (EDT in July), never the fixed -05:00 zone
        out = await testbot.push(":as olga organizer", f"/config set timezone {typed}")
        assert f"timezone is now {stored}." in out, (typed, out)
        assert await testbot.db.scalar("SELECT value FROM community_settings WHERE key = 'timezone'") == stored
    out = await testbot.push('/config set timezone "new yrok"')
    assert "'new yrok' is not a time zone; use a name like America/Chicago, or ET, CT, MT, PT, UTC" in out


def test_time_zone_suggestions_match_spaces_and_abbreviations() -> None:
    from bot.platforms.discord_commands import _matches
    from cogs.settings import zone_choices

    for typed in ("new york", "New York", "new_y", "america/new york"):
        found = [c for c in zone_choices(typed) if _matches(c, typed)]  # as Discord's autocomplete keeps them
        assert found and found[0].value == "America/New_York", typed
    assert [c.value for c in zone_choices("et")][:1] == ["America/New_York"]
    assert zone_choices("EST")[0] == Choice("America/New_York (EST)", "America/New_York")


async def test_keys_and_commands_pasted_with_zero_width_spaces_are_found(testbot: TestBot) -> None:
    """A reply copied from an older Slack message carries U+200B after an underscore."""
    out = await testbot.push(":as olga organizer", "/config set webinars_\u200bchannel #talks\u200b",
                             "/con\u200bfig sh\u200bow")  # fmt: skip
    assert "webinars_channel is now #talks." in out and "webinars_channel = #talks" in out
    assert await testbot.db.scalar("SELECT value FROM community_settings WHERE key = 'webinars_channel'") == "#talks"


async def test_errors_echo_at_most_80_characters_of_what_was_typed(testbot: TestBot) -> None:
    long = "x" * 300
    out = await testbot.push(":as olga organizer", f"/config set {long} 1", f":click {long}")
    _, setting, click = out.splitlines()
    assert setting.startswith("(only you) There is no setting ") and "x" * 79 + "…" in setting
    assert "x" * 80 not in setting
    assert click == "There is no message with buttons here to click."  # nothing of the 300 echoed


async def test_click_a_letter_and_names_with_spaces(testbot: TestBot) -> None:
    out = await testbot.push('/trivia start marc21 questions=1 seconds=20', ":click B", ':as "Ann Lee"')
    assert "(only you) Locked in: B. " in out and "You are @Ann Lee (member) in #general." in out


async def test_numbers_in_settings_are_ascii_digits_with_one_sentence(testbot: TestBot) -> None:
    for typed in ("²", "٣٠", "-30", "29"):
        out = await testbot.push(":as olga organizer", f"/config set stats_raw_days {typed}")
        assert "(only you) stats_raw_days: stats_raw_days is whole days from 30 to 3650, e.g. 365." in out, typed
        assert "invalid literal" not in out


class Switchboard:
    """A feature with a switch (a yes/no setting)"""

    name = "switchboard"
    settings = (Setting("digest_enabled", "send a weekly digest", choices=("yes", "no")),)


async def test_a_switch_suggests_yes_and_no_and_takes_nothing_else(tmp_path: Path) -> None:
    testbot = TestBot(tmp_path, member="olga", role=Role.ORGANIZER)
    testbot.bot.add_cog(Switchboard())
    await testbot.start()
    try:
        command = testbot.bot.registry.commands["config set"]

        async def suggested(key: str, typed: str = "") -> list[object]:
            console = testbot.console
            event = CommandInvoked(console.member, console.place, name="config set", options={"key": key})
            config = await testbot.bot.config.get(console.place.community)
            ctx = Context(event, SilentResponder(), testbot.clock.now(), ZoneInfo("UTC"), config)
            return [c.value if isinstance(c, Choice) else c for c in await suggest(command, ctx, "value", typed)]

        assert await suggested("digest_enabled") == ["yes", "no", "none"]
        assert await suggested("Digest-Enabled", "y") == ["yes"]
        assert await suggested("trivia_channel") == [Picks("channel"), "none"]
        assert await suggested("follower_role") == [Picks("role"), "none"]
        assert await suggested("organizer_role") == [Picks("role"), "none"]
        assert await suggested("no_such_setting") == []
        out = await testbot.push("/config set digest_enabled YES", "/config set digest_enabled maybe")
        assert "digest_enabled is now yes." in out and "digest_enabled is yes or no, or none to clear it." in out
        assert await testbot.db.scalar("SELECT value FROM community_settings WHERE key = 'digest_enabled'") == "yes"
        assert await suggested("digest_enabled") == ["yes", "yes", "no", "none"]  # what it is now, first
    finally:
        await testbot.stop()


async def test_role_settings_refuse_powers_on_the_follower_role_and_the_same_role_twice(testbot: TestBot) -> None:
    """The rules, on whatever a platform reports (here a stand-in for Discord's lookups)."""
    from bot.platforms.base import ChannelLookup, RoleLookup
    from cogs.settings import Settings

    roles = {"admins": RoleLookup(True, "admins", "1", "Admins", powerful=True),
             "mods": RoleLookup(True, "mods", "2", "Mods"), "<@&2>": RoleLookup(True, "<@&2>", "2", "Mods"),
             "fans": RoleLookup(True, "fans", "3", "Fans")}  # fmt: skip

    async def role(community: object, typed: str) -> RoleLookup:
        return roles.get(typed.strip().lower(), RoleLookup(False))

    async def channel(member: object, community: object, typed: str) -> ChannelLookup:
        return ChannelLookup(True, "<#9>", "hidden", visible=False) if "hidden" in typed else ChannelLookup(False)

    settings = next(cog for cog in testbot.bot.cogs if isinstance(cog, Settings))
    settings.roles, settings.channels = role, channel
    out = await testbot.push(":as olga organizer", "/config set follower_role admins", "/config set moderator_role mods",
                             "/config set follower_role <@&2>", "/config set follower_role fans",
                             "/config set organizer_role fans", "/config set trivia_channel hidden",
                             "/config set trivia_channel gone", "/config set organizer_role nobody")  # fmt: skip
    assert "follower_role: Admins carries moderating powers, so it is never handed out on /follow; pick a role " \
           "without them." in out
    assert "moderator_role is now mods." in out and "follower_role is now fans." in out
    assert "follower_role: Mods is the moderator_role (so it would never be handed out on /follow)" in out
    assert "organizer_role: Fans is the follower_role (which the bot hands to everyone who runs /follow)" in out
    assert "trivia_channel: hidden is not a channel you can see; pick one you can." in out
    assert "trivia_channel: there is no channel gone here that the bot can see" in out
    assert "organizer_role: there is no role nobody here." in out
    stored = {row[0]: row[1] for row in await testbot.db.fetchall("SELECT key, value FROM community_settings")}
    assert stored == {"moderator_role": "mods", "follower_role": "fans"}


async def test_the_console_takes_any_channel_or_role_name(testbot: TestBot) -> None:
    out = await testbot.push(":as olga organizer", "/config set jobs_channel nosuch", "/config set moderator_role Modz")
    assert "jobs_channel is now #nosuch." in out and "moderator_role is now Modz." in out


async def test_a_mention_of_everyone_is_never_a_role_setting(testbot: TestBot) -> None:
    for typed, word in (("@everyone", "everyone"), ("@here", "here"), ("!channel", "channel"), ("<!everyone>", "everyone")):
        out = await testbot.push(":as olga organizer", f"/config set moderator_role {typed}")
        assert f"moderator_role: the {word} mention stands for every member, so it cannot be a moderator role; " in out
    out = await testbot.push("/config set follower_role @Everyone")
    assert "follower_role: the everyone mention stands for every member, so it cannot be a follower role" in out
    assert await testbot.db.scalar("SELECT COUNT(*) FROM community_settings") == 0

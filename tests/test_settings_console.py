"""Settings values as members type them, and the console's controls (issue #16, item 7)."""

from __future__ import annotations

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


async def test_errors_echo_at_most_80_characters_of_what_was_typed(testbot: TestBot) -> None:
    long = "x" * 300
    out = await testbot.push(":as olga organizer", f"/config set {long} 1", f":click {long}")
    for line in out.splitlines()[1:]:
        assert "x" * 80 not in line and ("x" * 70 in line or "There is no message" in line), line


async def test_click_a_letter_and_names_with_spaces(testbot: TestBot) -> None:
    out = await testbot.push('/trivia start marc21 questions=1 seconds=20', ":click B", ':as "Ann Lee"')
    assert "(only you) Locked in: B. " in out and "You are @Ann Lee (member) in #general." in out


async def test_numbers_in_settings_are_ascii_digits_with_one_sentence(testbot: TestBot) -> None:
    for typed in ("²", "٣٠", "-30", "29"):
        out = await testbot.push(":as olga organizer", f"/config set stats_raw_days {typed}")
        assert "(only you) stats_raw_days: stats_raw_days is whole days from 30 to 3650, e.g. 365." in out, typed
        assert "invalid literal" not in out

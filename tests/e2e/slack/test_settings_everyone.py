"""A Slack special mention (!everyone, !channel, !here) is refused as a role setting for what
it is, not as a user group Slack lacks."""

from __future__ import annotations

from tests.e2e.slack.conftest import CAL, SlackHarness


async def test_a_special_mention_is_never_a_role_setting(slack: SlackHarness) -> None:
    cases = {
        "moderator_role !everyone": ("moderator_role", "everyone", "a moderator"),
        "organizer_role !channel": ("organizer_role", "channel", "an organizer"),
        "follower_role !here": ("follower_role", "here", "a follower"),
        "moderator_role <!here>": ("moderator_role", "here", "a moderator"),
        "follower_role @channel": ("follower_role", "channel", "a follower"),
    }
    for typed, (key, word, what) in cases.items():
        said = (await slack.command(f"config set {typed}", user=CAL))[0].text
        assert said == (f"{key}: the {word} mention stands for every member, so it cannot be {what} user group; "
                        "pick a user group of its own."), typed  # fmt: skip
    assert await slack.count("SELECT COUNT(*) FROM community_settings") == 0

"""Slash commands, persistent buttons, deferral of slow work, roles and the follower role."""

from __future__ import annotations

from typing import Any

from tests.e2e.discord.conftest import ADMIN, ALICE, BOARD, FOLLOWERS_ROLE, MOD, StartBot
from tests.e2e.discord.fake_discord import GUILD_ID, FakeDiscord, FakeUser

MESSAGE, THINKING, ACKNOWLEDGED = 4, 5, 6


async def test_a_slash_command_is_answered_and_recorded(fake: FakeDiscord, start_bot: StartBot) -> None:
    running = await start_bot()

    answer = await fake.reply(await fake.slash("follow", ALICE))

    assert answer.kind == "callback" and answer.type == MESSAGE and not answer.ephemeral
    assert answer.text == "You now follow ALCTS here. 1 of 42 members follow (2%)."
    assert answer.data["allowed_mentions"] == {"parse": []}
    assert await running.rows("SELECT platform, community_id, member_id FROM follows") == [
        ("discord", str(GUILD_ID), str(ALICE.id))
    ]


async def test_a_button_is_routed_by_its_custom_id_alone(fake: FakeDiscord, start_bot: StartBot) -> None:
    await start_bot()
    await fake.reply(await fake.slash("follow", ALICE))
    asked = await fake.reply(await fake.slash("privacy forget-me", ALICE))
    assert asked.ephemeral and asked.custom_ids == [f"privacy.forget:{ALICE.id}"]

    someone_else = await fake.reply(await fake.click(asked.custom_ids[0], FakeUser(5999, "eve"), asked.message))
    assert someone_else.text == "Only the member who asked can confirm this."
    # a message this process never sent: nothing in memory knows the button
    done = await fake.reply(await fake.click(f"privacy.forget:{ALICE.id}", ALICE))
    assert done.type == MESSAGE and done.ephemeral
    assert done.text.startswith("Done: your data is gone") and "follow 1" in done.text


async def test_clicks_nobody_answers_are_acknowledged(fake: FakeDiscord, start_bot: StartBot) -> None:
    await start_bot()
    silent = await fake.reply(await fake.click("probe.press:3", ALICE))
    stale = await fake.reply(await fake.click("gone.away:1", ALICE))

    assert silent.type == ACKNOWLEDGED
    assert stale.type == MESSAGE and stale.text == "That button no longer does anything."


async def test_slow_work_is_deferred_then_edited_and_followed_up(fake: FakeDiscord, start_bot: StartBot) -> None:
    await start_bot(defer_after=0.2, slow=0.8)

    interaction = await fake.slash("slow work", ALICE)
    thinking, edited, followup = await fake.answers_for(interaction, 3)

    assert thinking.type == THINKING
    assert fake.answered_at[interaction] - fake.sent_at[interaction] < 0.7  # well before the work ended
    assert edited.kind == "edit_original" and edited.text == "Report\npart one"
    assert followup.kind == "followup" and followup.ephemeral and followup.text == "part two"


async def test_a_private_answer_replaces_a_public_placeholder(fake: FakeDiscord, start_bot: StartBot) -> None:
    await start_bot(defer_after=0.1, slow=0.4)

    secret = await fake.answers_for(await fake.slash("slow secret", ALICE), 3)
    silent = await fake.answers_for(await fake.slash("slow silent", ALICE), 2)

    assert [a.kind for a in secret] == ["callback", "delete_original", "followup"]
    assert secret[2].ephemeral and secret[2].text == "just for you"
    assert [(a.kind, a.type) for a in silent] == [("callback", THINKING), ("delete_original", None)]


async def test_a_slow_click_is_answered_once_its_work_is_done_not_deferred_before(fake: FakeDiscord, start_bot: StartBot) -> None:
    """A click is acknowledged by its answer, after the handler's effect is committed: a
    timed deferral would tell Discord it was taken before anything was stored."""
    await start_bot(defer_after=0.1, slow=0.4)

    (ack,) = await fake.answers_for(await fake.click("slow.click:3", ALICE), 1)

    assert ack.type == MESSAGE and not ack.ephemeral and ack.text == "clicked 3 slowly"


async def test_fast_work_is_not_deferred(fake: FakeDiscord, start_bot: StartBot) -> None:
    await start_bot(defer_after=1.5)
    interaction = await fake.slash("help", ALICE)
    await fake.reply(interaction)
    await fake.reply(await fake.slash("follow", ALICE))  # let a would-be deferral show up
    assert [a.type for a in fake.answers[interaction]] == [MESSAGE]


async def test_moderator_and_organizer_commands_follow_roles(fake: FakeDiscord, start_bot: StartBot) -> None:
    running = await start_bot()

    async def say(user: FakeUser, name: str, **options: str) -> str:
        return (await fake.reply(await fake.slash(name, user, **options))).text

    assert await say(ALICE, "probe mod") == "Only moderators can use /probe mod."
    assert await say(MOD, "probe mod") == "Only moderators can use /probe mod."
    assert await say(BOARD, "config show") == "Only organizers can use /config show."
    assert await say(ADMIN, "probe mod") == "moderated by root"  # Administrator implies organizer

    assert await say(ADMIN, "config set", key="moderator_role", value="mods") == "moderator_role is now mods."
    assert await say(ADMIN, "config set", key="organizer_role", value="<@&600000000000000001>")
    assert await say(MOD, "probe mod") == "moderated by mo"
    assert (await say(BOARD, "config show")).startswith("Community settings")
    assert await say(MOD, "config show") == "Only organizers can use /config show."

    audit = await running.rows("SELECT member_id, action, allowed FROM audit_log ORDER BY id")
    assert audit[0] == (str(ALICE.id), "/probe mod", 0)
    assert (str(MOD.id), "/probe mod", 1) in audit


async def test_follow_grants_the_follower_role_when_one_is_set(fake: FakeDiscord, start_bot: StartBot) -> None:
    running = await start_bot()
    await fake.reply(await fake.slash("config set", ADMIN, key="follower_role", value="Followers"))

    followed = await fake.reply(await fake.slash("follow", ALICE))
    unfollowed = await fake.reply(await fake.slash("unfollow", ALICE))

    assert followed.text.startswith("You now follow ALCTS here. You now have the Followers role.")
    assert unfollowed.text == "You no longer follow ALCTS here. The Followers role was removed."
    assert fake.role_changes == [
        ("PUT", GUILD_ID, ALICE.id, FOLLOWERS_ROLE), ("DELETE", GUILD_ID, ALICE.id, FOLLOWERS_ROLE),
    ]  # fmt: skip

    fake.fail_roles = True  # the bot lacks Manage Roles: the follow is still recorded
    again = await fake.reply(await fake.slash("follow", ALICE))
    assert again.text.startswith("You now follow ALCTS here. 1 of 42")
    assert await running.rows("SELECT member_id FROM follows") == [(str(ALICE.id),)]


async def test_follow_never_hands_out_a_moderating_role(fake: FakeDiscord, start_bot: StartBot) -> None:
    await start_bot()
    for key, value in (("moderator_role", "Mods"), ("follower_role", "Mods")):  # a slip an organizer can make
        await fake.reply(await fake.slash("config set", ADMIN, key=key, value=value))

    followed = await fake.reply(await fake.slash("follow", ALICE))
    unfollowed = await fake.reply(await fake.slash("unfollow", MOD))

    assert followed.text.startswith("You now follow ALCTS here. 1 of 42")  # the follow, without the role
    assert unfollowed.text == "You were not following ALCTS here."
    await fake.reply(await fake.slash("follow", MOD))
    await fake.reply(await fake.slash("unfollow", MOD))  # nor takes it away from a moderator
    assert fake.role_changes == []


def test_roles_with_moderating_permissions_are_never_follower_roles() -> None:
    from types import SimpleNamespace

    import discord

    from bot.config import CommunitySettings
    from bot.platforms.discord_roles import grants_power

    def role(**perms: bool) -> Any:
        return SimpleNamespace(id=1, name="Followers", permissions=discord.Permissions(**perms))

    config = CommunitySettings()
    assert not grants_power(role(send_messages=True), [], config)
    for power in ("administrator", "manage_guild", "manage_roles", "ban_members", "mention_everyone"):
        assert grants_power(role(**{power: True}), [], config), power


async def test_live_edits_of_one_message_are_coalesced(fake: FakeDiscord, start_bot: StartBot) -> None:
    await start_bot()
    fake.edit_delay = 0.05

    answer = await fake.reply(await fake.slash("probe tally", ALICE))
    message_id = int(answer.text.removeprefix("posted "))
    await fake.wait_for(lambda: fake.messages[message_id]["embeds"][0]["description"] == "votes: 20")

    assert fake.max_edits_in_flight == 1
    assert len(fake.message_edits) < 20
    assert all(m == message_id for m, _ in fake.message_edits)

"""How the catalogue feels in Discord's own form: every option described (in the synced
payload), channels picked with Discord's channel picker, and suggestions while an option is
typed (autocomplete), each scoped to what the member may see and use."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from bot.model import Community, Place
from tests.e2e.discord.conftest import (
    ADMIN,
    ALICE,
    BOARD,
    BOARD_ROLE,
    FOLLOWERS_ROLE,
    MODS_ROLE,
    DiscordBot,
    StartBot,
)
from tests.e2e.discord.fake_discord import (
    CHANNEL_ID,
    GUILD_ID,
    MANAGE_GUILD,
    FakeDiscord,
    FakeGuild,
    FakeUser,
)

CHANNEL, TEXT_CHANNEL, ANNOUNCEMENT_CHANNEL = 7, 0, 5
BOB = FakeUser(5701, "bob")
MANAGER = FakeUser(5702, "manny", permissions=MANAGE_GUILD)  # Manage Server: a moderator
ELSEWHERE = CHANNEL_ID + 11


def values(choices: list[dict[str, Any]]) -> list[Any]:
    return [c["value"] for c in choices]


def poll_id(text: str) -> int:
    match = re.search(r"Poll #(\d+)", text)
    assert match, text
    return int(match[1])


def cog(running: DiscordBot, name: str) -> Any:
    return next(c for c in running.bot.cogs if type(c).__name__ == name)


async def test_every_option_in_the_synced_commands_has_its_own_description(fake: FakeDiscord, start_bot: StartBot) -> None:
    running = await start_bot()
    described = 0
    for name, command in running.bot.registry.commands.items():
        for option in fake.synced(name).get("options", []):
            field = command.spec.args.model_fields[option["name"]]
            assert field.description, f"/{name} {option['name']}: the argument has no description"
            assert 1 <= len(option["description"]) <= 100
            assert option["description"].startswith(field.description[:90]), (name, option)
            described += 1
    assert described >= 60  # the whole catalogue, not a sample


async def test_channel_options_are_discords_channel_picker_and_the_pick_is_used(
    fake: FakeDiscord, start_bot: StartBot
) -> None:
    fake.guilds[0].channels[ELSEWHERE] = "webinars"  # a channel of the server, where the bot may post
    await start_bot()
    for name in ("trivia daily", "jobs subscribe", "webinar add", "webinar import"):
        channel = {o["name"]: o for o in fake.synced(name)["options"]}["channel"]
        assert channel["type"] == CHANNEL and channel["channel_types"] == [TEXT_CHANNEL, ANNOUNCEMENT_CHANNEL], name

    added = await fake.reply(await fake.slash("webinar add", MANAGER, title="RDA in practice", when="tomorrow 2pm",
                                              channel=ELSEWHERE))  # fmt: skip
    assert added.ephemeral and added.text.startswith("Webinar #1 is set for ")  # told here; announced there
    await fake.wait_for(lambda: fake.channel_posts)
    (announcement,) = fake.channel_posts
    assert announcement["channel_id"] == str(ELSEWHERE) and "RDA in practice" in announcement["embeds"][0]["title"]


async def test_sync_declares_autocomplete_on_the_options_that_suggest(fake: FakeDiscord, start_bot: StartBot) -> None:
    await start_bot()
    assert fake.suggested_options() >= {
        "trivia start category", "trivia leaderboard category", "poll results id", "poll close id",
        "poll export id", "jobs unsubscribe id", "webinar show id", "webinar edit id", "webinar cancel id",
        "webinar attendees id", "webinar ics which", "config set key", "config set value",
    }  # fmt: skip


async def test_poll_ids_are_those_open_in_the_channel_being_typed_in(fake: FakeDiscord, start_bot: StartBot) -> None:
    await start_bot()
    lunch = poll_id((await fake.reply(await fake.slash("poll create", ALICE, question="Lunch?", options="Tacos; Soup"))).text)
    coffee = poll_id((await fake.reply(await fake.slash("poll create", BOB, question="Coffee?", options="Yes; No"))).text)
    there = poll_id((await fake.reply(await fake.slash("poll create", BOB, question="Tea?", options="Yes; No",
                                                       channel_id=ELSEWHERE))).text)  # fmt: skip

    results = await fake.autocomplete("poll results", "id", "", ALICE)
    assert values(results) == [coffee, lunch]  # newest first; never the other channel's poll
    assert results[1]["name"] == f"#{lunch} Lunch?"
    assert values(await fake.autocomplete("poll results", "id", "", ALICE, channel_id=ELSEWHERE)) == [there]
    assert values(await fake.autocomplete("poll results", "id", "lun", ALICE)) == [lunch]  # what was typed

    assert values(await fake.autocomplete("poll close", "id", "", ALICE)) == [lunch]  # a member closes only their own
    assert values(await fake.autocomplete("poll close", "id", "", MANAGER)) == [coffee, lunch]
    assert await fake.autocomplete("poll export", "id", "", ALICE) == []  # organizers only: nothing to a member
    assert values(await fake.autocomplete("poll export", "id", "", ADMIN)) == [coffee, lunch]

    await fake.reply(await fake.slash("poll close", ALICE, id=lunch))
    assert values(await fake.autocomplete("poll results", "id", "", ALICE)) == [coffee]  # open polls only


async def test_webinar_ids_are_this_communitys_upcoming_ones(fake: FakeDiscord, start_bot: StartBot) -> None:
    other = FakeGuild(id=GUILD_ID + 1, name="Other association", channel_id=CHANNEL_ID + 100)
    fake.guilds.append(other)
    await start_bot()
    added = await fake.reply(await fake.slash("webinar add", MANAGER, title="BIBFRAME basics", when="tomorrow 2pm"))
    webinar = int(re.search(r"#(\d+)", added.text)[1])  # type: ignore[index]
    await fake.reply(await fake.slash("webinar add", MANAGER, other, title="Elsewhere only", when="tomorrow 3pm"))

    shown = await fake.autocomplete("webinar show", "id", "", ALICE)
    assert values(shown) == [webinar] and shown[0]["name"].startswith(f"#{webinar} BIBFRAME basics · ")
    assert values(await fake.autocomplete("webinar ics", "which", "", ALICE)) == ["all", str(webinar)]
    assert await fake.autocomplete("webinar cancel", "id", "", ALICE) == []  # moderators only
    assert values(await fake.autocomplete("webinar cancel", "id", "bib", MANAGER)) == [webinar]
    assert await fake.autocomplete("webinar attendees", "id", "", MANAGER) == []  # organizers only
    assert "Elsewhere only" in (await fake.autocomplete("webinar show", "id", "", ALICE, other))[0]["name"]


async def test_feed_ids_are_this_communitys_feeds_and_only_for_moderators(fake: FakeDiscord, start_bot: StartBot) -> None:
    running = await start_bot()
    jobs = cog(running, "JobPosts")
    now = datetime.now(UTC)
    place = Place(Community("discord", str(GUILD_ID)), str(CHANNEL_ID), "general")
    feed = await jobs.store.subscribe(place, "https://jobs.example.org/feed.rss", "Library Jobs", "", "", "5702",
                                      now, [], None, None)  # fmt: skip

    assert await fake.autocomplete("jobs unsubscribe", "id", "", ALICE) == []
    assert await fake.autocomplete("jobs unsubscribe", "id", "", MANAGER) == [{"name": f"#{feed} Library Jobs", "value": feed}]
    assert await fake.autocomplete("jobs unsubscribe", "id", "museum", MANAGER) == []


async def test_trivia_categories_come_from_the_loaded_packs(fake: FakeDiscord, start_bot: StartBot) -> None:
    running = await start_bot()
    packs = cog(running, "Trivia").bank.packs
    everything = await fake.autocomplete("trivia leaderboard", "category", "", ALICE)
    assert values(everything) == sorted(packs)[:25]
    assert everything[0]["name"] == f"{sorted(packs)[0]}: {packs[sorted(packs)[0]].title}"
    assert values(await fake.autocomplete("trivia start", "category", "marc", ALICE)) == ["marc21"]


async def test_config_set_suggests_setting_names_and_time_zones_to_organizers(fake: FakeDiscord, start_bot: StartBot) -> None:
    await start_bot()
    assert await fake.autocomplete("config set", "key", "trivia", ALICE) == []
    keys = await fake.autocomplete("config set", "key", "trivia", ADMIN)
    assert "trivia_channel" in values(keys) and all(c["name"].startswith(c["value"] + ": ") for c in keys)
    zones = await fake.autocomplete("config set", "value", "new_y", ADMIN, key="timezone")
    assert values(zones) == ["America/New_York"]
    assert values(await fake.autocomplete("config set", "value", "CHICAGO", ADMIN, key="timezone")) == ["America/Chicago"]
    assert values(await fake.autocomplete("config set", "value", "utc", ADMIN, key="timezone"))[0] == "UTC"
    assert values(await fake.autocomplete("config set", "value", "et", ADMIN, key="Timezone"))[0] == "America/New_York"
    assert values(await fake.autocomplete("config set", "value", "", ADMIN, key="timezone")) == [
        "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "UTC", "none",
    ]  # fmt: skip
    assert (await say(ADMIN, fake, "config set", key="timezone", value="america/denver")) == "timezone is now America/Denver."
    now = await fake.autocomplete("config set", "value", "", ADMIN, key="timezone")
    assert now[0] == {"name": "America/Denver (now)", "value": "America/Denver"}
    described = {o["name"]: o["description"] for o in fake.synced("config set")["options"]}
    assert "picked from the list" in described["key"]
    assert "a channel, role, time zone or yes/no" in described["value"]


NEWS, JOBS_BOARD, MODS_ONLY = CHANNEL_ID + 21, CHANNEL_ID + 22, CHANNEL_ID + 23


async def say(user: FakeUser, fake: FakeDiscord, name: str, **options: Any) -> str:
    return (await fake.reply(await fake.slash(name, user, **options))).text


async def test_config_set_values_are_the_channels_the_member_sees_and_the_roles(
    fake: FakeDiscord, start_bot: StartBot
) -> None:
    guild = fake.guilds[0]
    guild.channels.update({NEWS: "news", JOBS_BOARD: "jobs-board", MODS_ONLY: "mods-only"})
    guild.private[MODS_ONLY] = MODS_ROLE
    running = await start_bot()
    assert await say(ADMIN, fake, "config set", key="organizer_role", value="Board") == "organizer_role is now Board."

    # channel settings: the channels the member can see, as mentions (an administrator sees all)
    everything = await fake.autocomplete("config set", "value", "", ADMIN, key="trivia_channel")
    assert values(everything) == [f"<#{c}>" for c in (CHANNEL_ID, NEWS, JOBS_BOARD, MODS_ONLY)] + ["none"]
    assert [c["name"] for c in everything[:2]] == ["#general", "#news"]
    seen = values(await fake.autocomplete("config set", "value", "", BOARD, key="jobs_channel"))
    assert seen == [f"<#{c}>" for c in (CHANNEL_ID, NEWS, JOBS_BOARD)] + ["none"]  # not the mods' channel
    assert values(await fake.autocomplete("config set", "value", "#NEW", BOARD, key="jobs_channel")) == [f"<#{NEWS}>"]
    assert await fake.autocomplete("config set", "value", "", ALICE, key="jobs_channel") == []  # organizers only

    # role settings: the guild's roles
    roles = await fake.autocomplete("config set", "value", "", BOARD, key="follower_role")
    assert values(roles) == [f"<@&{FOLLOWERS_ROLE}>", f"<@&{MODS_ROLE}>", f"<@&{BOARD_ROLE}>", "none"]
    assert roles[0]["name"] == "@Followers"
    assert values(await fake.autocomplete("config set", "value", "mod", BOARD, key="moderator_role")) == [f"<@&{MODS_ROLE}>"]

    # a channel picked, typed by name, or typed with # is the same channel
    for typed in (f"<#{NEWS}>", "news", "#News"):
        assert await say(BOARD, fake, "config set", key="jobs_channel", value=typed) == f"jobs_channel is now <#{NEWS}>."
    assert await say(BOARD, fake, "config set", key="jobs_channel", value="none") == "jobs_channel is cleared."
    assert await say(BOARD, fake, "config set", key="webinars_channel", value="jobs-board") == (
        f"webinars_channel is now <#{JOBS_BOARD}>."
    )
    # a name is a channel's only where it is a channel setting
    assert await say(BOARD, fake, "config set", key="moderator_role", value="news") == (
        "moderator_role: there is no role news here."
    )
    stored = dict(await running.rows("SELECT key, value FROM community_settings"))
    assert stored["webinars_channel"] == f"<#{JOBS_BOARD}>" and "jobs_channel" not in stored
    assert "moderator_role" not in stored


async def test_config_set_refuses_channels_and_roles_that_would_never_work(fake: FakeDiscord, start_bot: StartBot) -> None:
    guild = fake.guilds[0]
    guild.channels.update({NEWS: "news", MODS_ONLY: "mods-only"})
    guild.private[MODS_ONLY] = MODS_ROLE
    running = await start_bot()
    assert await say(ADMIN, fake, "config set", key="organizer_role", value="Board") == "organizer_role is now Board."
    assert await say(ADMIN, fake, "config set", key="moderator_role", value=f"<@&{MODS_ROLE}>") == (
        f"moderator_role is now <@&{MODS_ROLE}>."
    )
    refusals = {  # (key, value) -> the one sentence
        ("jobs_channel", "nosuch"): "jobs_channel: there is no channel nosuch here that the bot can see; pick one from "
                                    "the # list.",
        ("jobs_channel", "mods-only"): "jobs_channel: mods-only is not a channel you can see; pick one you can.",
        ("jobs_channel", f"<#{MODS_ONLY}>"): f"jobs_channel: <#{MODS_ONLY}> is not a channel you can see; pick one "
                                             "you can.",
        ("moderator_role", "Modz"): "moderator_role: there is no role Modz here.",
        ("follower_role", "mods"): "follower_role: Mods is the moderator_role (so it would never be handed out on "
                                   "/follow); pick another role.",
        ("follower_role", f"<@&{BOARD_ROLE}>"): "follower_role: Board is the organizer_role (so it would never be "
                                                "handed out on /follow); pick another role.",
    }  # fmt: skip
    for (key, value), sentence in refusals.items():
        assert await say(BOARD, fake, "config set", key=key, value=value) == sentence, (key, value)
    stored = dict(await running.rows("SELECT key, value FROM community_settings"))
    assert set(stored) == {"organizer_role", "moderator_role"}
    # what works still does; a role that followers get cannot then become the moderators'
    assert await say(ADMIN, fake, "config set", key="jobs_channel", value="mods-only") == (  # seen, but not by the bot
        f"jobs_channel: I cannot post in <#{MODS_ONLY}>: I lack View Channel and Send Messages there. Give the bot's "
        "role that in the channel's permissions, or pick another channel."
    )
    assert await say(ADMIN, fake, "config set", key="jobs_channel", value="news") == f"jobs_channel is now <#{NEWS}>."
    assert await say(BOARD, fake, "config set", key="follower_role", value="followers") == "follower_role is now followers."
    assert await say(BOARD, fake, "config set", key="moderator_role", value="Followers") == (
        "moderator_role: Followers is the follower_role (which the bot hands to everyone who runs /follow); pick "
        "another role."
    )
    assert await say(BOARD, fake, "config set", key="timezone", value="ET") == "timezone is now America/New_York."


async def test_time_zone_suggestions_take_spaces_for_underscores(fake: FakeDiscord, start_bot: StartBot) -> None:
    await start_bot()
    await say(ADMIN, fake, "config set", key="organizer_role", value="Board")
    found = values(await fake.autocomplete("config set", "value", "new york", BOARD, key="timezone"))
    assert found[0] == "America/New_York"
    assert values(await fake.autocomplete("config set", "value", "ET", BOARD, key="timezone"))[0] == "America/New_York"


async def test_config_set_refuses_everyone_as_a_role_for_what_it_is(fake: FakeDiscord, start_bot: StartBot) -> None:
    """@everyone (typed, or as the role's mention) and @here are refused as what they are,
    not as roles the server lacks."""
    running = await start_bot()
    assert await say(ADMIN, fake, "config set", key="organizer_role", value="Board") == "organizer_role is now Board."
    for key, value in (("moderator_role", "@everyone"), ("follower_role", "@everyone"), ("organizer_role", "@here"),
                       ("moderator_role", f"<@&{GUILD_ID}>"), ("follower_role", str(GUILD_ID))):  # fmt: skip
        said = await say(BOARD, fake, "config set", key=key, value=value)
        named = "the here mention" if value == "@here" else "the everyone role"
        article = "an" if key == "organizer_role" else "a"
        assert said == (f"{key}: {named} stands for every member, so it cannot be {article} {key.removesuffix('_role')} "
                        "role; pick a role of its own."), (key, value)  # fmt: skip
    stored = dict(await running.rows("SELECT key, value FROM community_settings"))
    assert set(stored) == {"organizer_role"} and stored["organizer_role"] == "Board"


async def test_a_channel_name_two_channels_share_is_the_one_the_bot_can_post_in(
    fake: FakeDiscord, start_bot: StartBot
) -> None:
    """An administrator sees every channel; of two called `news`, the setting takes the one
    the bot can post in (the first, by position, is private to the Mods role)."""
    guild = fake.guilds[0]
    private = NEWS - 1  # listed first
    guild.channels.update({private: "news", NEWS: "news"})
    guild.private[private] = MODS_ROLE
    await start_bot()
    for typed in ("news", "#News"):
        assert await say(ADMIN, fake, "config set", key="trivia_channel", value=typed) == (
            f"trivia_channel is now <#{NEWS}>."
        ), typed

"""Login, the command-sync payload, and typed options reaching the core."""

from __future__ import annotations

from tests.e2e.discord.conftest import ALICE, BOARD_ROLE, StartBot
from tests.e2e.discord.fake_discord import ADMINISTRATOR, APP_ID, CHANNEL_ID, GUILD_ID, FakeDiscord

STRING, INTEGER, BOOLEAN, CHANNEL, ROLE = 3, 4, 5, 7, 8
TEXT_CHANNEL, ANNOUNCEMENT_CHANNEL = 0, 5


async def test_login_then_sync_declares_every_catalogue_command(fake: FakeDiscord, start_bot: StartBot) -> None:
    running = await start_bot()

    assert fake.requests[:2] == [("GET", "/api/v10/users/@me"), ("GET", "/api/v10/oauth2/applications/@me")]
    assert ("PUT", f"/api/v10/applications/{APP_ID}/commands") in fake.requests
    assert fake.synced_names() == set(running.bot.registry.commands)
    for top in fake.commands[None]:
        assert top["contexts"] == [0] and top["dm_permission"] is False, top["name"]
        assert top["integration_types"] == [0], top["name"]  # guild install only: no user-installed copies
        assert 1 <= len(top["description"]) <= 100
    by_name = {c["name"]: c for c in fake.commands[None]}
    assert int(by_name["config"]["default_member_permissions"]) == ADMINISTRATOR
    assert by_name["follow"]["default_member_permissions"] is None
    assert by_name["probe"]["default_member_permissions"] is None  # members may use some of /probe

    config_set = fake.synced("config set")
    assert [(o["name"], o["type"], o["required"]) for o in config_set["options"]] == [
        ("key", STRING, True), ("value", STRING, True),
    ]  # fmt: skip
    assert [(o["name"], o["required"]) for o in fake.synced("help")["options"]] == [("topic", False)]


async def test_typed_options_are_declared_and_reach_the_core(fake: FakeDiscord, start_bot: StartBot) -> None:
    await start_bot()
    options = {o["name"]: o for o in fake.synced("probe echo")["options"]}
    assert list(options) == ["text", "count", "loud", "mood", "tags", "within", "where", "who"]
    assert options["text"]["type"] == STRING and options["text"]["required"] is True
    assert (options["count"]["type"], options["count"]["min_value"], options["count"]["max_value"]) == (INTEGER, 1, 5)
    assert options["loud"]["type"] == BOOLEAN
    assert [c["value"] for c in options["mood"]["choices"]] == ["calm", "busy"]
    assert options["tags"]["type"] == STRING and "separated by ;" in options["tags"]["description"]
    assert options["within"]["type"] == STRING and "duration" in options["within"]["description"]
    assert options["where"]["type"] == CHANNEL and options["where"]["channel_types"] == [TEXT_CHANNEL, ANNOUNCEMENT_CHANNEL]
    assert options["where"]["description"] == "a channel to name"
    assert options["who"]["type"] == ROLE and options["who"]["description"] == "a role to name"

    elsewhere = CHANNEL_ID + 5
    interaction = await fake.slash("probe echo", ALICE, text="@everyone hi", count=3, loud=True, mood="busy",
                                   tags="a; b;c", within="10m", where=elsewhere, who=BOARD_ROLE)  # fmt: skip
    answer = await fake.reply(interaction)

    assert answer.type == 4
    assert "count=3 loud=True mood=busy tags=a|b|c within=600" in answer.text
    assert f"where=<#{elsewhere}> who=<@&{BOARD_ROLE}>" in answer.text  # picks reach the core as mentions
    assert "@everyone" not in answer.text and "everyone hi" in answer.text
    assert answer.data["allowed_mentions"] == {"parse": []}
    rows = answer.data["components"]
    assert [len(row["components"]) for row in rows] == [5, 2]
    assert rows[0]["components"][0]["label"] == "everyone 0"


async def test_bad_option_values_are_refused_by_the_core(fake: FakeDiscord, start_bot: StartBot) -> None:
    await start_bot()
    answer = await fake.reply(await fake.slash("probe echo", ALICE, text="x", within="soon-ish"))
    assert answer.type == 4 and answer.ephemeral
    assert answer.text.startswith("probe echo:")


async def test_guild_ids_sync_to_each_guild_at_once(fake: FakeDiscord, start_bot: StartBot) -> None:
    running = await start_bot(discord_guild_ids=[GUILD_ID])

    assert [scope for scope, _ in fake.sync_bodies] == [GUILD_ID]
    assert fake.synced_names(GUILD_ID) == set(running.bot.registry.commands)
    answer = await fake.reply(await fake.slash("follow", ALICE))  # routed as a guild command
    assert "You now follow ALCTS here." in answer.text

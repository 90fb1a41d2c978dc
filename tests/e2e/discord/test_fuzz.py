"""Hypothesis through the real discord.py and the fake gateway: slash commands with any
option values (as typed by members, within what Discord's schema lets through, and
some beyond it), anything typed into an option that autocompletes, and clicks with any
custom_id. Every interaction is answered, and nothing logs a traceback.

One running bot serves all the examples of a test (starting one per example would take
the whole budget), so examples also meet what earlier ones left behind."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.commands import Registry
from tests.e2e.discord.conftest import ADMIN, ALICE, BOARD_ROLE, MOD, DiscordBot, StartBot
from tests.e2e.discord.fake_discord import CHANNEL_ID, GUILD_ID, FakeDiscord

FUZZ = settings(  # derandomized: the same examples every run, so CI is not flaky; FUZZ_RANDOM=1 explores
    max_examples=150, deadline=None, database=None, derandomize=not os.environ.get("FUZZ_RANDOM"),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)  # fmt: skip
SKIP = ("probe", "slow")  # the test suite's own probe commands
NETWORK = ("jobs subscribe", "jobs test", "webinar import", "stats accounts")  # would fetch the URL typed
DISCORD_INT = 2**53  # Discord's integer options lie within +-2^53
STRING, INTEGER, BOOLEAN, NUMBER, CHANNEL, ROLE = 3, 4, 5, 10, 7, 8

texts = st.one_of(
    st.text(max_size=80),
    st.text(max_size=2000),
    st.sampled_from(["99999999999999999999", "-1", "0", "yes", "all", "\u202e", "\u200b", "<@&1>", "@everyone",
                     "[a](https://x.invalid)", "2026-02-30T25:00", "tomorrow 2pm", "1w", "9999d", "a;b;;c",
                     "x" * 300, "https://127.0.0.1:1/feed"]),  # fmt: skip
)


NUMBERS = st.integers().map(str) | st.sampled_from(["1", "0", "99999999999999999999", "-99999999999999999999",
                                                    "-0", " 1", "1_0", "\u0661", "9" * 5000])  # fmt: skip


def button_ids(registry: Registry) -> st.SearchStrategy[str]:
    """Ids shaped like the registry's buttons (`poll.vote:<int>:<int>`), with any numbers
    and text in their places, and some with the wrong number of parts."""
    def exact(prefix: str, kinds: tuple[type, ...]) -> st.SearchStrategy[str]:
        parts = [NUMBERS if kind is int else st.text(max_size=10) for kind in kinds]
        return st.tuples(*parts).map(lambda values: ":".join([prefix, *values]))

    shaped = st.one_of(*(exact(prefix, route.kinds) for prefix, route in sorted(registry.buttons.items())))
    loose = st.builds(lambda prefix, rest: ":".join([prefix, *rest]),
                      st.sampled_from([*sorted(registry.buttons), "link", "gone.away"]),
                      st.lists(NUMBERS | st.text(max_size=10), max_size=4))  # fmt: skip
    return shaped | loose


def traceback_records(caplog: pytest.LogCaptureFixture, since: int = 0) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records[since:]
            if r.exc_info or "Traceback" in r.getMessage()]  # fmt: skip


@pytest.fixture
async def running(fake: FakeDiscord, start_bot: StartBot) -> AsyncIterator[DiscordBot]:
    """One bot for all examples; after them, it still answers."""
    bot = await start_bot()
    yield bot
    answer = await fake.reply(await fake.slash("help", ALICE))
    assert answer.text


def commands(fake: FakeDiscord) -> dict[str, list[dict[str, Any]]]:
    """Every synced command and subcommand by its full name, with its option schemas."""
    found: dict[str, list[dict[str, Any]]] = {}
    for top in fake.commands.get(GUILD_ID, []) + fake.commands.get(None, []):
        subs = [o for o in top.get("options") or [] if o["type"] == 1]
        if not subs:
            found[top["name"]] = top.get("options") or []
        for sub in subs:
            found[f"{top['name']} {sub['name']}"] = sub.get("options") or []
    return {name: options for name, options in found.items() if not name.startswith(SKIP + NETWORK)}


def value_for(option: dict[str, Any], data: st.DataObject) -> Any:
    choices = [c["value"] for c in option.get("choices") or []]
    if choices:
        return data.draw(st.sampled_from(choices), label=option["name"])
    kind = option["type"]
    if kind == STRING:
        low, high = option.get("min_length", 0), option.get("max_length", 6000)
        return data.draw(texts.filter(lambda s: low <= len(s) <= high), label=option["name"])
    if kind == INTEGER:
        low, high = option.get("min_value", -DISCORD_INT), option.get("max_value", DISCORD_INT)
        beyond = st.sampled_from([10**20, -(10**20), 2**63, 2**64])  # not from Discord; the bot must not care
        return data.draw(st.integers(int(low), int(high)) | beyond, label=option["name"])
    if kind == NUMBER:
        low, high = option.get("min_value", -1e15), option.get("max_value", 1e15)
        return data.draw(st.floats(low, high, allow_nan=False, allow_infinity=False), label=option["name"])
    if kind == BOOLEAN:
        return data.draw(st.booleans(), label=option["name"])
    if kind == CHANNEL:  # picked: this channel or another of the server's
        return data.draw(st.sampled_from([CHANNEL_ID, CHANNEL_ID + 1, 2**63 - 1]), label=option["name"])
    if kind == ROLE:  # picked: one of the server's roles
        return data.draw(st.sampled_from([GUILD_ID, BOARD_ROLE]), label=option["name"])
    raise AssertionError(f"option type {kind} is new to this test")


@pytest.mark.timeout(120)
@settings(FUZZ)
@given(data=st.data())
async def test_fuzzed_slash_command_options(fake: FakeDiscord, running: DiscordBot, caplog: pytest.LogCaptureFixture,
                                            data: st.DataObject) -> None:  # fmt: skip
    caplog.set_level(logging.INFO)
    schema = commands(fake)
    name = data.draw(st.sampled_from(sorted(schema)), label="command")
    options = {}
    for option in schema[name]:
        if option.get("required") or data.draw(st.booleans(), label=f"give {option['name']}"):
            options[option["name"]] = value_for(option, data)
    # a known core defect (see tests/e2e/slack/test_fuzz.py::test_known_core_defect_...)
    user = data.draw(st.sampled_from([ALICE, ALICE, MOD, ADMIN]), label="user")
    since = len(caplog.records)
    interaction = await fake.slash(name, user, **options)
    answer = await fake.reply(interaction, within=10)
    assert answer.kind == "callback"
    await running.bot.idle()
    assert not traceback_records(caplog, since), traceback_records(caplog, since)


@pytest.mark.timeout(120)
@settings(FUZZ)
@given(data=st.data())
async def test_fuzzed_custom_ids(fake: FakeDiscord, running: DiscordBot, caplog: pytest.LogCaptureFixture,
                                 data: st.DataObject) -> None:  # fmt: skip
    caplog.set_level(logging.INFO)
    if not await running.rows("SELECT id FROM polls"):  # a poll for poll.vote:1:N to find
        await fake.reply(await fake.slash("poll create", ALICE, question="Lunch?", options="Tacos;Soup;Salad"))
    structured = button_ids(running.bot.registry)
    custom_id = data.draw((structured | st.text(min_size=1, max_size=100)).filter(lambda s: 1 <= len(s) <= 100),
                          label="custom_id")  # fmt: skip
    user = data.draw(st.sampled_from([ALICE, MOD, ADMIN]), label="user")
    since = len(caplog.records)
    interaction = await fake.click(custom_id, user)
    answer = await fake.reply(interaction, within=10)
    assert answer.kind == "callback"
    await running.bot.idle()
    assert not traceback_records(caplog, since), traceback_records(caplog, since)


@pytest.mark.timeout(120)
@settings(FUZZ)
@given(data=st.data())
async def test_fuzzed_autocomplete(fake: FakeDiscord, running: DiscordBot, caplog: pytest.LogCaptureFixture,
                                   data: st.DataObject) -> None:  # fmt: skip
    caplog.set_level(logging.INFO)
    if not await running.rows("SELECT id FROM polls"):  # something for poll ids to suggest
        await fake.reply(await fake.slash("poll create", ALICE, question="Lunch?", options="Tacos;Soup;Salad"))
    typed_into = sorted(fake.suggested_options())
    command, _, option = data.draw(st.sampled_from(typed_into), label="option").rpartition(" ")
    others = {o["name"]: o for o in commands(fake)[command] if o["name"] != option and not o.get("autocomplete")}
    given_too = {name: value_for(o, data) for name, o in others.items() if data.draw(st.booleans(), label=f"give {name}")}
    typed = data.draw(texts | NUMBERS, label="typed")[:100]
    user = data.draw(st.sampled_from([ALICE, MOD, ADMIN]), label="user")
    since = len(caplog.records)
    choices = await fake.autocomplete(command, option, typed, user, **given_too)
    assert len(choices) <= 25 and all(1 <= len(c["name"]) <= 100 for c in choices)
    assert not traceback_records(caplog, since), traceback_records(caplog, since)

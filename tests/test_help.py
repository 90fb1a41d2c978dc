"""/help through the console: a group's commands (and the related ones of its feature),
one command in full with examples, and every example it shows is valid input."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import TypeAdapter, ValidationError

from bot.grammar import build_args, resolve_text
from cogs.help import examples_of
from tests.harness import TestBot


async def test_a_group_lists_its_commands_with_their_usage(testbot: TestBot) -> None:
    out = await testbot.push("/help trivia")
    assert "/trivia: Play technical-services trivia" in out
    assert "/trivia start [category] [questions=10] [seconds=20]" in out and "/trivia flag QUESTION_ID REASON..." in out
    assert "/trivia restore" not in out and "/trivia daily" not in out  # moderators' commands
    assert "/help trivia start shows one command in full, with examples." in out
    out = await testbot.push(":as mo moderator", "/help /trivia")
    assert "/trivia restore QUESTION_ID" in out and "/trivia daily on|off" in out


async def test_help_follow_lists_unfollow_too(testbot: TestBot) -> None:
    for topic in ("follow", "unfollow"):
        out = await testbot.push(f"/help {topic}")
        assert f"/{topic}: Follow association updates" in out
        assert "/follow " in out and "/unfollow " in out


async def test_one_command_in_full_with_its_arguments_and_examples(testbot: TestBot) -> None:
    out = await testbot.push("/help poll create")
    assert out.splitlines()[0] == "/poll create"
    assert "Usage       /poll create QUESTION OPTION OPTION..." in out
    assert "QUESTION    what to ask, up to 300 characters (required)" in out
    assert ('OPTION...   the answers to choose from: 2 to 25, each up to 75 characters; put each in "quotes" if it has'
            " spaces") in out  # fmt: skip
    assert 'closes=     a duration (2h, 3d) or a time ("friday 5pm")' in out
    assert 'Examples    /poll create "Which cataloging standard do you use most?" RDA AACR2 "Local rules"' in out
    out = await testbot.push("/help trivia start")
    assert "seconds=    seconds to answer each question (default 20)" in out
    examples = out.split("Examples")[1].splitlines()
    assert [line.strip() for line in examples[:2]] == ["/trivia start", "/trivia start marc21 questions=5 seconds=30"]


async def test_unknown_topics_and_other_roles_commands_get_one_sentence(testbot: TestBot) -> None:
    out = await testbot.push("/help poll creat")
    assert out.strip() == "(only you) No commands called /poll creat for you. Did you mean /help poll create? Try /help."
    out = await testbot.push("/help trivia restore")
    assert out.strip() == "(only you) Only moderators can use /trivia restore; /help lists what you can."
    assert "No commands called /config for you." in await testbot.push("/help config")
    assert "No commands called /poll create now for you." in await testbot.push("/help poll create now")


async def test_the_overview_points_to_groups_and_commands(testbot: TestBot) -> None:
    out = await testbot.push("/help")
    assert "/help poll lists a group's commands; /help poll create shows one in full, with examples." in out


async def test_every_example_help_shows_is_valid_input(testbot: TestBot) -> None:
    context = {"now": datetime(2026, 11, 27, 15, tzinfo=UTC), "tz": ZoneInfo("America/Chicago")}
    registry = testbot.bot.registry
    shown = 0
    for cmd in registry.commands.values():
        for example in examples_of(cmd):
            found, tokens = resolve_text(registry, example)
            assert found is cmd, example
            build_args(cmd.spec, tokens, context)  # raises on an argument the command does not take
            shown += 1
    assert shown >= len(registry.commands) - 10  # nearly every command has one


async def test_a_group_name_alone_shows_its_help(testbot: TestBot) -> None:
    out = await testbot.push("/trivia")
    assert "/trivia: Play technical-services trivia" in out and "/trivia start" in out


async def test_every_default_a_usage_line_shows_is_accepted_as_typed(testbot: TestBot) -> None:
    """`[duration=1h]`, not `[duration=1:00:00]` (which is refused): a default shown in a usage
    line, typed back, is a valid value of that option."""
    context = {"now": datetime(2026, 11, 27, 15, tzinfo=UTC), "tz": ZoneInfo("America/Chicago")}
    checked = 0
    for cmd in testbot.bot.registry.commands.values():
        for name, value in re.findall(r"\[(\w+)=([^\]\s]+)\]", cmd.spec.usage):
            if value.isupper() or "|" in value or value == "yes":  # a kind or the choices, not a default
                continue
            field = cmd.spec.args.model_fields[name]
            kind = TypeAdapter(Annotated[field.annotation, *field.metadata]) if field.metadata else TypeAdapter(
                field.annotation)  # fmt: skip
            try:
                kind.validate_python(value, context=context)
            except ValidationError as exc:
                raise AssertionError(f"/{cmd.spec.name}: {name}={value} shown as the default is refused") from exc
            assert field is not None
            checked += 1
    assert checked >= 5
    assert "[duration=1h]" in testbot.bot.registry.commands["webinar add"].spec.usage
    assert "[closes=DURATION|TIME]" in testbot.bot.registry.commands["poll create"].spec.usage

"""The command registry as Discord slash commands, derived, never kept by hand.

Each registry group becomes a slash-command group (`/poll create`), a one-word command a
top-level command (`/help`). Options come from the command's `Args` model: str, int, float,
bool, `Literal` choices; a list is one string split on `;`; durations and times are strings
the core parses. Every command calls one generic callback with the options given.
"""

from __future__ import annotations

import inspect
import logging
import types
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
import discord
from discord import app_commands
from pydantic.fields import FieldInfo

from bot.commands import Args, CommandSpec, Registry
from bot.model import Role
from bot.platforms.discord_render import clip

log = logging.getLogger(__name__)

Invoke = Callable[[discord.Interaction, str, dict[str, Any]], Awaitable[None]]
AppCommand = app_commands.Command[Any, ..., Any] | app_commands.Group

DESCRIPTION_MAX = 100
OPTIONS_MAX = 25
SUBCOMMANDS_MAX = 25
CHOICES_MAX = 25
PERMISSIONS: dict[Role, discord.Permissions | None] = {
    Role.MEMBER: None,
    Role.MODERATOR: discord.Permissions(manage_guild=True),
    Role.ORGANIZER: discord.Permissions(administrator=True),
}
HINTS = {
    timedelta: "a duration like 90s, 10m, 2h, 3d or 1w",
    datetime: "a time like 2026-05-01 14:00 or tomorrow 2pm",
}


def build_commands(registry: Registry, invoke: Invoke) -> list[AppCommand]:
    """One slash command or group per registry group. Discord shows a command only to members
    with its group's `default_member_permissions`; the core checks roles again on every call."""
    built: list[AppCommand] = []
    for group, commands in registry.groups().items():
        subs = [c for c in commands if c.spec.name != group]
        bare = [c for c in commands if c.spec.name == group]
        if not subs:
            built.append(_command(bare[0].spec, group, invoke))
            continue
        if bare:
            log.error("/%s is both a command and a group; Discord allows only the group", group)
        if len(subs) > SUBCOMMANDS_MAX:
            log.error("/%s has %d subcommands; Discord takes %d", group, len(subs), SUBCOMMANDS_MAX)
        title = registry.cog_titles.get(subs[0].cog, group)
        slash_group = app_commands.Group(
            name=group,
            description=clip(title, DESCRIPTION_MAX) or group,
            default_permissions=PERMISSIONS[min(c.spec.role for c in subs)],
            guild_only=True,
        )
        for cmd in subs[:SUBCOMMANDS_MAX]:
            slash_group.add_command(_command(cmd.spec, cmd.spec.name.split(" ", 1)[1], invoke, top_level=False))
        built.append(slash_group)
    return built


def _command(spec: CommandSpec, name: str, invoke: Invoke, *, top_level: bool = True) -> app_commands.Command[Any, ..., Any]:
    parameters, descriptions = _options(spec.args)
    full_name = spec.name

    async def callback(interaction: discord.Interaction, **options: Any) -> None:
        await invoke(interaction, full_name, {k: v for k, v in options.items() if v is not None})

    interaction_param = inspect.Parameter("interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=discord.Interaction)
    callback.__signature__ = inspect.Signature([interaction_param, *parameters])  # type: ignore[attr-defined]
    callback.__discord_app_commands_param_description__ = descriptions  # type: ignore[attr-defined]
    command = app_commands.Command(
        name=name, description=clip(spec.help, DESCRIPTION_MAX) or full_name, callback=callback
    )
    if top_level:
        command.default_permissions = PERMISSIONS[spec.role]
        command.guild_only = True
    return command


def _options(args: type[Args]) -> tuple[list[inspect.Parameter], dict[str, str]]:
    """Positional fields first, in order (Discord lists required options before optional)."""
    names = [*args.positional, *(n for n in args.model_fields if n not in args.positional)]
    if len(names) > OPTIONS_MAX:
        log.error("%s has %d options; Discord takes %d", args.__name__, len(names), OPTIONS_MAX)
    parameters, descriptions = [], {}
    for name in names[:OPTIONS_MAX]:
        info = args.model_fields[name]
        annotation, hint = option_type(info)
        required = info.is_required()
        parameters.append(inspect.Parameter(
            name, inspect.Parameter.POSITIONAL_OR_KEYWORD,
            annotation=annotation,
            default=inspect.Parameter.empty if required else None,
        ))  # fmt: skip
        descriptions[name] = clip(_describe(name, info, hint), DESCRIPTION_MAX)
    return parameters, descriptions


def option_type(info: FieldInfo) -> tuple[Any, str]:
    """The Discord option type for a field, and a hint for its description."""
    annotation = _unwrap(info.annotation)
    origin = get_origin(annotation)
    if origin is Literal:
        values = get_args(annotation)
        if len(values) <= CHOICES_MAX and all(type(v) in (str, int) for v in values):
            return annotation, ""
        return str, "one of " + ", ".join(map(str, values))
    if origin is list:
        return str, "items separated by ;"
    if annotation in (int, float):
        return _ranged(annotation, info.metadata), ""
    if annotation is bool:
        return bool, ""
    return str, HINTS.get(annotation, "")


def _unwrap(annotation: Any) -> Any:
    """`Annotated[T, ...]` -> T and `T | None` -> T, however nested."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            rest = [a for a in get_args(annotation) if a is not type(None)]
            if len(rest) != 1:
                return str
            annotation = rest[0]
        else:
            return annotation


def _ranged(kind: type, metadata: list[Any]) -> Any:
    low = high = None
    for item in metadata:
        if isinstance(item, annotated_types.Ge):
            low = item.ge
        elif isinstance(item, annotated_types.Gt) and kind is int:
            low = item.gt + 1
        elif isinstance(item, annotated_types.Le):
            high = item.le
        elif isinstance(item, annotated_types.Lt) and kind is int:
            high = item.lt - 1
    if low is None and high is None:
        return kind
    return app_commands.Range[kind, low, high]  # type: ignore[valid-type]


def _describe(name: str, info: FieldInfo, hint: str) -> str:
    text = info.description or name.replace("_", " ")
    return f"{text} ({hint})" if hint else text

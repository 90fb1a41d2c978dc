"""The command registry as Discord slash commands, derived, never kept by hand.

Each registry group becomes a slash-command group (`/poll create`), a one-word command a
top-level command (`/help`). Options come from the command's `Args` model: str, int, float,
bool, `Literal` choices; a `ChannelName` or `RoleName` field is Discord's own channel or role
picker, and the pick reaches the core as its mention (`<#id>`, `<@&id>`); a list is one string
split on `;`; durations and times are strings the core parses. Every option carries its
field's description (`app_commands.describe`), and an option the model `@suggests` values
for autocompletes (`suggest`); a suggestion may be a `Picks`, which lists the guild's channels
the member can see (or its roles) here, and a channel typed by name in such an option reaches
the core as its mention (`channels_named`). Every command calls one generic callback with the
options given.
A command with a form (bot/forms.py) has every option optional: used alone, it opens the form
(`discord_forms`).
"""

from __future__ import annotations

import functools
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

from bot.app import Context
from bot.commands import Args, Choice, Command, CommandSpec, Picks, Registry, suggestion_hooks
from bot.model import Role
from bot.platforms.discord_render import clip

log = logging.getLogger(__name__)

Invoke = Callable[[discord.Interaction, str, dict[str, Any]], Awaitable[None]]
Complete = Callable[[discord.Interaction, str, str, str], Awaitable[list[Choice | Picks]]]
"""(interaction, command name, option, what was typed) -> suggestions (a `Picks` among them:
the guild's channels the member can see, or its roles, listed here)."""
AppCommand = app_commands.Command[Any, ..., Any] | app_commands.Group

DESCRIPTION_MAX = 100
OPTIONS_MAX = 25
SUBCOMMANDS_MAX = 25
CHOICES_MAX = 25  # fixed choices, and suggestions
CHOICE_MAX = 100  # a choice's name, and a string choice's value
PERMISSIONS: dict[Role, discord.Permissions | None] = {
    Role.MEMBER: None,
    Role.MODERATOR: discord.Permissions(manage_guild=True),
    Role.ORGANIZER: discord.Permissions(administrator=True),
}
HINTS = {
    timedelta: "a duration like 90s, 10m, 2h, 3d or 1w",
    datetime: "a time like 2026-05-01 14:00 or tomorrow 2pm",
}
POSTING_CHANNELS = [discord.ChannelType.text, discord.ChannelType.news]  # where the bot can post a card
hooks_of = functools.cache(suggestion_hooks)


def build_commands(registry: Registry, invoke: Invoke, complete: Complete) -> list[AppCommand]:
    """One slash command or group per registry group. Discord shows a command only to members
    with its group's `default_member_permissions`; the core checks roles again on every call."""
    built: list[AppCommand] = []
    for group, commands in registry.groups().items():
        subs = [c for c in commands if c.spec.name != group]
        bare = [c for c in commands if c.spec.name == group]
        if not subs:
            built.append(_command(bare[0].spec, group, invoke, complete))
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
            name = cmd.spec.name.split(" ", 1)[1]
            slash_group.add_command(_command(cmd.spec, name, invoke, complete, top_level=False))
        built.append(slash_group)
    return built


def _command(spec: CommandSpec, name: str, invoke: Invoke, complete: Complete, *,
             top_level: bool = True) -> app_commands.Command[Any, ..., Any]:  # fmt: skip
    parameters, descriptions = _options(spec.args, optional=spec.form is not None)
    full_name = spec.name

    async def callback(interaction: discord.Interaction, **options: Any) -> None:
        given = {k: v for k, v in options.items() if v is not None}
        await invoke(interaction, full_name, given)

    interaction_param = inspect.Parameter("interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=discord.Interaction)
    callback.__signature__ = inspect.Signature([interaction_param, *parameters])  # type: ignore[attr-defined]
    command = app_commands.Command(
        name=name, description=clip(spec.help, DESCRIPTION_MAX) or full_name, callback=callback
    )
    app_commands.describe(**descriptions)(command)
    _autocomplete(command, spec, complete)
    if top_level:
        command.default_permissions = PERMISSIONS[spec.role]
        command.guild_only = True
    return command


def _autocomplete(command: app_commands.Command[Any, ..., Any], spec: CommandSpec, complete: Complete) -> None:
    """Autocomplete every option the model `@suggests` values for (text or whole numbers
    without fixed choices: what Discord allows)."""
    by_name = {p.name: p for p in command.parameters}
    for option in hooks_of(spec.args):
        param = by_name.get(option)
        kinds = (discord.AppCommandOptionType.string, discord.AppCommandOptionType.integer)
        if param is None or param.type not in kinds or param.choices:
            log.error("/%s: suggestions for %s, which is not a text or number option without choices", spec.name, option)
            continue
        integer = param.type is discord.AppCommandOptionType.integer
        command.autocomplete(option)(_completer(complete, spec.name, option, integer))


def _completer(complete: Complete, name: str, option: str, integer: bool) -> Callable[..., Awaitable[list[app_commands.Choice[Any]]]]:
    async def autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[Any]]:
        found = await complete(interaction, name, option, str(current or ""))
        listed = [p for c in found for p in (picks_here(interaction, c.kind, str(current or ""))
                                             if isinstance(c, Picks) else [c])]  # fmt: skip
        return [app_commands.Choice(name=clip(c.label, CHOICE_MAX) or str(c.value), value=c.value)
                for c in listed if _fits(c.value, integer)][:CHOICES_MAX]  # fmt: skip

    return autocomplete


def _fits(value: Any, integer: bool) -> bool:
    if integer:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, str) and 1 <= len(value) <= CHOICE_MAX


async def suggest(command: Command, ctx: Context, option: str, typed: str) -> list[Choice | Picks]:
    """What to suggest while `option` of `command` is typed: nothing to a member whose role may
    not use the command, else the model's `@suggests` choices that contain what was typed (a
    `Picks` is kept: the platform lists its channels or roles). Neutral: any platform with
    autocomplete can use it."""
    hook = hooks_of(command.spec.args).get(option)
    if hook is None or ctx.member.role < command.spec.role:
        return []
    found = await hook(getattr(command.handler, "__self__", None), ctx, typed)
    return [c for c in found if isinstance(c, Picks) or _matches(c, typed)][:CHOICES_MAX]


def _matches(choice: Choice, typed: str) -> bool:
    """Whether a suggestion contains what was typed (any case, a space matching an
    underscore, `new york` in America/New_York; a leading # or @ aside)."""
    wanted = _loose(typed.strip().lstrip("#@"))
    return wanted in _loose(choice.label) or wanted in _loose(str(choice.value))


def _loose(text: str) -> str:
    return text.casefold().replace("_", " ")


# -- channels and roles a suggestion offers (`Picks`): the guild's, as the member sees them ------


def picks_here(interaction: discord.Interaction, kind: str, typed: str) -> list[Choice]:
    """The guild's channels the member can see (text and announcement channels, `#name` ->
    `<#id>`) or its roles (`@name` -> `<@&id>`; not @everyone nor a bot's own role), in
    the guild's order, that contain what was typed."""
    guild = interaction.guild
    if guild is None:
        return []
    if kind == "channel":
        found = [Choice(f"#{c.name}", f"<#{c.id}>") for c in _visible_channels(interaction)]
    else:
        roles = sorted((r for r in guild.roles if not r.is_default() and not r.managed), key=lambda r: -r.position)
        found = [Choice(f"@{r.name}", f"<@&{r.id}>") for r in roles]
    return [c for c in found if _matches(c, typed)]


def _visible_channels(interaction: discord.Interaction) -> list[discord.abc.GuildChannel]:
    """The guild's text and announcement channels the member may view (an administrator: all)."""
    guild, member = interaction.guild, interaction.user
    if guild is None:
        return []
    channels = sorted((c for c in guild.channels if c.type in POSTING_CHANNELS), key=lambda c: (c.position, c.id))
    if interaction.permissions.administrator:
        return channels
    if not isinstance(member, discord.Member):
        return []
    return [c for c in channels if c.permissions_for(member).view_channel]


def _options(args: type[Args], *, optional: bool = False) -> tuple[list[inspect.Parameter], dict[str, str]]:
    """Positional fields first, in order (Discord lists required options before optional).
    `optional`: every option is (a command with a form, which opens when none is given)."""
    names = [*args.positional, *(n for n in args.model_fields if n not in args.positional)]
    if len(names) > OPTIONS_MAX:
        log.error("%s has %d options; Discord takes %d", args.__name__, len(names), OPTIONS_MAX)
    parameters, descriptions = [], {}
    for name in names[:OPTIONS_MAX]:
        info = args.model_fields[name]
        annotation, hint = option_type(info)
        required = info.is_required() and not optional
        parameters.append(inspect.Parameter(
            name, inspect.Parameter.POSITIONAL_OR_KEYWORD,
            annotation=annotation,
            default=inspect.Parameter.empty if required else None,
        ))  # fmt: skip
        descriptions[name] = clip(_describe(name, info, hint), DESCRIPTION_MAX)
    return parameters, descriptions


def option_type(info: FieldInfo) -> tuple[Any, str]:
    """The Discord option type for a field, and what Discord's form needs said about it
    beyond the field's description (`items separated by ;`)."""
    annotation, metadata = _unwrap(info.annotation, list(info.metadata))
    picks = next((m for m in metadata if isinstance(m, Picks)), None)
    if picks is not None and annotation is str:
        return app_commands.Transform[str, Picked(picks.kind)], ""
    origin = get_origin(annotation)
    if origin is Literal:
        values = get_args(annotation)
        if len(values) <= CHOICES_MAX and all(type(v) in (str, int) for v in values):
            return annotation, ""
        return str, "one of " + ", ".join(map(str, values))
    if origin is list:
        return str, "items separated by ;"
    if annotation in (int, float):
        return _ranged(annotation, metadata), ""
    if annotation is bool:
        return bool, ""
    return str, ""


def _unwrap(annotation: Any, metadata: list[Any]) -> tuple[Any, list[Any]]:
    """`Annotated[T, ...]` -> T and `T | None` -> T, however nested, with the metadata found."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation, *more = get_args(annotation)
            metadata = [*metadata, *more]
        elif origin in (Union, types.UnionType):
            rest = [a for a in get_args(annotation) if a is not type(None)]
            if len(rest) != 1:
                return str, metadata
            annotation = rest[0]
        else:
            return annotation, metadata


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
    """The field's own description; a field without one (a feature's oversight) is named,
    with what to type when its type says so."""
    text = info.description
    if not text:
        kind = HINTS.get(_unwrap(info.annotation, [])[0])
        text = f"{name.replace('_', ' ')} ({kind})" if kind else name.replace("_", " ")
    return f"{text} ({hint})" if hint else text


class Picked(app_commands.Transformer):
    """Discord's channel picker (channels the bot can post in) or role picker; the pick
    reaches the core as its mention, as a channel or role typed in text would."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    @property
    def type(self) -> discord.AppCommandOptionType:
        if self.kind == "channel":
            return discord.AppCommandOptionType.channel
        return discord.AppCommandOptionType.role

    @property
    def channel_types(self) -> list[discord.ChannelType]:
        return list(POSTING_CHANNELS) if self.kind == "channel" else []

    async def transform(self, interaction: discord.Interaction, value: Any, /) -> str:
        return f"<#{value.id}>" if self.kind == "channel" else f"<@&{value.id}>"

"""/help: the commands the caller may use, straight from the registry.

`/help` lists them by feature; `/help poll` (any group or command name) shows that
feature's commands with their usage, so `/help follow` lists `/unfollow` too; `/help poll
create` shows one command in full: what each argument means and examples. Examples come
from the command's own `Args.examples` when its feature declares them, else from
`FALLBACK_EXAMPLES` below, else one is made from the usage when every required argument
has an obvious sample (an id, a choice)."""

from __future__ import annotations

import types
from collections.abc import Iterator
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Annotated, Any, ClassVar, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import Field as ArgField
from pydantic.fields import FieldInfo
from rapidfuzz import process

from bot.app import Bot, Context
from bot.cards import Card, Field
from bot.commands import Args, Command, Deadline, Duration, Registry, When, YesNo, command
from bot.errors import UserError
from bot.model import Role
from bot.text import echo

FALLBACK_EXAMPLES: MappingProxyType[str, tuple[str, ...]] = MappingProxyType({
    "poll create": ('/poll create "Which cataloging standard do you use most?" RDA AACR2 "Local rules"',
                    '/poll create "Best day for the next webinar?" Tue Wed Thu multi=2 closes=2d'),
    "poll results": ("/poll results 3",),
    "poll close": ("/poll close 3",),
    "poll export": ("/poll export 3",),
    "jobs subscribe": ("/jobs subscribe https://jobs.example.org/feed.rss keywords=cataloging,metadata",),
    "jobs post": ('/jobs post "Metadata Librarian" https://jobs.example.org/123 employer="State University"',),
    "jobs latest": ("/jobs latest", "/jobs latest count=10 keywords=cataloging"),
    "jobs test": ("/jobs test https://jobs.example.org/feed.rss",),
    "webinar add": ('/webinar add "Intro to BIBFRAME" "Dec 3 2pm ET" url=https://example.org/room reminders=24h,1h',),
    "webinar edit": ('/webinar edit 4 when="Dec 10 2pm ET"',),
    "webinar import": ("/webinar import https://example.org/events.ics",),
    "webinar ics": ("/webinar ics all", "/webinar ics 4"),
    "stats growth": ("/stats growth", "/stats growth 180"),
    "stats record": ("/stats record facebook 1200 date=2026-03-01",),
    "stats accounts": ("/stats accounts", "/stats accounts add mastodon alcts@mastodon.social"),
    "config set": ("/config set timezone America/New_York", "/config set trivia_channel #trivia"),
})  # fmt: skip
"""Examples for commands whose feature does not declare `examples` on its arguments yet."""

KIND_HINTS = (
    (Deadline, 'a duration (2h, 3d) or a time ("friday 5pm")'),
    (Duration, "a duration like 90s, 10m, 2h, 3d or 1w"),
    (When, 'a time like 2026-05-01 14:00 or "tomorrow 2pm"'),
    (YesNo, "yes or no"),
)


class HelpArgs(Args):
    positional = ("topic",)
    examples: ClassVar[tuple[str, ...]] = ("/help", "/help poll", "/help poll create")
    topic: list[str] = ArgField([], description="a group or one command, e.g. poll or poll create")


class Help:
    """Help with commands"""

    name = "help"

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    @command("help", args=HelpArgs, usage="/help [GROUP [COMMAND]]",
             help="List the commands you can use, a group's commands, or one command in full")  # fmt: skip
    async def help(self, ctx: Context, args: HelpArgs) -> Card:
        words = " ".join(args.topic).replace("/", " ").lower().split()
        usable = [c for c in self.registry.commands.values() if c.spec.role <= ctx.member.role]
        if not words:
            return self._overview(usable)
        name = " ".join(words[:2])
        found = self.registry.commands.get(name)
        if len(words) > 2 or (found is None and len(words) == 2):
            raise UserError(self._unknown(" ".join(words), usable))
        if found is not None and " " in name:
            if found not in usable:
                raise UserError(f"Only {found.spec.role.label}s can use /{name}; /help lists what you can.")
            return detail_card(found)
        return self._group(name, usable)

    def _overview(self, usable: list[Command]) -> Card:
        by_cog: dict[str, dict[str, list[str]]] = {}
        for cmd in usable:
            group, _, sub = cmd.spec.name.partition(" ")
            by_cog.setdefault(cmd.cog, {}).setdefault(group, []).append(sub)
        fields = []
        for cog, groups in by_cog.items():
            names = ", ".join(f"/{group}" + (" " + "|".join(subs) if any(subs) else "") for group, subs in groups.items())
            fields.append(Field(names, self.registry.cog_titles.get(cog, cog), inline=False))
        return Card(title="Commands you can use", fields=tuple(fields),
                    footer="/help poll lists a group's commands; /help poll create shows one in full, with examples.")

    def _group(self, topic: str, usable: list[Command]) -> Card:
        """Every command of the feature that owns `topic`: `/help follow` shows /unfollow too."""
        named = [c for c in usable if c.spec.group == topic]
        if not named:
            raise UserError(self._unknown(topic, usable))
        owners = {c.cog for c in named}
        shown = [c for c in usable if c.cog in owners]
        fields = tuple(Field(c.spec.usage, c.spec.help or "", inline=False) for c in shown)
        title = self.registry.cog_titles.get(named[0].cog, topic)
        example = next((c.spec.name for c in shown if " " in c.spec.name), None)
        footer = f"/help {example} shows one command in full, with examples." if example else ""
        return Card(title=f"/{topic}: {title}", fields=fields, footer=footer)

    def _unknown(self, typed: str, usable: list[Command]) -> str:
        names = [c.spec.name for c in usable]
        choices = [*names, *sorted({name.split()[0] for name in names})]
        match = process.extractOne(typed[:100], choices, score_cutoff=70)
        hint = f" Did you mean /help {match[0]}?" if match else ""
        return f"No commands called /{echo(typed)} for you.{hint} Try /help."


def detail_card(cmd: Command) -> Card:
    """One command in full: what it does, who may use it, each argument, examples."""
    spec = cmd.spec
    who = "" if spec.role == Role.MEMBER else f" For {spec.role.label}s."
    fields = [Field("Usage", spec.usage, inline=False)]
    fields += [Field(label, meaning, inline=False) for label, meaning in describe_args(spec.args)]
    examples = examples_of(cmd)
    if examples:
        fields.append(Field("Examples" if len(examples) > 1 else "Example", "\n".join(examples), inline=False))
    form = f" On Discord and Slack, /{spec.name} alone opens a form." if spec.form is not None else ""
    return Card(title=f"/{spec.name}", text=f"{spec.help or spec.name}.{who}{form}".replace("..", "."),
                fields=tuple(fields),
                footer='Put text with spaces in "quotes"; name=value sets an option; on Discord, fill in the '
                       "options instead.")  # fmt: skip


def describe_args(args: type[Args]) -> list[tuple[str, str]]:
    """(how it is typed, what it means) for each argument, positionals first."""
    names = [*args.positional, *(n for n in args.model_fields if n not in args.positional)]
    described = []
    for name in names:
        info = args.model_fields[name]
        meaning = info.description or _kind(info)
        if info.description and _is_list(info.annotation):  # how to type several, whatever the feature said
            meaning += '; put each in "quotes" if it has spaces'
        if info.is_required() and not _is_list(info.annotation):
            meaning += " (required)"
        elif (default := _shown_default(info.get_default())) is not None:
            meaning += f" (default {default})"
        described.append((_label(name, info, name in args.positional), meaning))
    return described


def _label(name: str, info: FieldInfo, positional: bool) -> str:
    """How an argument is written in the usage line: `QUESTION`, `OPTION...`, `on|off`,
    `[category]`, `multi=`."""
    if not positional:
        return f"{name}="
    if _is_list(info.annotation):
        word = name.upper()
        return f"{word[:-1] if word.endswith('S') else word}..."
    choices = next(("|".join(map(str, get_args(base))) for base, _ in _parts(info.annotation, ())
                    if get_origin(base) is Literal), None)  # fmt: skip
    return (choices or name.upper()) if info.is_required() else f"[{choices or name}]"


def examples_of(cmd: Command) -> tuple[str, ...]:
    """The feature's own examples, else the fallback ones, else one made from the usage."""
    own = getattr(cmd.spec.args, "examples", None)
    if own:
        return tuple(own)
    if cmd.spec.name in FALLBACK_EXAMPLES:
        return FALLBACK_EXAMPLES[cmd.spec.name]
    made = _made_example(cmd)
    return (made,) if made else ()


def _made_example(cmd: Command) -> str | None:
    """`/poll results 1`: possible when every required argument is a number or a choice."""
    parts = [f"/{cmd.spec.name}"]
    for name in cmd.spec.args.positional:
        info = cmd.spec.args.model_fields[name]
        if not info.is_required():
            break
        sample = _sample(info)
        if sample is None:
            return None
        parts.append(sample)
    if any(info.is_required() and name not in cmd.spec.args.positional
           for name, info in cmd.spec.args.model_fields.items()):  # fmt: skip
        return None
    return " ".join(parts)


def _sample(info: FieldInfo) -> str | None:
    for base, metadata in _parts(info.annotation, tuple(info.metadata)):
        if get_origin(base) is Literal:
            return str(get_args(base)[0])
        if base is int:
            low = next((m.ge for m in metadata if isinstance(m, annotated_types.Ge)), 1)
            return str(max(low, 1))
    return None


def _kind(info: FieldInfo) -> str:
    """What to type, from the argument's type, when its feature gave no description."""
    for alias, hint in KIND_HINTS:
        wanted = {getattr(m, "func", None) for m in get_args(alias)[1:]}
        if any(getattr(m, "func", None) in wanted for _, metadata in _parts(info.annotation, tuple(info.metadata))
               for m in metadata):  # fmt: skip
            return hint
    for base, metadata in _parts(info.annotation, tuple(info.metadata)):
        if get_origin(base) is Literal:
            return "one of " + ", ".join(map(str, get_args(base)))
        if get_origin(base) is list:
            return 'one or more; put each in "quotes" if it has spaces'
        if base is int:
            low = next((m.ge for m in metadata if isinstance(m, annotated_types.Ge)), None)
            high = next((m.le for m in metadata if isinstance(m, annotated_types.Le)), None)
            if low is not None and high is not None:
                return f"a whole number from {low} to {high}"
            return f"a whole number of at least {low}" if low is not None else "a whole number"
        if base is bool:
            return "yes or no"
        if base is timedelta:
            return KIND_HINTS[1][1]
        if base is datetime:
            return KIND_HINTS[2][1]
    return "text"


def _parts(annotation: Any, metadata: tuple[Any, ...]) -> Iterator[tuple[Any, tuple[Any, ...]]]:
    """(base type, its metadata) through `Annotated[...]` and `X | None`."""
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *extra = get_args(annotation)
        yield from _parts(base, (*metadata, *extra))
    elif origin in (Union, types.UnionType):
        for member in get_args(annotation):
            if member is not type(None):
                yield from _parts(member, metadata)
    else:
        yield annotation, metadata


def _is_list(annotation: Any) -> bool:
    return any(get_origin(base) is list for base, _ in _parts(annotation, ()))


def _shown_default(value: Any) -> str | None:
    if value is None or value == "" or value == [] or value is False:
        return None
    if value is True:
        return "yes"
    if isinstance(value, timedelta):
        seconds = int(value.total_seconds())
        for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
            if seconds and seconds % size == 0:
                return f"{seconds // size}{unit}"
        return f"{seconds}s"
    return str(value)


def setup(bot: Bot) -> None:
    bot.add_cog(Help(bot.registry))

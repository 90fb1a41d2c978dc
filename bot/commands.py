"""The command catalogue: decorators that record metadata, typed argument models and the
registry the Bot collects from cogs. The text grammar every platform shares is in
bot/grammar.py.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, tzinfo
from functools import cached_property
from typing import Annotated, Any, ClassVar, Literal, get_args, get_origin

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError
from pydantic_core.core_schema import ValidationInfo
from rapidfuzz import process

from bot.errors import UsageError
from bot.forms import Form
from bot.model import Role
from bot.quotas import Quota
from bot.text import echo, quoted
from bot.timeparse import BARE_NUMBER, UnreadableTime, parse_duration, parse_when

# -- argument models and types --------------------------------------------------------

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1  # what an SQLite INTEGER holds


class Args(BaseModel):
    """Base of every command's arguments. `positional` names the fields typed in order."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)
    positional: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="before")
    @classmethod
    def _split_lists(cls, data: Any) -> Any:
        """A list given as one string (a Discord option, or `name=a;b`) splits on `;`."""
        if not isinstance(data, dict):
            return data
        for name, value in data.items():
            info = cls.model_fields.get(name)
            if info is not None and is_list(info.annotation) and isinstance(value, str):
                data[name] = [item.strip() for item in value.split(";") if item.strip()]
        return data

    @model_validator(mode="after")
    def _storable_ints(self) -> Args:
        """A whole number SQLite cannot store (`/poll results 99999999999999999999`) is bad
        input, not a crash deep in storage."""
        for name, value in self:
            if isinstance(value, int) and not isinstance(value, bool) and not INT64_MIN <= value <= INT64_MAX:
                raise ValueError(f"{name}={echo(value)} is out of range")
        return self


class NoArgs(Args):
    pass


def field_error(argument: str, message: str, value: Any = None) -> ValidationError:
    """An error about one argument, for a model validator that checks several at once (a
    form shows it on that argument's field): `raise field_error("multi", "...")`."""
    details = InitErrorDetails(type=PydanticCustomError("value_error", message), loc=(argument,), input=value)
    return ValidationError.from_exception_data("arguments", [details])


def _duration(value: Any) -> Any:
    return parse_duration(value) if isinstance(value, str) else value


def _when(value: Any, info: ValidationInfo) -> Any:
    if not isinstance(value, str):
        return value
    context = info.context or {}
    now: datetime = context["now"]
    tz: tzinfo = context["tz"]
    return parse_when(value, now=now, tz=tz)


def _yes_no(value: Any) -> Any:
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in {"yes", "y", "true", "on", "1"}:
            return True
        if lowered in {"no", "n", "false", "off", "0"}:
            return False
        raise ValueError(f"{quoted(value)} should be yes or no")
    return value



def _deadline(value: Any, info: ValidationInfo) -> Any:
    """A duration from now (`2h`), or a time (`"friday 5pm"`, ISO 8601) as the span until it.
    A bare number (`2027`, `1700`) is neither: it is refused, never read as seconds."""
    if not isinstance(value, str):
        return value
    if value.strip().startswith("-"):  # `-5m` is not a time of day: a deadline is never in the past
        raise ValueError(f"{quoted(value)} is in the past; give a duration such as 2h or a time to come")
    if BARE_NUMBER.fullmatch(value.strip()):
        raise ValueError(f"{quoted(value)} has no unit; give a unit, like 2h or 3d, or a time, like \"friday 5pm\"")
    try:
        return parse_duration(value)
    except ValueError as exc:
        duration_error = exc
    context = info.context or {}
    try:  # the same reader as every time a command takes: a phrase is the same instant everywhere
        when = parse_when(value, now=context["now"], tz=context["tz"])
    except (UnreadableTime, KeyError):  # not a time at all (a time that is wrong says why itself)
        if re.fullmatch(r"\d[\d.]*\s*[a-z]+", value.strip().lower()):  # meant as a duration: say what is wrong with it
            raise duration_error from None
        raise ValueError(f"{quoted(value)} is neither a duration nor a time; write e.g. 2h, 3d or \"friday 5pm\"") from None
    return when - context["now"]


Duration = Annotated[timedelta, BeforeValidator(_duration)]
Deadline = Annotated[timedelta, BeforeValidator(_deadline)]
"""A duration, or a time converted to the span from now until it (`closes=friday 5pm`)."""
When = Annotated[datetime, BeforeValidator(_when)]
YesNo = Annotated[bool, BeforeValidator(_yes_no)]


def is_list(annotation: Any) -> bool:
    return get_origin(annotation) is list


# -- decorators: they only record metadata ----------------------------------------------


@dataclass(frozen=True)
class CommandSpec:
    name: str
    args: type[Args]
    role: Role
    help: str
    usage: str
    quota: Quota | None = None
    form: Form | None = None  # asked for in a form when used with no arguments (bot/forms.py)
    activity: bool = True
    """False for a read-only command (`/poll results`): using it is logged, but as a kind the
    growth figures do not count as a member's activity (storage/activity.py). A handler whose
    use changed nothing (`/unfollow` when not following) says so with `ctx.activity = False`."""

    @property
    def group(self) -> str:
        return self.name.split()[0]

    @cached_property
    def no_args(self) -> Args | None:
        """For a command that takes no arguments, its one shared arguments object (frozen,
        so every call may share it); None for a command that takes some."""
        return None if self.args.model_fields else self.args.model_construct()


def command(
    name: str, *, args: type[Args] = NoArgs, role: Role = Role.MEMBER, help: str = "",
    usage: str | None = None, quota: Quota | None = None, form: Form | None = None, activity: bool = True,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:  # fmt: skip
    """Mark a cog method as the handler of `/name`: `async def h(self, ctx, args)`.
    `quota` limits how often members may use it (see bot/quotas.py); `form` is asked for
    instead of the usage line when the command is used with no arguments on a platform with
    forms (see bot/forms.py); `activity=False` marks a read-only command, whose use is not a
    member's activity in the growth figures."""

    def mark(func: Callable[..., Any]) -> Callable[..., Any]:
        spec = CommandSpec(name, args, role, help, usage or usage_of(name, args), quota, form, activity)
        func.__bot_command__ = spec  # type: ignore[attr-defined]
        return func

    return mark


def button(action: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a cog method as the handler of buttons whose id starts with `action:`."""

    def mark(func: Callable[..., Any]) -> Callable[..., Any]:
        func.__bot_button__ = action  # type: ignore[attr-defined]
        return func

    return mark


def on(event_type: type) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a cog method as a listener for a neutral event (MessagePosted, MemberJoined...)."""

    def mark(func: Callable[..., Any]) -> Callable[..., Any]:
        func.__bot_listener__ = event_type  # type: ignore[attr-defined]
        return func

    return mark


def timer(
    name: str, *, rerun: bool = False, limit: int | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a cog method as the runner of durable timers called `name`:
    `async def h(self, key: str, payload: dict) -> None`.

    `rerun=True` declares the effect guarded and idempotent, so a timer a crash interrupted
    runs again at start-up; `limit` caps how many timers of this name run at once."""

    def mark(func: Callable[..., Any]) -> Callable[..., Any]:
        func.__bot_timer__ = TimerMark(name, rerun, limit)  # type: ignore[attr-defined]
        return func

    return mark


def timer_cleanup(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a cog method as the clean-up of a `name` timer that a crash interrupted and that
    is not safe to run again: `async def h(self, key: str, payload: dict) -> None`."""

    def mark(func: Callable[..., Any]) -> Callable[..., Any]:
        func.__bot_timer_cleanup__ = name  # type: ignore[attr-defined]
        return func

    return mark


@dataclass(frozen=True)
class TimerMark:
    name: str
    rerun: bool
    limit: int | None


def usage_of(name: str, args: type[Args]) -> str:
    parts = [f"/{name}"]
    for field_name in args.positional:
        info = args.model_fields[field_name]
        label = field_name.upper()
        if is_list(info.annotation):
            words = f"{label[:-1]} {label[:-1]}..." if label.endswith("S") else f"{label}..."
            parts.append(words)
        elif info.is_required():
            parts.append(_choices(info.annotation) or label)
        else:
            parts.append(f"[{_choices(info.annotation) or field_name}]")
    for field_name, info in args.model_fields.items():
        if field_name not in args.positional:
            deadline = _validated_by(_deadline, info.annotation, info.metadata)
            shown = "DURATION|TIME" if deadline else _placeholder(field_name, info.annotation, info.get_default())
            parts.append(f"{field_name}={shown}" if info.is_required() else f"[{field_name}={shown}]")
    return " ".join(parts)


def _choices(annotation: Any) -> str:
    """`week|month|all` for a Literal field, else an empty string."""
    return "|".join(map(str, get_args(annotation))) if get_origin(annotation) is Literal else ""


def _validated_by(func: Callable[..., Any], annotation: Any, metadata: list[Any]) -> bool:
    """Whether a field's type runs `func` as a validator (`Deadline`, also inside `| None`)."""
    if any(getattr(item, "func", None) is func for item in metadata):
        return True
    return any(_validated_by(func, arg, list(getattr(arg, "__metadata__", ()))) for arg in get_args(annotation))


def _placeholder(name: str, annotation: Any, default: Any) -> str:
    """What to show after `name=` in a usage line: the choices, the default, or the kind."""
    if choices := _choices(annotation):
        return choices
    if isinstance(default, bool):
        return "yes"
    if isinstance(default, timedelta):  # as it is typed: 1h, not 1:00:00
        seconds = int(default.total_seconds())
        unit = next((u for u, size in (("d", 86400), ("h", 3600), ("m", 60)) if seconds % size == 0 and seconds), "s")
        return f"{seconds // {'d': 86400, 'h': 3600, 'm': 60, 's': 1}[unit]}{unit}"
    if default == "":
        return "TEXT"
    if default is not None and not isinstance(default, list):
        return str(default)
    kinds = {timedelta: "DURATION", datetime: "TIME", int: "N"}
    for kind in (annotation, *get_args(annotation)):
        for candidate in (kind, *get_args(kind)):
            if candidate in kinds:
                return kinds[candidate]
    return name.upper()


# -- pickers and suggestions: metadata for platforms with richer forms (Discord) ------------


@dataclass(frozen=True)
class Picks:
    """Marks a text argument that names a channel or a role. A platform with a picker
    (Discord's channel and role options) offers it and passes the pick on as the mention it
    would send (`<#123>`, `<@&123>`); in text the channel or role is typed as usual."""

    kind: Literal["channel", "role"]


ChannelName = Annotated[str, Picks("channel")]
RoleName = Annotated[str, Picks("role")]


@dataclass(frozen=True)
class Choice:
    """One suggestion while an option is typed: what the member sees, and the value it fills in
    (an int for a whole-number option)."""

    label: str
    value: str | int


def suggests(*options: str) -> Callable[[Any], Any]:
    """Mark a classmethod of an `Args` model as what to suggest while `options` are typed
    (Discord's autocomplete): `async def f(cls, cog, ctx, typed) -> list[Choice]`, where `cog`
    is the cog whose command it is and `ctx.event` the command as typed so far. Platforms offer
    the suggestions only to members whose role may use the command, keep those that contain
    what was typed, and record nothing; any typed value is still checked by the command. A
    `Picks("channel")` (or `"role"`) among them asks the platform to list the channels the
    member can see (or the roles) itself, as their mentions; cogs cannot list them.

        @suggests("id")
        @classmethod
        async def open_here(cls, cog: Polls, ctx: Context, typed: str) -> list[Choice]: ..."""

    def mark(func: Any) -> Any:
        getattr(func, "__func__", func).__bot_suggests__ = options
        return func

    return mark


def suggestion_hooks(args: type[Args]) -> dict[str, Callable[..., Awaitable[list[Choice]]]]:
    """Option name -> the model's `@suggests` classmethod (bound), in definition order."""
    hooks: dict[str, Callable[..., Awaitable[list[Choice]]]] = {}
    for klass in reversed(args.__mro__):
        for attr, value in vars(klass).items():
            for option in getattr(getattr(value, "__func__", value), "__bot_suggests__", ()):
                hooks[option] = getattr(args, attr)
    return hooks


# -- the registry -----------------------------------------------------------------------

Handler = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class Command:
    spec: CommandSpec
    handler: Handler
    cog: str


@dataclass(frozen=True)
class ButtonRoute:
    action: str
    handler: Handler
    cog: str

    @cached_property
    def kinds(self) -> tuple[Callable[[str], Any], ...]:
        """The handler's argument types after ctx, read once: every click converts."""
        params = list(inspect.signature(self.handler).parameters.values())[1:]  # after ctx
        hints = inspect.get_annotations(self.handler, eval_str=True)
        return tuple(hints.get(param.name, str) for param in params)

    def convert(self, raw_args: list[str]) -> list[Any]:
        """Turn `poll.vote:3:2` args into the handler's annotated types (int or str)."""
        if len(raw_args) != len(self.kinds):
            raise UsageError("That button is out of date; it has no effect now.")
        converted = []
        for raw, kind in zip(raw_args, self.kinds, strict=True):
            try:
                value = kind(raw)
            except ValueError:
                raise UsageError("That button is out of date; it has no effect now.") from None
            if kind is int and not INT64_MIN <= value <= INT64_MAX:  # SQLite could not even look it up
                raise UsageError("That button is out of date; it has no effect now.")
            converted.append(value)
        return converted


@dataclass(frozen=True)
class TimerRoute:
    name: str
    handler: Handler
    cog: str
    rerun: bool = False
    limit: int | None = None
    cleanup: Handler | None = None


@dataclass
class Registry:
    commands: dict[str, Command] = field(default_factory=dict)
    buttons: dict[str, ButtonRoute] = field(default_factory=dict)
    listeners: dict[type, list[tuple[str, Handler]]] = field(default_factory=dict)
    timers: dict[str, TimerRoute] = field(default_factory=dict)
    cog_titles: dict[str, str] = field(default_factory=dict)

    def form(self, name: str) -> Form | None:
        """The form of the command `name` (`poll create`); None for no such command or no form."""
        command = self.commands.get(name)
        return command.spec.form if command is not None else None

    def collect(self, cog: object) -> str:
        """Register every marked method of `cog`; returns the cog's name."""
        cog_name = cog_name_of(cog)
        doc = inspect.getdoc(cog) or ""
        self.cog_titles[cog_name] = doc.splitlines()[0].rstrip(".") if doc else cog_name
        cleanups: dict[str, Handler] = {}
        for attr, func in vars(type(cog)).items():  # definition order, so /help reads as written
            if not callable(func):
                continue
            method = getattr(cog, attr)
            if spec := getattr(func, "__bot_command__", None):
                if spec.name in self.commands:
                    raise ValueError(f"command /{spec.name} is registered twice")
                self.commands[spec.name] = Command(spec, method, cog_name)
            if action := getattr(func, "__bot_button__", None):
                if action in self.buttons:
                    raise ValueError(f"button {action!r} is registered twice")
                self.buttons[action] = ButtonRoute(action, method, cog_name)
            if event_type := getattr(func, "__bot_listener__", None):
                self.listeners.setdefault(event_type, []).append((cog_name, method))
            if mark := getattr(func, "__bot_timer__", None):
                if mark.name in self.timers:
                    raise ValueError(f"timer {mark.name!r} is registered twice")
                self.timers[mark.name] = TimerRoute(mark.name, method, cog_name, mark.rerun, mark.limit)
            if cleanup_of := getattr(func, "__bot_timer_cleanup__", None):
                cleanups[cleanup_of] = method
        for name, cleanup in cleanups.items():
            route = self.timers.get(name)
            if route is None or route.cog != cog_name:
                raise ValueError(f"timer_cleanup({name!r}) has no timer {name!r} in the same cog")
            self.timers[name] = replace(route, cleanup=cleanup)
        return cog_name

    def find(self, words: list[str]) -> tuple[Command | None, int]:
        """The command named by the first one or two words, and how many words it used."""
        if len(words) >= 2 and (found := self.commands.get(f"{words[0]} {words[1]}")):
            return found, 2
        if words and (found := self.commands.get(words[0])):
            return found, 1
        return None, 0

    def suggest(self, typed: str) -> str | None:
        names = list(self.commands)
        groups = {name.split()[0] for name in names}
        match = process.extractOne(typed, [*names, *sorted(groups)], score_cutoff=70)
        return match[0] if match else None

    def groups(self) -> dict[str, list[Command]]:
        result: dict[str, list[Command]] = {}
        for cmd in self.commands.values():
            result.setdefault(cmd.spec.group, []).append(cmd)
        return result


def cog_name_of(cog: object) -> str:
    return getattr(cog, "name", None) or type(cog).__name__.lower()

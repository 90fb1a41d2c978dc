"""What a command takes: the `Args` base model, the argument types (`Duration`, `Deadline`,
`When`, `YesNo`), the usage line built from a model, and the metadata that platforms with
richer forms use (channel and role pickers, `@suggests` suggestions). Cogs import these
from bot/commands.py, which re-exports them; the text grammar that reads them is in
bot/grammar.py.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Annotated, Any, ClassVar, Literal, get_args, get_origin

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError
from pydantic_core.core_schema import ValidationInfo

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


# -- usage lines ------------------------------------------------------------------------


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

"""The command catalogue: decorators that record metadata on cog methods, the command's
spec and the registry the Bot collects from cogs. What a command takes (the `Args` model,
argument types, usage lines, pickers and suggestions) is in bot/args.py and re-exported
here, where cogs import it; the text grammar every platform shares is in bot/grammar.py.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from rapidfuzz import process

from bot.args import INT64_MAX, INT64_MIN, Args, NoArgs, usage_of
from bot.args import ChannelName as ChannelName  # the argument names, where cogs import them
from bot.args import Choice as Choice
from bot.args import Deadline as Deadline
from bot.args import Duration as Duration
from bot.args import Picks as Picks
from bot.args import RoleName as RoleName
from bot.args import When as When
from bot.args import YesNo as YesNo
from bot.args import field_error as field_error
from bot.args import is_list as is_list
from bot.args import suggestion_hooks as suggestion_hooks
from bot.args import suggests as suggests
from bot.errors import UsageError
from bot.forms import Form
from bot.model import Role
from bot.quotas import Quota

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

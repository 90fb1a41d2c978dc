"""Forms: a command's arguments asked for in a platform's form (a Slack modal, a Discord
modal) instead of typed text, so members need not learn quoting.

A cog declares a `Form` on the command (`@command("poll create", args=..., form=POLL_FORM)`).
When the command is used with nothing after its name on a platform whose responder can open
forms (`FormResponder.open_form`), the form opens instead of the usage line; the console and
power users keep the text form. The submission comes back to `Bot.dispatch` as the same
command with `CommandInvoked.form` set and the form's values as `options`; `form_options`
turns those values into the command's arguments, which are checked by the same `Args` model
as typed text. Problems come back as `FormErrors`, one sentence per form field, for the
platform to show on the fields themselves (Slack's `response_action: errors`); checks that
need the time (a start in the past or too far ahead) are part of the `Args` validation (its
context has `now` and `tz`), so every field's problem comes back at once. A refusal
(`bot.errors.NotAllowed`: the member's role) is not a field's problem: it is shown as a
notice, and on Slack the modal closes.

Platform limits the declarations must respect (checked by `Form.__post_init__`):
Slack: modal title and submit label at most 24 characters, 100 blocks.
Discord: modal title at most 45 characters, labels at most 45, at most 5 components: a
platform that holds fewer fields than a form has shows the first ones (declare fields in
order of importance; the rest keep their defaults).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import ValidationError

from bot.errors import NotAllowed, UsageError, UserError
from bot.model import CommandInvoked

if TYPE_CHECKING:
    from bot.cards import Card
    from bot.commands import CommandSpec, Registry
    from bot.model import Interaction, MessageRef
    from bot.platforms.base import Responder

log = logging.getLogger(__name__)

FieldKind = Literal["text", "paragraph", "lines", "flags", "datetime", "channel", "choice"]
"""How a field is asked for and what its value is (`FormValues`):
- text, paragraph: one line or several of free text -> str;
- lines: a list, one item per input (Slack, with an "Add" button) or per line (Discord)
  -> list[str] or str (split on newlines);
- flags: checkboxes, each choice a yes/no argument -> list[str] of the ticked choices;
- datetime: a date and time picker (Slack) or text (Discord) -> str, ISO 8601 or as typed;
- channel: a channel picker -> str, the channel as a mention (`<#C123>`);
- choice: one of `choices` -> str."""

FormValues = Mapping[str, "str | list[str] | None"]

SLACK_TITLE, DISCORD_TITLE, DISCORD_LABEL = 24, 45, 45  # platform limits, in characters


@dataclass(frozen=True)
class FormField:
    """One field of a form. `name` is the argument it fills, except for `flags`, whose
    `choices` name yes/no arguments (`("anonymous", "Anonymous: ...")`). `items` bounds a
    `lines` field (at least, at most); `max_length` is per item for `lines`. `hint` is
    shown under the field; `picker_hint`, when given, instead of it where the platform asks
    for a `datetime` with a picker rather than typed text (Slack's date and time picker,
    which works in the member's own zone, so a hint about typing a zone would mislead)."""

    name: str
    label: str
    kind: FieldKind = "text"
    required: bool = False
    hint: str = ""
    placeholder: str = ""
    max_length: int | None = None
    choices: tuple[tuple[str, str], ...] = ()
    items: tuple[int, int] = (2, 25)
    picker_hint: str = ""

    def __post_init__(self) -> None:
        if len(self.label) > DISCORD_LABEL:
            raise ValueError(f"form label {self.label!r} is over {DISCORD_LABEL} characters (Discord's limit)")
        if self.kind in ("flags", "choice") and not self.choices:
            raise ValueError(f"form field {self.name!r} of kind {self.kind} needs choices")

    def hint_for(self, picker: bool) -> str:
        """The hint to show: `picker_hint` where the field is a picker and has one."""
        return self.picker_hint if picker and self.picker_hint else self.hint

    @property
    def arguments(self) -> tuple[str, ...]:
        """The arguments this field fills."""
        return tuple(value for value, _ in self.choices) if self.kind == "flags" else (self.name,)


@dataclass(frozen=True)
class Form:
    """A command's form: its title, fields in order of importance, and the submit label."""

    title: str
    fields: tuple[FormField, ...]
    submit: str = "Submit"
    hint: str = field(default="", compare=False)  # one line shown above the fields

    def __post_init__(self) -> None:
        if len(self.title) > SLACK_TITLE or len(self.submit) > SLACK_TITLE:
            raise ValueError(f"form title and submit label are at most {SLACK_TITLE} characters (Slack's limit)")

    def field_of(self, argument: str) -> FormField:
        """The field that fills `argument`; the first field for an unknown argument."""
        for candidate in self.fields:
            if argument in candidate.arguments:
                return candidate
        return self.fields[0]


class FormErrors(UsageError):
    """The submitted form has problems: `errors` maps field names to one sentence each."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(" ".join(errors.values()))
        self.errors = errors


class FormResponder(Protocol):
    """What a responder offers when its platform has forms (both are optional: the core
    checks with `getattr`). `open_form` shows `form` for the command `name`, filled with
    `values`, and returns False when it cannot (no trigger left: then the usage is shown);
    `form_errors` shows problems on the submitted form's fields."""

    async def respond(self, card: Card) -> MessageRef | None: ...

    async def open_form(self, name: str, form: Form, values: FormValues) -> bool: ...

    async def form_errors(self, errors: dict[str, str]) -> None: ...


def exact_instant(text: str) -> datetime | None:
    """The instant an ISO 8601 time with an offset (or Z) names, else None: what a `datetime`
    field's picker sends (Slack's), and what a member may also type. A command refuses such
    a time (in the past, too far ahead) without examples of typing: whoever picked it needs
    another time, not a format."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return when if when.tzinfo is not None else None


def form_options(form: Form, values: FormValues) -> dict[str, Any]:
    """The command's options from a form's values: empty fields are left out (the argument
    keeps its default), `lines` become a list, each `flags` choice becomes yes or no."""
    options: dict[str, Any] = {}
    for spec in form.fields:
        value = values.get(spec.name)
        if spec.kind == "flags":
            ticked = set(value or [])
            for choice, _ in spec.choices:
                options[choice] = choice in ticked
        elif spec.kind == "lines":
            items = value.splitlines() if isinstance(value, str) else list(value or [])
            if cleaned := [item.strip() for item in items if item and item.strip()]:
                options[spec.name] = cleaned
        elif isinstance(value, str) and value.strip():
            options[spec.name] = value.strip()
    return options


def form_args(spec: CommandSpec, values: FormValues, context: dict[str, Any]) -> Any:
    """The command's `Args` from a submitted form, checked as typed text is.

    Raises FormErrors naming every field with a problem (one sentence each)."""
    from bot.grammar import describe_error

    assert spec.form is not None
    try:
        return spec.args.model_validate(form_options(spec.form, values), context=context)
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors(include_url=False):
            argument = next((str(part) for part in error["loc"] if not isinstance(part, int)), "")
            target = spec.form.field_of(argument)
            sentence = describe_error(error, target.label)
            errors.setdefault(target.name, sentence[:1].upper() + sentence[1:])
        raise FormErrors(errors) from None


async def open_form(responder: Responder, spec: CommandSpec) -> bool:
    """Open the command's form where the responder's platform has forms; False where it has
    none (the console), or where it could not (then the command runs as typed)."""
    opener = getattr(responder, "open_form", None)
    return opener is not None and spec.form is not None and await opener(spec.name, spec.form, {})


async def show_form_errors(registry: Registry, event: Interaction, responder: Responder, exc: UserError) -> bool:
    """Show a submitted form's problem on its fields where the platform can: FormErrors as
    they are, any other UserError on the field of the argument it names (`exc.argument`),
    else on the first field. False when the event was not a form submission, the platform
    shows problems as a notice, or the problem is a refusal (`NotAllowed`: the member may
    not use the command, which no field can fix): then the caller shows it as a notice."""
    shower = getattr(responder, "form_errors", None)
    if shower is None or not isinstance(event, CommandInvoked) or not event.form or not event.name:
        return False
    if isinstance(exc, NotAllowed):
        return False
    form = registry.form(event.name)
    if form is None:
        return False
    errors = exc.errors if isinstance(exc, FormErrors) else {form.field_of(exc.argument or "").name: str(exc)}
    try:
        await shower(errors)
    except Exception:
        log.exception("could not show a form's errors")
    return True

"""Forms on Discord: a command's `Form` (bot/forms.py) asked for in a modal.

Opening: a slash command that has a form is synced with every option optional, so
`/poll create` alone is allowed. It reaches the core with no arguments, and the core calls
`CommandResponder.open_form`, which answers the interaction with a modal (interaction
callback type 9) whose custom_id is `form:<command name>`. A member who may not use the
command is refused by the core before any form opens.

Discord's limits (https://discord.com/developers/docs/components/reference):
- a modal: title 1-45 characters, custom_id 1-100, 1 to 5 top-level components; it answers a
  slash command or a button click, never a modal's submission, and it cannot show errors on
  its fields;
- a Label (type 18, around each input): label 45 characters, description 100;
- a text input (4): value and max_length up to 4,000, placeholder 100;
- a string select (3): up to 25 options; a checkbox group (22): 1 to 10 options; option
  labels, values and descriptions up to 100.

Each field becomes a Label (the field's label, its hint as the description) around:
text and datetime -> a short text input (datetime with its placeholder: the core parses the
time); paragraph -> a paragraph text input; lines -> a paragraph text input, one item a
line, at most items x (max_length + 1) characters; flags -> a checkbox group (each box a
yes/no argument); channel -> a channel select (text and announcement channels); choice -> a
string select. Only the first 5 fields are shown; the rest keep their defaults.

Submission: a MODAL_SUBMIT interaction (type 5) with
`data = {"custom_id": "form:poll create", "components": [{"type": 18, "id": 1, "component":
{"type": 4, "id": 2, "custom_id": "question", "value": "..."}}, ...], "resolved": {...}}`;
each input's custom_id is its field's name. It becomes
`CommandInvoked(name=..., options=<FormValues>, form=True)` in the interaction's channel, with
the member and role found as for slash commands, acknowledged as they are (deferred at 2 s).
Values (`FormValues`): text input -> str ("" when empty); checkbox group -> list[str] of the
ticked choices; string select -> the chosen value or None; channel select -> `<#id>` or None.

Problems: a modal cannot show them, so `SubmitResponder.form_errors` answers with a private
message listing each field's label and its sentence, and a "Fix and send again" button
(`form.retry:<command>:<token>`) that reopens the modal filled with what the member typed.
Those drafts are kept in memory only (`Drafts`: 15 minutes, 1,000 at most); an unknown or
expired draft reopens the form empty. The button runs the command again, alone, through the
core (`RetryResponder`), so the member's role is checked as for the slash command: someone
who may not use it is refused and sees no form. A refusal of a submission (the member's
role) is a private notice, never a field's problem.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import discord

from bot.cards import Button, Card, Style, notice
from bot.commands import Registry
from bot.forms import Form, FormField, FormValues
from bot.model import CommandInvoked, Interaction, Member, Place
from bot.platforms.discord_commands import POSTING_CHANNELS
from bot.platforms.discord_render import NO_MENTIONS, clip
from bot.platforms.discord_respond import InteractionResponder

log = logging.getLogger("bot.platforms.discord")

FORM_PREFIX = "form:"  # a modal's custom_id: form:<command name>
RETRY_ACTION = "form.retry"  # the button's custom_id: form.retry:<command name>:<draft token>
RETRY_PREFIX = RETRY_ACTION + ":"
RETRY_LABEL = "Fix and send again"
CUSTOM_ID_MAX = 100
TITLE_MAX = 45  # a modal's title
COMPONENTS_MAX = 5  # a modal's top-level components
DESCRIPTION_MAX = 100  # a Label's description
PLACEHOLDER_MAX = 100  # a text input's placeholder (a select's is 150)
TEXT_MAX = 4000  # a text input's value and max_length
OPTION_MAX = 100  # an option's label, value and description
SELECT_OPTIONS_MAX = 25
CHECKBOXES_MAX = 10
LINE_MAX = 100  # an item of a `lines` field without its own max_length
DRAFT_SECONDS = 15 * 60
DRAFTS_MAX = 1000
LABEL, ACTION_ROW = 18, 1  # component types that hold inputs in a submission
STALE_FORM = "That form has changed since it was opened; use the command again."
MENTION = re.compile(r"<#(\d{1,20})>")

Handle = Callable[..., Awaitable[None]]
"""DiscordPlatform._handle: (interaction, make_event, *, component, respond) -> None."""
Values = dict[str, "str | list[str] | None"]


# -- the modal --------------------------------------------------------------------------------


def form_modal(name: str, form: Form, values: FormValues) -> discord.ui.Modal:
    """The modal for the command `name`: the form's first 5 fields, filled with `values`
    (`FormValues`, as a submission gives them). The modal is stopped before it is sent, so
    discord.py keeps nothing of it: its submission is routed by custom_id alone."""
    custom_id = FORM_PREFIX + name
    if len(custom_id) > CUSTOM_ID_MAX:
        raise ValueError(f"form custom_id {custom_id!r} is over {CUSTOM_ID_MAX} characters")
    modal = discord.ui.Modal(title=clip(form.title, TITLE_MAX), custom_id=custom_id, timeout=None)
    for spec in form.fields[:COMPONENTS_MAX]:
        modal.add_item(discord.ui.Label(
            text=spec.label, description=clip(spec.hint, DESCRIPTION_MAX) or None,
            component=_input(spec, values.get(spec.name)),
        ))  # fmt: skip
    modal.stop()
    return modal


def _input(spec: FormField, value: str | list[str] | None) -> discord.ui.Item[Any]:
    if spec.kind == "flags":
        ticked = set(_listed(value))
        group: discord.ui.CheckboxGroup[Any] = discord.ui.CheckboxGroup(
            custom_id=spec.name, required=False, min_values=0, max_values=min(len(spec.choices), CHECKBOXES_MAX)
        )
        for choice, label in spec.choices[:CHECKBOXES_MAX]:
            group.add_option(label=clip(label, OPTION_MAX), value=choice, default=choice in ticked)
        return group
    if spec.kind == "choice":
        chosen = value if isinstance(value, str) else None
        options = [discord.SelectOption(label=clip(label, OPTION_MAX), value=choice, default=choice == chosen)
                   for choice, label in spec.choices[:SELECT_OPTIONS_MAX]]  # fmt: skip
        return discord.ui.Select(custom_id=spec.name, options=options, required=spec.required,
                                 min_values=1 if spec.required else 0, max_values=1,
                                 placeholder=clip(spec.placeholder, PLACEHOLDER_MAX) or None)  # fmt: skip
    if spec.kind == "channel":
        picked = MENTION.fullmatch(value.strip()) if isinstance(value, str) else None
        defaults = [discord.SelectDefaultValue(id=int(picked[1]), type=discord.SelectDefaultValueType.channel)] if picked else []
        return discord.ui.ChannelSelect(custom_id=spec.name, channel_types=list(POSTING_CHANNELS), required=spec.required,
                                        min_values=1 if spec.required else 0, max_values=1, default_values=defaults,
                                        placeholder=clip(spec.placeholder, PLACEHOLDER_MAX) or None)  # fmt: skip
    paragraph = spec.kind in ("paragraph", "lines")
    limit = text_limit(spec)
    placeholder = spec.placeholder or ("One per line" if spec.kind == "lines" else "")
    text = "\n".join(_listed(value)) if isinstance(value, list) else value or ""
    return discord.ui.TextInput(
        custom_id=spec.name, style=discord.TextStyle.paragraph if paragraph else discord.TextStyle.short,
        placeholder=clip(placeholder, PLACEHOLDER_MAX) or None, default=text[:limit] or None,
        required=spec.required, max_length=limit,
    )  # fmt: skip


def text_limit(spec: FormField) -> int:
    """A text input's max_length: the field's own; for `lines`, room for its most items, each
    at its longest, one a line; never over Discord's 4,000."""
    if spec.kind == "lines":
        return min(TEXT_MAX, spec.items[1] * ((spec.max_length or LINE_MAX) + 1))
    return min(TEXT_MAX, spec.max_length or TEXT_MAX)


def _listed(value: str | list[str] | None) -> list[str]:
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return [value] if isinstance(value, str) and value else []


# -- the submission ---------------------------------------------------------------------------


def read_values(form: Form, data: Mapping[str, Any]) -> Values:
    """A MODAL_SUBMIT's `data` as `FormValues`, one entry per field found in it (see the module
    docstring). Whatever a client sends is taken apart without raising: inputs of unknown
    fields are ignored, text is cut at 4,000 characters, lists at 25 items."""
    fields = {spec.name: spec for spec in form.fields[:COMPONENTS_MAX]}
    values: Values = {}
    for item in _inputs(data.get("components")):
        spec = fields.get(str(item.get("custom_id")))
        if spec is not None and spec.name not in values:
            values[spec.name] = _value(spec, item)
    return values


def _inputs(components: Any) -> Iterator[dict[str, Any]]:
    """The inputs of a submission: inside a Label (`component`) or, the older way, an action
    row (`components`)."""
    for component in components if isinstance(components, list) else []:
        if not isinstance(component, dict):
            continue
        if component.get("type") == LABEL:
            inner = [component.get("component")]
        elif component.get("type") == ACTION_ROW:
            inner = component.get("components")
        else:
            inner = [component]
        yield from (item for item in (inner if isinstance(inner, list) else []) if isinstance(item, dict))


def _value(spec: FormField, item: dict[str, Any]) -> str | list[str] | None:
    raw = item.get("values")
    chosen = [str(v)[:OPTION_MAX] for v in raw[:SELECT_OPTIONS_MAX] if isinstance(v, str | int)] if isinstance(raw, list) else []
    if spec.kind == "flags":
        return chosen
    if spec.kind == "choice":
        return chosen[0] if chosen else None
    if spec.kind == "channel":
        ids = [v for v in chosen if v.isdigit()]
        return f"<#{ids[0]}>" if ids else None
    value = item.get("value")
    return value[:TEXT_MAX] if isinstance(value, str) else None


# -- drafts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Draft:
    member_id: str
    name: str
    values: Values
    expires: float


class Drafts:
    """What members typed into forms that came back with problems, for "Fix and send again":
    at most `limit` drafts (the oldest go first), each for `ttl` seconds, in memory only."""

    def __init__(self, ttl: float = DRAFT_SECONDS, limit: int = DRAFTS_MAX,
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self.ttl = ttl
        self.limit = limit
        self.clock = clock
        self._drafts: OrderedDict[str, Draft] = OrderedDict()

    def __len__(self) -> int:
        return len(self._drafts)

    def put(self, member_id: str, name: str, values: FormValues) -> str:
        """Keep a draft; returns its token (16 characters, no colon)."""
        self._prune()
        token = secrets.token_hex(8)
        self._drafts[token] = Draft(member_id, name, dict(values), self.clock() + self.ttl)
        while len(self._drafts) > self.limit:
            self._drafts.popitem(last=False)
        return token

    def get(self, token: str, member_id: str, name: str) -> Draft | None:
        """The member's own draft of that command's form, while it is kept."""
        self._prune()
        draft = self._drafts.get(token)
        return draft if draft is not None and (draft.member_id, draft.name) == (member_id, name) else None

    def _prune(self) -> None:
        now = self.clock()
        while self._drafts and next(iter(self._drafts.values())).expires <= now:
            self._drafts.popitem(last=False)


# -- responders -------------------------------------------------------------------------------


class CommandResponder(InteractionResponder):
    """A slash command's responder (`InteractionResponder`) that can open a form."""

    async def open_form(self, name: str, form: Form, values: FormValues) -> bool:
        """Answer with the form's modal; False when the interaction was already answered (a
        modal must be the first answer) or Discord refused it (then the core shows the usage)."""
        async with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            if self.interaction.response.is_done():
                return False
            try:
                await self.interaction.response.send_modal(form_modal(name, form, values))
            except discord.HTTPException as exc:
                log.warning("could not open the form of /%s interaction=%s status=%s code=%s: %s",
                            name, self.interaction.id, exc.status, exc.code, exc.text)  # fmt: skip
                return False
        return True


class RetryResponder(CommandResponder):
    """A "Fix and send again" click's responder: opens the form filled with the draft."""

    def __init__(self, interaction: discord.Interaction, *, values: Values, **responder: Any) -> None:
        super().__init__(interaction, **responder)
        self.values = values

    async def open_form(self, name: str, form: Form, values: FormValues) -> bool:
        return await super().open_form(name, form, values or self.values)


class SubmitResponder(InteractionResponder):
    """Answers a form's submission; shows problems with a button to fix them (`form_errors`)."""

    def __init__(self, interaction: discord.Interaction, *, name: str, form: Form, values: Values, drafts: Drafts,
                 **responder: Any) -> None:  # fmt: skip
        super().__init__(interaction, **responder)
        self.name = name
        self.form = form
        self.values = values
        self.drafts = drafts

    async def form_errors(self, errors: dict[str, str]) -> None:
        """A private message: each field's label and its sentence, in the form's order, and
        "Fix and send again", which reopens the form filled with what was typed. A problem
        with a field the modal does not show (past Discord's five) cannot be fixed there: it
        is said plainly, with the option to type instead, and no button."""
        labels = {spec.name: spec.label for spec in self.form.fields}
        shown = {spec.name for spec in self.form.fields[:COMPONENTS_MAX]}
        ordered = [name for name in labels if name in errors] + [name for name in errors if name not in labels]
        if not any(name in shown for name in ordered):
            options = ", ".join(f"{name}:" for name in ordered)
            text = " ".join(errors[name] for name in ordered)
            await self.respond(notice(f"{text} Type /{self.name} with {options} to choose it."))
            return
        lines = [f"**{labels.get(name, name)}**: {errors[name]}" for name in ordered]
        token = self.drafts.put(str(self.interaction.user.id), self.name, self.values)
        retry = Button(RETRY_LABEL, RETRY_ACTION, (self.name, token), Style.PRIMARY)
        minutes = round(self.drafts.ttl / 60)
        text = "\n".join(lines) + f"\n\nWhat you typed is kept for {minutes} minutes."
        await self.respond(Card(title=f"/{self.name}: please fix the form", text=text, buttons=(retry,), ephemeral=True))


# -- routing ----------------------------------------------------------------------------------


class DiscordForms:
    """Routes what belongs to forms: MODAL_SUBMIT interactions and "Fix and send again" clicks.

    `handle` is the platform's one way in for interactions (member, role and place found as
    for slash commands, the answer deferred at 2 s); `closing` says when to take nothing new."""

    def __init__(self, registry: Registry, handle: Handle, closing: Callable[[], bool], drafts: Drafts | None = None) -> None:
        self.registry = registry
        self.handle = handle
        self.closing = closing
        self.drafts = drafts or Drafts()

    @staticmethod
    def claims(interaction: discord.Interaction) -> bool:
        """Whether the interaction is a form's: any modal submission, or a retry button."""
        if interaction.type is discord.InteractionType.modal_submit:
            return True
        if interaction.type is not discord.InteractionType.component:
            return False
        return str((interaction.data or {}).get("custom_id", "")).startswith(RETRY_PREFIX)

    async def take(self, interaction: discord.Interaction) -> None:
        if self.closing():
            return
        data: Mapping[str, Any] = interaction.data or {}
        custom_id = str(data.get("custom_id", ""))
        if interaction.type is discord.InteractionType.modal_submit:
            await self._submit(interaction, custom_id, data)
        else:
            await self._reopen(interaction, custom_id)

    def _form(self, name: str) -> Form | None:
        return self.registry.form(name)

    async def _submit(self, interaction: discord.Interaction, custom_id: str, data: Mapping[str, Any]) -> None:
        name = custom_id.removeprefix(FORM_PREFIX)
        form = self._form(name) if custom_id.startswith(FORM_PREFIX) else None
        if form is None:
            await self._stale(interaction)
            return
        values = read_values(form, data)

        def event(member: Member, place: Place) -> Interaction:
            return CommandInvoked(member, place, name=name, options=dict(values), form=True)

        respond = partial(SubmitResponder, name=name, form=form, values=values, drafts=self.drafts)
        await self.handle(interaction, event, component=False, respond=respond)

    async def _reopen(self, interaction: discord.Interaction, custom_id: str) -> None:
        """"Fix and send again": the command again, alone, through the core, which checks the
        member's role as for the slash command (someone who may not use it is refused and
        sees no form) and opens the form, filled with the member's draft while it is kept."""
        name, _, token = custom_id.removeprefix(RETRY_PREFIX).rpartition(":")
        form = self._form(name)
        if form is None:
            await self._stale(interaction)
            return
        draft = self.drafts.get(token, str(interaction.user.id), name)

        def event(member: Member, place: Place) -> Interaction:
            return CommandInvoked(member, place, name=name)

        respond = partial(RetryResponder, values=draft.values if draft else {})
        await self.handle(interaction, event, component=False, respond=respond)

    @staticmethod
    async def _stale(interaction: discord.Interaction) -> None:
        try:
            await interaction.response.send_message(STALE_FORM, ephemeral=True, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException as exc:
            log.warning("could not answer interaction=%s status=%s", interaction.id, exc.status)

"""A command's `Form` (bot/forms.py) as a Slack modal, and the modal's submitted state as
the core's `FormValues`. Pure functions and pydantic models: no I/O, no Slack client
(bot/platforms/slack_forms.py opens, grows and submits the modals).

The modal (`modal`): `{"type": "modal", "callback_id": "form:poll create", "title",
"submit", "close", "private_metadata", "blocks"}`; one input block per field with
`block_id` = the field's name and an element whose `action_id` is "value":

- text, paragraph: `plain_text_input` (paragraph: multiline);
- lines: one `plain_text_input` per item, block ids `options.0`, `options.1`, ...
  (`items[0]` shown at first and, if the field is required, required), then an actions
  block `options.add` holding the button `form.add:options` while fewer than `items[1]`
  are shown and one more fits;
- flags: `checkboxes`, one per choice (value = the yes/no argument);
- datetime: `datetimepicker` (a Unix time, passed on as ISO 8601 with offset, in UTC; the
  member picks in their own Slack zone, so the field's `picker_hint` is shown);
- channel: `conversations_select`, empty unless a value is given (passed on as `<#C123>`;
  left empty, the command's default applies: its channel setting, else the channel the
  form was opened in, which `private_metadata` keeps);
- choice: `static_select`.

`private_metadata` is JSON (`FormState`): `{"channel": "C123", "items": {"options": 3},
"response_url": "https://hooks.slack.com/..."}`, the response_url left out when it would
not fit. The submission's `view.state.values` is `{block_id: {"value": {"type": ...,
"value" | "selected_options" | "selected_date_time" | "selected_conversation" |
"selected_option": ...}}}`, checked by `FormSubmission` as strictly as every payload
(bot/platforms/slack_payloads.py) before anything reads it.

Slack's limits, kept here: title, submit and close at most 24 characters; 100 blocks;
callback_id 255; private_metadata 3,000; labels and hints 2,000; placeholders 150;
plain_text_input max_length 3,000; 10 checkboxes; option texts 75 and values 150; 100
select options.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import Field, ValidationError

from bot.forms import Form, FormField, FormValues
from bot.platforms.slack_edge import Refused
from bot.platforms.slack_payloads import (
    BlockActions,
    Id,
    Model,
    Name,
    View,
    ViewSubmission,
    _text,
)

log = logging.getLogger("bot.platforms.slack")

FORM_PREFIX = "form:"  # callback_id of a form's modal: form:<command name>
ADD_PREFIX = "form.add:"  # action_id of a lines field's "Add" button: form.add:<field name>
VALUE = "value"  # the action_id of every input
MAX_VIEW_BLOCKS = 100
MAX_METADATA = 3000
MAX_TITLE = 24
MAX_LABEL = 2000
MAX_PLACEHOLDER = 150
MAX_INPUT = 3000
MAX_CHECKBOXES = 10
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
MAX_SELECT_OPTIONS = 100
MAX_ERROR = 500  # characters of one field's error sentence
LATEST_TIME = 253402300799  # 9999-12-31T23:59:59Z: a datetimepicker's value beyond is refused
CLOSE = "Cancel"

Block = dict[str, Any]


# -- what Slack sends back: the view's state, checked like every payload --------------------


class Picked(Model):
    value: _text(MAX_OPTION_VALUE)  # type: ignore[valid-type]


class InputState(Model):
    """One input's value, as `view.state.values[block_id][action_id]`."""

    type: Name  # type: ignore[valid-type]
    value: _text(MAX_INPUT) | None = None  # type: ignore[valid-type]
    selected_options: list[Picked] | None = Field(None, max_length=MAX_SELECT_OPTIONS)
    selected_option: Picked | None = None
    selected_date_time: int | None = Field(None, ge=0, le=LATEST_TIME)
    selected_conversation: Id | None = None


class ViewState(Model):
    values: Annotated[dict[Name, Annotated[dict[Name, InputState], Field(max_length=5)]],  # type: ignore[valid-type]
                      Field(max_length=MAX_VIEW_BLOCKS)] = {}  # fmt: skip


class FormView(View):
    state: ViewState = ViewState()


class FormSubmission(ViewSubmission):
    """A `view_submission` of one of our forms (`callback_id` form:...)."""

    view: FormView


def validate_submission(body: dict[str, Any]) -> FormSubmission:
    """The submission, or Refused(200) for a malformed one or a view that is not a form."""
    try:
        submission = FormSubmission.model_validate(body)
    except ValidationError as exc:
        names = sorted({".".join(str(p) for p in error["loc"][:2]) for error in exc.errors()})
        raise Refused(200, f"malformed payload: view_submission ({', '.join(names)[:120]})") from None
    if not submission.view.callback_id.startswith(FORM_PREFIX):
        raise Refused(200, "view not handled")
    return submission


def is_form_click(actions: BlockActions) -> bool:
    """A click inside one of our modals (the "Add" button), not on a message or the Home tab."""
    return actions.view is not None and actions.view.callback_id.startswith(FORM_PREFIX)


# -- private_metadata ----------------------------------------------------------------------


@dataclass(frozen=True)
class FormState:
    """What the modal carries in `private_metadata`: the channel the command came from,
    how many inputs each `lines` field shows, and the command's response_url."""

    channel: str
    items: dict[str, int] = field(default_factory=dict)
    response_url: str | None = None

    def dump(self) -> str:
        """JSON of at most 3,000 characters; without the response_url when it would not fit."""
        data: dict[str, Any] = {"channel": self.channel, "items": self.items}
        text = json.dumps({**data, "response_url": self.response_url} if self.response_url else data)
        return text if len(text) <= MAX_METADATA else json.dumps(data)

    @classmethod
    def load(cls, text: str) -> FormState | None:
        """The state written by `dump`, or None for anything else."""
        try:
            data = json.loads(text)
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        channel, items, url = data.get("channel"), data.get("items", {}), data.get("response_url")
        if not isinstance(channel, str) or not channel.isalnum() or not isinstance(items, dict):
            return None
        if not all(isinstance(k, str) and type(v) is int and 0 <= v <= MAX_VIEW_BLOCKS for k, v in items.items()):
            return None
        return cls(channel, items, url if isinstance(url, str) and url.startswith(("https://", "http://")) else None)


def initial_state(form: Form, channel: str, response_url: str | None, values: FormValues | None = None) -> FormState:
    items = {}
    for spec in form.fields:
        if spec.kind == "lines":
            given = (values or {}).get(spec.name)
            given_items = given.splitlines() if isinstance(given, str) else list(given or [])
            items[spec.name] = min(max(spec.items[0], len(given_items), 1), spec.items[1])
    return FormState(channel, items, response_url)


# -- the modal ---------------------------------------------------------------------------------


def modal(name: str, form: Form, state: FormState, values: FormValues | None = None) -> dict[str, Any]:
    """The `modal` view of `form` for the command `name` (shape and limits: module doc),
    filled with `values` where given."""
    values = values or {}
    blocks: list[Block] = []
    if form.hint:
        blocks.append({"type": "context", "elements": [_plain(form.hint, MAX_LABEL)]})
    for spec in form.fields:
        blocks += _field_blocks(spec, state.items.get(spec.name, spec.items[0]), values.get(spec.name))
    if len(blocks) > MAX_VIEW_BLOCKS:  # a declaration too large for Slack: the first fields win
        log.warning("form %s has %d blocks; Slack shows %d", name, len(blocks), MAX_VIEW_BLOCKS)
        blocks = blocks[:MAX_VIEW_BLOCKS]
    return {
        "type": "modal", "callback_id": FORM_PREFIX + name, "title": _plain(form.title, MAX_TITLE),
        "submit": _plain(form.submit, MAX_TITLE), "close": _plain(CLOSE, MAX_TITLE),
        "private_metadata": state.dump(), "blocks": blocks,
    }  # fmt: skip


def add_item(form: Form, state: FormState, field_name: str) -> FormState | None:
    """The state with one more input for the `lines` field, or None when it shows its
    most already or one more would not fit in Slack's 100 blocks."""
    spec = next((f for f in form.fields if f.name == field_name and f.kind == "lines"), None)
    if spec is None:
        return None
    shown = state.items.get(spec.name, spec.items[0])
    if shown >= spec.items[1]:
        return None
    grown = replace(state, items={**state.items, spec.name: shown + 1})
    return grown if _block_count(form, grown) <= MAX_VIEW_BLOCKS else None


def _block_count(form: Form, state: FormState) -> int:
    return len(modal("x", form, replace(state, response_url=None))["blocks"])


def _field_blocks(spec: FormField, shown: int, value: str | list[str] | None) -> list[Block]:
    if spec.kind != "lines":
        hint = spec.hint_for(picker=spec.kind == "datetime")
        return [_input(spec.name, spec.label, _element(spec, value), spec.required, hint)]
    given = value.splitlines() if isinstance(value, str) else list(value or [])
    shown = max(1, min(max(shown, len(given)), spec.items[1]))
    singular = _singular(spec.label)
    blocks = []
    for index in range(shown):
        element = _text_input(spec, given[index] if index < len(given) else None)
        blocks.append(_input(f"{spec.name}.{index}", f"{singular} {index + 1}", element,
                             spec.required and index < spec.items[0], spec.hint if index == 0 else ""))  # fmt: skip
    if shown < spec.items[1]:
        button = {"type": "button", "action_id": ADD_PREFIX + spec.name, "value": spec.name,
                  "text": _plain(f"Add {singular.lower()}", MAX_OPTION_TEXT)}  # fmt: skip
        blocks.append({"type": "actions", "block_id": f"{spec.name}.add", "elements": [button]})
    return blocks


def _input(block_id: str, label: str, element: Block, required: bool, hint: str) -> Block:
    block: Block = {"type": "input", "block_id": block_id, "label": _plain(label, MAX_LABEL),
                    "element": element, "optional": not required}  # fmt: skip
    if hint:
        block["hint"] = _plain(hint, MAX_LABEL)
    return block


def _element(spec: FormField, value: str | list[str] | None) -> Block:
    text = value if isinstance(value, str) else None
    if spec.kind == "flags":
        options = [_option(choice, label) for choice, label in spec.choices[:MAX_CHECKBOXES]]
        element: Block = {"type": "checkboxes", "action_id": VALUE, "options": options}
        ticked = [o for o in options if isinstance(value, list) and o["value"] in value]
        if ticked:
            element["initial_options"] = ticked
        return element
    if spec.kind == "datetime":
        element = {"type": "datetimepicker", "action_id": VALUE}
        if text and (stamp := _timestamp(text)) is not None:
            element["initial_date_time"] = stamp
        return element
    if spec.kind == "channel":
        element = {"type": "conversations_select", "action_id": VALUE,
                   "filter": {"include": ["public", "private"], "exclude_bot_users": True}}  # fmt: skip
        if text and text.startswith("<#"):
            element["initial_conversation"] = text[2:].split("|")[0].rstrip(">")
        return _placeheld(element, spec)
    if spec.kind == "choice":
        options = [_option(choice, label) for choice, label in spec.choices[:MAX_SELECT_OPTIONS]]
        element = {"type": "static_select", "action_id": VALUE, "options": options}
        if chosen := next((o for o in options if o["value"] == text), None):
            element["initial_option"] = chosen
        return _placeheld(element, spec)
    return _text_input(spec, text)


def _text_input(spec: FormField, value: str | None) -> Block:
    element: Block = {"type": "plain_text_input", "action_id": VALUE}
    if spec.kind == "paragraph":
        element["multiline"] = True
    if spec.max_length:
        element["max_length"] = min(spec.max_length, MAX_INPUT)
    if value:
        element["initial_value"] = value[:MAX_INPUT]
    return _placeheld(element, spec)


def _placeheld(element: Block, spec: FormField) -> Block:
    if spec.placeholder:
        element["placeholder"] = _plain(spec.placeholder, MAX_PLACEHOLDER)
    return element


def _option(value: str, label: str) -> Block:
    return {"text": _plain(label, MAX_OPTION_TEXT), "value": value[:MAX_OPTION_VALUE]}


def _plain(text: str, limit: int) -> Block:
    return {"type": "plain_text", "text": text if len(text) <= limit else text[: limit - 1] + "\u2026"}


def _singular(label: str) -> str:
    """ "Options" -> "Option", for the items' labels and the Add button."""
    return label[:-1] if label.endswith("s") and not label.endswith("ss") else label


def _timestamp(text: str) -> int | None:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return int(when.timestamp()) if when.tzinfo is not None else None


# -- the submission --------------------------------------------------------------------------


def form_values(form: Form, values: Mapping[str, Mapping[str, InputState]]) -> dict[str, str | list[str] | None]:
    """`view.state.values` as the core's FormValues (shapes: `bot.forms.FieldKind`)."""
    result: dict[str, str | list[str] | None] = {}
    for spec in form.fields:
        if spec.kind == "lines":
            prefix = spec.name + "."
            items = sorted((int(block[len(prefix):]), _state(state)) for block, state in values.items()
                           if block.startswith(prefix) and block[len(prefix):].isdigit())  # fmt: skip
            result[spec.name] = [item.value or "" for _, item in items if item is not None]
        else:
            result[spec.name] = _value(spec, _state(values.get(spec.name)))
    return result


def _state(block: Mapping[str, InputState] | None) -> InputState | None:
    if not block:
        return None
    return block.get(VALUE) or next(iter(block.values()))


def _value(spec: FormField, state: InputState | None) -> str | list[str] | None:
    if state is None:
        return None
    if spec.kind == "flags":
        return [picked.value for picked in state.selected_options or []]
    if state.selected_date_time is not None:
        return datetime.fromtimestamp(state.selected_date_time, UTC).isoformat()
    if state.selected_conversation is not None:
        return f"<#{state.selected_conversation}>"
    if state.selected_option is not None:
        return state.selected_option.value
    return state.value


def error_blocks(form: Form, errors: Mapping[str, str]) -> dict[str, str]:
    """The core's errors (field name -> sentence) keyed by block id, as Slack shows them:
    a `lines` field's on its first input; a name that is no field's, on the first field."""
    blocks: dict[str, str] = {}
    for name, sentence in errors.items():
        spec = next((f for f in form.fields if f.name == name), form.fields[0])
        block = f"{spec.name}.0" if spec.kind == "lines" else spec.name
        text = sentence if len(sentence) <= MAX_ERROR else sentence[: MAX_ERROR - 1] + "\u2026"
        blocks[block] = f"{blocks[block]} {text}" if block in blocks else text
    return blocks


def first_block(form: Form) -> str:
    return next(iter(error_blocks(form, {form.fields[0].name: "x"})))

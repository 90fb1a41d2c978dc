"""Modals in the fake Slack: `views.open` and `views.update` (mixed into `FakeSlack`), and
the payloads Slack sends from a modal (mixed into `SlackWire`): a `view_submission` with
`view.state.values` built from the view's own inputs, and a `block_actions` from a button
in the view.

As Slack does, the fake refuses a `views.open` without a trigger_id, with one it never
issued (`invalid_trigger_id`), one already used (`exchanged_trigger_id`) or one older than
3 seconds (`expired_trigger_id`), and a view whose shape Slack would reject
(`invalid_arguments`, the reason chained as an AssertionError): not a modal, a title,
submit or close label over 24 characters, over 100 blocks, a block_id used twice,
private_metadata over 3,000 characters, an input without a label or with an unknown
element. `views.update` needs the view's id and, when given, its current hash
(`hash_conflict` otherwise). Views are kept in `views` (id -> the view as last opened or
updated, with `id`, `hash`, `user` and `channel`: who opened it, from where).

The submission helper does not play Slack's client: it sends what the test gives,
including what the client would refuse (a required input left blank, text over
`max_length`), as a modified client could.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass
from typing import Any, NoReturn

TRIGGER_LIFE = 3.0  # seconds Slack accepts a trigger_id for
INPUT_ELEMENTS = {"plain_text_input", "checkboxes", "datetimepicker", "conversations_select", "static_select",
                  "channels_select", "radio_buttons", "number_input", "datepicker", "timepicker"}  # fmt: skip
VIEW_BLOCKS = {"input", "actions", "context", "section", "divider", "header"}


@dataclass
class Trigger:
    issued: float  # time.monotonic()
    user: str
    channel: str
    used: bool = False


class FakeViews:
    """The modal half of `FakeSlack` (which sets `views`, `triggers` and `_ids`)."""

    views: dict[str, dict[str, Any]]
    triggers: dict[str, Trigger]
    _ids: itertools.count[int]

    def _fail(self, error: str, why: str | None = None) -> NoReturn:
        from tests.e2e.slack.fake_slack import SlackError  # the module that mixes this in

        raise SlackError(error) from (AssertionError(why) if why else None)

    def issue_trigger(self, trigger_id: str, user: str, channel: str) -> str:
        self.triggers[trigger_id] = Trigger(time.monotonic(), user, channel)
        return trigger_id

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        trigger_id = args.get("trigger_id") or ""
        trigger = self.triggers.get(trigger_id)
        if trigger is None:
            self._fail("invalid_trigger_id")
        if trigger.used:
            self._fail("exchanged_trigger_id")
        if time.monotonic() - trigger.issued > TRIGGER_LIFE:
            self._fail("expired_trigger_id")
        trigger.used = True
        view = self._checked_view(args.get("view"))
        view_id = f"V{next(self._ids):08d}"
        self.views[view_id] = {**view, "id": view_id, "hash": f"h{next(self._ids)}",
                               "user": trigger.user, "channel": trigger.channel}  # fmt: skip
        return {"view": self.views[view_id]}

    def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        current = self.views.get(args.get("view_id") or "")
        if current is None:
            self._fail("not_found")
        if args.get("hash") and args["hash"] != current["hash"]:
            self._fail("hash_conflict")
        view = self._checked_view(args.get("view"))
        self.views[current["id"]] = {**view, "id": current["id"], "hash": f"h{next(self._ids)}",
                                     "user": current["user"], "channel": current["channel"]}  # fmt: skip
        return {"view": self.views[current["id"]]}

    def _checked_view(self, view: Any) -> dict[str, Any]:
        if isinstance(view, str):
            view = json.loads(view)
        if not isinstance(view, dict):
            self._fail("invalid_arguments", "no view")
        if error := modal_error(view):
            self._fail("invalid_arguments", error)
        return dict(view)

    def latest_view(self) -> dict[str, Any]:
        return list(self.views.values())[-1]


def modal_error(view: dict[str, Any]) -> str | None:
    """Why Slack would refuse this modal, or None (the checks in the module doc)."""
    if view.get("type") != "modal":
        return "not a modal"
    for key in ("title", "submit", "close"):
        label = view.get(key)
        if label is None and key != "title":
            continue
        if not isinstance(label, dict) or label.get("type") != "plain_text" or not 0 < len(label.get("text", "")) <= 24:
            return f"{key}: plain_text of 1 to 24 characters"
    if len(view.get("callback_id", "")) > 255 or len(view.get("private_metadata", "")) > 3000:
        return "callback_id or private_metadata too long"
    blocks = view.get("blocks") or []
    if not 0 < len(blocks) <= 100:
        return "1 to 100 blocks"
    block_ids = [b["block_id"] for b in blocks if "block_id" in b]
    if len(block_ids) != len(set(block_ids)) or any(len(b) > 255 for b in block_ids):
        return "block_ids must be unique, at most 255 characters"
    for block in blocks:
        if block.get("type") not in VIEW_BLOCKS:
            return f"unknown block {block.get('type')}"
        if block["type"] == "input":
            if error := _input_error(block):
                return error
            if "submit" not in view:
                return "a view with inputs needs submit"
        elif block["type"] == "actions":
            for element in block.get("elements") or [None]:
                if not isinstance(element, dict) or not 0 < len(element.get("text", {}).get("text", "")) <= 75:
                    return "actions: button text 1 to 75 characters"
    return None


def _input_error(block: dict[str, Any]) -> str | None:
    label, element = block.get("label") or {}, block.get("element") or {}
    if label.get("type") != "plain_text" or not 0 < len(label.get("text", "")) <= 2000:
        return "input label"
    if len(block.get("hint", {}).get("text", "")) > 2000:
        return "input hint"
    kind = element.get("type")
    if kind not in INPUT_ELEMENTS or not element.get("action_id"):
        return f"input element {kind}"
    if len(element.get("placeholder", {}).get("text", "")) > 150 or element.get("max_length", 0) > 3000:
        return "placeholder or max_length"
    options = element.get("options")
    if kind == "checkboxes" and not (options and len(options) <= 10):
        return "checkboxes: 1 to 10 options"
    if kind == "static_select" and not (options and len(options) <= 100):
        return "static_select: 1 to 100 options"
    if any(not 0 < len(o["text"]["text"]) <= 75 or len(o["value"]) > 150 for o in options or []):
        return "option text or value"
    return None


def state_values(view: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """`view.state.values` as Slack sends it: every input of the view, with what `values`
    gives by block id (text for a text input, a list of values for checkboxes, a Unix time
    for a datetimepicker, a channel id for a conversations_select (else its
    `initial_conversation`, else the channel the view was opened from where
    `default_to_current_conversation` is set, else none), an option value for a
    select) and empty otherwise."""
    state: dict[str, Any] = {}
    for block in view["blocks"]:
        if block["type"] != "input":
            continue
        element, given = block["element"], values.get(block["block_id"])
        kind = element["type"]
        entry: dict[str, Any] = {"type": kind}
        if kind == "checkboxes":
            options = {o["value"]: o for o in element["options"]}
            entry["selected_options"] = [options[v] for v in given or []]
        elif kind == "datetimepicker":
            entry["selected_date_time"] = given
        elif kind == "conversations_select":
            current = view["channel"] if element.get("default_to_current_conversation") else None
            entry["selected_conversation"] = given or element.get("initial_conversation") or current
        elif kind == "static_select":
            entry["selected_option"] = next((o for o in element["options"] if o["value"] == given), None)
        else:
            entry["value"] = given
        state[block["block_id"]] = {element["action_id"]: entry}
    return state


class ViewWire:
    """The modal half of `SlackWire` (which sets `fake` and `_ids`)."""

    fake: Any
    _ids: itertools.count[int]

    def _view_payload(self, view: dict[str, Any], values: dict[str, Any] | None = None) -> dict[str, Any]:
        payload = {key: view[key] for key in ("id", "hash", "type", "callback_id", "private_metadata", "title", "blocks")
                   if key in view}  # fmt: skip
        payload.update(team_id="T0LIBRARY", app_id="A0APP", root_view_id=view["id"], previous_view_id=None,
                       state={"values": state_values(view, values or {})})  # fmt: skip
        return payload

    def _user(self, user: str) -> dict[str, Any]:
        return {"id": user, "username": self.fake.users[user].name, "name": self.fake.users[user].name,
                "team_id": "T0LIBRARY"}  # fmt: skip

    def view_submission(self, view_id: str, values: dict[str, Any], user: str | None = None) -> dict[str, Any]:
        """A `view_submission` of the view as it is now, filled with `values` (by block id)."""
        view = self.fake.views[view_id]
        return {
            "type": "view_submission", "token": "verification-token", "api_app_id": "A0APP",
            "team": {"id": "T0LIBRARY", "domain": "library-folk"}, "user": self._user(user or view["user"]),
            "view": self._view_payload(view, values), "response_urls": [], "trigger_id": f"t{next(self._ids)}",
            "is_enterprise_install": False,
        }  # fmt: skip

    def view_click(self, view_id: str, action_id: str, user: str | None = None,
                   values: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
        """A `block_actions` from the button `action_id` in the view: a `view` (with its
        hash and metadata), a container of type view, no channel, no response_url."""
        view = self.fake.views[view_id]
        button = next(e for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]
                      if e["action_id"] == action_id)  # fmt: skip
        block = next(b["block_id"] for b in view["blocks"] if b["type"] == "actions" and button in b["elements"])
        return {
            "type": "block_actions", "token": "verification-token", "api_app_id": "A0APP",
            "team": {"id": "T0LIBRARY", "domain": "library-folk"}, "user": self._user(user or view["user"]),
            "container": {"type": "view", "view_id": view_id}, "view": self._view_payload(view, values),
            "trigger_id": f"t{next(self._ids)}",
            "actions": [{"type": "button", "action_id": action_id, "block_id": block, "value": button.get("value", ""),
                         "text": button["text"], "action_ts": f"{time.time():.6f}"}],
        }  # fmt: skip

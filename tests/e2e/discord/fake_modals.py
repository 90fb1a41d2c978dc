"""Modals in the fake Discord: what Discord checks in a modal (interaction callback type 9)
and the MODAL_SUBMIT data (interaction type 5) its client sends back, in the shapes of
https://discord.com/developers/docs/components/reference (Label, Text Input, String Select,
Channel Select, Checkbox Group) and of discord.py 2.7 (discord/types/interactions.py).

A modal, as the bot sends it:
    {"custom_id": "form:poll create", "title": "Create a poll", "components": [
        {"type": 18, "label": "Question", "description": "...", "component":
            {"type": 4, "custom_id": "question", "style": 1, "max_length": 300, "value": "..."}},
        {"type": 18, "label": "Settings", "component": {"type": 22, "custom_id": "settings",
            "options": [{"value": "multi", "label": "...", "default": true}, ...]}}, ...]}
Its submission, as Discord sends it:
    {"custom_id": "form:poll create", "components": [
        {"type": 18, "id": 1, "component": {"type": 4, "id": 2, "custom_id": "question", "value": "..."}},
        {"type": 18, "id": 3, "component": {"type": 22, "id": 4, "custom_id": "settings", "values": ["multi"]}},
        {"type": 18, "id": 5, "component": {"type": 8, "id": 6, "custom_id": "channel", "values": ["7001"]}}],
     "resolved": {"channels": {"7001": {...the channel, with "permissions"}}}}
"""

from __future__ import annotations

import itertools
from typing import Any

ACTION_ROW, STRING_SELECT, TEXT_INPUT, CHANNEL_SELECT, LABEL, CHECKBOX_GROUP = 1, 3, 4, 8, 18, 22
SELECT_OPTIONS = {STRING_SELECT: 25, CHECKBOX_GROUP: 10}


def modal_error(modal: dict[str, Any]) -> str | None:
    """Why Discord would refuse this modal, or None: a custom_id of 1-100 and a title of 1-45
    characters; 1 to 5 components, each a Label (label 1-45, description up to 100) around one
    input, or (the older way) an action row around one text input; inputs with distinct
    custom_ids of 1-100, none disabled; a text input of style 1 or 2, a placeholder up to 100,
    max_length 1-4,000 and a value no longer; a string select with 1-25 options, a checkbox
    group with 1-10 (labels and values 1-100); min_values at least 1 unless `required` is false."""
    if not 1 <= len(modal.get("custom_id") or "") <= 100:
        return "custom_id: 1 to 100 characters"
    if not 1 <= len(modal.get("title") or "") <= 45:
        return "title: 1 to 45 characters"
    components = modal.get("components") or []
    if not 1 <= len(components) <= 5:
        return "components: 1 to 5"
    seen: set[str] = set()
    for component in components:
        if component.get("type") == LABEL:
            if not 1 <= len(component.get("label") or "") <= 45:
                return "label: 1 to 45 characters"
            if len(component.get("description") or "") > 100:
                return "label description: at most 100 characters"
            item = component.get("component") or {}
        elif component.get("type") == ACTION_ROW and len(component.get("components") or []) == 1:
            item = component["components"][0]
            if item.get("type") != TEXT_INPUT:
                return "an action row in a modal holds one text input"
        else:
            return f"component type {component.get('type')} at the top of a modal"
        if error := _input_error(item, seen):
            return error
    return None


def _input_error(item: dict[str, Any], seen: set[str]) -> str | None:
    custom_id = item.get("custom_id") or ""
    if not 1 <= len(custom_id) <= 100 or custom_id in seen:
        return "input custom_id: 1 to 100 characters, unique in the modal"
    seen.add(custom_id)
    kind = item.get("type")
    if item.get("disabled"):
        return "a modal cannot hold disabled components"
    if kind == TEXT_INPUT:
        limit = item.get("max_length") or 4000
        if item.get("style") not in (1, 2) or not 1 <= limit <= 4000:
            return "text input: style 1 or 2, max_length 1 to 4000"
        if len(item.get("placeholder") or "") > 100 or len(item.get("value") or "") > limit:
            return "text input: placeholder at most 100 characters, value at most max_length"
        return None
    if kind in SELECT_OPTIONS:
        options = item.get("options") or []
        if not 1 <= len(options) <= SELECT_OPTIONS[kind]:
            return f"type {kind}: 1 to {SELECT_OPTIONS[kind]} options"
        if any(not 1 <= len(o.get("label") or "") <= 100 or not 1 <= len(o.get("value") or "") <= 100 for o in options):
            return "option label and value: 1 to 100 characters"
    elif kind != CHANNEL_SELECT:
        return f"input type {kind} is not one this fake knows"
    if item.get("required", True) and item.get("min_values") is not None and item["min_values"] < 1:
        return "min_values: at least 1 when the input is required"
    return None


def inputs(modal: dict[str, Any]) -> list[dict[str, Any]]:
    """The modal's inputs, in order, with the Label's text as `label` when there is one."""
    found = []
    for component in modal.get("components") or []:
        if component.get("type") == LABEL:
            found.append({**component["component"], "label": component.get("label")})
        else:
            found += component.get("components") or []
    return found


def submission(modal: dict[str, Any], values: dict[str, Any], channel: Any) -> dict[str, Any]:
    """The MODAL_SUBMIT `data` for `modal` filled in with `values` (custom_id -> a str for a
    text input, a list of option values for a string select or checkbox group, a channel id
    for a channel select; an input not given keeps what the modal prefilled). `channel(id)`
    is the channel object a picked id resolves to (with the member's `permissions` in it). Refuses, as Discord's client does, a
    required input left empty, choices the input does not offer, and more than max_values;
    max_length is not enforced, so tests can show the bot's own checks."""
    known = {item["custom_id"]: item for item in inputs(modal)}
    unknown = set(values) - set(known)
    if unknown:
        raise AssertionError(f"no input {sorted(unknown)} in the modal; it has {sorted(known)}")
    ids = itertools.count(1)
    components, resolved = [], {}
    for item in inputs(modal):
        answer = _answer(item, values.get(item["custom_id"], _prefilled(item)), channel, resolved)
        label_id = next(ids)
        components.append({"type": LABEL, "id": label_id, "component": {"type": item["type"], "id": next(ids),
                                                                       "custom_id": item["custom_id"], **answer}})  # fmt: skip
    data: dict[str, Any] = {"custom_id": modal["custom_id"], "components": components}
    if resolved:
        data["resolved"] = {"channels": resolved}
    return data


def _prefilled(item: dict[str, Any]) -> Any:
    if item["type"] == TEXT_INPUT:
        return item.get("value") or ""
    if item["type"] == CHANNEL_SELECT:
        return [int(d["id"]) for d in item.get("default_values") or []]
    return [o["value"] for o in item.get("options") or [] if o.get("default")]


def _answer(item: dict[str, Any], value: Any, channel: Any, resolved: dict[str, Any]) -> dict[str, Any]:
    name, kind = item["custom_id"], item["type"]
    required = item.get("required", True)
    if kind == TEXT_INPUT:
        if not isinstance(value, str):
            raise AssertionError(f"{name} is a text input: give a str, not {value!r}")
        if required and not value:
            raise AssertionError(f"Discord does not send the modal with {name} (required) empty")
        return {"value": value}
    picked = [value] if isinstance(value, int | str) else list(value)
    if required and not picked:
        raise AssertionError(f"Discord does not send the modal with nothing picked in {name} (required)")
    most = item.get("max_values") or (len(item.get("options") or []) if kind == CHECKBOX_GROUP else 1)
    if len(picked) > most:
        raise AssertionError(f"{name} takes at most {most}")
    if kind == CHANNEL_SELECT:
        for channel_id in picked:
            found = channel(int(channel_id))
            if item.get("channel_types") and found["type"] not in item["channel_types"]:
                raise AssertionError(f"{name} takes channels of types {item['channel_types']}")
            resolved[str(channel_id)] = found
        return {"values": [str(c) for c in picked]}
    offered = [o["value"] for o in item.get("options") or []]
    if any(p not in offered for p in picked):
        raise AssertionError(f"{name} offers {offered}, not {picked}")
    return {"values": picked}

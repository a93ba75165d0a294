"""Turn friendly test values ("Severity": "High") into the exact view state Slack would send the bot."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from bot.sandbox.slack_limits import all_options

_TEXT = {"plain_text_input", "email_text_input", "url_text_input", "number_input"}
_SINGLE_OPTION = {"static_select", "external_select", "radio_buttons"}
_MULTI_OPTION = {"checkboxes", "multi_static_select", "multi_external_select"}
# element type -> (state key, the element property holding its initial value)
_SCALAR: dict[str, tuple[str, str]] = {
    "datepicker": ("selected_date", "initial_date"),
    "timepicker": ("selected_time", "initial_time"),
    "datetimepicker": ("selected_date_time", "initial_date_time"),
    "users_select": ("selected_user", "initial_user"),
    "conversations_select": ("selected_conversation", "initial_conversation"),
    "channels_select": ("selected_channel", "initial_channel"),
    "rich_text_input": ("rich_text_value", "initial_value"),
}
_LISTS: dict[str, tuple[str, str]] = {
    "multi_users_select": ("selected_users", "initial_users"),
    "multi_conversations_select": ("selected_conversations", "initial_conversations"),
    "multi_channels_select": ("selected_channels", "initial_channels"),
    "file_input": ("files", "initial_files"),
}
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_URL = re.compile(r"https?://\S+")


class ViewSubmissionBlocked(ValueError):
    """The Slack client would refuse to submit the modal (required field empty, too long, bad email, ...)."""


def _label(block: Mapping[str, Any]) -> str:
    label = block.get("label")
    return str(label.get("text", "")) if isinstance(label, dict) else ""


def find_input(blocks: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """Input block by block_id, else by label (exact, case-insensitive), else the one label containing key."""
    inputs = [b for b in blocks if b.get("type") == "input"]
    by_id = [b for b in inputs if b.get("block_id") == key]
    exact = [b for b in inputs if _label(b).casefold() == key.casefold()]
    partial = [b for b in inputs if key.casefold() in _label(b).casefold()]
    for candidates in (by_id, exact, partial):
        if len(candidates) == 1:
            return candidates[0]
        if len(candidates) > 1:
            names = ", ".join(repr(_label(b)) for b in candidates)
            raise KeyError(f"{key!r} is ambiguous between inputs {names}")
    available = ", ".join(f"{_label(b)!r} (block_id {b.get('block_id')!r})" for b in inputs)
    raise KeyError(f"no input matches {key!r}; available: {available or 'none'}")


def _option(element: Mapping[str, Any], wanted: Any) -> dict[str, Any]:
    if isinstance(wanted, dict):
        return dict(wanted)
    options = all_options(dict(element))
    if not options and element.get("type") in ("external_select", "multi_external_select"):
        return {"text": {"type": "plain_text", "text": str(wanted), "emoji": True}, "value": str(wanted)}
    text = str(wanted).casefold()
    for option in options:
        if str(option.get("text", {}).get("text", "")).casefold() == text or option.get("value") == wanted:
            return dict(option)
    shown = ", ".join(repr(o.get("text", {}).get("text")) for o in options)
    raise ValueError(f"{wanted!r} is not an option of {element.get('action_id')!r}; options: {shown}")


def state_for(element: Mapping[str, Any], value: Any) -> dict[str, Any]:
    """The {"type": ..., <selected_*>: ...} entry Slack puts in state.values for a user-chosen value."""
    kind = str(element.get("type"))
    state: dict[str, Any] = {"type": kind}
    if kind in _TEXT:
        state["value"] = None if value is None else str(value)
    elif kind in _SINGLE_OPTION or kind == "overflow":
        state["selected_option"] = None if value is None else _option(element, value)
    elif kind in _MULTI_OPTION:
        items = [value] if isinstance(value, (str, dict)) else list(value or [])
        state["selected_options"] = [_option(element, v) for v in items]
    elif kind == "datepicker":
        state["selected_date"] = (
            value.strftime("%Y-%m-%d") if isinstance(value, (dt.date, dt.datetime)) else value
        )
    elif kind == "timepicker":
        state["selected_time"] = (
            value.strftime("%H:%M") if isinstance(value, (dt.time, dt.datetime)) else value
        )
    elif kind == "datetimepicker":
        state["selected_date_time"] = int(value.timestamp()) if isinstance(value, dt.datetime) else value
    elif kind == "rich_text_input" and isinstance(value, str):
        section = {"type": "rich_text_section", "elements": [{"type": "text", "text": value}]}
        state["rich_text_value"] = {"type": "rich_text", "elements": [section]}
    elif kind in _SCALAR:
        state[_SCALAR[kind][0]] = value
    elif kind in _LISTS:
        state[_LISTS[kind][0]] = [value] if isinstance(value, str) else list(value or [])
    else:
        raise ValueError(f"don't know how Slack reports a {kind!r} element")
    return state


def untouched_state(element: Mapping[str, Any]) -> dict[str, Any]:
    """What Slack reports for an input the user left alone: its initial value, or an explicit null/empty."""
    kind = str(element.get("type"))
    if kind in _TEXT:
        return {"type": kind, "value": element.get("initial_value")}
    if kind in _SINGLE_OPTION:
        return {"type": kind, "selected_option": element.get("initial_option")}
    if kind in _MULTI_OPTION:
        return {"type": kind, "selected_options": list(element.get("initial_options") or [])}
    if kind in _SCALAR:
        key, initial = _SCALAR[kind]
        return {"type": kind, key: element.get(initial)}
    if kind in _LISTS:
        key, initial = _LISTS[kind]
        return {"type": kind, key: list(element.get(initial) or [])}
    return {"type": kind}


def _is_empty(state: Mapping[str, Any]) -> bool:
    return all(v in (None, "", []) for k, v in state.items() if k != "type")


def _client_errors(block: Mapping[str, Any], state: Mapping[str, Any]) -> list[str]:
    label, element = _label(block), block.get("element") or {}
    if _is_empty(state):
        return [] if block.get("optional") else [f"{label!r}: Please complete this required field."]
    value = state.get("value")
    if not isinstance(value, str):
        return []
    kind = element.get("type")
    problems: list[str] = []
    if kind in ("plain_text_input", "email_text_input", "url_text_input"):
        if element.get("min_length") and len(value) < element["min_length"]:
            problems.append(f"{label!r}: must be at least {element['min_length']} characters")
        if element.get("max_length") and len(value) > element["max_length"]:
            problems.append(f"{label!r}: must be at most {element['max_length']} characters")
    if kind == "email_text_input" and not _EMAIL.fullmatch(value):
        problems.append(f"{label!r}: not an email address")
    if kind == "url_text_input" and not _URL.fullmatch(value):
        problems.append(f"{label!r}: not a URL")
    if kind == "number_input":
        problems += _number_errors(label, element, value)
    return problems


def _number_errors(label: str, element: Mapping[str, Any], value: str) -> list[str]:
    pattern = r"-?\d+(\.\d+)?" if element.get("is_decimal_allowed") else r"-?\d+"
    if not re.fullmatch(pattern, value):
        return [f"{label!r}: not a valid number"]
    number = float(value)
    low, high = element.get("min_value"), element.get("max_value")
    if low is not None and number < float(low):
        return [f"{label!r}: must be at least {low}"]
    if high is not None and number > float(high):
        return [f"{label!r}: must be at most {high}"]
    return []


def build_state(
    blocks: list[dict[str, Any]], values: Mapping[str, Any], *, validate: bool = True
) -> dict[str, dict[str, dict[str, Any]]]:
    chosen: dict[str, Any] = {}
    for key, value in values.items():
        block = find_input(blocks, key)
        chosen[str(block["block_id"])] = value
    state: dict[str, dict[str, dict[str, Any]]] = {}
    problems: list[str] = []
    for block in blocks:
        if block.get("type") != "input":
            continue
        element = block["element"]
        block_id = str(block["block_id"])
        entry = state_for(element, chosen[block_id]) if block_id in chosen else untouched_state(element)
        state[block_id] = {str(element["action_id"]): entry}
        problems += _client_errors(block, entry)
    if validate and problems:
        raise ViewSubmissionBlocked("Slack would not submit this modal: " + "; ".join(problems))
    return state


def find_action(blocks: list[dict[str, Any]], action_id: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    for block in blocks:
        candidates: list[Any] = []
        if block.get("type") == "actions":
            candidates = list(block.get("elements") or [])
        elif block.get("type") == "section":
            candidates = [block.get("accessory")]
        elif block.get("type") == "input":
            candidates = [block.get("element")]
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return block, element
    return None

"""Reading what Slack sends back from a modal: input values and our own `private_metadata`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def state_value(view: Mapping[str, Any], block_id: str) -> Any:
    """The submitted value of one input, whatever its element type; None when left empty."""
    action = view.get("state", {}).get("values", {}).get(block_id, {}).get(block_id)
    if not isinstance(action, Mapping):
        return None
    for key in ("value", "selected_date_time", "selected_user", "selected_date", "selected_time"):
        if key in action:
            return action[key]
    if "selected_option" in action:
        selected = action["selected_option"]
        value = selected.get("value") if isinstance(selected, Mapping) else None
        # Slack's option values are strings; a forged list or dict would crash the enum lookups that follow.
        return value if isinstance(value, str) else None
    return None


def text_value(view: Mapping[str, Any], block_id: str) -> str:
    """A text input's value, trimmed; empty when left empty or when it is not text at all (a forged number)."""
    value = state_value(view, block_id)
    return value.strip() if isinstance(value, str) else ""


def has_broken_characters(text: str) -> bool:
    """True for lone UTF-16 surrogates and NUL: no client types them, and PostgreSQL refuses both in text (so a
    forged NUL would otherwise be "the database refused the write", on one database and not the other)."""
    return any("\ud800" <= c <= "\udfff" or c == "\x00" for c in text)


def view_metadata(view: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON object our modal put in `private_metadata`; empty when it is missing or not ours."""
    try:
        data = json.loads(view.get("private_metadata") or "{}")
    except (TypeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}

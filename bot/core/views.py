"""Reading what Slack sends back from a modal: input values and our own `private_metadata`."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
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


# The datetimepicker's range as Slack documents it is any Unix time; no support workflow means a moment outside
# these years, and Python's datetime cannot hold most forged ones (2**70, say).
_SLACK_USER = re.compile(r"[UW][A-Z0-9]{2,20}")
_EARLIEST, _LATEST = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)


def moment(value: Any) -> datetime | None:
    """A datetimepicker's Unix time as an aware datetime; None for anything else (a forged bool, float, text, or
    a time no support workflow means)."""
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    if not _EARLIEST.timestamp() <= value < _LATEST.timestamp():
        return None
    return datetime.fromtimestamp(value, UTC)


def is_slack_user(value: Any) -> bool:
    """A user ID as users_select sends it (U… or, on Enterprise Grid, W…)."""
    return isinstance(value, str) and _SLACK_USER.fullmatch(value) is not None


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

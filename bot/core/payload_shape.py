"""What a Slack payload must look like before Bolt sees it.

Bolt reads fields such as `actions[0]`, `view["type"]` or `event["type"]` while it routes a request, so a
signed body with odd shapes there fails inside Bolt (a 500 and a traceback) before our error handling can
answer. Each check here names the first field that no real Slack request would send like that.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _is_object_with(value: object, *keys: str) -> bool:
    return isinstance(value, dict) and all(isinstance(value.get(k), str) and value.get(k) for k in keys)


def _user(body: dict[str, Any]) -> str | None:
    return None if _is_object_with(body.get("user"), "id") else "`user` is not an object with an id"


def _block_actions(body: dict[str, Any]) -> str | None:
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions:
        return "`actions` is not a non-empty list"
    if not all(_is_object_with(a, "action_id") for a in actions):
        return "an action is not an object with an action_id"
    return _user(body)


def _view_payload(body: dict[str, Any]) -> str | None:
    view = body.get("view")
    if not isinstance(view, dict) or not _is_object_with(view, "type", "id"):
        return "`view` is not an object with a type and an id"
    if "state" in view and not isinstance(view["state"], dict):
        return "`view.state` is not an object"
    if not isinstance(view.get("private_metadata", ""), str) or not isinstance(view.get("callback_id", ""), str):
        return "`view.private_metadata` or `view.callback_id` is not a string"
    return _user(body)


def _block_suggestion(body: dict[str, Any]) -> str | None:
    if not isinstance(body.get("action_id"), str) or not isinstance(body.get("value", ""), str):
        return "an options request without a string action_id and value"
    return _user(body)


def _event_callback(body: dict[str, Any]) -> str | None:
    return None if _is_object_with(body.get("event"), "type") else "`event` is not an object with a type"


def _url_verification(body: dict[str, Any]) -> str | None:
    return None if isinstance(body.get("challenge"), str) else "url_verification without a string challenge"


_CHECKS: dict[str, Callable[[dict[str, Any]], str | None]] = {
    "block_actions": _block_actions,
    "view_submission": _view_payload,
    "view_closed": _view_payload,
    "block_suggestion": _block_suggestion,
    "event_callback": _event_callback,
    "url_verification": _url_verification,
}


def is_ssl_check(body: object) -> bool:
    """Slack's periodic certificate check (`ssl_check=1`): answered 200 with nothing done."""
    return isinstance(body, dict) and body.get("ssl_check") == "1" and "command" not in body


def malformed_reason(body: object) -> str | None:
    """Why a signed request, as Bolt parsed it, cannot be a Slack payload; None when it can."""
    if not isinstance(body, dict):
        return "the body is neither a JSON object nor a form"
    kind = body.get("type")
    if isinstance(kind, str):  # events, interactions and options requests all carry a type
        check = _CHECKS.get(kind)
        return check(body) if check else None
    if "command" in body:
        missing = [k for k in ("user_id", "trigger_id") if not body.get(k)]
        return f"slash command without {', '.join(missing)}" if missing else None
    return "neither a payload, a command nor an event"

"""What the PagerDuty Events API v2 accepts: the checks behind its 400 answers, one function per part of an event.

Each rule returns the error strings PagerDuty lists for it, in PagerDuty's order; a new rule joins ``_RULES``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

EVENT_ACTIONS = ("trigger", "acknowledge", "resolve")
SEVERITIES = ("critical", "error", "warning", "info")
MAX_SUMMARY_LEN = 1024
MAX_DEDUP_KEY_LEN = 255

INVALID_EVENT_STATUS = "invalid event"
INVALID_EVENT_MESSAGE = "Event object is invalid"
UNRECOGNIZED_BODY: dict[str, Any] = {
    "status": "Unrecognized object",
    "message": "Event object format is unrecognized",
    "errors": ["JSON parse error"],
}


def decode_event(raw: bytes) -> dict[str, Any] | None:
    """The event object, or None when PagerDuty would answer ``UNRECOGNIZED_BODY``."""
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def event_error(body: dict[str, Any], *, routing_keys: frozenset[str] | None = None) -> dict[str, Any] | None:
    """PagerDuty's 400 body for an event object it refuses, or None if it accepts it.

    ``routing_keys``, when given, are the only integration keys that exist.
    """
    errors = _routing_key_errors(body.get("routing_key"), routing_keys)
    for rule in _RULES:
        errors.extend(rule(body))
    return invalid_event(errors) if errors else None


def invalid_event(errors: list[str]) -> dict[str, Any]:
    return {"status": INVALID_EVENT_STATUS, "message": INVALID_EVENT_MESSAGE, "errors": errors}


def _routing_key_errors(routing_key: Any, routing_keys: frozenset[str] | None) -> list[str]:
    if not isinstance(routing_key, str) or not routing_key.strip():
        return ["'routing_key' is missing or blank"]
    if routing_keys is not None and routing_key not in routing_keys:
        return ["Invalid routing key"]
    return []


def _action_errors(body: dict[str, Any]) -> list[str]:
    action = body.get("event_action")
    if not isinstance(action, str) or not action.strip():
        return ["'event_action' is missing or blank"]
    if action not in EVENT_ACTIONS:
        return [
            "'event_action' is invalid "
            "(must be one of the following: 'trigger', 'acknowledge' or 'resolve')"
        ]
    return []


def _dedup_key_errors(body: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    dedup_key = body.get("dedup_key")
    if dedup_key is not None:
        if not isinstance(dedup_key, str):
            errors.append("'dedup_key' must be a string")
        elif len(dedup_key) > MAX_DEDUP_KEY_LEN:
            errors.append(f"'dedup_key' is too long (maximum is {MAX_DEDUP_KEY_LEN} characters)")
    if body.get("event_action") in ("acknowledge", "resolve") and not (
        isinstance(dedup_key, str) and dedup_key.strip()
    ):
        errors.append("'dedup_key' is missing or blank")
    return errors


def _payload_errors(body: dict[str, Any]) -> list[str]:
    if body.get("event_action") != "trigger":
        return []  # only a trigger carries a payload
    payload = body.get("payload")
    if not isinstance(payload, dict):
        return ["'payload' is missing or blank"]
    errors: list[str] = []
    summary = payload.get("summary")
    if not isinstance(summary, str) or not summary.strip():
        errors.append("'payload.summary' is missing or blank")
    elif len(summary) > MAX_SUMMARY_LEN:
        errors.append(f"'payload.summary' is too long (maximum is {MAX_SUMMARY_LEN} characters)")
    source = payload.get("source")
    if not isinstance(source, str) or not source.strip():
        errors.append("'payload.source' is missing or blank")
    severity = payload.get("severity")
    if not isinstance(severity, str) or not severity.strip():
        errors.append("'payload.severity' is missing or blank")
    elif severity not in SEVERITIES:
        errors.append(
            "'payload.severity' is invalid "
            "(must be one of the following: 'critical', 'warning', 'error' or 'info')"
        )
    return errors


_RULES: tuple[Callable[[dict[str, Any]], list[str]], ...] = (_action_errors, _dedup_key_errors, _payload_errors)

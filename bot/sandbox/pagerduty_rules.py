"""What the PagerDuty Events API v2 accepts: the checks behind its 400 answers, one function per part of an event.

Each rule returns the error strings PagerDuty lists for it, in PagerDuty's order; a new rule joins ``_RULES``.

Sources, cited per rule below:

- the Events API v2 OpenAPI document, PagerDuty/api-schema ``reference/events-v2/openapiv3.json``
  (``/enqueue`` request body, ``components.schemas.Payload``, ``Links`` and ``Images``);
- PagerDuty/developer-docs ``docs/events-API-v2/02-Trigger-Events.md`` ("Parameters" table and "Context
  Properties") and ``01-Overview.md`` ("Size Limits", "PagerDuty Common Event Format").

Where PagerDuty publishes the error string (the routing key's length and alphabet, the 400 example of the old
v2 developer docs, seen verbatim in client bug reports) it is used as is; where it publishes only the rule, the
string follows the shape of its published ones (``'<field>' is ...``) and the rule's docstring says so.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

EVENT_ACTIONS = ("trigger", "acknowledge", "resolve")
SEVERITIES = ("critical", "error", "warning", "info")
MAX_SUMMARY_LEN = 1024
MAX_DEDUP_KEY_LEN = 255
ROUTING_KEY_LEN = 32
# "Events API payloads are limited to 512 KB" (01-Overview.md, Size Limits); PagerDuty's 2018 postmortem on
# enforcing it says an oversized event is answered with a 400. Read as binary kilobytes: the docs give no
# byte count, and this is the looser reading, so the stand-in never refuses what PagerDuty might take.
MAX_EVENT_BYTES = 512 * 1024
# The PD-CEF optional text fields (Payload schema: type string).
PAYLOAD_STRING_FIELDS = ("component", "group", "class")
# An ISO 8601 date and time of day (Payload.timestamp is ``format: date-time``): a bare date is not enough.
_DATE_TIME = re.compile(r"\d{4}-?\d{2}-?\d{2}[T ]\d{2}")

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


def size_error(raw: bytes) -> dict[str, Any] | None:
    """PagerDuty's 400 body for a request body over the 512 KB event size limit, or None.

    Source: developer-docs ``01-Overview.md`` "Size Limits". PagerDuty does not publish the error string.
    """
    if len(raw) <= MAX_EVENT_BYTES:
        return None
    return invalid_event([f"Event object is too large (maximum is {MAX_EVENT_BYTES // 1024} KB)"])


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
    """The routing key is "the 32 character Integration Key" (02-Trigger-Events.md, Parameters).

    Both format messages are PagerDuty's own, period included, as its 400 bodies carry them (the v2 developer
    docs' 400 example; client reports such as envato/pagerduty#70 and blockpane/tenderduty#10, where both
    came back together). A well-formed key that is not an integration key is "Invalid routing key".
    """
    if not isinstance(routing_key, str) or not routing_key.strip():
        return ["'routing_key' is missing or blank"]
    errors: list[str] = []
    if len(routing_key) != ROUTING_KEY_LEN:
        errors.append(f"Length of 'routing_key' is incorrect (should be {ROUTING_KEY_LEN} characters)")
    # ASCII only: str.isalnum() alone would let other scripts' letters and digits through.
    if not (routing_key.isascii() and routing_key.isalnum()):
        errors.append("'routing_key' cannot contain non-alphanumeric characters.")
    if errors:
        return errors
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
    return errors + _payload_detail_errors(payload)


def _payload_detail_errors(payload: dict[str, Any]) -> list[str]:
    """The optional PD-CEF fields: ``timestamp``, ``component``/``group``/``class``, ``custom_details``.

    Source: openapiv3.json ``components.schemas.Payload`` (timestamp ``type: string, format: date-time``; the
    three text fields ``type: string``; custom_details ``type: object``) and 01-Overview.md's PD-CEF table
    ("Timestamp (ISO 8601)", "Object"). PagerDuty does not publish these error strings.
    """
    errors: list[str] = []
    timestamp = payload.get("timestamp")
    if timestamp is not None and not _is_iso8601_date_time(timestamp):
        errors.append("'payload.timestamp' is invalid (must be an ISO 8601 date and time)")
    for name in PAYLOAD_STRING_FIELDS:
        value = payload.get(name)
        if value is not None and not isinstance(value, str):
            errors.append(f"'payload.{name}' must be a string")
    details = payload.get("custom_details")
    if details is not None and not isinstance(details, dict):
        errors.append("'payload.custom_details' must be an object")
    return errors


def _is_iso8601_date_time(value: Any) -> bool:
    if not isinstance(value, str) or not _DATE_TIME.match(value):
        return False
    try:
        # Python 3.11 parses ISO 8601's extended and basic forms, "Z" and "+0000" offsets included, and
        # rejects impossible dates such as month 13.
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _links_errors(body: dict[str, Any]) -> list[str]:
    """``links``: a list of objects, each with an ``href``; ``text`` is optional.

    Source: openapiv3.json ``components.schemas.Links`` (array of object, ``required: [href]``) and
    02-Trigger-Events.md "The links Property". PagerDuty does not publish these error strings.
    """
    return _context_errors(body, "links", required="href")


def _images_errors(body: dict[str, Any]) -> list[str]:
    """``images``: a list of objects, each with a ``src`` "served via HTTPS"; ``href`` and ``alt`` optional.

    Source: openapiv3.json ``components.schemas.Images`` (array of object, ``required: [src]``; src "must be
    served via HTTPS") and 02-Trigger-Events.md "The images Property". PagerDuty does not publish these error
    strings.
    """
    errors = _context_errors(body, "images", required="src")
    images = body.get("images")
    if errors or not isinstance(images, list):
        return errors
    for i, image in enumerate(images):
        if not image["src"].lower().startswith("https://"):
            errors.append(f"'images[{i}].src' must be served via HTTPS")
    return errors


def _context_errors(body: dict[str, Any], name: str, *, required: str) -> list[str]:
    value = body.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        return [f"'{name}' is invalid (must be an array of objects)"]
    errors: list[str] = []
    for i, item in enumerate(value):
        field = item.get(required)
        if not isinstance(field, str) or not field.strip():
            errors.append(f"'{name}[{i}].{required}' is missing or blank")
    return errors


_RULES: tuple[Callable[[dict[str, Any]], list[str]], ...] = (
    _action_errors,
    _dedup_key_errors,
    _payload_errors,
    _links_errors,
    _images_errors,
)

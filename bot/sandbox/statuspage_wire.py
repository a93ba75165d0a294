"""Statuspage's wire format for the stand-in: incident records, validation, bodies and error answers."""

from __future__ import annotations

import json
import math
import secrets
import string
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

REALTIME_STATUSES = ("investigating", "identified", "monitoring", "resolved")
IMPACTS = ("none", "maintenance", "minor", "major", "critical")
COMPONENT_STATUSES = (
    "operational", "under_maintenance", "degraded_performance", "partial_outage", "major_outage",
)
# How Statuspage derives an incident's impact from the worst status it sets on a component.
_IMPACT_OF_COMPONENT_STATUS = {
    "operational": "none",
    "under_maintenance": "maintenance",
    "degraded_performance": "minor",
    "partial_outage": "major",
    "major_outage": "critical",
}
MAX_NAME_LEN = 255
MAX_BODY_LEN = 25000
MAX_PER_PAGE = 100

AUTH_ERROR = "Couldn't authenticate you"
NOT_FOUND_ERROR = "The requested resource could not be found."
RATE_LIMIT_ERROR = "Rate limit exceeded"
DROP_CONNECTION = 0
_ID_ALPHABET = string.ascii_lowercase + string.digits
# The parsed request body, handed from the middleware to the route handlers.
_BODY: web.RequestKey[dict[str, Any] | None] = web.RequestKey("body")


@dataclass
class ReceivedRequest:
    """One request as it arrived (status 0: the connection was dropped). ``body`` is None when empty."""

    method: str
    path: str
    body: dict[str, Any] | None
    at: float
    status: int


@dataclass
class PublicIncident:
    id: str
    name: str
    status: str
    impact: str
    body_history: list[dict[str, Any]]  # oldest first, each {"status", "body", "at"} with "at" as ISO 8601
    created_at: str
    updated_at: str
    resolved_at: str | None
    shortlink: str
    page_id: str = ""
    impact_override: str | None = None
    monitoring_at: str | None = None
    components: dict[str, str] = field(default_factory=dict)
    deliver_notifications: bool = True
    metadata: dict[str, Any] = field(default_factory=dict)
    updates: list[dict[str, Any]] = field(default_factory=list)  # wire-format incident_updates, oldest first

    def to_json(self) -> dict[str, Any]:
        """The incident object as Statuspage returns it."""
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "impact": self.impact,
            "impact_override": self.impact_override,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "started_at": self.created_at,
            "monitoring_at": self.monitoring_at,
            "resolved_at": self.resolved_at,
            "shortlink": self.shortlink,
            "page_id": self.page_id,
            "metadata": self.metadata,
            "components": [
                {"id": cid, "page_id": self.page_id, "name": cid, "status": status}
                for cid, status in self.components.items()
            ],
            "incident_updates": [dict(u) for u in reversed(self.updates)],
            "postmortem_body": None,
            "postmortem_body_last_updated_at": None,
            "postmortem_ignored": False,
            "postmortem_notified_subscribers": False,
            "postmortem_notified_twitter": False,
            "postmortem_published_at": None,
            "scheduled_for": None,
            "scheduled_until": None,
            "scheduled_remind_prior": False,
            "scheduled_reminded_at": None,
            "scheduled_auto_in_progress": False,
            "scheduled_auto_completed": False,
        }


@dataclass
class _Failure:
    status: int
    remaining: int
    retry_after: int | None


class _RateLimiter:
    """Sliding-window limit per API key; only requests it lets through count against the window."""

    def __init__(self, requests_per_second: float, window: float) -> None:
        if requests_per_second <= 0 or window <= 0:
            raise ValueError("requests_per_second and window must be positive")
        capacity = requests_per_second * window
        if capacity < 1:
            # A sub-1 rate cannot be expressed in the window; widen it until one request fits.
            window, capacity = 1 / requests_per_second, 1
        self.window = window
        self.capacity = int(capacity)
        self._seen: dict[str, deque[float]] = {}

    def retry_after(self, key: str) -> int | None:
        """None if the request may go ahead (and counts it), else the whole seconds to wait."""
        now = time.monotonic()
        seen = self._seen.setdefault(key, deque())
        while seen and now - seen[0] >= self.window:
            seen.popleft()
        if len(seen) >= self.capacity:
            return max(1, math.ceil(seen[0] + self.window - now))
        seen.append(now)
        return None


def _validate(fields: dict[str, Any], *, creating: bool) -> str | None:
    if creating or "name" in fields:
        name = fields.get("name")
        if not isinstance(name, str) or not name.strip():
            return "Name can't be blank"
        if len(name) > MAX_NAME_LEN:
            return f"Name is too long (maximum is {MAX_NAME_LEN} characters)"
    if "status" in fields and fields["status"] not in REALTIME_STATUSES:
        return "Status is not included in the list"
    body = fields.get("body")
    if body is not None and not isinstance(body, str):
        return "Body must be a string"
    if isinstance(body, str) and len(body) > MAX_BODY_LEN:
        return f"Body is too long (maximum is {MAX_BODY_LEN} characters)"
    override = fields.get("impact_override")
    if override is not None and override not in IMPACTS:
        return "Impact override is not included in the list"
    metadata = fields.get("metadata")
    if metadata is not None and (
        not isinstance(metadata, dict) or not all(isinstance(v, dict) for v in metadata.values())
    ):
        return "Metadata top-level values must be objects"
    components = fields.get("components")
    if components is not None:
        if not isinstance(components, dict):
            return "Components must be a map of component id to status"
        for value in components.values():
            if value not in COMPONENT_STATUSES:
                return "Component status is not included in the list"
    component_ids = fields.get("component_ids")
    if component_ids is not None and (
        not isinstance(component_ids, list) or not all(isinstance(c, str) for c in component_ids)
    ):
        return "Component ids must be a list of component ids"
    return None


def _components(fields: dict[str, Any]) -> dict[str, str]:
    components: dict[str, str] = dict(fields.get("components") or {})
    for cid in fields.get("component_ids") or []:
        # Listed without a status: Statuspage records them as affected without changing their status.
        components.setdefault(cid, "operational")
    return components


def _impact(override: str | None, components: dict[str, str]) -> str:
    if override is not None:
        return override
    worst = "none"
    for status in components.values():
        candidate = _IMPACT_OF_COMPONENT_STATUS.get(status, "none")
        if IMPACTS.index(candidate) > IMPACTS.index(worst):
            worst = candidate
    return worst


def _stamp_status(incident: PublicIncident, status: str, now: str) -> None:
    if status == "monitoring" and incident.monitoring_at is None:
        incident.monitoring_at = now
    if status == "resolved":
        if incident.resolved_at is None:
            incident.resolved_at = now
    else:
        # Reopened: it is unresolved again.
        incident.resolved_at = None


def _incident_fields(body: dict[str, Any] | None) -> dict[str, Any] | None:
    if body is None:
        return None
    fields = body.get("incident")
    return fields if isinstance(fields, dict) else None


def _parse_body(raw: bytes, content_type: str) -> dict[str, Any] | None:
    """JSON or Rails-style form fields (``incident[name]=...``), both of which Statuspage accepts."""
    if not raw.strip():
        return None
    if content_type == "application/x-www-form-urlencoded":
        return _parse_form(raw.decode("utf-8"))
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise ValueError("body is not a JSON object")
    return value


def _parse_form(text: str) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        head, _, rest = key.partition("[")
        parts = [head] + [p.rstrip("]") for p in rest.split("[")] if rest else [head]
        node = result
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            following = None if last else parts[i + 1]
            if last:
                node[part] = value
            elif following == "":
                node.setdefault(part, []).append(value)
                break
            else:
                node = node.setdefault(part, {})
    return result


def _paginate(found: list[PublicIncident], request: web.Request, size_param: str) -> list[dict[str, Any]]:
    try:
        size = min(MAX_PER_PAGE, max(1, int(request.query.get(size_param, MAX_PER_PAGE))))
        page = max(1, int(request.query.get("page", 1)))
    except ValueError:
        size, page = MAX_PER_PAGE, 1
    chunk = found[(page - 1) * size : page * size]
    return [i.to_json() for i in chunk]


def _searchable(incident: PublicIncident) -> str:
    return " ".join([incident.name, incident.status, *(u["body"] for u in incident.body_history)]).lower()


def _failure_response(failure: _Failure) -> web.Response:
    headers = {} if failure.retry_after is None else {"Retry-After": str(failure.retry_after)}
    if failure.status in (420, 429):
        return _error(failure.status, RATE_LIMIT_ERROR, headers=headers)
    return _error(failure.status, _reason(failure.status), headers=headers)


def _error(status: int, message: str, *, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers, reason=_reason(status))


def _reason(status: int) -> str:
    if status == 420:
        return "Enhance Your Calm"
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        # Form-encoded booleans arrive as "t"/"f" or "true"/"false".
        return value.lower() in ("t", "true", "1", "yes")
    return bool(value)


def _new_id() -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(12))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

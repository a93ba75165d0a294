"""Statuspage's wire format for the stand-in: incident records and how requests change them, bodies, errors."""

from __future__ import annotations

import json
import secrets
import string
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from bot.sandbox.faults import Failure, status_phrase
from bot.sandbox.statuspage_rules import IMPACTS

# How Statuspage derives an incident's impact from the worst status it sets on a component.
_IMPACT_OF_COMPONENT_STATUS = {
    "operational": "none",
    "under_maintenance": "maintenance",
    "degraded_performance": "minor",
    "partial_outage": "major",
    "major_outage": "critical",
}
MAX_PER_PAGE = 100

AUTH_ERROR = "Couldn't authenticate you"
NOT_FOUND_ERROR = "The requested resource could not be found."
RATE_LIMIT_ERROR = "Rate limit exceeded"
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

    @classmethod
    def open(cls, fields: dict[str, Any], page_id: str) -> PublicIncident:
        """The incident ``POST .../incidents`` creates from valid ``incident`` fields."""
        status = fields.get("status", "investigating")
        components = _components(fields)
        now = _now()
        incident = cls(
            id=_new_id(),
            name=fields["name"].strip(),
            status=status,
            impact="none",
            body_history=[],
            created_at=now,
            updated_at=now,
            resolved_at=None,
            shortlink=f"https://stspg.io/{secrets.token_hex(5)[:9]}",
            page_id=page_id,
            impact_override=fields.get("impact_override"),
            deliver_notifications=_as_bool(fields.get("deliver_notifications", True)),
            metadata=dict(fields.get("metadata") or {}),
        )
        incident.impact = _impact(incident.impact_override, components)
        incident._add_update(status, components, fields, now)
        incident.components.update(components)
        _stamp_status(incident, status, now)
        return incident

    def apply(self, fields: dict[str, Any]) -> None:
        """Change the incident as ``PATCH``/``PUT .../incidents/{id}`` does with valid ``incident`` fields."""
        now = _now()
        if "name" in fields:
            self.name = fields["name"].strip()
        if "impact_override" in fields:
            self.impact_override = fields["impact_override"]
        if "metadata" in fields:
            self.metadata = dict(fields["metadata"] or {})
        components = _components(fields)
        status = fields.get("status", self.status)
        # A new incident update is posted when the status or message changes, as in Statuspage's UI.
        if "status" in fields or "body" in fields or components:
            self._add_update(status, components, fields, now)
        self.components.update(components)
        self.impact = _impact(self.impact_override, self.components)
        self.status = status
        _stamp_status(self, status, now)
        self.updated_at = now

    def _add_update(self, status: str, components: dict[str, str], fields: dict[str, Any], now: str) -> None:
        body = str(fields.get("body") or "")
        affected = [
            {"code": cid, "name": cid, "old_status": self.components.get(cid, "operational"),
             "new_status": new}
            for cid, new in components.items()
        ]
        self.updates.append(
            {
                "id": _new_id(),
                "incident_id": self.id,
                "status": status,
                "body": body,
                "created_at": now,
                "updated_at": now,
                "display_at": now,
                "affected_components": affected or None,
                "deliver_notifications": _as_bool(fields.get("deliver_notifications", True)),
                "custom_tweet": None,
                "tweet_id": None,
                "twitter_updated_at": None,
                "wants_twitter_update": False,
            }
        )
        self.body_history.append({"status": status, "body": body, "at": now})

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


def _failure_response(failure: Failure) -> web.Response:
    message = RATE_LIMIT_ERROR if failure.status in (420, 429) else _reason(failure.status)
    return _error(failure.status, message, headers=failure.headers)


def _error(status: int, message: str, *, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers, reason=_reason(status))


def _reason(status: int) -> str:
    if status == 420:
        return "Enhance Your Calm"
    return status_phrase(status)


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        # Form-encoded booleans arrive as "t"/"f" or "true"/"false".
        return value.lower() in ("t", "true", "1", "yes")
    return bool(value)


def _new_id() -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(12))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

"""What the Statuspage v1 API accepts in an ``incident`` object: the checks behind its 422 answers.

Each rule returns Statuspage's message for the first problem it finds, or None; ``_RULES`` runs them in order
and the first message wins, as Statuspage reports one error at a time. A new rule joins ``_RULES``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

REALTIME_STATUSES = ("investigating", "identified", "monitoring", "resolved")
IMPACTS = ("none", "maintenance", "minor", "major", "critical")
COMPONENT_STATUSES = (
    "operational", "under_maintenance", "degraded_performance", "partial_outage", "major_outage",
)
MAX_NAME_LEN = 255
MAX_BODY_LEN = 25000


def incident_error(fields: dict[str, Any], *, creating: bool) -> str | None:
    """Statuspage's 422 message for these ``incident`` fields, or None if it accepts them.

    ``creating`` is True for ``POST`` (a name is required) and False for ``PATCH``/``PUT``.
    """
    for rule in _RULES:
        problem = rule(fields, creating)
        if problem is not None:
            return problem
    return None


def _name_error(fields: dict[str, Any], creating: bool) -> str | None:
    if not creating and "name" not in fields:
        return None
    name = fields.get("name")
    if not isinstance(name, str) or not name.strip():
        return "Name can't be blank"
    if len(name) > MAX_NAME_LEN:
        return f"Name is too long (maximum is {MAX_NAME_LEN} characters)"
    return None


def _status_error(fields: dict[str, Any], creating: bool) -> str | None:
    if "status" in fields and fields["status"] not in REALTIME_STATUSES:
        return "Status is not included in the list"
    return None


def _body_error(fields: dict[str, Any], creating: bool) -> str | None:
    body = fields.get("body")
    if body is not None and not isinstance(body, str):
        return "Body must be a string"
    if isinstance(body, str) and len(body) > MAX_BODY_LEN:
        return f"Body is too long (maximum is {MAX_BODY_LEN} characters)"
    return None


def _impact_override_error(fields: dict[str, Any], creating: bool) -> str | None:
    override = fields.get("impact_override")
    if override is not None and override not in IMPACTS:
        return "Impact override is not included in the list"
    return None


def _metadata_error(fields: dict[str, Any], creating: bool) -> str | None:
    metadata = fields.get("metadata")
    if metadata is not None and (
        not isinstance(metadata, dict) or not all(isinstance(v, dict) for v in metadata.values())
    ):
        return "Metadata top-level values must be objects"
    return None


def _components_error(fields: dict[str, Any], creating: bool) -> str | None:
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


_RULES: tuple[Callable[[dict[str, Any], bool], str | None], ...] = (
    _name_error,
    _status_error,
    _body_error,
    _impact_override_error,
    _metadata_error,
    _components_error,
)

"""What the Statuspage v1 API accepts in an ``incident`` object: the checks behind its 422 answers.

Each rule returns Statuspage's message for the first problem it finds, or None; ``_RULES`` runs them in order
and the first message wins, as Statuspage reports one error at a time. A new rule joins ``_RULES``.

The fields and their types come from the Statuspage API v1 OpenAPI document (developer.statuspage.io, "Create
an incident" / "Update an incident"): the request schemas ``postPagesPageIdIncidents_incident`` and
``patchPagesPageIdIncidents_incident``, and the response schema ``Incident``. The document lists 400 and 422
for a refused create but publishes no error strings; the messages follow the Rails wording of the others.
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
# The request schemas' ``type: boolean`` fields.
BOOLEAN_FIELDS = (
    "deliver_notifications", "backfilled", "scheduled_remind_prior", "scheduled_auto_in_progress",
    "scheduled_auto_completed", "scheduled_auto_transition", "auto_transition_to_maintenance_state",
    "auto_transition_to_operational_state", "auto_transition_deliver_notifications_at_start",
    "auto_transition_deliver_notifications_at_end", "auto_tweet_at_beginning", "auto_tweet_on_completion",
    "auto_tweet_on_creation", "auto_tweet_one_hour_before",
)
# Form-encoded bodies cannot carry a JSON boolean: these are the spellings Rails reads as one.
FORM_BOOLEANS = ("t", "f", "true", "false", "1", "0")
# In the ``Incident`` response schema but in neither request schema: Statuspage sets them itself. ``impact`` is
# computed from the components (or ``impact_override``, which is writable); ``components`` is writable as a map.
READ_ONLY_FIELDS = (
    "id", "page_id", "impact", "shortlink", "created_at", "updated_at", "started_at", "monitoring_at",
    "resolved_at", "incident_updates", "scheduled_reminded_at", "postmortem_body",
    "postmortem_body_last_updated_at", "postmortem_ignored", "postmortem_notified_subscribers",
    "postmortem_notified_twitter", "postmortem_published_at",
)


def incident_error(fields: dict[str, Any], *, creating: bool) -> str | None:
    """Statuspage's 422 message for these ``incident`` fields, or None if it accepts them.

    ``creating`` is True for ``POST`` (a name is required) and False for ``PATCH``/``PUT``.
    """
    for rule in _RULES:
        problem = rule(fields, creating)
        if problem is not None:
            return problem
    return None


def _read_only_error(fields: dict[str, Any], creating: bool) -> str | None:
    """Fields of the ``Incident`` response that neither ``postPagesPageIdIncidents_incident`` nor
    ``patchPagesPageIdIncidents_incident`` lists, ``impact`` above all (``impact_override`` is the writable one).
    """
    for name in READ_ONLY_FIELDS:
        if name in fields:
            return f"{_human(name)} is read-only"
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


def _boolean_error(fields: dict[str, Any], creating: bool) -> str | None:
    """``deliver_notifications``, ``backfilled`` and the other ``type: boolean`` fields of both request schemas.

    A form-encoded body's ``t``/``f``/``true``/``false``/``1``/``0`` count as booleans (the API documents
    form-encoded bodies as equivalent to JSON); anything else, a JSON string or number included, is refused.
    """
    for name in BOOLEAN_FIELDS:
        if name in fields and not _is_boolean(fields[name]):
            return f"{_human(name)} must be true or false"
    return None


def _backfill_error(fields: dict[str, Any], creating: bool) -> str | None:
    """``backfilled``: "Controls whether incident is backfilled. If true, components cannot be specified."
    (both request schemas). ``component_ids`` names components too, so it is refused alongside."""
    if not _is_true(fields.get("backfilled")):
        return None
    if fields.get("components") or fields.get("component_ids"):
        return "Components cannot be specified for a backfilled incident"
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


def _is_boolean(value: Any) -> bool:
    return isinstance(value, bool) or (isinstance(value, str) and value.lower() in FORM_BOOLEANS)


def _is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in ("t", "true", "1"))


def _human(name: str) -> str:
    """A field as Rails names it in a message: ``deliver_notifications`` -> "Deliver notifications"."""
    return name.replace("_", " ").capitalize()


_RULES: tuple[Callable[[dict[str, Any], bool], str | None], ...] = (
    _read_only_error,
    _name_error,
    _status_error,
    _body_error,
    _impact_override_error,
    _boolean_error,
    _backfill_error,
    _metadata_error,
    _components_error,
)

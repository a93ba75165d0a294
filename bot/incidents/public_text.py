"""What may be said in public: drafts for the status page, and the check that refuses internal details."""

from __future__ import annotations

import re

from bot.core.formats import EMAIL
from bot.core.redaction import redact
from bot.domain import Category, Ticket

# Identifiers shaped like ours or like common request IDs: ws_4f2a9c, req-91ab…, UUIDs.
# A digit is required, so "workspace-level" or "request-level" stay ordinary English.
_INTERNAL_ID = re.compile(r"(?i)\b(?:ws|wks|workspace|req|request)[-_](?=[A-Za-z]*\d)[A-Za-z0-9]{4,}\b|"
                          r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")

_AREA = {Category.AUTH: "sign-in", Category.BILLING: "billing", Category.INTEGRATION: "integrations",
         Category.PERFORMANCE: "performance", Category.UI: "the web app"}


def public_title(ticket: Ticket) -> str:
    """The status page incident's title: names the affected product area, never the customer or ticket."""
    area = _AREA.get(ticket.category) if ticket.category else None
    return f"Service disruption affecting {area}" if area else "Service disruption"


def investigating_message(ticket: Ticket, *, cadence_minutes: int) -> str:
    """The first public status update (Investigating), promising the next update within the cadence."""
    return ("We are investigating reports that some customers cannot use parts of the service"
            f"{' (' + _AREA[ticket.category] + ')' if ticket.category else ''}. Our engineers are engaged, and we "
            f"will post an update within {cadence_minutes} minutes.")


def leak_problem(message: str, *, ticket: Ticket | None = None) -> str | None:
    """Why a public message must not be published as written, or None when it is fine."""
    if ticket is not None:
        for label, secret in (("the workspace ID", ticket.workspace_id),
                              ("the request ID", ticket.environment.request_id),
                              ("the requester's email", ticket.requester_email)):
            if secret and secret.lower() in message.lower():
                return f"Remove {label} ({secret[:40]}): status updates are public"
    if email := EMAIL.search(message):
        return f"Remove the email address ({email.group(0)[:40]}): status updates are public"
    if found := redact(message).kinds:
        return f"Remove {found[0]}: status updates are public"
    if ident := _INTERNAL_ID.search(message):
        return f"Remove the internal ID ({ident.group(0)[:40]}): status updates are public"
    return None

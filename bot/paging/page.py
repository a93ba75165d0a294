"""The PagerDuty event every page is built from, and the dedup keys that keep each page single."""

from __future__ import annotations

from blocks.ticket_card import card_url
from bot.core.plain import plain_text
from bot.domain import Severity, Ticket
from bot.integrations.pagerduty import PageRequest

PAGE_SEVERITY = {Severity.SEV1: "critical", Severity.SEV2: "error"}


def incident_dedup_key(ticket_number: int, generation: int) -> str:
    """A SEV1 round's page: a re-opened incident is a new round, so it pages again."""
    return f"supportbot-ticket-{ticket_number}-{generation}"


def sev2_dedup_key(ticket_number: int) -> str:
    """A SEV2 ticket pages once."""
    return f"supportbot-ticket-{ticket_number}-sev2"


def page_request(ticket: Ticket, *, dedup_key: str, triage_channel: str) -> PageRequest:
    """Everything on-call needs in the alert itself: ticket, customer, impact, and a way back to the card.

    What people typed goes out as plain text: PagerDuty (and its Slack app) must not see Slack markup.
    """
    env = ticket.environment
    workspace_id = plain_text(ticket.workspace_id)
    return PageRequest(
        summary=f"[{ticket.severity}] #{ticket.number} {plain_text(ticket.summary)} · {workspace_id} "
                f"({ticket.plan_tier.label}) · {ticket.impact.label}",
        severity=PAGE_SEVERITY.get(ticket.severity, "error"), dedup_key=dedup_key, source="supportbot",
        link_url=card_url(ticket) or f"https://slack.com/archives/{triage_channel}",
        link_text=f"Ticket #{ticket.number} in Slack",
        custom_details={"ticket": ticket.number, "workspace_id": workspace_id,
                        "plan_tier": ticket.plan_tier.label, "impact": ticket.impact.label,
                        "reported_time": env.occurred_at.isoformat() if env.occurred_at else None,
                        "request_id": plain_text(env.request_id) if env.request_id else None,
                        "filed_at": ticket.filed_at.isoformat()})

"""From a parsed intake form to the ticket to store: redacted, classified, with its first-response deadline."""

from __future__ import annotations

from datetime import datetime

from bot.core.config import BotConfig
from bot.core.redaction import redact
from bot.domain import Environment, MessageSource
from bot.tickets.classification import classify
from bot.tickets.intake import TicketForm
from bot.tickets.sla import first_response
from storage.repositories.tickets import TicketDraft


def ticket_draft(form: TicketForm, config: BotConfig, *, filed_by: str, origin_channel: str | None,
                 now: datetime, source: MessageSource | None = None) -> TicketDraft:
    """Every free-text field is redacted before anything stores or shows it; what was removed is listed."""
    assert form.impact is not None and form.plan_tier is not None, "parse() guarantees these"
    found: list[str] = []

    def clean(text: str | None, label: str) -> str | None:
        if text is None:
            return None
        result = redact(text)
        found.extend(f"{kind} in {label}" for kind in result.kinds)
        return result.text

    env = form.environment
    classification = classify(form.impact)
    sla = first_response(config, plan=form.plan_tier, filed_at=now)
    return TicketDraft(
        workspace_id=clean(form.workspace_id, "Customer workspace ID") or "",
        requester_email=clean(form.requester_email, "Requester email") or "",
        summary=clean(form.summary, "Summary") or "",
        what_happened=clean(form.what_happened, "What happened") or "",
        expected=clean(form.expected, "What was expected") or "",
        impact=form.impact, severity=classification.severity, severity_reason=classification.reason,
        plan_tier=form.plan_tier,
        environment=Environment(browser=clean(env.browser, "Browser"), os=clean(env.os, "Operating system"),
                                url=clean(env.url, "URL"), occurred_at=env.occurred_at,
                                customer_timezone=env.customer_timezone,
                                request_id=clean(env.request_id, "Request ID")),
        attachment_link=clean(form.attachment_link, "Screenshot link"),
        helpdesk_link=clean(form.helpdesk_link, "Help desk link"),
        category=form.category, filed_by=filed_by, filed_at=now, first_response_due=sla.due,
        redactions=tuple(found), origin_channel=origin_channel, source=source,
    )

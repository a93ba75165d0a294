"""Which closure items a ticket requires: pure rules, so each is tested per plan tier without Slack."""

from __future__ import annotations

from bot.domain import ClosureItem, PlanTier, Ticket

CSM_PLANS = (PlanTier.ENTERPRISE, PlanTier.BUSINESS)


def required_items(ticket: Ticket, *, escalated: bool, novel_path: bool) -> tuple[ClosureItem, ...]:
    """The customer's confirmation and the root cause always; the Jira and Sentry IDs when escalated; the CSM
    call for Enterprise and Business; the written summary for Enterprise; a runbook entry for a novel path."""
    items = [ClosureItem.CUSTOMER_CONFIRMED, ClosureItem.ROOT_CAUSE]
    if escalated:
        items.append(ClosureItem.ESCALATION_IDS)
    if ticket.plan_tier in CSM_PLANS:
        items.append(ClosureItem.CSM_CALL)
    if ticket.plan_tier is PlanTier.ENTERPRISE:
        items.append(ClosureItem.INCIDENT_SUMMARY)
    if novel_path:
        items.append(ClosureItem.RUNBOOK_ENTRY)
    return tuple(items)

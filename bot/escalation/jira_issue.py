"""The Jira issue an escalation creates: every fact and the ticket link, in Atlassian Document Format.

What people typed goes out as plain text: Jira must not see Slack markup.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.config import JiraSettings
from bot.core.plain import plain_text
from bot.domain import Escalation, Ticket
from bot.integrations import adf
from bot.integrations.jira import JiraIssueDraft

SUMMARY_MAX = 254


def issue_label(ticket_number: int, round_: int) -> str:
    """The label that finds the round's issue again after a stop between creating it and recording it."""
    return f"supportbot-escalation-{ticket_number}-{round_}"


def jira_issue(escalation: Escalation, ticket: Ticket, settings: JiraSettings, *, card_url: str | None,
               links: Sequence[tuple[str, str]]) -> JiraIssueDraft:
    """The issue to create for the round, labelled so a retry finds it instead of creating a second."""
    facts = escalation.facts
    summary = " ".join(f"[{ticket.severity}] #{ticket.number} {plain_text(ticket.summary)}".split())
    facts_list = [
        [adf.text("Customer impact: ", strong=True), adf.text(plain_text(facts.customer_impact))],
        [adf.text("Workspace: ", strong=True), adf.text(plain_text(facts.workspace_id))],
        [adf.text("Plan tier: ", strong=True), adf.text(facts.plan_tier.label)],
        [adf.text("Request ID: ", strong=True), adf.text(plain_text(facts.request_id))],
        [adf.text("Reproduction: ", strong=True), adf.text(facts.repro_result.label)],
        [adf.text("Team: ", strong=True), adf.text(escalation.team)],
    ]
    if facts.component:
        facts_list.append([adf.text("Component: ", strong=True), adf.text(facts.component)])
    if facts.occurred_at:
        zone = f" (customer in {facts.customer_timezone})" if facts.customer_timezone else ""
        facts_list.append([adf.text("When: ", strong=True), adf.text(facts.occurred_at.isoformat() + zone)])
    link_items = [[adf.text("Sentry issue", link=facts.sentry_url)]]
    link_items += [[adf.text(name, link=url)] for name, url in links]
    if card_url:
        link_items.append([adf.text(f"Ticket #{ticket.number} in Slack", link=card_url)])
    description = adf.doc(
        adf.bullet_list(facts_list),
        adf.heading(3, "Expected"), adf.paragraph(plain_text(facts.expected)),
        adf.heading(3, "Actual"), adf.paragraph(plain_text(facts.actual)),
        adf.heading(3, "Reproduction steps"), adf.code_block(plain_text(facts.repro_steps)),
        adf.heading(3, "Links"), adf.bullet_list(link_items),
    )
    return JiraIssueDraft(project=settings.project, issue_type=settings.issue_type, summary=summary[:SUMMARY_MAX],
                          description=description, labels=(issue_label(ticket.number, escalation.round),))

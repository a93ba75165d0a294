"""The owning team's page: one alert per escalation round, a second one when nobody acknowledges.

PagerDuty folds a trigger with an open alert's dedup key into that alert without notifying anyone again, so
the re-page is a new alert with its own key ("…-repage"), summary prefixed "Unacknowledged:". Acknowledging
the round acknowledges both.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from bot.core.errors import OutsideServiceError
from bot.core.plain import plain_text
from bot.domain import Escalation, Severity, Ticket
from bot.integrations.pagerduty import PagerDuty, PageRequest
from bot.paging.page import PAGE_SEVERITY

log = logging.getLogger(__name__)
UNACKNOWLEDGED = "Unacknowledged: "


def escalation_dedup_key(ticket_number: int, round_: int) -> str:
    """The round's page: a new round (after a hand-back) pages again."""
    return f"supportbot-escalation-{ticket_number}-{round_}"


def repage_dedup_key(ticket_number: int, round_: int) -> str:
    """The re-page of a round nobody acknowledged: a new alert, so PagerDuty notifies again."""
    return f"{escalation_dedup_key(ticket_number, round_)}-repage"


def escalation_page(escalation: Escalation, ticket: Ticket, *, card_url: str | None,
                    links: Sequence[tuple[str, str]], repage: bool = False) -> PageRequest:
    """The team's alert: the ticket number and the impact in the summary, every fact and link in the details."""
    facts = escalation.facts
    prefix = UNACKNOWLEDGED if repage else ""
    summary = (f"{prefix}[{ticket.severity}] #{ticket.number} escalated to {escalation.team}: "
               f"{plain_text(facts.customer_impact)}")
    details: dict[str, object] = {
        "ticket": ticket.number, "round": escalation.round, "team": escalation.team,
        "customer_impact": plain_text(facts.customer_impact), "workspace_id": plain_text(facts.workspace_id),
        "plan_tier": facts.plan_tier.label, "request_id": plain_text(facts.request_id),
        "sentry_issue": facts.sentry_url, "reproduction": facts.repro_result.label,
        "repro_steps": plain_text(facts.repro_steps), "expected": plain_text(facts.expected),
        "actual": plain_text(facts.actual), "component": facts.component,
        "occurred_at": facts.occurred_at.isoformat() if facts.occurred_at else None,
        "customer_timezone": facts.customer_timezone, "jira": escalation.jira_url or escalation.jira_key,
    }
    # The [links] searches beside the agent's Sentry issue link, never in its place.
    details.update({f"{name.lower()}_search": url for name, url in links})
    key = (repage_dedup_key if repage else escalation_dedup_key)(ticket.number, escalation.round)
    return PageRequest(summary=summary, severity=PAGE_SEVERITY.get(ticket.severity, "error"), dedup_key=key,
                       source="supportbot", link_url=card_url or facts.sentry_url,
                       link_text=f"Ticket #{ticket.number} in Slack" if card_url else "Sentry issue",
                       custom_details={k: v for k, v in details.items() if v is not None})


def pages(severity: Severity) -> bool:
    """SEV1 and SEV2 escalations page the owning team; SEV3 mentions it in its channel; SEV4 only posts."""
    return severity in (Severity.SEV1, Severity.SEV2)


class TeamPagers:
    """One PagerDuty client per routing key: a team's own key, or the default one."""

    def __init__(self, *, routing_keys: Mapping[str, str | None], events_url: str) -> None:
        self._by_key: dict[str, PagerDuty] = {}
        self._by_team: dict[str, PagerDuty] = {}
        for team, key in routing_keys.items():
            if key:
                self._by_team[team] = self._by_key.setdefault(key, PagerDuty(routing_key=key, events_url=events_url))

    def for_team(self, team: str) -> PagerDuty | None:
        """The client paging this team; None when no routing key is set for it."""
        return self._by_team.get(team)

    async def acknowledge_round(self, escalation: Escalation) -> None:
        """Acknowledges every alert the round opened, re-pages included; a failure is logged (the alert stays
        open in PagerDuty, where on-call sees it)."""
        pager = self.for_team(escalation.team)
        if pager is None:
            return
        for dedup_key in escalation.page_keys:
            try:
                await pager.acknowledge(dedup_key)
            except OutsideServiceError as exc:
                log.warning("could not acknowledge %s in PagerDuty: %s", dedup_key, exc)

    def close(self) -> None:
        """Releases every client's connections."""
        for client in self._by_key.values():
            client.close()

"""The vocabulary of escalation, closure and the runbook: plain values shared by every layer, no I/O."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from bot.domain import PlanTier


class ReproResult(enum.StrEnum):
    """What happened when support tried the customer's steps."""

    REPRODUCIBLE = "reproducible"
    INTERMITTENT = "intermittent"
    CANNOT_REPRODUCE = "cannot_reproduce"

    @property
    def label(self) -> str:
        """The result as the escalation modal and post say it."""
        return {"reproducible": "Reproducible", "intermittent": "Intermittent",
                "cannot_reproduce": "Cannot reproduce"}[self.value]


class EscalationState(enum.StrEnum):
    """Where an escalation round stands: waiting for an engineer, acknowledged, or handed back to support."""

    WAITING = "waiting"
    ACKNOWLEDGED = "acknowledged"
    HANDED_BACK = "handed_back"


class JiraState(enum.StrEnum):
    """The escalation's Jira issue: named by the agent, created by the bot, or still to be created."""

    LINKED = "linked"
    CREATED = "created"
    PENDING = "pending"
    REFUSED = "refused"


@dataclass(frozen=True)
class EscalationFacts:
    """Everything an engineer needs in the hand-off, as the agent confirmed it in the escalation modal."""

    workspace_id: str
    plan_tier: PlanTier
    occurred_at: datetime | None
    customer_timezone: str | None
    expected: str
    actual: str
    request_id: str
    sentry_url: str
    repro_steps: str
    repro_result: ReproResult
    component: str | None
    customer_impact: str
    jira_key: str | None = None
    url: str | None = None
    redactions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Escalation:
    """One escalation round of a ticket to an engineering team, and how far up its ladder it has climbed."""

    id: int
    ticket_number: int
    round: int
    team: str
    facts: EscalationFacts
    routed_by: str  # "component", "path" or "agent"
    route_note: str | None  # the rule that lost, when the component and the path disagreed
    escalated_by: str
    escalated_at: datetime
    state: EscalationState = EscalationState.WAITING
    sentry_issue: str | None = None
    acknowledged_by: str | None = None  # a Slack user ID
    acknowledged_name: str | None = None  # a Jira name, when Jira's person has no Slack account we can find
    acknowledged_via: str | None = None  # "slack" or "jira"
    acknowledged_at: datetime | None = None
    post_channel: str | None = None
    post_ts: str | None = None
    post_problem: str | None = None  # why the post is not in the team channel yet (Slack's error)
    jira_key: str | None = None
    jira_url: str | None = None
    jira_state: JiraState | None = None
    jira_status: str | None = None  # the linked issue's status, as Jira last told us
    page_keys: tuple[str, ...] = ()  # every PagerDuty alert this round opened, re-pages included
    page_problem: str | None = None
    rung: int = 0  # how many rungs of the ladder have fired
    repaged_at: datetime | None = None
    manager_called_at: datetime | None = None


class ClosureItem(enum.StrEnum):
    """What closing a ticket takes; which items are required depends on the plan and the ticket's history."""

    CUSTOMER_CONFIRMED = "customer_confirmed"
    ROOT_CAUSE = "root_cause"
    ESCALATION_IDS = "escalation_ids"
    CSM_CALL = "csm_call"
    INCIDENT_SUMMARY = "incident_summary"
    RUNBOOK_ENTRY = "runbook_entry"

    @property
    def label(self) -> str:
        """The item as the checklist names it."""
        return CLOSURE_LABELS[self]


CLOSURE_LABELS = {
    ClosureItem.CUSTOMER_CONFIRMED: "The customer retried the original steps and confirmed the fix",
    ClosureItem.ROOT_CAUSE: "Root-cause category",
    ClosureItem.ESCALATION_IDS: "Jira and Sentry IDs in the closing note",
    ClosureItem.CSM_CALL: "CSM looped in, 15-minute call scheduled within one business day",
    ClosureItem.INCIDENT_SUMMARY: "Written incident summary (impact, root cause, remediation) before the call",
    ClosureItem.RUNBOOK_ENTRY: "Runbook entry with the symptom keywords",
}


@dataclass(frozen=True)
class Closure:
    """A resolved ticket's checklist: what is required, what is done (with its value), reminders sent."""

    ticket_number: int
    resolved_at: datetime
    resolved_by: str
    required: tuple[ClosureItem, ...]
    done: Mapping[ClosureItem, str] = field(default_factory=dict)
    customer_reminders: int = 0
    closed_at: datetime | None = None
    call_at: datetime | None = None

    @property
    def remaining(self) -> tuple[ClosureItem, ...]:
        """The required items not done yet, in checklist order."""
        return tuple(item for item in self.required if item not in self.done)


@dataclass(frozen=True)
class RunbookEntry:
    """One runbook entry: what it is called, the symptoms it is for, what to do, and a workaround when one is
    documented for this symptom (None otherwise: the bot never invents one)."""

    slug: str
    title: str
    symptoms: str
    steps: str
    workaround: str | None = None
    source: str | None = None  # the file it was imported from, for the import summary and for people


@dataclass(frozen=True)
class RunbookMatch:
    """A runbook entry found by a search, best first; `rank` grows with relevance on both databases."""

    entry: RunbookEntry
    rank: float

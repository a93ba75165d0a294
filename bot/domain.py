"""The vocabulary of support: severities, plan tiers, ticket and incident states.

These are plain values shared by every layer; nothing here does I/O.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


class Severity(enum.StrEnum):
    """How bad a ticket is, SEV1 (production down) to SEV4 (cosmetic); SEV1 opens an incident, SEV2 pages."""

    SEV1 = "SEV1"
    SEV2 = "SEV2"
    SEV3 = "SEV3"
    SEV4 = "SEV4"

    @property
    def rank(self) -> int:
        """1 is the most severe, so `min()` over severities picks the worst."""
        return int(self.value[-1])


class Impact(enum.StrEnum):
    """The intake question whose answer decides the severity."""

    PRODUCTION_DOWN = "production_down"
    MAJOR_BROKEN = "major_broken"
    MINOR_BROKEN = "minor_broken"
    COSMETIC = "cosmetic"

    @property
    def label(self) -> str:
        """The answer as the agent reads it in the intake modal."""
        return IMPACT_LABELS[self]

    @property
    def severity(self) -> Severity:
        """The severity this impact files the ticket as."""
        return IMPACT_SEVERITY[self]


IMPACT_LABELS: dict[Impact, str] = {
    Impact.PRODUCTION_DOWN: "Production down or data loss",
    Impact.MAJOR_BROKEN: "Major feature broken, no workaround",
    Impact.MINOR_BROKEN: "Minor feature broken, or a workaround exists",
    Impact.COSMETIC: "Cosmetic or how-to question",
}
IMPACT_SEVERITY: dict[Impact, Severity] = {
    Impact.PRODUCTION_DOWN: Severity.SEV1,
    Impact.MAJOR_BROKEN: Severity.SEV2,
    Impact.MINOR_BROKEN: Severity.SEV3,
    Impact.COSMETIC: Severity.SEV4,
}


class PlanTier(enum.StrEnum):
    """The customer's plan, which sets the first-response deadline."""

    ENTERPRISE = "enterprise"
    BUSINESS = "business"
    PRO = "pro"
    TRIAL = "trial"
    FREE = "free"

    @property
    def label(self) -> str:
        """The plan's name as shown on the card."""
        return self.value.capitalize()


class Category(enum.StrEnum):
    """The product area a ticket is about, chosen at intake."""

    AUTH = "auth"
    BILLING = "billing"
    INTEGRATION = "integration"
    PERFORMANCE = "performance"
    UI = "ui"

    @property
    def label(self) -> str:
        """The category's name as shown on the card."""
        return "UI" if self is Category.UI else self.value.capitalize()


class TicketStatus(enum.StrEnum):
    """Open; resolved with its closure checklist still open; or closed (every required item done)."""

    OPEN = "open"
    RESOLVED = "resolved"
    CLOSED = "closed"


@dataclass(frozen=True)
class Environment:
    """Where the customer saw the problem."""

    browser: str | None = None
    os: str | None = None
    url: str | None = None
    occurred_at: datetime | None = None
    customer_timezone: str | None = None
    request_id: str | None = None


@dataclass(frozen=True)
class MessageSource:
    """The Slack message a ticket was filed from: where it is, and its permalink."""

    channel: str
    ts: str
    link: str


@dataclass(frozen=True)
class Ticket:
    """A stored ticket, detached from the database: safe to hand to blocks/."""

    number: int
    workspace_id: str
    requester_email: str
    summary: str
    what_happened: str
    expected: str
    impact: Impact
    severity: Severity
    severity_reason: str
    plan_tier: PlanTier
    environment: Environment
    attachment_link: str | None
    helpdesk_link: str | None
    category: Category | None
    filed_by: str
    filed_at: datetime
    first_response_due: datetime
    first_response_at: datetime | None = None
    first_response_by: str | None = None
    status: TicketStatus = TicketStatus.OPEN
    card_channel: str | None = None
    card_ts: str | None = None
    redactions: tuple[str, ...] = field(default_factory=tuple)
    source: MessageSource | None = None  # set when filed from a message (shortcut or :ticket: reaction)
    requester_verification: str | None = None  # "verified", "not_authorized", "unknown"; None: not checked
    share_restricted: bool = False  # HIPAA or SOC 2 and the requester not verified: no account details
    labels: tuple[str, ...] = ()


class IncidentStatus(enum.StrEnum):
    """The public status page's states, in the order an incident moves through them."""

    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"

    @property
    def order(self) -> int:
        """The status's place in the sequence; moving to a lower one is moving backwards."""
        return list(IncidentStatus).index(self)

    @property
    def label(self) -> str:
        """The status as customers read it on the status page."""
        return self.value.capitalize()


class StepState(enum.StrEnum):
    """Where one incident opening step stands, from pending to done, failed, skipped or given up."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"  # not configured: said plainly in the channel, never silent
    ABANDONED = "abandoned"  # a person pressed "Give up"


class IncidentStep(enum.StrEnum):
    """The steps a SEV1 takes at once: page on-call, open the incident channel, post the status page."""

    PAGE = "page"
    CHANNEL = "channel"
    STATUSPAGE = "statuspage"

    @property
    def label(self) -> str:
        """The step's name as said in the incident channel."""
        return {"page": "Page on-call", "channel": "Incident channel", "statuspage": "Status page"}[self.value]


@dataclass(frozen=True)
class StepOutcome:
    """Where one step of an incident stands, and what the outside system calls what it made."""

    state: StepState
    detail: str | None = None
    external_id: str | None = None  # PagerDuty dedup key, Slack channel ID, status-page incident ID
    external_name: str | None = None  # the channel's name
    external_url: str | None = None  # the public status page's link
    failures: int = 0
    closed_at: datetime | None = None  # the alert resolved again


_NOT_STARTED = StepOutcome(StepState.PENDING)


@dataclass(frozen=True)
class Incident:
    """A SEV1 ticket's incident round: its public state and the outcome of each opening step."""

    id: int
    ticket_number: int
    generation: int
    status: IncidentStatus
    commander: str | None
    public_title: str
    opened_at: datetime
    resolved_at: datetime | None
    last_public_update_at: datetime
    last_public_message: str
    kickoff_ts: str | None
    steps: Mapping[IncidentStep, StepOutcome] = field(default_factory=dict)

    def step(self, step: IncidentStep) -> StepOutcome:
        """The step's outcome; a step with no row yet has not started."""
        return self.steps.get(step, _NOT_STARTED)

    @property
    def page(self) -> StepOutcome:
        """The outcome of paging on-call."""
        return self.step(IncidentStep.PAGE)

    @property
    def channel(self) -> StepOutcome:
        """The outcome of opening the incident channel."""
        return self.step(IncidentStep.CHANNEL)

    @property
    def statuspage(self) -> StepOutcome:
        """The outcome of posting the status page incident."""
        return self.step(IncidentStep.STATUSPAGE)

    @property
    def page_dedup_key(self) -> str | None:
        """The PagerDuty alert key, once on-call was paged."""
        return self.page.external_id

    @property
    def channel_id(self) -> str | None:
        """The incident channel's Slack ID, once it is open."""
        return self.channel.external_id

    @property
    def channel_name(self) -> str | None:
        """The incident channel's name, once it is open."""
        return self.channel.external_name

    @property
    def statuspage_incident_id(self) -> str | None:
        """The status page's ID for this incident, once it is posted."""
        return self.statuspage.external_id

    @property
    def statuspage_url(self) -> str | None:
        """The public link to the incident on the status page, when the page has one."""
        return self.statuspage.external_url


@dataclass(frozen=True)
class StatusUpdate:
    """One status update the commander published: status, public message, who, when, and why it moved back."""

    incident_id: int
    status: IncidentStatus
    message: str
    posted_by: str
    posted_at: datetime
    reason: str | None = None


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

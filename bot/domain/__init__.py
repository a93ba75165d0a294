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


# What follows a ticket (escalation, closure, the runbook) lives beside it; imported here so every layer keeps
# writing `from bot.domain import …`.
from bot.domain.followup import (  # noqa: E402
    CLOSURE_LABELS,
    Closure,
    ClosureItem,
    Escalation,
    EscalationFacts,
    EscalationState,
    JiraState,
    ReproResult,
    RunbookEntry,
    RunbookMatch,
)

__all__ = ["CLOSURE_LABELS", "IMPACT_LABELS", "IMPACT_SEVERITY", "Category", "Closure", "ClosureItem",
           "Environment", "Escalation", "EscalationFacts", "EscalationState", "Impact", "Incident",
           "IncidentStatus", "IncidentStep", "JiraState", "MessageSource", "PlanTier", "ReproResult",
           "RunbookEntry", "RunbookMatch", "Severity", "StatusUpdate", "StepOutcome", "StepState", "Ticket",
           "TicketStatus"]

"""The configuration's shape: frozen dataclasses with the defaults the contract file shows."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time, timedelta
from typing import Any

from bot.domain import PlanTier, Severity

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


class ConfigError(ValueError):
    """A configuration problem, worded as one line that names the key."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


def parse_duration(text: object, key: str) -> timedelta:
    """The duration written as a number and unit ("30m", "4h"); raises ConfigError naming the key otherwise."""
    if not isinstance(text, str):
        raise ConfigError(key, f"expected a duration string such as \"30m\", got {text!r}")
    match = _DURATION.match(text)
    if not match:
        raise ConfigError(key, f"bad duration {text!r} (use a number and a unit: 90s, 30m, 4h, 1d)")
    duration = timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])
    if duration < timedelta(milliseconds=1):  # checked after rounding: "0.0001ms" is zero to timedelta
        raise ConfigError(key, f"duration {text!r} must be more than zero (at least 1ms)")
    return duration


@dataclass(frozen=True)
class SlackSettings:
    """The triage channel and the user groups of leads, agents and incident commanders."""

    triage_channel: str
    support_leads: str
    support_agents: str
    incident_commanders: str


@dataclass(frozen=True)
class IncidentSettings:
    """How SEV1 incident channels are named and how often the status page must hear from the commander."""

    channel_prefix: str = "incident-"
    status_update_every: timedelta = timedelta(minutes=30)


@dataclass(frozen=True)
class CustomerConnectionSettings:
    """Where plan tier, authorized contacts and compliance are found in customer data, and how long to wait."""

    plan_path: str = "customer.plan_type"
    authorized_contacts_path: str = "customer.authorized_contacts"
    compliance_path: str = "customer.compliance"
    timeout: timedelta = timedelta(seconds=2)


@dataclass(frozen=True)
class BusinessHours:
    """The support team's working week: time zone, days, hours and which public holidays are off."""

    timezone: str = "America/New_York"
    days: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")
    start: time = time(9, 0)
    end: time = time(17, 0)
    holidays: str | None = "US"  # a country code as the `holidays` library names it; None: no public holidays


@dataclass(frozen=True)
class JiraSettings:
    """Where escalations file their Jira issues; the site and credentials come from the environment."""

    project: str = "SUP"
    issue_type: str = "Bug"
    acknowledge_statuses: tuple[str, ...] = ("In Progress",)


@dataclass(frozen=True)
class Team:
    """An engineering team: its channel, on-call group, manager, and the components and paths it owns."""

    name: str
    channel: str
    oncall_usergroup: str
    manager: str
    components: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    pagerduty_routing_key_env: str | None = None


@dataclass(frozen=True)
class Links:
    """One-click diagnostics links (Sentry, logs) with placeholders filled from the ticket."""

    sentry: str | None = None
    logs: str | None = None


@dataclass(frozen=True)
class Spikes:
    """When to tell the owning team: this many tickets for one component or category within the window."""

    window: timedelta = timedelta(minutes=60)
    threshold: int = 5


@dataclass(frozen=True)
class AutomationRule:
    """A rule run on live customer data when a ticket is filed: a match, then a severity floor, label or post."""

    path: str
    equals: Any = None
    is_: Any = None
    in_: tuple[Any, ...] | None = None
    severity_floor: Severity | None = None
    label: str | None = None
    post_to: str | None = None
    plan_tier: PlanTier | None = None


@dataclass(frozen=True)
class Webhook:
    """Where every audit event is delivered, signed with the secret named by `secret_env`."""

    url: str
    secret_env: str | None = None


DEFAULT_FIRST_RESPONSE = {
    PlanTier.ENTERPRISE: "1h", PlanTier.BUSINESS: "1h", PlanTier.PRO: "1h",
    PlanTier.TRIAL: "4h", PlanTier.FREE: "4h",
}
DEFAULT_ACK_WITHIN = {Severity.SEV1: "5m", Severity.SEV2: "15m", Severity.SEV3: "4h", Severity.SEV4: "1d"}


@dataclass(frozen=True)
class BotConfig:
    """Everything the TOML file says; see ../shared/contract/supportbot.toml for the schema."""

    slack: SlackSettings
    first_response: Mapping[PlanTier, timedelta]
    incident: IncidentSettings = field(default_factory=IncidentSettings)
    ack_within: Mapping[Severity, timedelta] = field(
        default_factory=lambda: {s: parse_duration(v, "") for s, v in DEFAULT_ACK_WITHIN.items()})
    jira: JiraSettings = field(default_factory=JiraSettings)
    customer_connection: CustomerConnectionSettings = field(default_factory=CustomerConnectionSettings)
    business_hours: BusinessHours = field(default_factory=BusinessHours)
    teams: tuple[Team, ...] = ()
    scheduler_tick: timedelta = timedelta(seconds=15)
    # How long one attempt at a one-time step (a card, a page, a channel) holds it; a process stopped mid-way
    # leaves it to the next attempt once this has passed.
    scheduler_lease: timedelta = timedelta(seconds=120)
    # Fired and cancelled deadlines older than this are deleted (those of open tickets are kept).
    scheduler_keep_history: timedelta = timedelta(days=30)
    links: Links = field(default_factory=Links)
    spikes: Spikes = field(default_factory=Spikes)
    automation: tuple[AutomationRule, ...] = ()
    webhooks: tuple[Webhook, ...] = ()

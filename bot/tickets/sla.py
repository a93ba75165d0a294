"""First-response deadlines and the next-update promise made to the customer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.config import BotConfig
from bot.domain import PlanTier, Severity

# When the agent's reminder fires, as a share of the first-response window.
REMINDER_SHARE = 0.8

# How soon the customer hears from us again after the first touch. SEV1 follows the status-page cadence;
# SEV2 gets the plan's first-response window again; lower severities a working day or two.
_NEXT_UPDATE_FIXED = {Severity.SEV3: timedelta(days=1), Severity.SEV4: timedelta(days=2)}


@dataclass(frozen=True)
class FirstResponsePolicy:
    """When the first response is due, when the filer is reminded (80 % of the window), and the window."""

    due: datetime
    remind_at: datetime
    window: timedelta


def first_response(config: BotConfig, *, plan: PlanTier, filed_at: datetime) -> FirstResponsePolicy:
    """The first-response deadline and reminder time for a ticket filed now on this plan."""
    window = config.first_response[plan]
    return FirstResponsePolicy(due=filed_at + window, remind_at=filed_at + window * REMINDER_SHARE, window=window)


def next_update_due(config: BotConfig, *, severity: Severity, plan: PlanTier, now: datetime) -> datetime:
    """When the customer is promised the next update: the status cadence for SEV1, the plan's window for SEV2."""
    if severity is Severity.SEV1:
        return now + config.incident.status_update_every
    if severity is Severity.SEV2:
        return now + config.first_response[plan]
    return now + _NEXT_UPDATE_FIXED[severity]

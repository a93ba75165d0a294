"""The live customer check when a ticket is filed: one fresh fetch (`why = automation`) that verifies the
requester and runs the `[[automation]]` rules. Filing never waits for it past the customer timeout, and
what it concluded is kept (verification, labels, the rules' actions), never the data that led there."""

from __future__ import annotations

from dataclasses import dataclass

from bot.customer_data import UNKNOWN, Verification
from bot.customers.automation import AutomationOutcome, evaluate
from bot.customers.service import CustomerService
from bot.domain import Ticket


@dataclass(frozen=True)
class FilingCheck:
    """What the check concluded for one ticket; `reason` says why the endpoint could not answer."""

    verification: Verification
    automation: AutomationOutcome
    reason: str | None = None


async def check_at_filing(customers: CustomerService, ticket: Ticket) -> FilingCheck:
    """Verifies the requester and evaluates the automation rules on a fresh document."""
    found = await customers.look_up(ticket.workspace_id, why="automation", email=ticket.requester_email)
    if found.document is None:
        return FilingCheck(UNKNOWN, AutomationOutcome(), found.reason)
    return FilingCheck(found.verification, evaluate(customers.config.automation, found.document))

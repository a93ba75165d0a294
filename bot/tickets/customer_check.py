"""Recording what the live customer check at filing concluded: verification, labels, and the plan tier a rule
set (which moves the first-response deadline), with the audit entries saying what each rule did."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.config import BotConfig
from bot.core.timers import schedule
from bot.customers.filing_check import FilingCheck
from bot.domain import Ticket
from bot.tickets.sla import first_response
from bot.tickets.timers import FIRST_RESPONSE_KINDS, FirstResponseBreach, FirstResponseReminder
from storage.repositories import audit, timers
from storage.repositories import tickets as repo


async def record_check(sessions: async_sessionmaker[AsyncSession], config: BotConfig, ticket: Ticket,
                       check: FilingCheck, *, now: datetime) -> Ticket:
    """Stores the check's conclusion on the ticket (never the customer data) and audits it; the ticket now."""
    automation = check.automation
    plan = automation.plan_tier if automation.plan_tier not in (None, ticket.plan_tier) else None
    due = first_response(config, plan=plan, filed_at=ticket.filed_at) if plan is not None else None
    async with sessions.begin() as session:
        updated = await repo.record_customer_check(
            session, number=ticket.number, verification=check.verification.state,
            share_restricted=check.verification.sensitive,
            labels=tuple(dict.fromkeys(ticket.labels + automation.labels)), plan_tier=plan,
            first_response_due=due.due if due else None)
        if due is not None:  # the plan an automation rule set decides the first-response deadline
            await timers.cancel_timers(session, now=now, kinds=FIRST_RESPONSE_KINDS, ticket_number=ticket.number)
            await schedule(session, FirstResponseReminder(ticket.number), due_at=due.remind_at)
            await schedule(session, FirstResponseBreach(ticket.number), due_at=due.due)
        await audit.append_audit_event(session, ticket_number=ticket.number, action="customer_checked",
                                       actor="supportbot", at=now, before=None,
                                       after={"verification": check.verification.state,
                                              "share_restricted": check.verification.sensitive,
                                              "unavailable": check.reason})
        if automation.matched:
            await audit.append_audit_event(session, ticket_number=ticket.number, action="automation_applied",
                                           actor="supportbot", at=now, before=None, after=automation.audit_view())
    return updated or ticket

"""What the monthly report and the spike watch read: tickets filed in a period, escalations, the moment each
resolved ticket was resolved, and the spike alerts recorded in the audit log. Read-only, apart from nothing."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import ClosureItem
from storage.models import AuditEventRow, ClosureItemRow, EscalationRow, IncidentRow, TicketRow

# Audit actions that mark a ticket resolved. A closure writes `ticket_resolved`; an incident's last status
# update to Resolved is a `status_update` whose `after.status` is "resolved" (checked below).
RESOLUTION_ACTIONS = ("ticket_resolved", "incident_resolved", "resolved")
SPIKE_ACTIONS = ("spike_alerted", "spike_cleared")


@dataclass(frozen=True)
class TrendTicket:
    """What a report may say of one ticket: nothing about the requester (no email, no workspace)."""

    number: int
    filed_at: datetime
    severity: str
    category: str | None
    plan_tier: str
    status: str
    first_response_due: datetime
    first_response_at: datetime | None
    summary: str
    card_channel: str | None
    card_ts: str | None
    root_cause: str | None = None  # the category recorded at closure, once the ticket was resolved


@dataclass(frozen=True)
class TrendEscalation:
    """One escalation round as the report counts it."""

    ticket_number: int
    team: str
    component: str | None
    escalated_at: datetime
    acknowledged_at: datetime | None


@dataclass(frozen=True)
class SpikeEvent:
    """A spike alert sent or cleared, as the audit log keeps it (`after` holds category, start, channel, ts)."""

    action: str
    at: datetime
    after: dict[str, Any]


def _ticket(row: TicketRow, root_cause: str | None = None) -> TrendTicket:
    return TrendTicket(number=row.number, filed_at=row.filed_at, severity=row.severity, category=row.category,
                       plan_tier=row.plan_tier, status=row.status, first_response_due=row.first_response_due,
                       first_response_at=row.first_response_at, summary=row.summary, card_channel=row.card_channel,
                       card_ts=row.card_ts, root_cause=root_cause)


def filed_between(*, start: datetime, end: datetime, categorised_only: bool = False) -> Select[TicketRow, str]:
    """The query of `tickets_filed_between`: a range of `ix_tickets_filed_at`."""
    conditions = [TicketRow.filed_at >= start, TicketRow.filed_at < end]
    if categorised_only:
        conditions.append(TicketRow.category.is_not(None))
    return (select(TicketRow, ClosureItemRow.value)
            .outerjoin(ClosureItemRow, (ClosureItemRow.ticket_number == TicketRow.number)
                       & (ClosureItemRow.item == ClosureItem.ROOT_CAUSE.value))
            .where(*conditions)
            .order_by(TicketRow.filed_at, TicketRow.number))


async def tickets_filed_between(session: AsyncSession, *, start: datetime, end: datetime,
                                categorised_only: bool = False) -> list[TrendTicket]:
    """Tickets filed in [start, end), oldest first, with the root cause recorded at closure where there is one;
    `categorised_only`: only those filed with a category (what a spike is counted in)."""
    rows = await session.execute(filed_between(start=start, end=end, categorised_only=categorised_only))
    return [_ticket(row, cause) for row, cause in rows.all()]


async def escalations_between(session: AsyncSession, *, start: datetime, end: datetime) -> list[TrendEscalation]:
    """Escalation rounds escalated in [start, end), oldest first."""
    rows = await session.scalars(select(EscalationRow).where(EscalationRow.escalated_at >= start,
                                                             EscalationRow.escalated_at < end)
                                 .order_by(EscalationRow.escalated_at, EscalationRow.id))
    return [TrendEscalation(ticket_number=r.ticket_number, team=r.team, component=r.component,
                            escalated_at=r.escalated_at, acknowledged_at=r.acknowledged_at) for r in rows]


async def resolution_moments(session: AsyncSession, *, numbers: Iterable[int]) -> dict[int, datetime]:
    """When each of these tickets was (last) resolved: the latest `incidents.resolved_at` of its rounds for a
    SEV1, else the latest resolution event in the audit log. Tickets never resolved are absent."""
    wanted = sorted(set(numbers))
    if not wanted:
        return {}
    moments: dict[int, datetime] = {}
    incidents = await session.execute(select(IncidentRow.ticket_number, IncidentRow.resolved_at)
                                      .where(IncidentRow.ticket_number.in_(wanted),
                                             IncidentRow.resolved_at.is_not(None)))
    for number, resolved_at in incidents:
        if resolved_at is not None and (number not in moments or resolved_at > moments[number]):
            moments[number] = resolved_at
    events = await session.execute(
        select(AuditEventRow.ticket_number, AuditEventRow.action, AuditEventRow.at, AuditEventRow.after)
        .where(AuditEventRow.ticket_number.in_(wanted),
               AuditEventRow.action.in_((*RESOLUTION_ACTIONS, "status_update"))))
    from_audit: dict[int, datetime] = {}
    for number, action, at, after in events:
        if action == "status_update" and (after or {}).get("status") != "resolved":
            continue
        if number is not None and (number not in from_audit or at > from_audit[number]):
            from_audit[number] = at
    for number, at in from_audit.items():
        moments.setdefault(number, at)  # an incident's own resolved_at wins for a SEV1
    return moments


async def spike_events(session: AsyncSession) -> list[SpikeEvent]:
    """Every spike alert sent and cleared, oldest first (a handful a month)."""
    rows = await session.scalars(select(AuditEventRow).where(AuditEventRow.action.in_(SPIKE_ACTIONS))
                                 .order_by(AuditEventRow.id))
    return [SpikeEvent(action=r.action, at=r.at, after=dict(r.after or {})) for r in rows]


async def teams_of(session: AsyncSession, *, numbers: Iterable[int]) -> dict[int, str]:
    """The team each of these tickets was escalated to (its latest round); tickets never escalated are absent."""
    wanted = sorted(set(numbers))
    if not wanted:
        return {}
    rows = await session.execute(select(EscalationRow.ticket_number, EscalationRow.team)
                                 .where(EscalationRow.ticket_number.in_(wanted)).order_by(EscalationRow.round))
    return {number: team for number, team in rows}  # later rounds overwrite earlier ones

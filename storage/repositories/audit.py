"""The append-only audit log: who changed what, when, before and after."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEventRow
from storage.repositories import outbox


@dataclass(frozen=True)
class AuditEvent:
    """One entry of a ticket's audit trail: what changed, who did it, when, and the values before and after."""

    id: int
    ticket_number: int | None
    action: str
    actor: str
    at: datetime
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None


async def append_audit_event(session: AsyncSession, *, ticket_number: int | None, action: str, actor: str,
                             at: datetime, before: Mapping[str, Any] | None = None,
                             after: Mapping[str, Any] | None = None) -> None:
    """Adds an entry to the append-only audit log in the caller's transaction."""
    row = AuditEventRow(ticket_number=ticket_number, action=action, actor=actor, at=at,
                        before=dict(before) if before is not None else None,
                        after=dict(after) if after is not None else None)
    session.add(row)
    if not outbox.destinations(session):
        return  # written with the transaction's next flush: a tick's batch of events goes in one INSERT
    await session.flush()  # the deliveries carry the event's id
    # Its webhook deliveries in the same transaction: an event is never kept without them, nor sent without it.
    await outbox.enqueue_event(session, audit_id=row.id, ticket_number=ticket_number, action=action, actor=actor,
                               at=at, before=row.before, after=row.after)


async def audit_trail(session: AsyncSession, *, ticket_number: int) -> list[AuditEvent]:
    """The ticket's audit trail, oldest entry first."""
    rows = await session.scalars(
        select(AuditEventRow).where(AuditEventRow.ticket_number == ticket_number).order_by(AuditEventRow.id))
    return [AuditEvent(id=r.id, ticket_number=r.ticket_number, action=r.action, actor=r.actor, at=r.at,
                       before=r.before, after=r.after) for r in rows]


async def has_event(session: AsyncSession, *, ticket_number: int, action: str) -> bool:
    """Whether the ticket's trail holds an event of this action."""
    found = await session.scalar(select(AuditEventRow.id).where(AuditEventRow.ticket_number == ticket_number,
                                                                AuditEventRow.action == action).limit(1))
    return found is not None

"""Closure checklists: started once per resolution, each item done once, closed once (conditional updates)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import Closure, ClosureItem, TicketStatus
from storage.models import ClosureItemRow, ClosureRow, TicketRow
from storage.repositories._upsert import insert_ignoring_conflicts, rows_affected


async def start_closure(session: AsyncSession, *, number: int, at: datetime, by: str,
                        required: Sequence[ClosureItem]) -> bool:
    """Marks the ticket resolved with its checklist open; False when it already was (a second press)."""
    statement = insert_ignoring_conflicts(session, ClosureRow.__table__, dict(  # type: ignore[arg-type]
        ticket_number=number, resolved_at=at, resolved_by=by, required="\n".join(i.value for i in required),
        customer_reminders=0), ["ticket_number"])
    if not rows_affected(await session.execute(statement)):
        return False
    await session.execute(update(TicketRow).where(TicketRow.number == number)
                          .values(status=TicketStatus.RESOLVED.value))
    return True


async def record_item(session: AsyncSession, *, number: int, item: ClosureItem, at: datetime, by: str,
                      value: str = "") -> bool:
    """Records the item done once; False when it was done already."""
    statement = insert_ignoring_conflicts(session, ClosureItemRow.__table__, dict(  # type: ignore[arg-type]
        ticket_number=number, item=item.value, done_by=by, done_at=at, value=value), ["ticket_number", "item"])
    return bool(rows_affected(await session.execute(statement)))


async def record_call(session: AsyncSession, *, number: int, call_at: datetime) -> None:
    """When the CSM call is, so the summary reminder can come before it."""
    await session.execute(update(ClosureRow).where(ClosureRow.ticket_number == number).values(call_at=call_at))


async def count_customer_reminder(session: AsyncSession, *, number: int) -> None:
    """One more reminder about the customer's confirmation was sent."""
    await session.execute(update(ClosureRow).where(ClosureRow.ticket_number == number)
                          .values(customer_reminders=ClosureRow.customer_reminders + 1))


async def close(session: AsyncSession, *, number: int, at: datetime) -> bool:
    """Closes the ticket once (every required item done); True for the one call that did."""
    result = await session.execute(update(ClosureRow).where(ClosureRow.ticket_number == number,
                                                            ClosureRow.closed_at.is_(None)).values(closed_at=at))
    if not rows_affected(result):
        return False
    await session.execute(update(TicketRow).where(TicketRow.number == number)
                          .values(status=TicketStatus.CLOSED.value))
    return True


async def closure_of(session: AsyncSession, *, number: int) -> Closure | None:
    """The ticket's checklist as it stands, or None when it was never resolved."""
    row = await session.get(ClosureRow, number, populate_existing=True)
    if row is None:
        return None
    items = (await session.scalars(select(ClosureItemRow).where(ClosureItemRow.ticket_number == number))).all()
    return Closure(ticket_number=number, resolved_at=row.resolved_at, resolved_by=row.resolved_by,
                   required=tuple(ClosureItem(i) for i in row.required.split("\n") if i),
                   done={ClosureItem(i.item): i.value for i in items}, customer_reminders=row.customer_reminders,
                   closed_at=row.closed_at, call_at=row.call_at)

"""Durable deadlines. Claiming is a conditional UPDATE, so two ticks (or two replicas) never fire one twice."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import TimerRow
from storage.repositories._upsert import dialect_insert, rows_affected


@dataclass(frozen=True)
class DueTimer:
    """A claimed deadline handed to its handler: its key, whose it is, when it was due and how often tried."""

    id: int
    key: str
    kind: str
    ticket_number: int | None
    incident_id: int | None
    due_at: datetime
    attempts: int


def _to_due(row: TimerRow) -> DueTimer:
    return DueTimer(id=row.id, key=row.key, kind=row.kind, ticket_number=row.ticket_number,
                    incident_id=row.incident_id, due_at=row.due_at, attempts=row.attempts)


async def schedule_timer(session: AsyncSession, *, key: str, kind: str, due_at: datetime,
                         ticket_number: int | None = None, incident_id: int | None = None) -> bool:
    """False when a live or fired timer with this key exists: scheduling is idempotent by meaning.

    A cancelled timer with the key is re-armed instead, so cancelling never blocks scheduling it again.
    """
    values = dict(key=key, kind=kind, due_at=due_at, ticket_number=ticket_number, incident_id=incident_id,
                  attempts=0)
    insert = dialect_insert(session, TimerRow.__table__).values(values)  # type: ignore[arg-type]
    statement = insert.on_conflict_do_update(
        index_elements=["key"], where=TimerRow.__table__.c.cancelled_at.is_not(None),
        set_={"due_at": insert.excluded.due_at, "cancelled_at": None, "fired_at": None, "claimed_until": None,
              "claimed_by": None, "attempts": 0, "last_error": None})
    return bool(rows_affected(await session.execute(statement)))


async def cancel_timer(session: AsyncSession, *, key: str, now: datetime) -> bool:
    """Cancels the timer with this key unless it fired already; False when there was nothing to cancel."""
    result = await session.execute(update(TimerRow).where(TimerRow.key == key, TimerRow.fired_at.is_(None),
                                                          TimerRow.cancelled_at.is_(None)).values(cancelled_at=now))
    return bool(rows_affected(result))


async def cancel_timers(session: AsyncSession, *, now: datetime, kinds: Iterable[str],
                        ticket_number: int | None = None, incident_id: int | None = None) -> int:
    """Cancels every live timer of these kinds for the ticket or incident; returns how many."""
    conditions: list[ColumnElement[bool]] = [TimerRow.kind.in_(list(kinds)), TimerRow.fired_at.is_(None),
                                            TimerRow.cancelled_at.is_(None)]
    if ticket_number is not None:
        conditions.append(TimerRow.ticket_number == ticket_number)
    if incident_id is not None:
        conditions.append(TimerRow.incident_id == incident_id)
    result = await session.execute(update(TimerRow).where(*conditions).values(cancelled_at=now))
    return rows_affected(result)


async def claim_due_timers(session: AsyncSession, *, now: datetime, limit: int, lease: timedelta,
                           claimant: str) -> list[DueTimer]:
    """Claim up to `limit` due timers for `lease`; a claimant that dies lets them fall due again."""
    open_or_expired = or_(TimerRow.claimed_until.is_(None), TimerRow.claimed_until <= now)
    candidates = (await session.scalars(
        select(TimerRow.id)
        .where(TimerRow.due_at <= now, TimerRow.fired_at.is_(None), TimerRow.cancelled_at.is_(None), open_or_expired)
        .order_by(TimerRow.due_at).limit(limit))).all()
    claimed: list[DueTimer] = []
    for timer_id in candidates:
        result = await session.execute(
            update(TimerRow)
            .where(TimerRow.id == timer_id, TimerRow.fired_at.is_(None), TimerRow.cancelled_at.is_(None),
                   open_or_expired)
            .values(claimed_until=now + lease, claimed_by=claimant, attempts=TimerRow.attempts + 1))
        if rows_affected(result):
            row = await session.get(TimerRow, timer_id, populate_existing=True)
            assert row is not None
            claimed.append(_to_due(row))
    return claimed


async def still_claimed(session: AsyncSession, *, timer_id: int, claimant: str) -> bool:
    """True while this claimant still holds the timer and it was neither fired nor cancelled meanwhile."""
    row = await session.get(TimerRow, timer_id, populate_existing=True)
    return row is not None and row.cancelled_at is None and row.fired_at is None and row.claimed_by == claimant


async def complete_timer(session: AsyncSession, *, timer_id: int, now: datetime) -> None:
    """Marks the timer fired; it never fires again."""
    await session.execute(update(TimerRow).where(TimerRow.id == timer_id).values(fired_at=now, claimed_until=None))


async def retry_timer_later(session: AsyncSession, *, timer_id: int, due_at: datetime, error: str) -> None:
    """Releases the timer to fall due again at `due_at`, keeping the error that made it fail."""
    await session.execute(update(TimerRow).where(TimerRow.id == timer_id)
                          .values(due_at=due_at, claimed_until=None, claimed_by=None, last_error=error[:2000]))


async def pending_timers(session: AsyncSession, *, ticket_number: int | None = None,
                         incident_id: int | None = None) -> list[DueTimer]:
    """The deadlines not yet fired or cancelled, of the ticket or incident when given, soonest first."""
    conditions: list[ColumnElement[bool]] = [TimerRow.fired_at.is_(None), TimerRow.cancelled_at.is_(None)]
    if ticket_number is not None:
        conditions.append(TimerRow.ticket_number == ticket_number)
    if incident_id is not None:
        conditions.append(TimerRow.incident_id == incident_id)
    rows = await session.scalars(select(TimerRow).where(*conditions).order_by(TimerRow.due_at))
    return [_to_due(r) for r in rows]

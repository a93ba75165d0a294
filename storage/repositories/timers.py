"""Durable deadlines. A batch is claimed (and, on the tick's usual path, marked fired) in one UPDATE ... RETURNING,
rows locked by another replica skipped on PostgreSQL; firing commits with the handlers' writes, so two ticks or two
replicas never fire one twice. Only pending timers are in the tick's index; old history is pruned."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import TicketRow, TimerRow
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


_PENDING = (TimerRow.fired_at.is_(None), TimerRow.cancelled_at.is_(None))


def _open_or_expired(now: datetime) -> ColumnElement[bool]:
    return or_(TimerRow.claimed_until.is_(None), TimerRow.claimed_until <= now)


def claim_candidates(*, now: datetime, limit: int) -> Select[int]:
    """The due timers a claim would take, oldest first: read from the partial index of pending timers."""
    return (select(TimerRow.id).where(TimerRow.due_at <= now, *_PENDING, _open_or_expired(now))
            .order_by(TimerRow.due_at).limit(limit).with_for_update(skip_locked=True))


async def claim_due_timers(session: AsyncSession, *, now: datetime, limit: int, lease: timedelta,
                           claimant: str) -> list[DueTimer]:
    """Claim up to `limit` due timers for `lease` in one statement; a claimant that dies lets them fall due again.

    The inner SELECT walks only the partial index of pending timers; on PostgreSQL it locks what it picks and
    skips rows another replica is claiming at the same moment, so two ticks never wait on each other. The pick
    is a materialized CTE: PostgreSQL may re-run a LIMIT ... FOR UPDATE subquery inside an IN and then take more
    rows than the limit.
    """
    return await _take_due(session, now=now, limit=limit,
                           values={"claimed_until": now + lease, "claimed_by": claimant})


async def fire_due_timers(session: AsyncSession, *, now: datetime, limit: int, claimant: str) -> list[DueTimer]:
    """Claims up to `limit` due timers and marks them fired, in one statement: for a caller that runs their
    handlers in this same transaction, so the firing commits (or rolls back) with what the handlers wrote, and
    the rows stay locked (PostgreSQL) or the database's one writer held (SQLite) until then."""
    return await _take_due(session, now=now, limit=limit,
                           values={"fired_at": now, "claimed_until": None, "claimed_by": claimant})


async def _take_due(session: AsyncSession, *, now: datetime, limit: int, values: dict[str, Any]) -> list[DueTimer]:
    candidates = claim_candidates(now=now, limit=limit)
    if session.get_bind().dialect.name == "sqlite":
        # A plain subquery: Python's sqlite3 opens its transaction only before a statement that starts with
        # UPDATE/INSERT/DELETE, so a `WITH … UPDATE` would run in autocommit, and a batch that rolls back would
        # keep its timers marked fired. (SQLite runs the subquery once; there is no FOR UPDATE to re-run.)
        picked: Any = candidates.scalar_subquery()
    else:
        picked = select(candidates.cte("picked").prefix_with("MATERIALIZED").c.id)
    result = await session.execute(
        update(TimerRow).where(TimerRow.id.in_(picked), *_PENDING, _open_or_expired(now))
        .values(**values, attempts=TimerRow.attempts + 1)
        .returning(TimerRow.id, TimerRow.key, TimerRow.kind, TimerRow.ticket_number, TimerRow.incident_id,
                   TimerRow.due_at, TimerRow.attempts)
        .execution_options(synchronize_session=False))
    claimed = [DueTimer(id=r.id, key=r.key, kind=r.kind, ticket_number=r.ticket_number, incident_id=r.incident_id,
                        due_at=r.due_at, attempts=r.attempts) for r in result]
    return sorted(claimed, key=lambda t: (t.due_at, t.id))


async def mark_fired(session: AsyncSession, *, timer_id: int, claimant: str, now: datetime) -> bool:
    """Marks the timer fired if this claimant still holds it; False when it was cancelled since it was claimed,
    or its lease passed to another claimant. Called in the handler's transaction, before the handler, so the
    handler's records and the firing commit (or roll back) together."""
    result = await session.execute(
        update(TimerRow).where(TimerRow.id == timer_id, TimerRow.claimed_by == claimant, TimerRow.fired_at.is_(None),
                               TimerRow.cancelled_at.is_(None))
        .values(fired_at=now, claimed_until=None).execution_options(synchronize_session=False))
    return bool(rows_affected(result))


async def prune_history(session: AsyncSession, *, before: datetime, limit: int = 5000) -> int:
    """Deletes up to `limit` timers cancelled before `before`, and timers fired before it whose ticket is closed
    (or that belong to no ticket); returns how many. A fired timer of an open ticket is kept: its key is what
    refuses scheduling that deadline a second time."""
    closed = select(TicketRow.number).where(TicketRow.status == "closed")
    old = or_(TimerRow.cancelled_at < before,
              (TimerRow.fired_at < before) & (TimerRow.ticket_number.is_(None) | TimerRow.ticket_number.in_(closed)))
    doomed = select(TimerRow.id).where(old).limit(limit).scalar_subquery()
    result = await session.execute(delete(TimerRow).where(TimerRow.id.in_(doomed))
                                   .execution_options(synchronize_session=False))
    return rows_affected(result)


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

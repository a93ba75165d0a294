"""The pace of requests under one outside API key, shared by every replica through one row per key."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Float, case, cast, extract, func, literal_column
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ApiPaceRow
from storage.repositories._upsert import dialect_insert


def _database_now(session: AsyncSession) -> Any:
    """The database's clock in Unix seconds, read when the statement runs: after it has waited for the row's
    lock, and the same clock for every replica however far their own clocks drift."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        return cast(extract("epoch", func.clock_timestamp()), Float)
    return literal_column("((julianday('now') - 2440587.5) * 86400.0)", Float)


async def reserve_slot(session: AsyncSession, *, key_hash: str, spacing: timedelta) -> timedelta:
    """Reserves the next moment a request under the key may go out, and returns how long until then: none
    when the key was idle, else until `spacing` after the slot reserved before this one. Every caller gets a
    slot of its own.

    One statement: the upsert holds the key's row lock on PostgreSQL (a concurrent reservation waits for this
    transaction, then sees its slot), and SQLite has one writer. The caller commits at once and waits outside
    the transaction; nothing stays locked while anyone sleeps.
    """
    gap = spacing.total_seconds()
    now = _database_now(session)
    table = ApiPaceRow.__table__
    statement = dialect_insert(session, table).values(key_hash=key_hash, next_at=now + gap)  # type: ignore[arg-type]
    statement = statement.on_conflict_do_update(
        index_elements=["key_hash"],
        set_={"next_at": case((table.c.next_at > now, table.c.next_at + gap), else_=now + gap)},
    ).returning(table.c.next_at, now)
    next_at, at = (await session.execute(statement)).one()
    return timedelta(seconds=max(0.0, float(next_at) - gap - float(at)))

"""INSERT … ON CONFLICT DO NOTHING for both dialects: duplicates are stopped by the database, not a check."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def dialect_insert(session: AsyncSession, table: Table) -> Any:
    """The dialect's own INSERT, which knows ON CONFLICT."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


def insert_ignoring_conflicts(session: AsyncSession, table: Table, values: dict[str, Any],
                              conflict_on: list[str] | None) -> Any:
    """INSERT that does nothing on a clash with the unique key on `conflict_on`, or with any unique key when
    None."""
    return dialect_insert(session, table).values(values).on_conflict_do_nothing(index_elements=conflict_on)


def rows_affected(result: Any) -> int:
    """How many rows an INSERT/UPDATE/DELETE touched (CursorResult.rowcount, untyped on Result)."""
    return int(getattr(result, "rowcount", 0) or 0)

"""The spike check (every tick) and the monthly report read tickets by filing time through `ix_tickets_filed_at`
(migration 0013), on a real migrated database: a range of the index, not a walk over every ticket ever filed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.repositories import trends

NOW = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)



async def test_the_spike_checks_week_of_tickets_is_read_from_the_filing_time_index(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session:
        assert session.bind is not None
        statement = trends.filed_between(start=NOW - timedelta(days=7), end=NOW, categorised_only=True)
        query = str(statement.compile(dialect=session.bind.dialect, compile_kwargs={"literal_binds": True}))
        if session.bind.dialect.name == "sqlite":
            plan = " ".join(str(r[-1]) for r in await session.execute(text(f"EXPLAIN QUERY PLAN {query}")))
        else:
            await session.execute(text("SET enable_seqscan = off"))  # an empty table would rather be scanned
            plan = " ".join(str(r[0]) for r in await session.execute(text(f"EXPLAIN {query}")))
        assert await trends.tickets_filed_between(session, start=NOW - timedelta(days=7), end=NOW,
                                                  categorised_only=True) == []
    assert "ix_tickets_filed_at" in plan, plan

"""storage/repositories/side_effects.py on a real, migrated SQLite file: planning, leased claims, takeovers after
a lease ends, retries later, completion once, and what the recovery sweep finds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.db import create_engine, create_sessionmaker
from storage.migrate import upgrade_to_head
from storage.repositories import side_effects as repo
from storage.repositories.side_effects import Claim

NOW = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)
Sessions = async_sessionmaker[AsyncSession]


@pytest_asyncio.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[Sessions]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'effects.db'}")
    await upgrade_to_head(engine)
    yield create_sessionmaker(engine)
    await engine.dispose()


async def claim(sessions: Sessions, key: str, *, at: datetime, planned_only: bool = False) -> Claim | None:
    async with sessions.begin() as session:
        return await repo.claim_side_effect(session, key=key, now=at, lease=LEASE, planned_only=planned_only)


async def due(sessions: Sessions, *, at: datetime) -> list[str]:
    async with sessions() as session:
        return await repo.due_side_effects(session, now=at)


async def test_a_planned_effect_is_anyones_at_once_and_the_sweeps_after_its_grace(sessions: Sessions) -> None:
    async with sessions.begin() as session:
        await repo.plan_side_effects(session, keys=["ticket:1:card", "ticket:1:card:draft"], now=NOW,
                                     start_within=LEASE)
        await repo.plan_side_effects(session, keys=["ticket:1:card"], now=NOW, start_within=LEASE)  # once
    assert await due(sessions, at=NOW) == []
    first = await claim(sessions, "ticket:1:card", at=NOW)
    assert first == Claim("ticket:1:card", 1) and not first.again  # planned, then claimed: the first attempt
    assert sorted(await due(sessions, at=NOW + LEASE)) == ["ticket:1:card", "ticket:1:card:draft"]


async def test_a_held_claim_is_refused_until_its_lease_ends_then_taken_over_again(sessions: Sessions) -> None:
    assert await claim(sessions, "k", at=NOW) == Claim("k", 1)
    assert await claim(sessions, "k", at=NOW + LEASE / 2) is None
    takeover = await claim(sessions, "k", at=NOW + LEASE)
    assert takeover == Claim("k", 2) and takeover.again
    async with sessions.begin() as session:
        await repo.complete_side_effect(session, key="k", now=NOW + LEASE, result={"ts": "1.2"})
        assert await repo.side_effect_done(session, key="k") is True
    assert await claim(sessions, "k", at=NOW + 10 * LEASE) is None  # done is done
    assert await due(sessions, at=NOW + 10 * LEASE) == []


async def test_concurrent_claims_let_exactly_one_through(sessions: Sessions) -> None:
    results = await asyncio.gather(*(claim(sessions, "k", at=NOW) for _ in range(5)))
    assert sum(r is not None for r in results) == 1


async def test_planned_only_never_creates_an_effect(sessions: Sessions) -> None:
    assert await claim(sessions, "ticket:2:sev2_page", at=NOW, planned_only=True) is None
    async with sessions() as session:
        assert await repo.side_effect_done(session, key="ticket:2:sev2_page") is None


async def test_a_failure_that_may_pass_is_due_again_later_and_a_refusal_forgets_it(sessions: Sessions) -> None:
    await claim(sessions, "ticket:3:card", at=NOW)
    async with sessions.begin() as session:
        await repo.plan_side_effects(session, keys=["ticket:3:card:draft", "ticket:30:card"], now=NOW,
                                     start_within=LEASE)
        await repo.retry_side_effect_at(session, key="ticket:3:card", due=NOW + timedelta(seconds=10))
    assert await claim(sessions, "ticket:3:card", at=NOW + timedelta(seconds=5)) is None
    assert await due(sessions, at=NOW + timedelta(seconds=10)) == ["ticket:3:card"]
    async with sessions.begin() as session:
        await repo.release_side_effects_under(session, prefix="ticket:3:card")
    assert await due(sessions, at=NOW + LEASE) == ["ticket:30:card"]  # ticket 30 is not under ticket 3

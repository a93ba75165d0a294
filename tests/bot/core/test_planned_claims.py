"""Effects planned already claimed (bot/core/once.py `plan(claim=True)`): the process that filed a ticket posts
its card without a claim transaction of its own, nobody else can start it meanwhile, and a claim gone stale is
renewed rather than given away; on a real, migrated database (the suite's, SQLite or PostgreSQL)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.core.once import OneTimeSteps, attempt_seconds
from bot.sandbox.clock import ManualClock
from storage.repositories import side_effects as repo
from storage.repositories.side_effects import Claim

NOW = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)
LEASE = timedelta(seconds=40)


def writes(engine: AsyncEngine) -> list[str]:
    """The UPDATE and INSERT statements the engine runs from now on (a claim is one of them)."""
    seen: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.lstrip().upper().startswith(("UPDATE", "INSERT")):
            seen.append(statement.split("(")[0].strip())

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    return seen


async def _plan(sessions: async_sessionmaker[AsyncSession], once: OneTimeSteps, keys: list[str], *,
                claim: bool) -> None:
    async with sessions.begin() as session:
        await once.plan(session, keys, claim=claim)


async def test_the_planner_performs_its_claimed_effect_without_claiming_it_again(
        migrated_engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]) -> None:
    clock = ManualClock(NOW)
    once = OneTimeSteps(sessions=sessions, clock=clock, lease=LEASE)
    other = OneTimeSteps(sessions=sessions, clock=clock, lease=LEASE)  # another replica
    await _plan(sessions, once, ["ticket:1:card"], claim=True)
    assert await other.perform("ticket:1:card", _posted("other")) is None  # held: nobody else may start it
    statements = writes(migrated_engine)
    attempts: list[Claim] = []
    assert await once.perform("ticket:1:card", _posted("1.1", attempts)) == "1.1"
    assert attempts == [Claim("ticket:1:card", 1)]  # its first attempt: nothing to look for first
    # One write, the completion: no claim of its own.
    assert len(statements) == 1 and statements[0].startswith("UPDATE side_effects SET done_at"), statements
    assert await once.done("ticket:1:card")
    assert await once.perform("ticket:1:card", _posted("again")) is None  # done once


async def test_a_plan_that_was_rolled_back_holds_nothing(sessions: async_sessionmaker[AsyncSession]) -> None:
    clock = ManualClock(NOW)
    once = OneTimeSteps(sessions=sessions, clock=clock, lease=LEASE)
    with pytest.raises(RuntimeError):
        async with sessions.begin() as session:
            await once.plan(session, ["ticket:2:card"], claim=True)
            raise RuntimeError("the ticket was not saved")
    assert not await once.pending("ticket:2:card")
    # Nothing planned, nothing held: a new claim is made (and this is the first attempt).
    attempts: list[Claim] = []
    assert await once.perform("ticket:2:card", _posted("2.1", attempts)) == "2.1"
    assert attempts == [Claim("ticket:2:card", 1)]


async def test_an_effect_planned_by_someone_else_first_is_not_held(sessions: async_sessionmaker[AsyncSession]) -> None:
    clock = ManualClock(NOW)
    first, second = (OneTimeSteps(sessions=sessions, clock=clock, lease=LEASE) for _ in range(2))
    await _plan(sessions, first, ["ticket:3:card"], claim=True)
    await _plan(sessions, second, ["ticket:3:card"], claim=True)  # planned twice is planned once: first's
    assert await second.perform("ticket:3:card", _posted("second")) is None
    assert await first.perform("ticket:3:card", _posted("first")) == "first"


async def test_a_stale_planned_claim_is_renewed_in_one_write_and_lost_to_a_takeover(
        sessions: async_sessionmaker[AsyncSession]) -> None:
    clock = ManualClock(NOW)
    once = OneTimeSteps(sessions=sessions, clock=clock, lease=LEASE)
    await _plan(sessions, once, ["ticket:4:card", "ticket:4:card:draft"], claim=True)
    clock.advance(timedelta(seconds=attempt_seconds(LEASE) * 0.75))  # less than half its attempt left
    attempts: list[Claim] = []
    assert await once.perform("ticket:4:card", _posted("4.1", attempts)) == "4.1"
    assert attempts == [Claim("ticket:4:card", 1)]  # renewed: still the first attempt
    clock.advance(LEASE)  # the draft's lease ends: the sweep's takeover comes again
    sweep = OneTimeSteps(sessions=sessions, clock=clock, lease=LEASE)
    taken: list[Claim] = []
    assert await sweep.perform("ticket:4:card:draft", _posted("4.2", taken), planned_only=True) == "4.2"
    assert taken == [Claim("ticket:4:card:draft", 2)] and taken[0].again
    assert await once.perform("ticket:4:card:draft", _posted("late")) is None  # its stale claim is gone


async def test_renewing_needs_the_claim_still_to_be_the_planners(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        assert await repo.plan_side_effects(session, keys=["a", "b"], now=NOW, start_within=LEASE,
                                            claimed=True) == ["a", "b"]
        assert await repo.plan_side_effects(session, keys=["a", "c"], now=NOW, start_within=LEASE,
                                            claimed=True) == ["c"]
    later = NOW + LEASE * 2
    async with sessions.begin() as session:
        assert await repo.claim_side_effect(session, key="b", now=later, lease=LEASE) == Claim("b", 2)
    async with sessions.begin() as session:
        assert await repo.renew_planned_claim(session, key="a", claimed_at=NOW, now=later,
                                              lease=LEASE) == Claim("a", 1)
        assert await repo.renew_planned_claim(session, key="b", claimed_at=NOW, now=later, lease=LEASE) is None
        assert await repo.renew_planned_claim(session, key="c", claimed_at=later, now=later, lease=LEASE) is None


def _posted(ts: str, attempts: list[Claim] | None = None) -> Callable[[Claim], Awaitable[str]]:
    async def action(claim: Claim) -> str:
        if attempts is not None:
            attempts.append(claim)
        return ts

    return action

"""storage/repositories/timers.py on a real, migrated database (SQLite or PostgreSQL): scheduling, claiming,
leases, firing, pruning, and the plan of the tick's query."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.db import create_engine, create_sessionmaker
from storage.migrate import upgrade_to_head
from storage.models import IncidentRow, TicketRow, TimerRow
from storage.repositories import timers

NOW = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)
Sessions = async_sessionmaker[AsyncSession]



async def schedule(sessions: Sessions, key: str, *, due_at: datetime, kind: str = "breach",
                   ticket_number: int | None = None, incident_id: int | None = None) -> bool:
    async with sessions.begin() as session:
        return await timers.schedule_timer(session, key=key, kind=kind, due_at=due_at, ticket_number=ticket_number,
                                           incident_id=incident_id)


async def claim(sessions: Sessions, *, now: datetime, limit: int = 10, claimant: str = "tick-a",
                lease: timedelta = LEASE) -> list[timers.DueTimer]:
    async with sessions.begin() as session:
        return await timers.claim_due_timers(session, now=now, limit=limit, lease=lease, claimant=claimant)


async def row(sessions: Sessions, key: str) -> TimerRow:
    async with sessions() as session:
        found = await session.scalar(select(TimerRow).where(TimerRow.key == key))
        assert found is not None
        return found


async def add_ticket_and_incident(sessions: Sessions, number: int) -> int:
    async with sessions.begin() as session:
        session.add(TicketRow(
            number=number, submission_key=f"V{number}", workspace_id="ws_4f2a9c", requester_email="d@c.com",
            summary="s", what_happened="w", expected="e", impact="production_down", severity="SEV1",
            severity_reason="r", plan_tier="business", filed_by="U0AGENT1", filed_at=NOW,
            first_response_due=NOW + timedelta(hours=1)))
        await session.flush()
        incident = IncidentRow(ticket_number=number, public_title="Service disruption", opened_at=NOW,
                               last_public_update_at=NOW, last_public_message="Investigating")
        session.add(incident)
        await session.flush()
        return incident.id


# Scheduling ---------------------------------------------------------------------------------------------

async def test_schedule_timer_is_idempotent_per_key(sessions: Sessions) -> None:
    assert await schedule(sessions, "ticket:1:breach", due_at=NOW) is True
    assert await schedule(sessions, "ticket:1:breach", due_at=NOW + timedelta(hours=5), kind="other") is False
    assert await schedule(sessions, "ticket:1:warning", due_at=NOW) is True
    stored = await row(sessions, "ticket:1:breach")
    assert (stored.kind, stored.due_at, stored.attempts) == ("breach", NOW, 0)
    async with sessions() as session:
        assert len(await timers.pending_timers(session)) == 2


async def test_a_fired_key_is_not_scheduled_again(sessions: Sessions) -> None:
    await schedule(sessions, "once", due_at=NOW)
    [due] = await claim(sessions, now=NOW)
    async with sessions.begin() as session:
        await timers.mark_fired(session, timer_id=due.id, claimant="tick-a", now=NOW)
    assert await schedule(sessions, "once", due_at=NOW + timedelta(minutes=1)) is False
    assert await claim(sessions, now=NOW + timedelta(days=1)) == []


async def test_due_times_in_any_zone_are_one_instant_and_naive_ones_are_refused(sessions: Sessions) -> None:
    berlin = (NOW - timedelta(minutes=1)).astimezone(ZoneInfo("Europe/Berlin"))
    await schedule(sessions, "berlin", due_at=berlin)
    [due] = await claim(sessions, now=NOW)
    assert due.due_at == berlin and due.due_at.tzinfo is UTC
    with pytest.raises(StatementError, match="naive datetimes"):
        await schedule(sessions, "naive", due_at=datetime(2026, 11, 23, 19, 0))


# Claiming -----------------------------------------------------------------------------------------------

async def test_claim_takes_only_due_unfired_uncancelled_timers(sessions: Sessions) -> None:
    await schedule(sessions, "due-early", due_at=NOW - timedelta(minutes=5))
    await schedule(sessions, "due-now", due_at=NOW)
    await schedule(sessions, "later", due_at=NOW + timedelta(seconds=1))
    await schedule(sessions, "fired", due_at=NOW - timedelta(minutes=9))
    await schedule(sessions, "cancelled", due_at=NOW - timedelta(minutes=8), kind="reminder")
    [fired] = await claim(sessions, now=NOW - timedelta(minutes=9))
    async with sessions.begin() as session:
        assert await timers.mark_fired(session, timer_id=fired.id, claimant="tick-a", now=NOW - timedelta(minutes=9))
        assert await timers.cancel_timers(session, now=NOW, kinds=["reminder"]) == 1

    claimed = await claim(sessions, now=NOW, claimant="tick-a")
    assert [t.key for t in claimed] == ["due-early", "due-now"]  # oldest first
    assert all(t.attempts == 1 for t in claimed)
    stored = await row(sessions, "due-now")
    assert (stored.claimed_by, stored.claimed_until) == ("tick-a", NOW + LEASE)
    # Claimed timers are leased: the next tick takes only what fell due since.
    assert [t.key for t in await claim(sessions, now=NOW + timedelta(seconds=15), claimant="tick-b")] == ["later"]


async def test_claim_respects_the_limit(sessions: Sessions) -> None:
    for i in range(5):
        await schedule(sessions, f"t{i}", due_at=NOW - timedelta(minutes=10 - i))
    first = await claim(sessions, now=NOW, limit=2)
    second = await claim(sessions, now=NOW, limit=2)
    rest = await claim(sessions, now=NOW, limit=2)
    assert [[t.key for t in batch] for batch in (first, second, rest)] == [["t0", "t1"], ["t2", "t3"], ["t4"]]


async def test_concurrent_claimers_never_claim_the_same_timer(sessions: Sessions) -> None:
    ids = []
    for i in range(30):
        await schedule(sessions, f"t{i}", due_at=NOW - timedelta(seconds=i))
        ids.append((await row(sessions, f"t{i}")).id)
    for _ in range(4):  # several rounds, so the two claimers interleave in different orders
        batches = await asyncio.gather(claim(sessions, now=NOW, limit=5, claimant="replica-a"),
                                       claim(sessions, now=NOW, limit=5, claimant="replica-b"))
        claimed = [t.id for batch in batches for t in batch]
        assert len(claimed) == len(set(claimed))
        for batch, claimant in zip(batches, ("replica-a", "replica-b"), strict=True):
            for timer in batch:
                assert (await row(sessions, timer.key)).claimed_by == claimant
    async with sessions() as session:
        attempts = (await session.scalars(select(TimerRow.attempts))).all()
    assert max(attempts) <= 1  # a timer claimed twice would show two attempts
    assert sum(attempts) >= 5  # and the claimers did claim


async def test_two_claimers_racing_for_everything_split_it(sessions: Sessions) -> None:
    for i in range(12):
        await schedule(sessions, f"t{i}", due_at=NOW - timedelta(seconds=i))
    a, b = await asyncio.gather(claim(sessions, now=NOW, limit=100, claimant="a"),
                                claim(sessions, now=NOW, limit=100, claimant="b"))
    keys = [t.key for t in a] + [t.key for t in b]
    assert sorted(keys) == sorted(f"t{i}" for i in range(12))
    assert len(keys) == len(set(keys))


async def test_an_expired_lease_lets_the_timer_be_claimed_again(sessions: Sessions) -> None:
    await schedule(sessions, "lease", due_at=NOW)
    [first] = await claim(sessions, now=NOW, claimant="dead-replica")
    assert await claim(sessions, now=NOW + LEASE - timedelta(seconds=1), claimant="b") == []
    [again] = await claim(sessions, now=NOW + LEASE, claimant="b")
    assert again.id == first.id
    assert (first.attempts, again.attempts) == (1, 2)
    stored = await row(sessions, "lease")
    assert (stored.claimed_by, stored.claimed_until) == ("b", NOW + 2 * LEASE)


# Completing, cancelling, retrying -----------------------------------------------------------------------

async def test_a_fired_timer_stops(sessions: Sessions) -> None:
    await schedule(sessions, "done", due_at=NOW)
    await schedule(sessions, "other", due_at=NOW + timedelta(hours=1))
    [due] = await claim(sessions, now=NOW)
    async with sessions.begin() as session:
        await timers.mark_fired(session, timer_id=due.id, claimant="tick-a", now=NOW + timedelta(seconds=2))
    stored = await row(sessions, "done")
    assert (stored.fired_at, stored.claimed_until) == (NOW + timedelta(seconds=2), None)
    async with sessions() as session:
        assert [t.key for t in await timers.pending_timers(session)] == ["other"]
        assert (await timers.pending_timers(session))[0].due_at == NOW + timedelta(hours=1)
    assert [t.key for t in await claim(sessions, now=NOW + timedelta(days=1))] == ["other"]


async def test_cancel_timers_by_kind_ticket_and_incident(sessions: Sessions) -> None:
    incident_7 = await add_ticket_and_incident(sessions, 7)
    incident_8 = await add_ticket_and_incident(sessions, 8)
    await schedule(sessions, "ticket:7:warning", kind="warning", due_at=NOW, ticket_number=7)
    await schedule(sessions, "ticket:7:breach", kind="breach", due_at=NOW, ticket_number=7)
    await schedule(sessions, "ticket:8:breach", kind="breach", due_at=NOW, ticket_number=8)
    await schedule(sessions, "incident:7:reminder", kind="reminder", due_at=NOW, incident_id=incident_7)
    await schedule(sessions, "incident:8:reminder", kind="reminder", due_at=NOW, incident_id=incident_8)

    async with sessions.begin() as session:
        assert await timers.cancel_timers(session, now=NOW, kinds=["warning", "breach"], ticket_number=7) == 2
        assert await timers.cancel_timers(session, now=NOW, kinds=["reminder"], incident_id=incident_7) == 1
        # Cancelling again changes nothing.
        assert await timers.cancel_timers(session, now=NOW, kinds=["warning", "breach"], ticket_number=7) == 0
        assert await timers.cancel_timers(session, now=NOW, kinds=[]) == 0
    async with sessions() as session:
        assert [t.key for t in await timers.pending_timers(session, ticket_number=7)] == []
        assert [t.key for t in await timers.pending_timers(session, incident_id=incident_8)] == [
            "incident:8:reminder"]
    claimed = await claim(sessions, now=NOW + timedelta(hours=1))
    assert sorted(t.key for t in claimed) == ["incident:8:reminder", "ticket:8:breach"]
    assert (await row(sessions, "ticket:7:breach")).cancelled_at == NOW


async def test_cancel_does_not_touch_fired_timers(sessions: Sessions) -> None:
    await schedule(sessions, "fired", due_at=NOW)
    [due] = await claim(sessions, now=NOW)
    async with sessions.begin() as session:
        await timers.mark_fired(session, timer_id=due.id, claimant="tick-a", now=NOW)
        assert await timers.cancel_timers(session, now=NOW + timedelta(minutes=1), kinds=["breach"]) == 0
    assert (await row(sessions, "fired")).cancelled_at is None


async def test_retry_timer_later_moves_due_at_and_releases_the_claim(sessions: Sessions) -> None:
    await schedule(sessions, "flaky", due_at=NOW)
    [due] = await claim(sessions, now=NOW, claimant="a")
    async with sessions.begin() as session:
        await timers.retry_timer_later(session, timer_id=due.id, due_at=NOW + timedelta(minutes=5),
                                       error="Statuspage answered 503 " + "x" * 3000)
    stored = await row(sessions, "flaky")
    assert (stored.due_at, stored.claimed_until, stored.claimed_by) == (NOW + timedelta(minutes=5), None, None)
    assert stored.last_error is not None and stored.last_error.startswith("Statuspage answered 503")
    assert len(stored.last_error) == 2000
    async with sessions() as session:
        assert (await timers.pending_timers(session))[0].due_at == NOW + timedelta(minutes=5)
    assert await claim(sessions, now=NOW + timedelta(minutes=4)) == []
    [again] = await claim(sessions, now=NOW + timedelta(minutes=5), claimant="b")
    assert (again.id, again.attempts, again.due_at) == (due.id, 2, NOW + timedelta(minutes=5))


async def test_a_retry_due_now_is_claimable_before_the_old_lease_ends(sessions: Sessions) -> None:
    await schedule(sessions, "quick", due_at=NOW)
    [due] = await claim(sessions, now=NOW)
    async with sessions.begin() as session:
        await timers.retry_timer_later(session, timer_id=due.id, due_at=NOW + timedelta(seconds=1), error="boom")
    [again] = await claim(sessions, now=NOW + timedelta(seconds=1))
    assert again.attempts == 2


async def test_mark_fired_refuses_a_cancelled_timer_and_another_claimants(sessions: Sessions) -> None:
    await schedule(sessions, "cancelled", due_at=NOW, kind="reminder")
    await schedule(sessions, "taken-over", due_at=NOW)
    claimed = {t.key: t for t in await claim(sessions, now=NOW, claimant="a")}
    async with sessions.begin() as session:
        await timers.cancel_timer(session, key="cancelled", now=NOW)
    # a's lease ends; b claims the timer a still thinks it holds
    [again] = await claim(sessions, now=NOW + LEASE, claimant="b")
    assert again.key == "taken-over"
    async with sessions.begin() as session:
        assert not await timers.mark_fired(session, timer_id=claimed["cancelled"].id, claimant="a", now=NOW)
        assert not await timers.mark_fired(session, timer_id=claimed["taken-over"].id, claimant="a", now=NOW)
        assert await timers.mark_fired(session, timer_id=again.id, claimant="b", now=NOW + LEASE)
        assert not await timers.mark_fired(session, timer_id=again.id, claimant="b", now=NOW + LEASE)


async def test_two_claimants_at_once_split_a_batch_and_never_share_a_timer(sessions: Sessions) -> None:
    for n in range(60):
        await schedule(sessions, f"due-{n}", due_at=NOW - timedelta(seconds=n))
    first, second = await asyncio.gather(claim(sessions, now=NOW, limit=40, claimant="a"),
                                         claim(sessions, now=NOW, limit=40, claimant="b"))
    keys_a, keys_b = {t.key for t in first}, {t.key for t in second}
    assert not keys_a & keys_b
    assert len(keys_a | keys_b) == 60
    assert [t.due_at for t in first] == sorted(t.due_at for t in first)  # oldest first within a batch


async def test_prune_deletes_old_history_but_keeps_what_refuses_a_second_schedule(sessions: Sessions) -> None:
    await add_ticket_and_incident(sessions, 7)  # an open ticket
    await add_ticket_and_incident(sessions, 8)
    async with sessions.begin() as session:
        closed = await session.get(TicketRow, 8)
        assert closed is not None
        closed.status = "closed"
    long_ago = NOW - timedelta(days=40)
    for key, ticket in (("open-fired", 7), ("closed-fired", 8), ("no-ticket-fired", None), ("recent-fired", 8)):
        await schedule(sessions, key, due_at=long_ago if key != "recent-fired" else NOW, ticket_number=ticket)
    await schedule(sessions, "old-cancelled", due_at=NOW + timedelta(days=2), kind="reminder", ticket_number=7)
    await schedule(sessions, "pending", due_at=NOW + timedelta(days=1), ticket_number=7)
    for due in await claim(sessions, now=long_ago):
        async with sessions.begin() as session:
            assert await timers.mark_fired(session, timer_id=due.id, claimant="tick-a", now=long_ago)
    [recent] = await claim(sessions, now=NOW)
    async with sessions.begin() as session:
        assert await timers.mark_fired(session, timer_id=recent.id, claimant="tick-a", now=NOW)
        await timers.cancel_timers(session, now=long_ago, kinds=["reminder"])

    async with sessions.begin() as session:
        assert await timers.prune_history(session, before=NOW - timedelta(days=30)) == 3
    async with sessions() as session:
        left = set((await session.scalars(select(TimerRow.key))).all())
    assert left == {"open-fired", "recent-fired", "pending"}
    assert await schedule(sessions, "open-fired", due_at=NOW) is False  # still refused: its ticket is open
    assert await schedule(sessions, "old-cancelled", due_at=NOW) is True  # as a cancelled one would be re-armed


async def test_the_tick_reads_only_the_index_of_pending_timers(sessions: Sessions) -> None:
    """The claim's candidates come from the partial index, never a walk over fired history."""
    async with sessions() as session:
        dialect = session.bind.dialect.name
        statement = timers.claim_candidates(now=NOW, limit=50)
        compiled = statement.compile(dialect=session.bind.dialect, compile_kwargs={"literal_binds": True})
        query = str(compiled)
        if dialect == "sqlite":
            plan = " ".join(str(r[-1]) for r in await session.execute(text(f"EXPLAIN QUERY PLAN {query}")))
        else:
            await session.execute(text("SET enable_seqscan = off"))  # an empty table would rather be scanned
            plan = " ".join(str(r[0]) for r in await session.execute(text(f"EXPLAIN {query}")))
    assert "ix_timers_pending" in plan, plan


async def test_timers_fired_in_an_open_batch_are_locked_and_a_rolled_back_batch_fires_nothing(
        sessions: Sessions) -> None:
    for n in range(6):
        await schedule(sessions, f"due-{n}", due_at=NOW - timedelta(seconds=n))
    async with sessions() as batch:
        await batch.begin()
        taken = await timers.fire_due_timers(batch, now=NOW, limit=4, claimant="a")
        assert len(taken) == 4
        # Meanwhile another replica's tick: it skips the locked rows (PostgreSQL) or waits its turn (SQLite).
        if sessions.kw["bind"].dialect.name != "sqlite":
            other = await claim(sessions, now=NOW, claimant="b")
            assert {t.key for t in other}.isdisjoint({t.key for t in taken}) and len(other) == 2
        await batch.rollback()  # a handler failed, or the process died: nothing of the batch happened
    assert [(await row(sessions, t.key)).fired_at for t in taken] == [None] * 4


async def test_a_replica_idle_inside_its_batch_loses_the_locked_timers_after_the_lease(postgres_url: str) -> None:
    engine = create_engine(postgres_url, idle_in_transaction=timedelta(seconds=1))
    await upgrade_to_head(engine)
    hung_sessions = create_sessionmaker(engine)
    other_engine = create_engine(postgres_url)
    others = create_sessionmaker(other_engine)
    try:
        for n in range(3):
            await schedule(others, f"due-{n}", due_at=NOW - timedelta(seconds=n))
        hung = hung_sessions()
        await hung.begin()
        assert len(await timers.fire_due_timers(hung, now=NOW, limit=10, claimant="hung")) == 3
        assert await claim(others, now=NOW, claimant="b") == []  # locked by the hung replica's batch
        await asyncio.sleep(2.0)  # the hung replica sends nothing: the server ends its session after 1 s
        assert len(await claim(others, now=NOW, claimant="b")) == 3
        with pytest.raises(Exception):  # noqa: B017 - the hung replica's connection is gone, whatever it says
            await hung.commit()
        await hung.close()
    finally:
        await engine.dispose()
        await other_engine.dispose()

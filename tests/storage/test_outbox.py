"""storage/repositories/outbox.py on a real, migrated SQLite file and on PostgreSQL: rows written with the audit
event, in its transaction; the head of each (URL, ticket) stream claimed with a lease, in order; backoff; the
backlog."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import event as sa_event
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.db import create_engine, create_sessionmaker
from storage.migrate import upgrade_to_head
from storage.models import TicketRow, WebhookOutboxRow
from storage.repositories import audit, outbox
from tests.postgres import postgres_server

NOW = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)
A, B = "https://a.example/hook", "https://b.example/hook?token=x"
Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest_asyncio.fixture(params=["sqlite", "postgresql"])
async def sessions(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Sessions]:
    if request.param == "sqlite":
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'outbox.db'}")
    else:
        engine = create_engine(request.getfixturevalue("postgres_url"))
        async with engine.begin() as connection:  # each test starts from an empty schema
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    await upgrade_to_head(engine)
    made = create_sessionmaker(engine)
    outbox.deliver_to(made, [A, B])
    async with made.begin() as session:
        for number in (1, 2):
            session.add(TicketRow(
                number=number, submission_key=f"V{number}", workspace_id="ws_4f2a9c", requester_email="d@c.com",
                summary="s", what_happened="w", expected="e", impact="minor", severity="SEV3",
                severity_reason="r", plan_tier="business", filed_by="U0AGENT1", filed_at=NOW,
                first_response_due=NOW + timedelta(hours=1)))
    yield made
    await engine.dispose()


async def event(sessions: Sessions, ticket: int | None, action: str, *, at: datetime = NOW) -> None:
    async with sessions.begin() as session:
        await audit.append_audit_event(session, ticket_number=ticket, action=action, actor="U0AGENT1", at=at,
                                       before={"severity": "SEV3"}, after={"severity": "SEV2"})


async def rows(sessions: Sessions) -> list[WebhookOutboxRow]:
    async with sessions() as session:
        return list(await session.scalars(select(WebhookOutboxRow).order_by(WebhookOutboxRow.id)))


async def claim(sessions: Sessions, url: str, ticket: int | None, *, now: datetime = NOW,
                claimant: str = "me") -> outbox.Delivery | None:
    async with sessions.begin() as session:
        return await outbox.claim_next(session, stream=outbox.Stream(url, ticket), now=now, lease=LEASE,
                                       claimant=claimant)


async def test_an_audit_event_is_queued_once_per_url_with_one_event_id(sessions: Sessions) -> None:
    await event(sessions, 1, "severity_changed")
    written = await rows(sessions)
    assert [r.url for r in written] == [A, B]
    assert written[0].event_id == written[1].event_id and written[0].event_id.startswith("evt_")
    async with sessions() as session:
        trail = await audit.audit_trail(session, ticket_number=1)
    assert written[0].payload == {
        "event_id": written[0].event_id, "audit_id": trail[0].id, "ticket_number": 1,
        "action": "severity_changed", "actor": "U0AGENT1", "at": "2026-11-23T19:00:00Z",
        "before": {"severity": "SEV3"}, "after": {"severity": "SEV2"}}


async def test_the_outbox_row_shares_the_event_transaction(sessions: Sessions) -> None:
    with pytest.raises(RuntimeError):
        async with sessions.begin() as session:
            await audit.append_audit_event(session, ticket_number=1, action="filed", actor="U1", at=NOW)
            raise RuntimeError("the caller's transaction fails after the event")
    assert await rows(sessions) == []


async def test_a_session_without_destinations_queues_nothing(sessions: Sessions) -> None:
    plain = async_sessionmaker(sessions.kw["bind"], expire_on_commit=False)
    async with plain.begin() as session:
        await audit.append_audit_event(session, ticket_number=1, action="filed", actor="U1", at=NOW)
    assert await rows(sessions) == []


async def test_a_later_event_never_overtakes_an_undelivered_earlier_one(sessions: Sessions) -> None:
    await event(sessions, 1, "filed")
    await event(sessions, 1, "severity_changed")
    await event(sessions, 2, "filed")
    await event(sessions, None, "customer_action")
    async with sessions() as session:
        streams = await outbox.due_streams(session, urls=[A], now=NOW, limit=10)
    assert sorted(streams, key=lambda s: s.ticket_number or 0) == [
        outbox.Stream(A, None), outbox.Stream(A, 1), outbox.Stream(A, 2)]

    first = await claim(sessions, A, 1)
    assert first is not None and first.payload["action"] == "filed" and first.attempts == 1
    assert await claim(sessions, A, 1, claimant="other") is None  # held: the second must not go meanwhile
    async with sessions.begin() as session:
        await outbox.retry_later(session, delivery_id=first.id, at=NOW + timedelta(seconds=10), error="HTTP 500",
                                 now=NOW)
        assert outbox.Stream(A, 1) not in await outbox.due_streams(session, urls=[A], now=NOW, limit=10)
    assert await claim(sessions, A, 1) is None  # not due yet, and the later event waits behind it
    again = await claim(sessions, A, 1, now=NOW + timedelta(seconds=10))
    assert again is not None and again.id == first.id and again.attempts == 2
    async with sessions.begin() as session:
        await outbox.mark_delivered(session, delivery_id=again.id, now=NOW + timedelta(seconds=11))
    second = await claim(sessions, A, 1, now=NOW + timedelta(seconds=11))
    assert second is not None and second.payload["action"] == "severity_changed"
    # Each URL is its own stream: B still has ticket 1's first event to send.
    other = await claim(sessions, B, 1)
    assert other is not None and other.payload["action"] == "filed"


async def test_a_lapsed_lease_lets_the_next_claimant_take_it(sessions: Sessions) -> None:
    await event(sessions, 1, "filed")
    held = await claim(sessions, A, 1, claimant="dead process")
    assert held is not None
    assert await claim(sessions, A, 1, now=NOW + LEASE - timedelta(seconds=1), claimant="next") is None
    taken = await claim(sessions, A, 1, now=NOW + LEASE, claimant="next")
    assert taken is not None and taken.id == held.id and taken.attempts == 2


async def test_the_backlog_per_url(sessions: Sessions) -> None:
    await event(sessions, 1, "filed", at=NOW)
    await event(sessions, 1, "severity_changed", at=NOW + timedelta(minutes=1))
    first = await claim(sessions, A, 1)
    assert first is not None
    async with sessions.begin() as session:
        await outbox.retry_later(session, delivery_id=first.id, at=NOW + timedelta(seconds=10), error="HTTP 503",
                                 now=NOW + timedelta(seconds=1))
    retried = await claim(sessions, A, 1, now=NOW + timedelta(seconds=10))
    assert retried is not None
    async with sessions.begin() as session:
        await outbox.mark_delivered(session, delivery_id=retried.id, now=NOW + timedelta(seconds=10))
        found = await outbox.backlog(session)
    assert found == [
        outbox.Backlog(url=A, undelivered=1, delivered=1, oldest_undelivered_at=NOW + timedelta(minutes=1),
                       last_error="HTTP 503", last_error_at=NOW + timedelta(seconds=1)),
        outbox.Backlog(url=B, undelivered=2, delivered=0, oldest_undelivered_at=NOW, last_error=None,
                       last_error_at=None)]


async def test_without_destinations_a_transactions_events_are_written_together_in_order(
        sessions: Sessions) -> None:
    plain = async_sessionmaker(sessions.kw["bind"], expire_on_commit=False)  # no webhook destinations
    inserts: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO AUDIT_LOG"):
            inserts.append(statement)

    engine = sessions.kw["bind"].sync_engine
    sa_event.listen(engine, "before_cursor_execute", seen)
    try:
        async with plain.begin() as session:
            for n in range(5):
                await audit.append_audit_event(session, ticket_number=1, action=f"reminder_{n}", actor="supportbot",
                                               at=NOW + timedelta(seconds=n))
            assert inserts == []  # nothing flushed per event
    finally:
        sa_event.remove(engine, "before_cursor_execute", seen)
    async with plain() as session:
        trail = await audit.audit_trail(session, ticket_number=1)
        queued = (await session.scalars(select(WebhookOutboxRow))).all()
    assert [e.action for e in trail] == [f"reminder_{n}" for n in range(5)]  # in the order appended
    assert queued == []
    if engine.dialect.name == "postgresql":
        assert len(inserts) == 1, inserts  # one INSERT for the five (insertmanyvalues)

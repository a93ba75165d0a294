"""The same storage on PostgreSQL through asyncpg: migrations, once-only inserts, claims, the audit trigger,
and a ticket filed end to end by the real bot."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import SupportBot
from bot.core.config import BotConfig, EnvSettings, Settings
from bot.domain import Environment, Impact, IncidentStep, PlanTier, Severity
from bot.sandbox.clock import ManualClock
from bot.sandbox.driver import SlackDriver
from bot.sandbox.slack import SlackSandbox
from bot.sandbox.workspace import file_ticket
from storage.db import create_engine, create_sessionmaker
from storage.migrate import upgrade_to_head
from storage.repositories import audit, incident_steps, incidents, side_effects, timers
from storage.repositories import tickets as ticket_repo
from tests.conftest import SIGNING_SECRET
from tests.postgres import postgres_server

NOW = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest_asyncio.fixture
async def engine(postgres_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(postgres_url)
    async with engine.begin() as connection:  # each test starts from an empty schema
        await connection.execute(text("DROP SCHEMA public CASCADE"))
        await connection.execute(text("CREATE SCHEMA public"))
    await upgrade_to_head(engine)
    yield engine
    await engine.dispose()


def _draft(**changes: Any) -> ticket_repo.TicketDraft:
    draft = ticket_repo.TicketDraft(
        workspace_id="ws_4f2a9c", requester_email="dana@customer.example", summary="Exports fail",
        what_happened="x", expected="y", impact=Impact.PRODUCTION_DOWN, severity=Severity.SEV1,
        severity_reason="r", plan_tier=PlanTier.PRO, environment=Environment(occurred_at=NOW),
        attachment_link=None, helpdesk_link=None, category=None, filed_by="U0AGENT001", filed_at=NOW,
        first_response_due=NOW + timedelta(hours=1), redactions=("a JWT in What happened",), origin_channel=None)
    return replace(draft, **changes)


async def test_a_submission_makes_one_ticket_and_numbers_are_sequential(engine: AsyncEngine) -> None:
    sessions = create_sessionmaker(engine)
    async with sessions.begin() as session:
        first, created = await ticket_repo.insert_ticket_once(session, draft=_draft(), submission_key="V1")
        again, created_again = await ticket_repo.insert_ticket_once(session, draft=_draft(), submission_key="V1")
        second, _ = await ticket_repo.insert_ticket_once(session, draft=_draft(), submission_key="V2")
    assert (created, created_again) == (True, False)
    assert first.number == again.number and second.number == first.number + 1
    assert first.filed_at == NOW and first.environment.occurred_at == NOW  # time zones survive the round trip
    assert first.redactions == ("a JWT in What happened",)


async def test_concurrent_claimers_never_share_a_timer(engine: AsyncEngine) -> None:
    sessions = create_sessionmaker(engine)
    async with sessions.begin() as session:
        for i in range(20):
            await timers.schedule_timer(session, key=f"t{i}", kind="k", due_at=NOW)
        assert not await timers.schedule_timer(session, key="t0", kind="k", due_at=NOW)

    async def claim(name: str) -> list[int]:
        async with sessions.begin() as session:
            return [t.id for t in await timers.claim_due_timers(session, now=NOW, limit=20,
                                                                  lease=timedelta(minutes=1), claimant=name)]

    a, b = await asyncio.gather(claim("a"), claim("b"))
    assert not set(a) & set(b) and len(a) + len(b) == 20


async def test_the_audit_log_refuses_updates_and_deletes(engine: AsyncEngine) -> None:
    sessions = create_sessionmaker(engine)
    async with sessions.begin() as session:
        ticket, _ = await ticket_repo.insert_ticket_once(session, draft=_draft(), submission_key="V1")
        await audit.append_audit_event(session, ticket_number=ticket.number, action="ticket_filed", actor="U1",
                                       at=NOW, after={"severity": "SEV1"})
    for statement in ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with engine.begin() as connection:
                await connection.execute(text(statement))
    async with sessions() as session:
        assert [e.actor for e in await audit.audit_trail(session, ticket_number=ticket.number)] == ["U1"]


async def test_incident_steps_are_claimed_once(engine: AsyncEngine) -> None:
    sessions = create_sessionmaker(engine)
    async with sessions.begin() as session:
        ticket, _ = await ticket_repo.insert_ticket_once(session, draft=_draft(), submission_key="V1")
        incident, created = await incidents.open_incident_once(session, ticket_number=ticket.number, generation=1,
                                                               public_title="t", message="m", now=NOW,
                                                               steps=list(IncidentStep))
        _, created_again = await incidents.open_incident_once(session, ticket_number=ticket.number, generation=1,
                                                              public_title="t", message="m", now=NOW,
                                                              steps=list(IncidentStep))
        assert (created, created_again) == (True, False)
        lease = timedelta(minutes=2)
        assert await side_effects.claim_side_effect(session, key="k", now=NOW, lease=lease)
        assert not await side_effects.claim_side_effect(session, key="k", now=NOW, lease=lease)
        # The lease ended without a report: the next attempt takes over, told it comes again.
        taken = await side_effects.claim_side_effect(session, key="k", now=NOW + lease, lease=lease)
        assert taken is not None and taken.again
        await side_effects.complete_side_effect(session, key="k", now=NOW + lease)
        assert not await side_effects.claim_side_effect(session, key="k", now=NOW + 2 * lease, lease=lease)

    async def claim() -> bool:
        async with sessions.begin() as session:
            return await incident_steps.claim_step(session, incident_id=incident.id, step=IncidentStep.PAGE, now=NOW,
                                              lease=timedelta(minutes=1))

    assert sorted(await asyncio.gather(claim(), claim(), claim())) == [False, False, True]


async def test_the_bot_files_a_ticket_on_postgresql(engine: AsyncEngine, postgres_url: str, config: BotConfig,
                                                     sandbox: SlackSandbox, env_settings: EnvSettings) -> None:
    settings = Settings(config=config, env=replace(env_settings, database_url=postgres_url))
    bot = await SupportBot.create(settings, clock=ManualClock(NOW))  # PostgreSQL: migrated by the fixture
    await bot.start(host="127.0.0.1", port=0, scheduler=False)
    try:
        async with SlackDriver(events_url=f"http://127.0.0.1:{bot.port}/slack/events",
                               signing_secret=SIGNING_SECRET, sandbox=sandbox) as slack:
            await file_ticket(slack, sandbox)
            await sandbox.wait_for(lambda: next(iter(sandbox.history("C0TRIAGE01")), None))
        async with bot.sessions() as session:
            assert await ticket_repo.count_tickets(session) == 1
            assert len(await timers.pending_timers(session, ticket_number=1)) == 2
        assert await bot.health_problem() is None
    finally:
        await bot.stop()

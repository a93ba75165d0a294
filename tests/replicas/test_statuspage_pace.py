"""Statuspage's one request a second per key holds across replicas: two clients, each with its own engine on
the one database (two processes' worth of connections), sending at the same moment, are spaced through the
key's row in `api_pace`, and the stand-in (which answers 429 past one request a second) refuses none."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.errors import OutsideServiceError
from bot.integrations.statuspage import PublicIncidentDraft, SharedPace, Statuspage, pace_key
from bot.sandbox.statuspage import StatuspageStandIn
from storage.db import create_engine, create_sessionmaker
from storage.migrate import upgrade_to_head
from storage.repositories.pace import reserve_slot

DRAFT = PublicIncidentDraft(name="Service disruption", status="investigating", body="We are investigating.")
SPACING = 1.05  # the client's default: one a second, with room for jitter at the stand-in's end


@pytest_asyncio.fixture
async def standin() -> AsyncIterator[StatuspageStandIn]:
    async with StatuspageStandIn(requests_per_second=1.0, rate_window=1.0) as server:
        yield server


@pytest_asyncio.fixture
async def replicas(database_url: str) -> AsyncIterator[list[async_sessionmaker[AsyncSession]]]:
    """Two replicas' session factories: an engine (and connection pool) each, on the one database."""
    engines = [create_engine(database_url) for _ in range(2)]
    await upgrade_to_head(engines[0])
    yield [create_sessionmaker(engine) for engine in engines]
    for engine in engines:
        await engine.dispose()


def _client(standin: StatuspageStandIn, sessions: async_sessionmaker[AsyncSession] | None) -> Statuspage:
    # One attempt: a 429 is an error here, never hidden by a retry after Retry-After.
    return Statuspage(api_url=standin.api_url, api_key=standin.api_key, page_id=standin.page_id, attempts=1,
                      min_interval=SPACING, pacer=SharedPace(sessions) if sessions is not None else None)


async def test_two_replicas_sending_at_once_keep_to_one_request_a_second(
        standin: StatuspageStandIn, replicas: list[async_sessionmaker[AsyncSession]]) -> None:
    clients = [_client(standin, sessions) for sessions in replicas]
    try:
        published = await asyncio.gather(*(clients[n % 2].open_incident(DRAFT, idempotency_key=f"incident-{n}")
                                           for n in range(3)))
    finally:
        for client in clients:
            await client.close()
    assert len({incident.id for incident in published}) == 3
    assert [r.status for r in standin.requests] == [201] * 3
    times = sorted(r.at for r in standin.requests)
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert min(gaps) >= 0.95, gaps


async def test_without_the_shared_pace_the_second_replica_is_refused(standin: StatuspageStandIn) -> None:
    """The control: each replica pacing only itself sends two requests in the same second, and Statuspage
    says 429 to one of them."""
    clients = [_client(standin, None) for _ in range(2)]
    try:
        outcomes = await asyncio.gather(*(client.open_incident(DRAFT, idempotency_key=f"incident-{n}")
                                          for n, client in enumerate(clients)), return_exceptions=True)
    finally:
        for client in clients:
            await client.close()
    refused = [o for o in outcomes if isinstance(o, OutsideServiceError)]
    assert len(refused) == 1 and refused[0].status == 429
    assert sorted(r.status for r in standin.requests) == [201, 429]


async def _reserve(sessions: async_sessionmaker[AsyncSession], key: str, spacing: float) -> float:
    async with sessions.begin() as session:
        return (await reserve_slot(session, key_hash=key, spacing=timedelta(seconds=spacing))).total_seconds()


async def test_slots_follow_one_another_and_an_idle_key_goes_at_once(
        replicas: list[async_sessionmaker[AsyncSession]]) -> None:
    key = pace_key("sp-secret-key")
    waits = [await _reserve(sessions, key, 1.0) for sessions in (replicas[0], replicas[1], replicas[0])]
    other = await _reserve(replicas[1], pace_key("another-key"), 1.0)
    assert waits[0] == 0.0 and 0.8 < waits[1] <= 1.0 and 1.8 < waits[2] <= 2.0, waits
    assert other == 0.0  # keys are paced apart
    quick = pace_key("a-quick-key")
    assert await _reserve(replicas[0], quick, 0.2) == 0.0
    await asyncio.sleep(0.3)
    assert await _reserve(replicas[1], quick, 0.2) == 0.0  # idle past its slot: not held back by old ones
    assert "sp-secret-key" not in key and len(key) == 64


async def test_concurrent_reservations_never_share_a_slot(replicas: list[async_sessionmaker[AsyncSession]]) -> None:
    key = pace_key("sp-secret-key")
    waits = sorted(await asyncio.gather(*(_reserve(replicas[n % 2], key, 1.0) for n in range(10))))
    gaps = [later - earlier for earlier, later in itertools.pairwise(waits)]
    # Each slot a second after the one before, less the little time that passed between their reservations.
    assert waits[0] == 0.0 and all(0.7 < gap <= 1.0 for gap in gaps), waits

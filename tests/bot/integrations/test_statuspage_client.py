"""bot/integrations/statuspage.py against the Statuspage stand-in on a local port."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from bot.core.errors import OutsideServiceError
from bot.integrations.statuspage import PublicIncidentDraft, Statuspage
from bot.sandbox.statuspage import StatuspageStandIn

DRAFT = PublicIncidentDraft(name="Service disruption", status="investigating", body="We are investigating.")


@pytest_asyncio.fixture
async def standin() -> AsyncIterator[StatuspageStandIn]:
    async with StatuspageStandIn(requests_per_second=None) as server:
        yield server


def _client(standin: StatuspageStandIn, **options: float) -> Statuspage:
    return Statuspage(api_url=standin.api_url, api_key=standin.api_key, page_id=standin.page_id,
                      min_interval=0.0, **options)  # type: ignore[arg-type]


async def test_a_create_whose_answer_was_lost_is_found_instead_of_created_twice(standin: StatuspageStandIn) -> None:
    standin.set_latency(0.6)  # longer than the client waits: the first answer is lost, the incident is not
    client = _client(standin, timeout=0.3)
    try:
        opening = asyncio.create_task(client.open_incident(DRAFT, idempotency_key="supportbot-ticket-7-1"))
        await asyncio.sleep(0.35)  # the first POST has timed out on the client's side by now
        standin.set_latency(0.0)
        published = await opening
    finally:
        await client.close()
    await asyncio.sleep(0.7)  # let every request the stand-in is still sleeping on finish
    assert len(standin.incidents) == 1
    assert published.id in standin.incidents
    assert standin.incidents[published.id].metadata == {"supportbot": {"key": "supportbot-ticket-7-1"}}


async def test_a_retry_of_the_step_finds_the_incident_an_earlier_attempt_made(standin: StatuspageStandIn) -> None:
    client = _client(standin)
    try:
        first = await client.open_incident(DRAFT, idempotency_key="supportbot-ticket-8-1")
        again = await client.open_incident(DRAFT, idempotency_key="supportbot-ticket-8-1", maybe_exists=True)
        other = await client.open_incident(DRAFT, idempotency_key="supportbot-ticket-9-1", maybe_exists=True)
    finally:
        await client.close()
    assert again.id == first.id and other.id != first.id
    assert len(standin.incidents) == 2


async def test_a_refusal_is_not_retried(standin: StatuspageStandIn) -> None:
    client = Statuspage(api_url=standin.api_url, api_key="wrong-key", page_id=standin.page_id, min_interval=0.0)
    try:
        with pytest.raises(OutsideServiceError) as refused:
            await client.open_incident(DRAFT, idempotency_key="k")
    finally:
        await client.close()
    assert refused.value.status == 401 and not refused.value.retryable
    assert len(standin.requests) == 1

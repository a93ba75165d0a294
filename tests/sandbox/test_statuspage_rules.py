"""The Statuspage stand-in refuses ``incident`` fields the Statuspage API v1 refuses, with its 422 error body.

Source: the Statuspage API v1 OpenAPI document (developer.statuspage.io), request schemas
``postPagesPageIdIncidents_incident`` / ``patchPagesPageIdIncidents_incident`` and response schema ``Incident``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from bot.integrations.statuspage import PublicIncidentDraft, Statuspage
from bot.sandbox.statuspage import StatuspageStandIn

KEY = "sp-sandbox-key"
PAGE = "pg0sandbox"
INCIDENTS = f"/pages/{PAGE}/incidents"


@pytest_asyncio.fixture
async def standin() -> AsyncIterator[StatuspageStandIn]:
    async with StatuspageStandIn(api_key=KEY, page_id=PAGE, requests_per_second=None) as server:
        yield server


@pytest_asyncio.fixture
async def http(standin: StatuspageStandIn) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=standin.api_url, headers={"Authorization": f"OAuth {KEY}"}) as client:
        yield client


def incident(**fields: Any) -> dict[str, Any]:
    return {"incident": {"name": "Checkout errors", "status": "investigating", "body": "Investigating.", **fields}}


async def assert_create_refused(
    http: httpx.AsyncClient, standin: StatuspageStandIn, fields: dict[str, Any], error: str
) -> None:
    response = await http.post(INCIDENTS, json=incident(**fields))
    assert response.status_code == 422, response.text
    assert response.json() == {"error": error}
    assert standin.incidents == {}


async def created(http: httpx.AsyncClient) -> dict[str, Any]:
    response = await http.post(INCIDENTS, json=incident())
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


# deliver_notifications and the other booleans: both request schemas, type boolean

@pytest.mark.parametrize("value", ["yes", "sure", 1, 0, None, [], {"email": True}])
async def test_a_non_boolean_deliver_notifications_is_refused(
    http: httpx.AsyncClient, standin: StatuspageStandIn, value: Any
) -> None:
    await assert_create_refused(http, standin, {"deliver_notifications": value},
                                "Deliver notifications must be true or false")


@pytest.mark.parametrize(("field", "error"), [
    ("backfilled", "Backfilled must be true or false"),
    ("scheduled_remind_prior", "Scheduled remind prior must be true or false"),
    ("auto_tweet_on_creation", "Auto tweet on creation must be true or false"),
])
async def test_other_boolean_fields_must_be_booleans(
    http: httpx.AsyncClient, standin: StatuspageStandIn, field: str, error: str
) -> None:
    await assert_create_refused(http, standin, {field: "maybe"}, error)


async def test_a_non_boolean_deliver_notifications_is_refused_on_update(http: httpx.AsyncClient) -> None:
    before = await created(http)
    url = f"{INCIDENTS}/{before['id']}"
    response = await http.patch(url, json={"incident": {"body": "Update.", "deliver_notifications": "no"}})
    assert response.status_code == 422
    assert response.json() == {"error": "Deliver notifications must be true or false"}
    assert (await http.get(url)).json() == before


async def test_booleans_and_their_form_encoded_spellings_are_accepted(http: httpx.AsyncClient) -> None:
    for value in (True, False):
        assert (await http.post(INCIDENTS, json=incident(deliver_notifications=value))).status_code == 201
    form = {"incident[name]": "Form incident", "incident[deliver_notifications]": "t", "incident[backfilled]": "f"}
    assert (await http.post(INCIDENTS, data=form)).status_code == 201
    form["incident[deliver_notifications]"] = "maybe"
    refused = await http.post(INCIDENTS, data=form)
    assert (refused.status_code, refused.json()) == (422, {"error": "Deliver notifications must be true or false"})


# read-only fields: in the Incident response schema, in neither request schema

@pytest.mark.parametrize(("fields", "error"), [
    ({"impact": "critical"}, "Impact is read-only"),
    ({"impact": "none", "impact_override": "major"}, "Impact is read-only"),
    ({"id": "tks5n8x7w24h"}, "Id is read-only"),
    ({"shortlink": "https://stspg.io/abc"}, "Shortlink is read-only"),
    ({"created_at": "2026-11-23T19:00:00Z"}, "Created at is read-only"),
    ({"resolved_at": None}, "Resolved at is read-only"),
    ({"incident_updates": []}, "Incident updates is read-only"),
    ({"postmortem_body": "What happened"}, "Postmortem body is read-only"),
])
async def test_read_only_fields_are_refused_on_create(
    http: httpx.AsyncClient, standin: StatuspageStandIn, fields: dict[str, Any], error: str
) -> None:
    await assert_create_refused(http, standin, fields, error)


async def test_read_only_impact_is_refused_on_update_and_changes_nothing(http: httpx.AsyncClient) -> None:
    before = await created(http)
    url = f"{INCIDENTS}/{before['id']}"
    response = await http.patch(url, json={"incident": {"status": "identified", "impact": "critical"}})
    assert (response.status_code, response.json()) == (422, {"error": "Impact is read-only"})
    assert (await http.get(url)).json() == before


async def test_impact_override_stays_writable(http: httpx.AsyncClient) -> None:
    response = await http.post(INCIDENTS, json=incident(impact_override="critical"))
    assert response.status_code == 201
    assert response.json()["impact"] == "critical"


# backfilled: "Controls whether incident is backfilled. If true, components cannot be specified."

@pytest.mark.parametrize("fields", [
    {"backfilled": True, "components": {"c1": "major_outage"}},
    {"backfilled": True, "component_ids": ["c1"]},
    {"backfilled": "t", "components": {"c1": "partial_outage"}},
])
async def test_backfilled_with_components_is_refused(
    http: httpx.AsyncClient, standin: StatuspageStandIn, fields: dict[str, Any]
) -> None:
    await assert_create_refused(http, standin, fields, "Components cannot be specified for a backfilled incident")


async def test_backfilled_with_components_is_refused_form_encoded(
    http: httpx.AsyncClient, standin: StatuspageStandIn
) -> None:
    form = {"incident[name]": "Old outage", "incident[backfilled]": "t", "incident[components][c1]": "major_outage"}
    response = await http.post(INCIDENTS, data=form)
    assert response.status_code == 422
    assert response.json() == {"error": "Components cannot be specified for a backfilled incident"}
    assert standin.incidents == {}


@pytest.mark.parametrize("fields", [
    {"backfilled": True},
    {"backfilled": False, "components": {"c1": "major_outage"}},
])
async def test_backfilled_alone_or_components_alone_are_accepted(
    http: httpx.AsyncClient, fields: dict[str, Any]
) -> None:
    assert (await http.post(INCIDENTS, json=incident(**fields))).status_code == 201


# what the product sends: bot/integrations/statuspage.py's create and update bodies

async def test_the_incident_the_bot_opens_and_updates_is_accepted(standin: StatuspageStandIn) -> None:
    client = Statuspage(api_url=standin.api_url, api_key=KEY, page_id=PAGE, min_interval=0.0)
    try:
        draft = PublicIncidentDraft(name="Service disruption affecting billing", status="investigating",
                                    body="We are investigating reports that some customers cannot pay invoices.")
        published = await client.open_incident(draft, idempotency_key="supportbot-ticket-42-1")
        for status in ("identified", "monitoring", "resolved"):
            await client.update_incident(published.id, status=status, body=f"Now {status}.")
    finally:
        await client.close()
    assert [r.status for r in standin.requests] == [201, 200, 200, 200]
    sent = standin.requests[0].body
    assert sent is not None
    assert sent["incident"]["deliver_notifications"] is True
    assert "impact" not in sent["incident"]
    assert standin.incidents[published.id].status == "resolved"

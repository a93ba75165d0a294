"""The PagerDuty stand-in refuses what the Events API v2 refuses, with PagerDuty's 400 body.

Each test names its source: PagerDuty/api-schema ``reference/events-v2/openapiv3.json`` (the OpenAPI document)
and PagerDuty/developer-docs ``docs/events-API-v2/`` (01-Overview.md, 02-Trigger-Events.md).
"""

from __future__ import annotations

import ast
import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from bot.domain import Category, Environment, Impact, PlanTier, Severity, Ticket
from bot.integrations.pagerduty import PagerDuty
from bot.paging.page import incident_dedup_key, page_request
from bot.sandbox import demo
from bot.sandbox.pagerduty import PagerDutyStandIn
from bot.sandbox.pagerduty_rules import MAX_EVENT_BYTES
from tests.scenarios import conftest as scenarios

KEY = "e93facc04764012d7bfb002500d5d1a6"  # the integration key of the OpenAPI document's own example
REPO = Path(__file__).resolve().parents[2]


@pytest_asyncio.fixture
async def standin() -> AsyncIterator[PagerDutyStandIn]:
    async with PagerDutyStandIn() as server:
        yield server


async def post(standin: PagerDutyStandIn, body: dict[str, Any] | bytes) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with httpx.AsyncClient() as http:
        return await http.post(standin.enqueue_url, content=content, headers={"Content-Type": "application/json"})


def trigger(*, payload: dict[str, Any] | None = None, **top: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "routing_key": KEY,
        "event_action": "trigger",
        "payload": {"summary": "SUP-1 checkout failing", "source": "supportbot", "severity": "critical",
                    **(payload or {})},
    }
    body.update(top)
    return body


async def assert_refused(standin: PagerDutyStandIn, body: dict[str, Any] | bytes, errors: list[str]) -> None:
    response = await post(standin, body)
    assert response.status_code == 400, response.text
    assert response.json() == {"status": "invalid event", "message": "Event object is invalid", "errors": errors}
    assert standin.alerts == []
    assert [e.status for e in standin.events] == [400]


# links and images: openapiv3.json components.schemas.Links / Images; 02-Trigger-Events.md Context Properties

@pytest.mark.parametrize(("top", "errors"), [
    ({"links": "https://example.com"}, ["'links' is invalid (must be an array of objects)"]),
    ({"links": {"href": "https://example.com"}}, ["'links' is invalid (must be an array of objects)"]),
    ({"links": ["https://example.com"]}, ["'links' is invalid (must be an array of objects)"]),
    ({"links": [{"text": "no href"}]}, ["'links[0].href' is missing or blank"]),
    ({"links": [{"href": "https://example.com"}, {"href": ""}]}, ["'links[1].href' is missing or blank"]),
    ({"links": [{"href": 42}]}, ["'links[0].href' is missing or blank"]),
    ({"images": "https://example.com/chart.png"}, ["'images' is invalid (must be an array of objects)"]),
    ({"images": [["https://example.com/chart.png"]]}, ["'images' is invalid (must be an array of objects)"]),
    ({"images": [{"alt": "no src", "href": "https://example.com"}]}, ["'images[0].src' is missing or blank"]),
])
async def test_malformed_links_or_images_are_refused(
    standin: PagerDutyStandIn, top: dict[str, Any], errors: list[str]
) -> None:
    await assert_refused(standin, trigger(**top), errors)


@pytest.mark.parametrize("src", ["http://example.com/chart.png", "ftp://example.com/chart.png", "chart.png"])
async def test_an_image_not_served_over_https_is_refused(standin: PagerDutyStandIn, src: str) -> None:
    # Images schema: src "must be served via HTTPS".
    await assert_refused(standin, trigger(images=[{"src": src}]), ["'images[0].src' must be served via HTTPS"])


async def test_well_formed_links_and_images_are_accepted(standin: PagerDutyStandIn) -> None:
    body = trigger(links=[{"href": "https://example.com/", "text": "Link text"}, {"href": "https://example.com/2"}],
                   images=[{"src": "https://example.com/chart.png", "href": "https://example.com/", "alt": "Chart"}])
    assert (await post(standin, body)).status_code == 202


# payload fields: openapiv3.json components.schemas.Payload; 01-Overview.md PD-CEF table

@pytest.mark.parametrize("details", ["free space: 1%", ["free space", "1%"], 0.75, True])
async def test_custom_details_that_is_not_an_object_is_refused(standin: PagerDutyStandIn, details: Any) -> None:
    await assert_refused(standin, trigger(payload={"custom_details": details}),
                         ["'payload.custom_details' must be an object"])


@pytest.mark.parametrize("timestamp", [
    "yesterday", "2015-07-17", "17/07/2015 08:42:58", "2015-13-17T08:42:58Z", "2015-07-17T08:42:58+00:00Z",
    1437122578, "",
])
async def test_a_timestamp_that_is_not_iso_8601_is_refused(standin: PagerDutyStandIn, timestamp: Any) -> None:
    await assert_refused(standin, trigger(payload={"timestamp": timestamp}),
                         ["'payload.timestamp' is invalid (must be an ISO 8601 date and time)"])


@pytest.mark.parametrize("timestamp", [
    "2015-07-17T08:42:58.315+0000",  # the documentation's own example
    "2015-07-17T08:42:58Z", "2015-07-17T10:42:58+02:00", "2026-11-23T19:00:00.123456+00:00",
])
async def test_iso_8601_timestamps_are_accepted(standin: PagerDutyStandIn, timestamp: str) -> None:
    assert (await post(standin, trigger(payload={"timestamp": timestamp}))).status_code == 202


async def test_component_group_and_class_must_be_strings(standin: PagerDutyStandIn) -> None:
    payload = {"component": ["mysql"], "group": 7, "class": {"type": "disk"}}
    await assert_refused(standin, trigger(payload=payload), [
        "'payload.component' must be a string", "'payload.group' must be a string", "'payload.class' must be a string",
    ])


async def test_string_component_group_and_class_are_accepted(standin: PagerDutyStandIn) -> None:
    payload = {"component": "mysql", "group": "prod-datapipe", "class": "disk", "custom_details": {"load": 0.75}}
    assert (await post(standin, trigger(payload=payload))).status_code == 202


# size: 01-Overview.md "Size Limits" (512 KB); PagerDuty answers an oversized event with a 400

def padded_to(size: int) -> bytes:
    """A valid trigger of exactly ``size`` bytes, its custom_details filled out."""
    body = trigger(payload={"custom_details": {"log": ""}})
    room = size - len(json.dumps(body).encode())
    body["payload"]["custom_details"]["log"] = "x" * room
    raw = json.dumps(body).encode()
    assert len(raw) == size
    return raw


async def test_a_request_body_over_512_kb_is_refused(standin: PagerDutyStandIn) -> None:
    await assert_refused(standin, padded_to(MAX_EVENT_BYTES + 1), ["Event object is too large (maximum is 512 KB)"])


async def test_a_request_body_of_exactly_512_kb_is_accepted(standin: PagerDutyStandIn) -> None:
    assert (await post(standin, padded_to(MAX_EVENT_BYTES))).status_code == 202


async def test_a_body_past_the_web_servers_own_limit_still_gets_pagerdutys_400(standin: PagerDutyStandIn) -> None:
    # aiohttp's default cap is 1 MiB with its own 413; PagerDuty has no 413 in its response table.
    await assert_refused(standin, padded_to(2 * 1024 * 1024), ["Event object is too large (maximum is 512 KB)"])


# routing key: 02-Trigger-Events.md Parameters, "the 32 character Integration Key"

@pytest.mark.parametrize(("routing_key", "errors"), [
    ("samplekeyhere", ["Length of 'routing_key' is incorrect (should be 32 characters)"]),
    (KEY + "0", ["Length of 'routing_key' is incorrect (should be 32 characters)"]),
    ("e93facc0-4764-012d-7bfb-002500d5", ["'routing_key' cannot contain non-alphanumeric characters."]),
    ("é93facc04764012d7bfb002500d5d1a6", ["'routing_key' cannot contain non-alphanumeric characters."]),
    # The pair PagerDuty answered for a REST API key used as a routing key (blockpane/tenderduty#10).
    ("e+23rschqsESqk9Q6_-g", ["Length of 'routing_key' is incorrect (should be 32 characters)",
                              "'routing_key' cannot contain non-alphanumeric characters."]),
])
async def test_a_routing_key_that_is_not_a_32_character_integration_key_is_refused(
    standin: PagerDutyStandIn, routing_key: str, errors: list[str]
) -> None:
    await assert_refused(standin, trigger(routing_key=routing_key), errors)


async def test_resolve_is_held_to_the_routing_key_format_too(standin: PagerDutyStandIn) -> None:
    body = {"routing_key": "short", "event_action": "resolve", "dedup_key": "SUP-1"}
    await assert_refused(standin, body, ["Length of 'routing_key' is incorrect (should be 32 characters)"])


async def test_a_badly_formed_key_gets_the_format_error_even_when_keys_are_configured() -> None:
    async with PagerDutyStandIn(routing_keys=[KEY]) as server:
        await assert_refused(server, trigger(routing_key="short"),
                             ["Length of 'routing_key' is incorrect (should be 32 characters)"])


def _constant(path: Path, name: str) -> str:
    """A module-level string constant, read without importing the module (the benchmark edits sys.path)."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            assert isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
            return node.value.value
    raise AssertionError(f"{name} not found in {path}")


@pytest.mark.parametrize("routing_key", [
    demo.ROUTING_KEY,
    scenarios.ROUTING_KEY,
    _constant(REPO / "benchmarks" / "bench_sev1.py", "KEY"),
    _constant(REPO / "tests" / "sandbox" / "test_pagerduty_standin.py", "KEY"),
])
async def test_the_repositorys_own_routing_keys_are_well_formed(standin: PagerDutyStandIn, routing_key: str) -> None:
    assert (await post(standin, trigger(routing_key=routing_key))).status_code == 202


# what the product sends: bot/paging/page.py through bot/integrations/pagerduty.py and the real client

NOW = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)


def ticket(**changes: Any) -> Ticket:
    fields: dict[str, Any] = dict(
        number=42, workspace_id="acme-prod-eu", requester_email="dana@customer.com",
        summary="Acme Corp cannot pay invoices", what_happened="HTTP 500 on /billing", expected="Invoices load",
        impact=Impact.PRODUCTION_DOWN, severity=Severity.SEV1, severity_reason="Impact reported at intake",
        plan_tier=PlanTier.ENTERPRISE,
        environment=Environment(url="https://app.acme.com/billing", request_id="7f3c9e21abcd",
                                occurred_at=NOW - timedelta(minutes=5)),
        attachment_link=None, helpdesk_link=None, category=Category.BILLING, filed_by="U0AGENT1", filed_at=NOW,
        first_response_due=NOW + timedelta(hours=1), card_channel="C0TRIAGE", card_ts="1764000000.000100")
    fields.update(changes)
    return Ticket(**fields)


@pytest.mark.parametrize("changes", [{}, {"summary": "x" * 3000, "card_channel": None, "card_ts": None}])
async def test_the_page_the_bot_sends_is_accepted(standin: PagerDutyStandIn, changes: dict[str, Any]) -> None:
    client = PagerDuty(routing_key=KEY, events_url=standin.url, sleep_seconds=0.01)
    try:
        request = page_request(ticket(**changes), dedup_key=incident_dedup_key(42, 1), triage_channel="C0TRIAGE")
        await client.trigger(request)
        await client.resolve(request.dedup_key)
    finally:
        await asyncio.to_thread(client.close)
    assert [e.status for e in standin.events] == [202, 202]
    sent = standin.events[0].body
    assert sent["links"][0]["href"].startswith("https://slack.com/archives/C0TRIAGE")
    assert isinstance(sent["payload"]["custom_details"], dict)

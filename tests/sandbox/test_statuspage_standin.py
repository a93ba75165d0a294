"""The Statuspage stand-in, driven over HTTP with httpx as the bot's Statuspage client would."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from bot.sandbox.statuspage import StatuspageStandIn

KEY = "sp-sandbox-key"
PAGE = "pg0sandbox"


@pytest_asyncio.fixture
async def standin() -> AsyncIterator[StatuspageStandIn]:
    # Unlimited by default so tests that are not about rate limiting can send bursts.
    server = StatuspageStandIn(requests_per_second=None)
    await server.start()
    yield server
    await server.stop()


@pytest_asyncio.fixture
async def http(standin: StatuspageStandIn) -> AsyncIterator[httpx.AsyncClient]:
    async with authed(standin) as client:
        yield client


def authed(standin: StatuspageStandIn) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=standin.api_url, headers={"Authorization": f"OAuth {KEY}"})


def incident(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "Checkout errors", "status": "investigating",
                            "body": "We are investigating elevated checkout errors."}
    body.update(fields)
    return {"incident": body}


async def create(http: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    response = await http.post(f"/pages/{PAGE}/incidents", json=incident(**fields))
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


async def test_api_url_is_the_v1_base(standin: StatuspageStandIn) -> None:
    assert standin.api_url.startswith("http://127.0.0.1:")
    assert standin.api_url.endswith("/v1")


async def test_create_returns_statuspage_incident_json(
    http: httpx.AsyncClient, standin: StatuspageStandIn
) -> None:
    data = await create(http, impact_override="major", deliver_notifications=False,
                        metadata={"supportbot": {"ticket": "SUP-1"}})
    assert len(data["id"]) == 12
    assert data["name"] == "Checkout errors"
    assert data["status"] == "investigating"
    assert data["impact"] == "major"
    assert data["impact_override"] == "major"
    assert data["page_id"] == PAGE
    assert data["resolved_at"] is None
    assert data["monitoring_at"] is None
    assert data["shortlink"].startswith("https://stspg.io/")
    assert data["created_at"].endswith("Z")
    assert data["metadata"] == {"supportbot": {"ticket": "SUP-1"}}
    [update] = data["incident_updates"]
    assert update["status"] == "investigating"
    assert update["body"] == "We are investigating elevated checkout errors."
    assert update["incident_id"] == data["id"]
    assert update["deliver_notifications"] is False
    for key in ("id", "created_at", "updated_at", "display_at"):
        assert update[key]

    stored = standin.incidents[data["id"]]
    assert stored.body_history == [
        {"status": "investigating", "body": "We are investigating elevated checkout errors.",
         "at": update["created_at"]}
    ]


async def test_status_defaults_to_investigating(http: httpx.AsyncClient) -> None:
    response = await http.post(f"/pages/{PAGE}/incidents", json={"incident": {"name": "Only a name"}})
    assert response.status_code == 201
    assert response.json()["status"] == "investigating"


async def test_impact_follows_the_worst_component_status(http: httpx.AsyncClient) -> None:
    data = await create(http, components={"cmp1": "degraded_performance", "cmp2": "partial_outage"},
                        component_ids=["cmp1", "cmp2"])
    assert data["impact"] == "major"
    assert {c["id"]: c["status"] for c in data["components"]} == {
        "cmp1": "degraded_performance", "cmp2": "partial_outage"}
    affected = data["incident_updates"][0]["affected_components"]
    assert {a["code"]: a["new_status"] for a in affected} == {"cmp1": "degraded_performance",
                                                             "cmp2": "partial_outage"}


async def test_patch_through_to_resolved_keeps_history(
    http: httpx.AsyncClient, standin: StatuspageStandIn
) -> None:
    created = await create(http)
    url = f"/pages/{PAGE}/incidents/{created['id']}"
    steps = [("identified", "Cause found: a bad deploy."), ("monitoring", "Rolled back; watching."),
             ("resolved", "Checkout is healthy again.")]
    for status, body in steps:
        response = await http.patch(url, json={"incident": {"status": status, "body": body}})
        assert response.status_code == 200, response.text
    data = response.json()
    assert data["status"] == "resolved"
    assert data["resolved_at"] is not None
    assert data["monitoring_at"] is not None
    assert [u["status"] for u in data["incident_updates"]] == ["resolved", "monitoring", "identified",
                                                             "investigating"]
    assert data["incident_updates"][0]["body"] == "Checkout is healthy again."

    stored = standin.incidents[created["id"]]
    assert [(h["status"], h["body"]) for h in stored.body_history] == [
        ("investigating", "We are investigating elevated checkout errors."), *steps]
    assert stored.resolved_at == data["resolved_at"]
    assert (await http.get(url)).json() == data


async def test_patch_body_only_keeps_status(http: httpx.AsyncClient) -> None:
    created = await create(http)
    url = f"/pages/{PAGE}/incidents/{created['id']}"
    data = (await http.patch(url, json={"incident": {"body": "Still looking."}})).json()
    assert data["status"] == "investigating"
    assert data["incident_updates"][0]["body"] == "Still looking."
    renamed = (await http.patch(url, json={"incident": {"name": "Checkout outage"}})).json()
    assert renamed["name"] == "Checkout outage"
    assert len(renamed["incident_updates"]) == 2


async def test_reopening_clears_resolved_at(http: httpx.AsyncClient) -> None:
    created = await create(http, status="resolved")
    assert created["resolved_at"] is not None
    url = f"/pages/{PAGE}/incidents/{created['id']}"
    reopened = (await http.patch(url, json={"incident": {"status": "investigating", "body": "Back."}})).json()
    assert reopened["resolved_at"] is None


async def test_lists_and_unresolved(http: httpx.AsyncClient) -> None:
    first = await create(http, name="first")
    second = await create(http, name="second")
    await http.patch(f"/pages/{PAGE}/incidents/{first['id']}", json={"incident": {"status": "resolved"}})
    listed = (await http.get(f"/pages/{PAGE}/incidents")).json()
    assert [i["name"] for i in listed] == ["second", "first"]
    unresolved = (await http.get(f"/pages/{PAGE}/incidents/unresolved")).json()
    assert [i["id"] for i in unresolved] == [second["id"]]
    found = (await http.get(f"/pages/{PAGE}/incidents", params={"q": "FIRST"})).json()
    assert [i["id"] for i in found] == [first["id"]]
    assert len((await http.get(f"/pages/{PAGE}/incidents", params={"limit": 1, "page": 2})).json()) == 1


async def test_json_suffix_paths_work(http: httpx.AsyncClient) -> None:
    response = await http.post(f"/pages/{PAGE}/incidents.json", json=incident())
    assert response.status_code == 201
    assert len((await http.get(f"/pages/{PAGE}/incidents.json")).json()) == 1


async def test_form_encoded_create(http: httpx.AsyncClient) -> None:
    response = await http.post(
        f"/pages/{PAGE}/incidents",
        data={"incident[name]": "Form incident", "incident[status]": "identified", "incident[body]": "Known.",
              "incident[component_ids][]": ["c1", "c2"], "incident[components][c1]": "major_outage",
              "incident[deliver_notifications]": "f"},
    )
    assert response.status_code == 201, response.text
    data = response.json()
    assert (data["name"], data["status"], data["impact"]) == ("Form incident", "identified", "critical")
    assert data["incident_updates"][0]["deliver_notifications"] is False
    assert {c["id"] for c in data["components"]} == {"c1", "c2"}


async def test_wrong_key_or_no_key_is_401(standin: StatuspageStandIn) -> None:
    async with httpx.AsyncClient(base_url=standin.api_url) as anonymous:
        for headers in ({}, {"Authorization": "OAuth wrong"}, {"Authorization": f"Bearer {KEY}"}):
            response = await anonymous.post(f"/pages/{PAGE}/incidents", json=incident(), headers=headers)
            assert response.status_code == 401
            assert response.json() == {"error": "Couldn't authenticate you"}
        assert standin.incidents == {}
        by_query = await anonymous.get(f"/pages/{PAGE}/incidents", params={"api_key": KEY})
        assert by_query.status_code == 200
    assert [r.status for r in standin.requests] == [401, 401, 401, 200]


async def test_wrong_page_or_unknown_incident_is_404(http: httpx.AsyncClient) -> None:
    assert (await http.post("/pages/otherpage/incidents", json=incident())).status_code == 404
    missing = await http.get(f"/pages/{PAGE}/incidents/nosuchincident")
    assert missing.status_code == 404
    assert "error" in missing.json()
    patch = await http.patch(f"/pages/{PAGE}/incidents/nosuchincident", json={"incident": {"body": "x"}})
    assert patch.status_code == 404
    assert (await http.get("/pages/nowhere")).status_code == 404


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"name": ""}, "Name can't be blank"),
        ({"name": None}, "Name can't be blank"),
        ({"name": "x" * 256}, "Name is too long (maximum is 255 characters)"),
        ({"status": "fixed"}, "Status is not included in the list"),
        ({"status": "scheduled"}, "Status is not included in the list"),
        ({"impact_override": "apocalyptic"}, "Impact override is not included in the list"),
        ({"components": {"c1": "on_fire"}}, "Component status is not included in the list"),
        ({"metadata": {"jira": "not-an-object"}}, "Metadata top-level values must be objects"),
    ],
)
async def test_create_validation_is_422(
    http: httpx.AsyncClient, standin: StatuspageStandIn, fields: dict[str, Any], error: str
) -> None:
    response = await http.post(f"/pages/{PAGE}/incidents", json=incident(**fields))
    assert response.status_code == 422
    assert response.json() == {"error": error}
    assert standin.incidents == {}


async def test_patch_validation_is_422_and_changes_nothing(http: httpx.AsyncClient) -> None:
    created = await create(http)
    url = f"/pages/{PAGE}/incidents/{created['id']}"
    response = await http.patch(url, json={"incident": {"status": "done", "body": "x"}})
    assert response.status_code == 422
    assert response.json() == {"error": "Status is not included in the list"}
    assert (await http.get(url)).json() == created


async def test_missing_incident_wrapper_or_bad_json_is_400(http: httpx.AsyncClient) -> None:
    assert (await http.post(f"/pages/{PAGE}/incidents", json={"name": "unwrapped"})).status_code == 400
    bad = await http.post(f"/pages/{PAGE}/incidents", content=b"{nope",
                          headers={"Content-Type": "application/json"})
    assert bad.status_code == 400


async def test_rate_limit_is_429_with_retry_after() -> None:
    server = StatuspageStandIn(requests_per_second=1.0)
    await server.start()
    try:
        async with authed(server) as http:
            assert (await http.post(f"/pages/{PAGE}/incidents", json=incident())).status_code == 201
            throttled = await http.post(f"/pages/{PAGE}/incidents", json=incident())
            assert throttled.status_code == 429
            assert throttled.headers["Retry-After"] == "1"
            assert throttled.json() == {"error": "Rate limit exceeded"}
            assert len(server.incidents) == 1
            await asyncio.sleep(1.05)
            assert (await http.get(f"/pages/{PAGE}/incidents")).status_code == 200
    finally:
        await server.stop()


async def test_rate_window_allows_bursts_up_to_the_window(standin: StatuspageStandIn,
                                                          http: httpx.AsyncClient) -> None:
    standin.rate_limit(1.0, window=3)
    statuses = [(await http.get(f"/pages/{PAGE}/incidents")).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    retry_after = int((await http.get(f"/pages/{PAGE}/incidents")).headers["Retry-After"])
    assert 1 <= retry_after <= 3


async def test_rate_limit_is_per_key_after_auth(standin: StatuspageStandIn, http: httpx.AsyncClient) -> None:
    standin.rate_limit(1.0)
    async with httpx.AsyncClient(base_url=standin.api_url) as anonymous:
        assert (await anonymous.get(f"/pages/{PAGE}/incidents")).status_code == 401
    # A rejected unauthenticated request did not use up the key's allowance.
    assert (await http.get(f"/pages/{PAGE}/incidents")).status_code == 200


@pytest.mark.parametrize("status", [420, 429])
async def test_fail_next_rate_limit_statuses(
    http: httpx.AsyncClient, standin: StatuspageStandIn, status: int
) -> None:
    standin.fail_next(status, retry_after=2)
    response = await http.post(f"/pages/{PAGE}/incidents", json=incident())
    assert response.status_code == status
    assert response.headers["Retry-After"] == "2"
    assert response.json() == {"error": "Rate limit exceeded"}
    assert standin.incidents == {}
    assert (await http.post(f"/pages/{PAGE}/incidents", json=incident())).status_code == 201


async def test_fail_next_503_times_then_recovers(http: httpx.AsyncClient, standin: StatuspageStandIn) -> None:
    standin.fail_next(503, times=2)
    statuses = [(await http.post(f"/pages/{PAGE}/incidents", json=incident())).status_code for _ in range(3)]
    assert statuses == [503, 503, 201]
    assert len(standin.incidents) == 1
    assert [r.status for r in standin.requests] == [503, 503, 201]
    assert standin.requests[0].body == incident()
    assert standin.requests[0].method == "POST"
    assert standin.requests[0].path == f"/v1/pages/{PAGE}/incidents"


async def test_fail_next_drop_connection(http: httpx.AsyncClient, standin: StatuspageStandIn) -> None:
    standin.fail_next(0)
    with pytest.raises(httpx.TransportError):
        await http.post(f"/pages/{PAGE}/incidents", json=incident())
    assert standin.incidents == {}
    assert standin.requests[0].status == 0


async def test_latency(http: httpx.AsyncClient, standin: StatuspageStandIn) -> None:
    standin.set_latency(0.2)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await http.get(f"/pages/{PAGE}/incidents")
    assert loop.time() - started >= 0.2


async def test_wait_for(http: httpx.AsyncClient, standin: StatuspageStandIn) -> None:
    async def later() -> None:
        await asyncio.sleep(0.05)
        await create(http, name="Late")

    task = asyncio.create_task(later())
    await standin.wait_for(lambda s: s.find("Late") is not None, timeout=2)
    await task
    with pytest.raises(TimeoutError):
        await standin.wait_for(lambda s: len(s.incidents) > 5, timeout=0.1)

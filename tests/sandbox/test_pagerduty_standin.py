"""The PagerDuty stand-in, driven where it matters by the real ``pagerduty`` client production uses."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pagerduty
import pytest
import pytest_asyncio

from bot.sandbox.pagerduty import THROTTLE_BODY, PagerDutyStandIn

KEY = "R0UT1NGKEY0000000000000000000001"


class LoopbackEventsClient(pagerduty.EventsApiV2Client):
    """The real client, minus its https-only base URL check, so it can reach the plain-HTTP stand-in."""

    @property
    def url(self) -> str:
        return str(self._url)

    @url.setter
    def url(self, value: str) -> None:
        self._url = value


_clients: list[LoopbackEventsClient] = []


def make_client(standin: PagerDutyStandIn, key: str = KEY) -> LoopbackEventsClient:
    client = LoopbackEventsClient(key, base_url=standin.url)
    # Keep the client's exponential back-off (sleep_timer * 2**n) from slowing the suite.
    client.sleep_timer = 0.01
    client.timeout = 5
    _clients.append(client)
    return client


@pytest.fixture(autouse=True)
def close_clients() -> Iterator[None]:
    yield
    while _clients:
        _clients.pop().close()


@pytest_asyncio.fixture
async def standin() -> AsyncIterator[PagerDutyStandIn]:
    server = PagerDutyStandIn()
    await server.start()
    yield server
    await server.stop()


async def post(standin: PagerDutyStandIn, body: Any) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        if isinstance(body, bytes):
            return await http.post(standin.enqueue_url, content=body,
                                   headers={"Content-Type": "application/json"})
        return await http.post(standin.enqueue_url, json=body)


def trigger_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "routing_key": KEY,
        "event_action": "trigger",
        "payload": {"summary": "SUP-1 checkout failing", "source": "supportbot", "severity": "critical"},
    }
    body.update(overrides)
    return body


async def test_real_client_refuses_plain_http_base_url(standin: PagerDutyStandIn) -> None:
    # Pinned so that an upgrade lifting the restriction is noticed: production code must work around it.
    with pytest.raises(pagerduty.UrlError):
        pagerduty.EventsApiV2Client(KEY, base_url=standin.url)


async def test_url_is_loopback_with_bound_port(standin: PagerDutyStandIn) -> None:
    assert standin.url.startswith("http://127.0.0.1:")
    assert not standin.url.endswith(":0")


async def test_trigger_creates_one_alert(standin: PagerDutyStandIn) -> None:
    client = make_client(standin)
    dedup = await asyncio.to_thread(client.trigger, "SUP-1 checkout failing", "supportbot",
                                    dedup_key="SUP-1", severity="error", custom_details={"ticket": "SUP-1"})
    assert dedup == "SUP-1"
    assert len(standin.alerts) == 1
    alert = standin.alerts[0]
    assert (alert.dedup_key, alert.status, alert.summary, alert.severity, alert.number) == (
        "SUP-1", "triggered", "SUP-1 checkout failing", "error", 1)
    event = standin.accepted_events("trigger")[0]
    assert event["routing_key"] == KEY
    assert event["payload"]["custom_details"] == {"ticket": "SUP-1"}


async def test_trigger_without_dedup_key_gets_a_generated_one(standin: PagerDutyStandIn) -> None:
    client = make_client(standin)
    dedup = await asyncio.to_thread(client.trigger, "no key", "supportbot")
    assert len(dedup) == 32
    int(dedup, 16)
    assert standin.alerts[0].dedup_key == dedup


async def test_same_dedup_key_twice_is_one_alert(standin: PagerDutyStandIn) -> None:
    client = make_client(standin)
    for _ in range(2):
        await asyncio.to_thread(client.trigger, "SUP-2 down", "supportbot", dedup_key="SUP-2")
    assert len(standin.alerts) == 1
    assert len(standin.alerts[0].events) == 2
    assert len(standin.accepted_events()) == 2


async def test_acknowledge_then_resolve_then_retrigger_opens_a_new_alert(standin: PagerDutyStandIn) -> None:
    client = make_client(standin)
    await asyncio.to_thread(client.trigger, "SUP-3 down", "supportbot", dedup_key="SUP-3")
    await asyncio.to_thread(client.acknowledge, "SUP-3")
    assert standin.alerts[0].status == "acknowledged"
    await asyncio.to_thread(client.resolve, "SUP-3")
    assert standin.alerts[0].status == "resolved"
    assert standin.alerts[0].resolved_at is not None
    assert standin.open_alerts() == []

    await asyncio.to_thread(client.trigger, "SUP-3 down again", "supportbot", dedup_key="SUP-3")
    assert [a.number for a in standin.alerts] == [1, 2]
    assert [a.status for a in standin.alerts] == ["resolved", "triggered"]
    assert standin.open_alerts() == [standin.alerts[1]]
    assert standin.alert_for("SUP-3") is standin.alerts[1]


async def test_resolve_for_unknown_key_is_accepted_and_changes_nothing(standin: PagerDutyStandIn) -> None:
    client = make_client(standin)
    assert await asyncio.to_thread(client.resolve, "never-triggered") == "never-triggered"
    assert standin.alerts == []
    assert standin.events[-1].status == 202


async def test_dedup_is_per_routing_key(standin: PagerDutyStandIn) -> None:
    other = "R0UT1NGKEY0000000000000000000002"
    await asyncio.to_thread(make_client(standin).trigger, "a", "supportbot", dedup_key="same")
    await asyncio.to_thread(make_client(standin, other).trigger, "b", "supportbot", dedup_key="same")
    assert len(standin.open_alerts()) == 2


async def test_invalid_event_is_a_400_the_client_does_not_retry(standin: PagerDutyStandIn) -> None:
    client = make_client(standin)
    with pytest.raises(pagerduty.HttpError) as caught:
        await asyncio.to_thread(client.trigger, "x", "supportbot", severity="catastrophic")
    assert not isinstance(caught.value, pagerduty.ServerHttpError)
    assert caught.value.response is not None
    assert caught.value.response.status_code == 400
    assert caught.value.response.json() == {
        "status": "invalid event",
        "message": "Event object is invalid",
        "errors": [
            "'payload.severity' is invalid "
            "(must be one of the following: 'critical', 'warning', 'error' or 'info')"
        ],
    }
    assert [e.status for e in standin.events] == [400]
    assert standin.alerts == []


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (trigger_body(routing_key=""), "'routing_key' is missing or blank"),
        (trigger_body(event_action=None), "'event_action' is missing or blank"),
        (trigger_body(event_action="snooze"), "'event_action' is invalid"),
        ({"routing_key": KEY, "event_action": "resolve"}, "'dedup_key' is missing or blank"),
        ({"routing_key": KEY, "event_action": "acknowledge", "dedup_key": ""},
         "'dedup_key' is missing or blank"),
        (trigger_body(payload={"source": "s", "severity": "info"}), "'payload.summary' is missing or blank"),
        (trigger_body(payload={"summary": "x" * 1025, "source": "s", "severity": "info"}),
         "'payload.summary' is too long"),
        (trigger_body(payload={"summary": "s", "severity": "info"}), "'payload.source' is missing or blank"),
        (trigger_body(payload={"summary": "s", "source": "s"}), "'payload.severity' is missing or blank"),
        (trigger_body(payload=None), "'payload' is missing or blank"),
    ],
)
async def test_validation_errors(standin: PagerDutyStandIn, body: dict[str, Any], error: str) -> None:
    response = await post(standin, body)
    assert response.status_code == 400
    data = response.json()
    assert data["status"] == "invalid event"
    assert data["message"] == "Event object is invalid"
    assert any(e.startswith(error) for e in data["errors"]), data["errors"]


async def test_summary_of_exactly_1024_chars_is_accepted(standin: PagerDutyStandIn) -> None:
    body = trigger_body(payload={"summary": "x" * 1024, "source": "s", "severity": "info"})
    assert (await post(standin, body)).status_code == 202


async def test_unparseable_body_is_an_unrecognized_object(standin: PagerDutyStandIn) -> None:
    response = await post(standin, b"{not json")
    assert response.status_code == 400
    assert response.json()["status"] == "Unrecognized object"
    assert standin.events[0].status == 400


async def test_success_body_shape(standin: PagerDutyStandIn) -> None:
    response = await post(standin, trigger_body(dedup_key="SUP-9"))
    assert response.status_code == 202
    assert response.json() == {"status": "success", "message": "Event processed", "dedup_key": "SUP-9"}


async def test_unknown_routing_key_rejected_when_keys_are_configured() -> None:
    server = PagerDutyStandIn(routing_keys=[KEY])
    await server.start()
    try:
        with pytest.raises(pagerduty.HttpError) as caught:
            await asyncio.to_thread(make_client(server, "W" * 32).trigger, "x", "supportbot")
        assert caught.value.response is not None
        assert caught.value.response.json()["errors"] == ["Invalid routing key"]
        assert await asyncio.to_thread(make_client(server).trigger, "x", "supportbot", dedup_key="ok") == "ok"
    finally:
        await server.stop()


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
async def test_client_retries_transient_failures_and_event_lands_once(
    standin: PagerDutyStandIn, status: int
) -> None:
    standin.fail_next(status, times=2)
    client = make_client(standin)
    assert await asyncio.to_thread(client.trigger, "flaky", "supportbot", dedup_key="SUP-5") == "SUP-5"
    assert [e.status for e in standin.events] == [status, status, 202]
    assert len(standin.accepted_events()) == 1
    assert len(standin.alerts) == 1


async def test_429_default_body_is_pagerdutys_throttle_body(standin: PagerDutyStandIn) -> None:
    standin.fail_next(429, retry_after=3)
    response = await post(standin, trigger_body())
    assert response.status_code == 429
    assert response.json() == THROTTLE_BODY
    assert response.headers["Retry-After"] == "3"


async def test_fail_next_custom_body_and_then_recovers(standin: PagerDutyStandIn) -> None:
    standin.fail_next(503, body={"status": "down"})
    first = await post(standin, trigger_body())
    assert (first.status_code, first.json()) == (503, {"status": "down"})
    assert "Retry-After" not in first.headers
    assert (await post(standin, trigger_body())).status_code == 202


async def test_5xx_past_the_clients_retry_budget_raises_server_http_error(standin: PagerDutyStandIn) -> None:
    standin.fail_next(500, times=10)
    client = make_client(standin)
    with pytest.raises(pagerduty.ServerHttpError) as caught:
        await asyncio.to_thread(client.trigger, "down", "supportbot", dedup_key="SUP-6")
    assert caught.value.response is not None
    assert caught.value.response.status_code == 500
    # EventsApiV2Client retries a 500 twice: three attempts in all.
    assert [e.status for e in standin.events] == [500, 500, 500]
    assert standin.alerts == []


async def test_dropped_connection_is_retried_by_the_client(standin: PagerDutyStandIn) -> None:
    standin.fail_next(0)
    client = make_client(standin)
    assert await asyncio.to_thread(client.trigger, "net", "supportbot", dedup_key="SUP-7") == "SUP-7"
    assert [e.status for e in standin.events] == [0, 202]
    assert len(standin.alerts) == 1


async def test_dropped_connection_surfaces_as_transport_error(standin: PagerDutyStandIn) -> None:
    standin.fail_next(0)
    with pytest.raises(httpx.TransportError):
        await post(standin, trigger_body())


async def test_persistent_network_failure_raises_plain_error(standin: PagerDutyStandIn) -> None:
    standin.fail_next(0, times=10)
    client = make_client(standin)
    with pytest.raises(pagerduty.Error) as caught:
        await asyncio.to_thread(client.trigger, "net", "supportbot", dedup_key="SUP-8")
    assert not isinstance(caught.value, pagerduty.HttpError)
    assert caught.value.response is None
    # One attempt plus max_network_attempts (3) retries.
    assert [e.status for e in standin.events] == [0, 0, 0, 0]


async def test_rate_limit_per_routing_key(standin: PagerDutyStandIn) -> None:
    standin.rate_limit(2)
    statuses = [(await post(standin, trigger_body(dedup_key=f"k{i}"))).status_code for i in range(3)]
    assert statuses == [202, 202, 429]
    throttled = await post(standin, trigger_body(dedup_key="k3"))
    assert throttled.json() == THROTTLE_BODY
    other = trigger_body(routing_key="R0UT1NGKEY0000000000000000000002")
    assert (await post(standin, other)).status_code == 202
    standin.rate_limit(None)
    assert (await post(standin, trigger_body())).status_code == 202


async def test_rate_limited_client_keeps_retrying_until_allowed(standin: PagerDutyStandIn) -> None:
    standin.rate_limit(1)
    client = make_client(standin)
    await asyncio.to_thread(client.trigger, "first", "supportbot", dedup_key="a")
    task = asyncio.create_task(asyncio.to_thread(client.trigger, "second", "supportbot", dedup_key="b"))
    await standin.wait_for(lambda s: len(s.events) >= 3, timeout=5)
    assert not task.done()
    standin.rate_limit(None)  # the window "passes"
    assert await task == "b"
    assert [e.status for e in standin.events][-1] == 202
    assert 429 in [e.status for e in standin.events]


async def test_latency_delays_answers(standin: PagerDutyStandIn) -> None:
    standin.set_latency(0.2)
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert (await post(standin, trigger_body())).status_code == 202
    assert loop.time() - started >= 0.2


async def test_wait_for_events(standin: PagerDutyStandIn) -> None:
    async def send_later() -> None:
        await asyncio.sleep(0.05)
        await post(standin, trigger_body(dedup_key="late"))

    task = asyncio.create_task(send_later())
    events = await standin.wait_for_events(1, timeout=2)
    await task
    assert events[0]["dedup_key"] == "late"
    with pytest.raises(TimeoutError):
        await standin.wait_for_events(2, timeout=0.1)


async def test_rejected_requests_are_recorded_but_not_accepted(standin: PagerDutyStandIn) -> None:
    await post(standin, trigger_body(event_action="bogus"))
    assert len(standin.events) == 1
    assert standin.accepted_events() == []
    assert standin.events[0].body["event_action"] == "bogus"
    assert standin.events[0].at > 0

"""bot/integrations/customer_connection.py against the customer endpoint stand-in on a local port (a real aiohttp
server, not mocks): signed requests, replays and stale timestamps refused, every failure a plain reason,
single-flight, 30-second reuse, and one-click actions run once."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from bot.integrations.customer_connection import (
    ActionOutcome,
    CustomerConnection,
    CustomerDataUnavailable,
    CustomerQuery,
    sign,
)
from bot.sandbox.customer_endpoint import CustomerEndpointStandIn, example_document
from tests.ports import free_port

WORKSPACE = "ws_4f2a9c"
LOOKUP = CustomerQuery(why="lookup", workspace_id=WORKSPACE)


class Clock:
    """A settable monotonic clock for the reuse window."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest_asyncio.fixture
async def standin() -> AsyncIterator[CustomerEndpointStandIn]:
    server = CustomerEndpointStandIn()
    server.add(example_document(WORKSPACE), workspace_id=WORKSPACE, emails=("dana@customer.example",))
    async with server:
        yield server


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest_asyncio.fixture
async def connection(standin: CustomerEndpointStandIn, clock: Clock) -> AsyncIterator[CustomerConnection]:
    client = CustomerConnection(url=standin.url, secret=standin.secret, timeout=2.0, now=clock)
    yield client
    await client.close()


async def _reason(connection: CustomerConnection, query: CustomerQuery = LOOKUP) -> str:
    with pytest.raises(CustomerDataUnavailable) as raised:
        await connection.fetch(query)
    return raised.value.reason



# Signing -------------------------------------------------------------------------------------------------

def test_sign_is_hex_hmac_sha256_of_timestamp_dot_body() -> None:
    body = b'{"why":"lookup"}'
    expected = hmac.new(b"s3cret", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert sign("s3cret", 1700000000, body) == f"v1={expected}"


def test_repr_names_neither_url_nor_secret() -> None:
    client = CustomerConnection(url="https://internal.example/customer", secret="s3cret", timeout=2.0)
    assert "s3cret" not in repr(client) and "internal.example" not in repr(client)


async def test_a_signed_lookup_reaches_the_endpoint_and_returns_the_document(
        connection: CustomerConnection, standin: CustomerEndpointStandIn) -> None:
    document = await connection.fetch(CustomerQuery(why="ticket", workspace_id=WORKSPACE,
                                                    email="dana@customer.example"))
    assert document["customer"]["id"] == f"customer_{WORKSPACE}"
    [request] = standin.requests
    assert request.status == 200  # the stand-in verified the signature
    assert request.body is not None and len(request.body.pop("nonce")) == 32
    assert request.body == {"why": "ticket", "workspace_id": WORKSPACE, "email": "dana@customer.example"}
    assert connection.upstream_requests == 1


async def test_a_lookup_by_email_alone_names_no_workspace(
        connection: CustomerConnection, standin: CustomerEndpointStandIn) -> None:
    document = await connection.fetch(CustomerQuery(why="lookup", email="DANA@customer.example"))
    assert document["customer"]["name"] == "Example Co"
    body = standin.requests[-1].body
    assert body is not None and body["workspace_id"] is None and body["email"] == "DANA@customer.example"


async def test_two_honest_requests_in_one_second_both_pass_the_replay_check(
        connection: CustomerConnection, standin: CustomerEndpointStandIn, clock: Clock) -> None:
    await connection.fetch(LOOKUP)
    clock.t += 31
    await connection.fetch(LOOKUP)
    assert [r.status for r in standin.requests] == [200, 200]
    assert standin.requests[0].raw != standin.requests[1].raw  # a fresh nonce each time


async def test_a_client_with_the_wrong_secret_is_refused_with_http_401(standin: CustomerEndpointStandIn) -> None:
    client = CustomerConnection(url=standin.url, secret="not-the-secret", timeout=2.0)
    try:
        reason = await _reason(client)
    finally:
        await client.close()
    assert "HTTP 401" in reason
    assert [r.status for r in standin.requests] == [401]


async def test_a_replayed_request_is_refused(standin: CustomerEndpointStandIn) -> None:
    sent: list[httpx.Request] = []

    async def capture(request: httpx.Request) -> None:
        sent.append(request)

    client = CustomerConnection(url=standin.url, secret=standin.secret, timeout=2.0,
                                http=httpx.AsyncClient(event_hooks={"request": [capture]}))
    try:
        await client.fetch(LOOKUP)
    finally:
        await client.close()
    [original] = sent
    headers = {name: original.headers[name] for name in
               ("Content-Type", "X-Supportbot-Timestamp", "X-Supportbot-Signature")}
    async with httpx.AsyncClient() as attacker:
        replay = await attacker.post(standin.url, content=original.content, headers=headers)
    assert replay.status_code == 401
    assert [r.status for r in standin.requests] == [200, 401]


async def test_a_stale_timestamp_is_refused_even_when_correctly_signed(standin: CustomerEndpointStandIn) -> None:
    raw = json.dumps({"why": "lookup", "workspace_id": WORKSPACE, "nonce": "0" * 32}).encode()
    stale = int(time.time()) - 600
    async with httpx.AsyncClient() as http:
        answer = await http.post(standin.url, content=raw, headers={
            "Content-Type": "application/json", "X-Supportbot-Timestamp": str(stale),
            "X-Supportbot-Signature": sign(standin.secret, stale, raw)})
        fresh = int(time.time())
        accepted = await http.post(standin.url, content=raw, headers={
            "Content-Type": "application/json", "X-Supportbot-Timestamp": str(fresh),
            "X-Supportbot-Signature": sign(standin.secret, fresh, raw)})
    assert answer.status_code == 401
    assert accepted.status_code == 200  # the same body, signed now, is fine: only the timestamp was wrong


async def test_an_unsigned_request_is_refused(standin: CustomerEndpointStandIn) -> None:
    async with httpx.AsyncClient() as http:
        answer = await http.post(standin.url, json={"why": "lookup", "workspace_id": WORKSPACE})
    assert answer.status_code == 401


# Failures ------------------------------------------------------------------------------------------------

async def test_an_endpoint_that_hangs_gives_a_timeout_reason(standin: CustomerEndpointStandIn) -> None:
    standin.set_latency(3)
    client = CustomerConnection(url=standin.url, secret=standin.secret, timeout=0.5)
    started = time.monotonic()
    try:
        reason = await _reason(client)
    finally:
        await client.close()
    assert time.monotonic() - started < 1.5
    assert reason == "the customer endpoint did not answer within 0.5 s"
    standin.set_latency(0)


async def test_connection_refused_gives_a_plain_reason() -> None:
    client = CustomerConnection(url=f"http://127.0.0.1:{free_port()}/customer", secret="x", timeout=2.0)
    try:
        reason = await _reason(client)
    finally:
        await client.close()
    assert reason == "the customer endpoint refused the connection"


async def test_an_html_answer_is_not_json(connection: CustomerConnection, standin: CustomerEndpointStandIn) -> None:
    standin.raw_answer = (200, "text/html", b"<html>")
    assert await _reason(connection) == "the customer endpoint's answer is not JSON"


async def test_a_json_answer_that_is_not_an_object_is_refused(
        connection: CustomerConnection, standin: CustomerEndpointStandIn) -> None:
    standin.raw_answer = (200, "application/json", b"[1, 2, 3]")
    assert await _reason(connection) == "the customer endpoint's answer is not a JSON object"


async def test_a_3_mb_answer_is_cut_off_at_1_mb(connection: CustomerConnection,
                                                standin: CustomerEndpointStandIn) -> None:
    standin.raw_answer = (200, "application/json", b'{"customer": "' + b"x" * 3_000_000 + b'"}')
    assert await _reason(connection) == "the customer endpoint's answer is over 1 MB"


async def test_an_answer_of_exactly_1_mb_is_still_read(connection: CustomerConnection,
                                                       standin: CustomerEndpointStandIn) -> None:
    padding = 1_000_000 - len(b'{"customer": {}, "pad": ""}')
    body = b'{"customer": {}, "pad": "' + b"x" * padding + b'"}'
    assert len(body) == 1_000_000
    standin.raw_answer = (200, "application/json", body)
    assert (await connection.fetch(LOOKUP))["customer"] == {}


async def test_a_500_gives_the_status(connection: CustomerConnection, standin: CustomerEndpointStandIn) -> None:
    standin.fail_next(500)
    assert await _reason(connection) == "the customer endpoint answered HTTP 500"


async def test_an_unknown_customer_is_a_404(connection: CustomerConnection) -> None:
    assert await _reason(connection, CustomerQuery(why="lookup", workspace_id="ws_nobody")) == \
        "the customer endpoint answered HTTP 404"


async def test_a_dropped_connection_gives_a_plain_reason(connection: CustomerConnection,
                                                         standin: CustomerEndpointStandIn) -> None:
    standin.fail_next(0)
    reason = await _reason(connection)
    assert reason.startswith("the customer endpoint could not be reached (")


async def test_deeply_nested_json_is_a_plain_failure_too(connection: CustomerConnection,
                                                         standin: CustomerEndpointStandIn) -> None:
    # 100 000 nested arrays fit well under 1 MB; the json module gives up with RecursionError (not ValueError),
    # which must still become "Customer data unavailable", not an exception out of the lookup.
    standin.raw_answer = (200, "application/json", b"[" * 100_000 + b"]" * 100_000)
    assert await _reason(connection) == "the customer endpoint's answer is not JSON"


# Single-flight and reuse ---------------------------------------------------------------------------------

async def test_fifty_agents_opening_one_customer_cause_one_request(
        connection: CustomerConnection, standin: CustomerEndpointStandIn) -> None:
    standin.set_latency(0.2)
    documents = await asyncio.gather(*(connection.fetch(LOOKUP) for _ in range(50)))
    assert len(standin.requests) == 1 and connection.upstream_requests == 1
    assert all(d["customer"]["id"] == f"customer_{WORKSPACE}" for d in documents)


async def test_fifty_concurrent_lookups_of_a_failing_endpoint_cause_one_request_and_fifty_failures(
        connection: CustomerConnection, standin: CustomerEndpointStandIn) -> None:
    standin.set_latency(0.2)
    standin.fail_next(503, times=10)
    outcomes = await asyncio.gather(*(connection.fetch(LOOKUP) for _ in range(50)), return_exceptions=True)
    assert len(standin.requests) == 1
    assert all(isinstance(o, CustomerDataUnavailable) for o in outcomes), outcomes
    assert {o.reason for o in outcomes if isinstance(o, CustomerDataUnavailable)} == {
        "the customer endpoint answered HTTP 503"}


async def test_different_customers_are_asked_separately(
        connection: CustomerConnection, standin: CustomerEndpointStandIn) -> None:
    standin.add(example_document("ws_other"), workspace_id="ws_other")
    await asyncio.gather(connection.fetch(LOOKUP), connection.fetch(CustomerQuery("lookup", "ws_other")))
    assert len(standin.requests) == 2


async def test_a_document_is_reused_for_30_seconds_then_asked_again(
        connection: CustomerConnection, standin: CustomerEndpointStandIn, clock: Clock) -> None:
    first = await connection.fetch(LOOKUP)
    clock.t += 29.9
    assert await connection.fetch(LOOKUP) == first
    assert len(standin.requests) == 1
    clock.t += 0.2  # 30.1 s after the answer
    await connection.fetch(LOOKUP)
    assert len(standin.requests) == 2


async def test_reuse_ignores_the_emails_case(connection: CustomerConnection, standin: CustomerEndpointStandIn) -> None:
    await connection.fetch(CustomerQuery(why="lookup", email="dana@customer.example"))
    await connection.fetch(CustomerQuery(why="lookup", email="DANA@Customer.Example"))
    assert len(standin.requests) == 1


async def test_a_failure_is_not_reused(connection: CustomerConnection, standin: CustomerEndpointStandIn) -> None:
    standin.fail_next(500)
    await _reason(connection)
    document = await connection.fetch(LOOKUP)  # "Try again" asks again, at once
    assert document["customer"]["name"] == "Example Co"
    assert [r.status for r in standin.requests] == [500, 200]


async def test_a_cancelled_first_lookup_does_not_strand_the_others_waiting_on_it(
        connection: CustomerConnection, standin: CustomerEndpointStandIn) -> None:
    # The lookup that started the request is cancelled (its Slack handler or the Help Scout sidebar gave up);
    # another agent who joined the same flight must still get an answer (or a plain failure), not wait forever.
    standin.set_latency(0.5)
    first = asyncio.create_task(connection.fetch(LOOKUP))
    await asyncio.sleep(0.1)
    second = asyncio.create_task(connection.fetch(LOOKUP))
    await asyncio.sleep(0.1)
    first.cancel()
    try:
        outcome: Any = await asyncio.wait_for(second, timeout=3)
    except CustomerDataUnavailable as exc:
        outcome = exc
    assert isinstance(outcome, dict | CustomerDataUnavailable)


# Actions -------------------------------------------------------------------------------------------------

async def test_an_action_runs_once_and_reports_ok(connection: CustomerConnection,
                                                  standin: CustomerEndpointStandIn) -> None:
    standin.action_answers["regenerate_report"] = {"ok": True, "message": "Report queued"}
    outcome = await connection.act(workspace_id=WORKSPACE, action="regenerate_report", user_id="U0AGENT1")
    assert outcome == ActionOutcome(True, "Report queued")
    [run] = standin.actions_run
    assert run["why"] == "action" and run["action"] == "regenerate_report" and run["slack_user"] == "U0AGENT1"
    assert run["workspace_id"] == WORKSPACE


async def test_an_action_error_answer_is_reported_not_raised(connection: CustomerConnection,
                                                             standin: CustomerEndpointStandIn) -> None:
    standin.action_answers["regenerate_report"] = {"ok": False, "error": "no usage data for October"}
    outcome = await connection.act(workspace_id=WORKSPACE, action="regenerate_report", user_id="U0AGENT1")
    assert outcome == ActionOutcome(False, "no usage data for October")
    standin.action_answers["regenerate_report"] = {"ok": "yes"}
    vague = await connection.act(workspace_id=WORKSPACE, action="regenerate_report", user_id="U0AGENT1")
    assert vague == ActionOutcome(False, "The endpoint said it did not do it.")  # only `true` counts as done
    assert len(standin.actions_run) == 2


async def test_a_failing_action_is_never_retried_nor_reused(connection: CustomerConnection,
                                                            standin: CustomerEndpointStandIn) -> None:
    standin.fail_next(502)
    with pytest.raises(CustomerDataUnavailable, match="HTTP 502"):
        await connection.act(workspace_id=WORKSPACE, action="regenerate_report", user_id="U0AGENT1")
    assert len(standin.requests) == 1 and standin.actions_run == []
    first = await connection.act(workspace_id=WORKSPACE, action="regenerate_report", user_id="U0AGENT1")
    second = await connection.act(workspace_id=WORKSPACE, action="regenerate_report", user_id="U0AGENT1")
    assert first.ok and second.ok and len(standin.actions_run) == 2  # each press asks; nothing is cached

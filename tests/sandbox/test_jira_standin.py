"""The Jira stand-in, driven over HTTP with httpx, and its webhooks received by a small aiohttp app."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiohttp import web

from bot.integrations.jira import verify_webhook_signature
from bot.sandbox.jira import JiraStandIn, JiraUser
from bot.sandbox.jira_rules import adf_problem, parse_jql

SECRET = "webhook-secret"
ALICE = JiraUser(account_id="5b10ac8d82e05b22cc7d4ef5", display_name="Alice Agent", email="alice@acme.example")
HIDDEN = JiraUser(account_id="5b10ac8d82e05b22cc7d4ef6", display_name="Hidden Hal", email=None)
ADF = {"type": "doc", "version": 1,
       "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Checkout fails."}]}]}


@pytest_asyncio.fixture
async def standin() -> AsyncIterator[JiraStandIn]:
    async with JiraStandIn() as server:
        yield server


@pytest_asyncio.fixture
async def http(standin: JiraStandIn) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=standin.base_url, auth=(standin.email, standin.api_token)) as client:
        yield client


@dataclass
class Receiver:
    """The bot's side of the webhook: what arrived, and what to answer."""

    url: str = ""
    received: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)
    answer: int = 204


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[Receiver]:
    state = Receiver()

    async def handle(request: web.Request) -> web.Response:
        state.received.append((await request.read(), dict(request.headers)))
        return web.Response(status=state.answer)

    app = web.Application()
    app.router.add_post("/jira/events", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    state.url = f"http://{host}:{port}/jira/events"
    yield state
    await runner.cleanup()


def fields(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"project": {"key": "SUP"}, "issuetype": {"name": "Bug"},
                            "summary": "Checkout fails for EU customers", "description": ADF,
                            "labels": ["supportbot", "ticket-7"]}
    for name, value in changes.items():
        if value is None:
            body.pop(name, None)
        else:
            body[name] = value
    return {"fields": body}


async def create(http: httpx.AsyncClient, **changes: Any) -> dict[str, Any]:
    response = await http.post("/rest/api/3/issue", json=fields(**changes))
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


async def refused(http: httpx.AsyncClient, body: Any) -> dict[str, Any]:
    response = await http.post("/rest/api/3/issue", json=body)
    assert response.status_code == 400, response.text
    data: dict[str, Any] = response.json()
    assert set(data) == {"errorMessages", "errors"}
    return data


async def test_create_numbers_keys_per_project_from_one(standin: JiraStandIn) -> None:
    standin.projects["OPS"] = ["Task"]
    async with httpx.AsyncClient(base_url=standin.base_url, auth=(standin.email, standin.api_token)) as http:
        first = await create(http)
        second = await create(http, issuetype={"name": "Task"})
        other = await create(http, project={"key": "OPS"}, issuetype={"name": "Task"})
    assert (first["key"], second["key"], other["key"]) == ("SUP-1", "SUP-2", "OPS-1")
    assert first["id"] == "10001" and second["id"] == "10002"
    assert first["self"] == f"{standin.base_url}/rest/api/3/issue/10001"
    stored = standin.issue("SUP-1")
    assert stored is not None
    assert stored["fields"]["status"] == {"name": "To Do"}
    assert stored["fields"]["description"] == ADF
    assert stored["fields"]["labels"] == ["supportbot", "ticket-7"]
    assert [i["key"] for i in standin.issues] == ["SUP-1", "SUP-2", "OPS-1"]
    assert [r.status for r in standin.requests] == [201, 201, 201]


async def test_get_issue_and_unknown_issue(http: httpx.AsyncClient) -> None:
    await create(http)
    found = (await http.get("/rest/api/3/issue/SUP-1")).json()
    assert found["key"] == "SUP-1" and found["id"] == "10001"
    assert found["fields"]["summary"] == "Checkout fails for EU customers"
    assert found["fields"]["status"] == {"name": "To Do"}
    assert found["fields"]["labels"] == ["supportbot", "ticket-7"]
    assert found["fields"]["description"] == ADF
    missing = await http.get("/rest/api/3/issue/SUP-99")
    assert missing.status_code == 404
    assert missing.json() == {"errorMessages": ["Issue does not exist or you do not have permission to see it."],
                              "errors": {}}


@pytest.mark.parametrize("auth", [None, ("bot@acme.example", "wrong-token"), ("someone@acme.example",
                                                                             "jira-sandbox-token")])
async def test_auth_is_required(standin: JiraStandIn, auth: tuple[str, str] | None) -> None:
    async with httpx.AsyncClient(base_url=standin.base_url, auth=auth) as http:
        created = await http.post("/rest/api/3/issue", json=fields())
        read = await http.get("/rest/api/3/issue/SUP-1")
        searched = await http.post("/rest/api/3/search/jql", json={"jql": 'labels = "x"'})
    assert [created.status_code, read.status_code, searched.status_code] == [401, 401, 401]
    assert created.text == "Client must be authenticated to access this resource."
    assert standin.issues == []
    assert [r.status for r in standin.requests] == [401, 401, 401]


async def test_a_malformed_authorization_header_is_refused(standin: JiraStandIn) -> None:
    async with httpx.AsyncClient(base_url=standin.base_url) as http:
        for header in ("Basic !!!", "Bearer jira-sandbox-token", "Basic " + "Ym90QGFjbWUuZXhhbXBsZQ=="):
            response = await http.post("/rest/api/3/issue", json=fields(), headers={"Authorization": header})
            assert response.status_code == 401


async def test_a_body_that_is_not_json_is_refused(http: httpx.AsyncClient) -> None:
    response = await http.post("/rest/api/3/issue", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["errorMessages"]
    other_type = await http.post("/rest/api/3/issue", content=json.dumps(fields()).encode(),
                                 headers={"Content-Type": "text/plain"})
    assert other_type.status_code == 415


async def test_missing_fields_names_what_is_required(http: httpx.AsyncClient) -> None:
    data = await refused(http, {})
    assert data["errors"] == {"project": "Specify a valid project ID or key", "issuetype": "Specify an issue type",
                              "summary": "You must specify a summary of the issue."}
    assert (await refused(http, {"fields": "SUP"}))["errorMessages"]
    assert (await refused(http, [1, 2]))["errorMessages"]
    assert (await refused(http, {**fields(), "updates": {}}))["errorMessages"]


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"project": {"key": "NOPE"}}, "project", "Specify a valid project ID or key"),
    ({"project": "SUP"}, "project", "Specify a valid project ID or key"),
    ({"issuetype": {"name": "Epic"}}, "issuetype", "Specify a valid issue type"),
    ({"issuetype": None}, "issuetype", "Specify an issue type"),
    ({"summary": None}, "summary", "You must specify a summary of the issue."),
    ({"summary": "   "}, "summary", "You must specify a summary of the issue."),
    ({"summary": "x" * 256}, "summary", "Summary must be less than 255 characters."),
    ({"summary": "first line\nsecond"}, "summary", "The summary is invalid because it contains newline characters."),
    ({"summary": 42}, "summary", "Operation value must be a string"),
    ({"description": "plain text"}, "description",
     "Operation value must be an Atlassian Document (see the Atlassian Document Format)"),
    ({"labels": ["two words"]}, "labels", "The label 'two words' contains spaces which is invalid."),
    ({"labels": ["tab\there"]}, "labels", "The label 'tab\there' contains spaces which is invalid."),
    ({"labels": "supportbot"}, "labels", "data was not an array"),
    ({"priority": {"name": "High"}}, "priority",
     "Field 'priority' cannot be set. It is not on the appropriate screen, or unknown."),
])
async def test_refused_fields_are_named_as_jira_names_them(
    http: httpx.AsyncClient, standin: JiraStandIn, changes: dict[str, Any], field: str, message: str
) -> None:
    data = await refused(http, fields(**changes))
    assert data["errors"] == {field: message}
    assert data["errorMessages"] == []
    assert standin.issues == []


async def test_summary_of_exactly_255_characters_is_accepted(http: httpx.AsyncClient) -> None:
    await create(http, summary="x" * 255)


def _doc(*content: Any) -> dict[str, Any]:
    return {"type": "doc", "version": 1, "content": list(content)}


def _para(*inline: Any) -> dict[str, Any]:
    return {"type": "paragraph", "content": list(inline)}


@pytest.mark.parametrize("description", [
    {"type": "doc", "content": []},
    {"type": "doc", "version": 2, "content": []},
    {"type": "paragraph", "version": 1, "content": []},
    _doc({"type": "blink"}),
    _doc(_para({"type": "text", "text": ""})),
    _doc(_para({"type": "text", "text": 5})),
    _doc(_para({"type": "text", "text": "x", "marks": [{"type": "sparkle"}]})),
    _doc(_para({"type": "text", "text": "x", "marks": [{"type": "link"}]})),
    _doc(_para({"type": "text", "text": "x", "marks": [{"type": "link", "attrs": {"href": ""}}]})),
    _doc({"type": "text", "text": "inline at the top"}),
    _doc({"type": "heading", "content": [{"type": "text", "text": "no level"}]}),
    _doc({"type": "bulletList", "content": []}),
    _doc({"type": "bulletList", "content": [_para({"type": "text", "text": "not in a listItem"})]}),
    _doc({"type": "codeBlock", "content": [{"type": "text", "text": "x", "marks": [{"type": "strong"}]}]}),
    _doc("just a string"),
])
async def test_descriptions_that_are_not_valid_adf_are_refused(
    http: httpx.AsyncClient, description: dict[str, Any]
) -> None:
    data = await refused(http, fields(description=description))
    assert data["errors"] == {
        "description": "Operation value must be an Atlassian Document (see the Atlassian Document Format)"}
    assert adf_problem(description) is not None


async def test_rich_adf_is_accepted(http: httpx.AsyncClient, standin: JiraStandIn) -> None:
    rich = _doc(
        {"type": "heading", "attrs": {"level": 2}, "content": [{"type": "text", "text": "Customer"}]},
        _para({"type": "text", "text": "Acme", "marks": [{"type": "strong"},
                                                        {"type": "link", "attrs": {"href": "https://acme.example"}}]},
              {"type": "hardBreak"}, {"type": "text", "text": "second line"}),
        {"type": "bulletList", "content": [{"type": "listItem", "content": [_para({"type": "text", "text": "a"})]}]},
        {"type": "codeBlock", "content": [{"type": "text", "text": "trace id 42"}]},
        _para(),
    )
    assert adf_problem(rich) is None
    await create(http, description=rich)
    no_description = await create(http, description=None)
    assert standin.issue(no_description["key"]) is not None


async def test_several_refused_fields_are_reported_together(http: httpx.AsyncClient) -> None:
    data = await refused(http, fields(summary="a\nb", labels=["a b"]))
    assert set(data["errors"]) == {"summary", "labels"}


async def test_search_by_label(http: httpx.AsyncClient) -> None:
    await create(http, labels=["supportbot-ticket-1"])
    await create(http, labels=["supportbot-ticket-2", "vip"])
    posted = await http.post("/rest/api/3/search/jql",
                             json={"jql": 'labels = "supportbot-ticket-2"', "fields": ["key"], "maxResults": 1})
    assert posted.status_code == 200
    body = posted.json()
    assert [(i["id"], i["key"]) for i in body["issues"]] == [("10002", "SUP-2")]
    assert body["isLast"] is True
    got = await http.get("/rest/api/3/search/jql", params={"jql": "labels = supportbot-ticket-1", "fields": "key"})
    assert [i["key"] for i in got.json()["issues"]] == ["SUP-1"]
    none = await http.post("/rest/api/3/search/jql", json={"jql": 'labels = "nobody"'})
    assert none.json() == {"issues": [], "isLast": True}
    both = await http.post("/rest/api/3/search/jql",
                           json={"jql": 'project = SUP AND labels in ("vip", "supportbot-ticket-1") ORDER BY created',
                                 "maxResults": 1})
    page = both.json()
    assert [i["key"] for i in page["issues"]] == ["SUP-1"] and page["isLast"] is False
    rest = await http.post("/rest/api/3/search/jql", json={"jql": 'labels in ("vip", "supportbot-ticket-1")',
                                                           "nextPageToken": page["nextPageToken"]})
    assert [i["key"] for i in rest.json()["issues"]] == ["SUP-2"]


@pytest.mark.parametrize("jql", ["", "ORDER BY created", 'labels = "a" OR labels = "b"', "colour = red",
                                 "labels =", 'labels = "a" labels = "b"'])
async def test_search_refuses_jql_it_cannot_answer(http: httpx.AsyncClient, jql: str) -> None:
    response = await http.post("/rest/api/3/search/jql", json={"jql": jql})
    assert response.status_code == 400
    assert response.json()["errorMessages"]


def test_jql_quoting_is_undone() -> None:
    [clause] = parse_jql(r'labels = "say \"hi\""')
    assert clause.values == ('say "hi"',)


async def test_injected_fault_then_recovery(http: httpx.AsyncClient, standin: JiraStandIn) -> None:
    standin.fail_next(503, retry_after=1)
    failed = await http.post("/rest/api/3/issue", json=fields())
    assert failed.status_code == 503 and failed.headers["Retry-After"] == "1"
    assert standin.issues == []
    await create(http)
    assert [r.status for r in standin.requests] == [503, 201]


async def test_reset_forgets_issues_and_numbering(http: httpx.AsyncClient, standin: JiraStandIn) -> None:
    await create(http)
    standin.fail_next(500)
    standin.reset()
    assert standin.issues == [] and standin.requests == []
    assert (await create(http))["key"] == "SUP-1"


async def test_transition_sends_a_signed_issue_updated_webhook(
    http: httpx.AsyncClient, standin: JiraStandIn, receiver: Receiver
) -> None:
    await create(http)
    standin.register_webhook(receiver.url, SECRET)
    assert await standin.transition("SUP-1", "In Progress", by=ALICE) == 204
    [(raw, headers)] = receiver.received
    assert verify_webhook_signature(SECRET, raw, headers["X-Hub-Signature"])
    assert not verify_webhook_signature("other-secret", raw, headers["X-Hub-Signature"])
    assert headers["X-Atlassian-Webhook-Identifier"]
    payload = json.loads(raw)
    assert payload["webhookEvent"] == "jira:issue_updated"
    assert isinstance(payload["timestamp"], int)
    assert payload["user"]["accountId"] == ALICE.account_id
    assert payload["user"]["emailAddress"] == "alice@acme.example"
    assert payload["issue"]["key"] == "SUP-1"
    assert payload["issue"]["fields"]["status"] == {"name": "In Progress"}
    assert payload["issue"]["fields"]["summary"] == "Checkout fails for EU customers"
    [item] = payload["changelog"]["items"]
    assert (item["field"], item["fromString"], item["toString"]) == ("status", "To Do", "In Progress")
    stored = standin.issue("SUP-1")
    assert stored is not None and stored["fields"]["status"] == {"name": "In Progress"}


async def test_comment_sends_comment_created_and_hides_a_hidden_email(
    http: httpx.AsyncClient, standin: JiraStandIn, receiver: Receiver
) -> None:
    await create(http)
    standin.register_webhook(receiver.url, SECRET)
    receiver.answer = 200
    assert await standin.comment("SUP-1", "Fixed in 4.2", by=HIDDEN) == 200
    [(raw, headers)] = receiver.received
    assert verify_webhook_signature(SECRET, raw, headers["X-Hub-Signature"])
    payload = json.loads(raw)
    assert payload["webhookEvent"] == "comment_created"
    assert payload["issue"]["key"] == "SUP-1"
    comment = payload["comment"]
    assert comment["id"]
    assert comment["author"]["displayName"] == "Hidden Hal"
    assert "emailAddress" not in comment["author"]
    assert comment["body"]["type"] == "doc"
    assert adf_problem(comment["body"]) is None
    stored = standin.issue("SUP-1")
    assert stored is not None and len(stored["comments"]) == 1


async def test_redelivery_repeats_the_body_and_identifier(
    http: httpx.AsyncClient, standin: JiraStandIn, receiver: Receiver
) -> None:
    await create(http)
    standin.register_webhook(receiver.url, SECRET)
    receiver.answer = 500
    assert await standin.transition("SUP-1", "Done", by=ALICE) == 500
    receiver.answer = 204
    assert await standin.redeliver_last() == 204
    (first, first_headers), (again, again_headers) = receiver.received
    assert again == first
    assert again_headers["X-Atlassian-Webhook-Identifier"] == first_headers["X-Atlassian-Webhook-Identifier"]
    assert again_headers["X-Hub-Signature"] == first_headers["X-Hub-Signature"]
    assert again_headers["X-Atlassian-Webhook-Retry"] == "1"
    await standin.comment("SUP-1", "next", by=ALICE)
    assert (receiver.received[2][1]["X-Atlassian-Webhook-Identifier"]
            != first_headers["X-Atlassian-Webhook-Identifier"])
    assert [d.status for d in standin.deliveries] == [500, 204, 204]


async def test_webhooks_need_a_registration_and_a_known_issue(standin: JiraStandIn, http: httpx.AsyncClient) -> None:
    await create(http)
    with pytest.raises(RuntimeError):
        await standin.transition("SUP-1", "Done", by=ALICE)
    standin.register_webhook("http://127.0.0.1:9/unreachable", SECRET)
    with pytest.raises(KeyError):
        await standin.comment("SUP-404", "x", by=ALICE)
    assert await standin.transition("SUP-1", "Done", by=ALICE) == 0

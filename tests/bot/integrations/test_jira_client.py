"""bot/integrations/jira.py against the Jira stand-in on a local port, and its pure helpers."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from bot.core.errors import OutsideServiceError
from bot.integrations import adf
from bot.integrations.jira import (
    Jira,
    JiraEvent,
    JiraIssueDraft,
    JiraPerson,
    issue_key_of,
    parse_webhook,
    verify_webhook_signature,
)
from bot.sandbox.jira import JiraStandIn
from bot.sandbox.jira_rules import adf_problem

DESCRIPTION = adf.doc(
    adf.heading(2, "Ticket #7"),
    adf.paragraph(adf.text("Customer: "), adf.text("Acme", strong=True), adf.text("")),
    adf.paragraph(adf.text("Open in Slack", link="https://acme.slack.com/archives/C1/p1")),
    adf.bullet_list([[adf.text("checkout fails")], [adf.text("")], [adf.text("EU only")]]),
    adf.code_block("HTTP 500 at /checkout"),
    adf.paragraph(adf.text("")),
)
DRAFT = JiraIssueDraft(project="SUP", issue_type="Bug", summary="Checkout fails for EU customers",
                       description=DESCRIPTION, labels=("supportbot", "supportbot-ticket-7"))


@pytest_asyncio.fixture
async def standin() -> AsyncIterator[JiraStandIn]:
    async with JiraStandIn() as server:
        yield server


@pytest_asyncio.fixture
async def jira(standin: JiraStandIn) -> AsyncIterator[Jira]:
    client = Jira(base_url=standin.base_url + "/", email=standin.email, api_token=standin.api_token)
    yield client
    await client.close()


def test_adf_builders_drop_empty_text_and_build_a_valid_doc() -> None:
    assert adf_problem(DESCRIPTION) is None
    assert adf.text("") == {}
    assert adf.paragraph(adf.text(""), "") == {"type": "paragraph", "content": []}
    assert adf.text("x", link="https://a.example", strong=True)["marks"] == [
        {"type": "strong"}, {"type": "link", "attrs": {"href": "https://a.example"}}]
    assert len(DESCRIPTION["content"][3]["content"]) == 2  # the empty item is gone
    with pytest.raises(ValueError):
        adf.heading(7, "too deep")
    with pytest.raises(ValueError):
        adf.bullet_list([[adf.text("")]])


async def test_creates_an_issue_with_an_adf_description(jira: Jira, standin: JiraStandIn) -> None:
    issue = await jira.create_issue(DRAFT)
    assert issue.key == "SUP-1"
    assert issue.url == f"{standin.base_url}/browse/SUP-1"
    stored = standin.issue("SUP-1")
    assert stored is not None
    assert stored["fields"]["description"] == DESCRIPTION
    assert stored["fields"]["labels"] == ["supportbot", "supportbot-ticket-7"]
    assert stored["fields"]["issuetype"] == {"name": "Bug"}


async def test_repr_and_errors_never_show_the_token(jira: Jira, standin: JiraStandIn) -> None:
    assert standin.api_token not in repr(jira)
    with pytest.raises(OutsideServiceError) as refused:
        await jira.create_issue(JiraIssueDraft(project="SUP", issue_type="Bug", summary="a\nb",
                                               description=DESCRIPTION))
    assert standin.api_token not in str(refused.value)


@pytest.mark.parametrize(("draft", "field"), [
    (JiraIssueDraft(project="NOPE", issue_type="Bug", summary="s", description=DESCRIPTION), "project"),
    (JiraIssueDraft(project="SUP", issue_type="Epic", summary="s", description=DESCRIPTION), "issuetype"),
    (JiraIssueDraft(project="SUP", issue_type="Bug", summary="x" * 256, description=DESCRIPTION), "summary"),
    (JiraIssueDraft(project="SUP", issue_type="Bug", summary="s", description={"type": "doc"}), "description"),
    (JiraIssueDraft(project="SUP", issue_type="Bug", summary="s", description=DESCRIPTION,
                    labels=("two words",)), "labels"),
])
async def test_refusals_are_not_retried_and_name_the_field(
    jira: Jira, standin: JiraStandIn, draft: JiraIssueDraft, field: str
) -> None:
    with pytest.raises(OutsideServiceError) as refused:
        await jira.create_issue(draft)
    assert refused.value.status == 400 and not refused.value.retryable
    assert refused.value.service == "Jira"
    assert f"{field}: " in refused.value.detail
    assert len(standin.requests) == 1


async def test_a_503_is_retried_and_the_issue_lands_once(jira: Jira, standin: JiraStandIn) -> None:
    standin.fail_next(503)
    issue = await jira.create_issue(DRAFT)
    assert issue.key == "SUP-1"
    assert [r.status for r in standin.requests] == [503, 201]
    assert len(standin.issues) == 1


async def test_a_dropped_connection_and_a_429_are_retried(jira: Jira, standin: JiraStandIn) -> None:
    standin.fail_next(0)
    standin.fail_next(429, retry_after=0)
    issue = await jira.create_issue(DRAFT)
    assert issue.key == "SUP-1"
    assert [r.status for r in standin.requests] == [0, 429, 201]


async def test_a_persistent_503_raises_retryable(jira: Jira, standin: JiraStandIn) -> None:
    standin.fail_next(503, times=10)
    with pytest.raises(OutsideServiceError) as failed:
        await jira.create_issue(DRAFT)
    assert failed.value.retryable and failed.value.status == 503
    assert len(standin.requests) == 3
    assert standin.issues == []


async def test_bad_credentials_are_not_retried(standin: JiraStandIn) -> None:
    client = Jira(base_url=standin.base_url, email=standin.email, api_token="wrong-token")
    try:
        with pytest.raises(OutsideServiceError) as refused:
            await client.create_issue(DRAFT)
    finally:
        await client.close()
    assert refused.value.status == 401 and not refused.value.retryable
    assert "wrong-token" not in str(refused.value)
    assert len(standin.requests) == 1


async def test_an_unreachable_jira_is_retryable(standin: JiraStandIn) -> None:
    client = Jira(base_url="http://127.0.0.1:9", email="e", api_token="t", attempts=2)
    try:
        with pytest.raises(OutsideServiceError) as failed:
            await client.create_issue(DRAFT)
    finally:
        await client.close()
    assert failed.value.retryable and failed.value.status is None


def test_the_base_url_must_be_http() -> None:
    with pytest.raises(ValueError):
        Jira(base_url="acme.atlassian.net", email="e", api_token="t")


async def test_find_issue_by_label(jira: Jira, standin: JiraStandIn) -> None:
    assert await jira.find_issue_by_label("supportbot-ticket-7") is None
    made = await jira.create_issue(DRAFT)
    await jira.create_issue(JiraIssueDraft(project="SUP", issue_type="Task", summary="other",
                                           description=adf.doc(), labels=("supportbot-ticket-8",)))
    found = await jira.find_issue_by_label("supportbot-ticket-7")
    assert found == made
    assert (await jira.find_issue_by_label("supportbot-ticket-8")) is not None
    assert await jira.find_issue_by_label('sneaky" OR labels = "supportbot') is None
    search = standin.requests[-1]
    assert search.path == "/rest/api/3/search/jql"
    assert search.body["fields"] == ["key"] and search.body["maxResults"] == 1


def test_issue_url(jira: Jira, standin: JiraStandIn) -> None:
    assert jira.issue_url("SUP-9") == f"{standin.base_url}/browse/SUP-9"


@pytest.mark.parametrize(("text", "key"), [
    ("SUP-123", "SUP-123"),
    ("  SUP-123 ", "SUP-123"),
    ("A1_B-7", "A1_B-7"),
    ("https://acme.atlassian.net/browse/SUP-123", "SUP-123"),
    ("https://acme.atlassian.net/browse/SUP-123?focusedCommentId=10", "SUP-123"),
    ("https://acme.atlassian.net/jira/software/projects/SUP/boards/1?selectedIssue=SUP-123", "SUP-123"),
    ("http://127.0.0.1:8080/browse/OPS-1", "OPS-1"),
    ("sup-123", None),
    ("SUP-0123", None),
    ("SUP-0", None),
    ("S-1", None),
    ("1SUP-1", None),
    ("SUP-123 is broken", None),
    ("https://acme.atlassian.net/browse/sup-123", None),
    ("https://acme.atlassian.net/issues/", None),
    ("browse/SUP-1", None),
    ("", None),
    ("garbage", None),
])
def test_issue_key_of(text: str, key: str | None) -> None:
    assert issue_key_of(text) == key


def _sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_verify_webhook_signature() -> None:
    body = b'{"webhookEvent":"comment_created"}'
    good = _sign("s3cret", body)
    assert verify_webhook_signature("s3cret", body, good)
    assert verify_webhook_signature("s3cret", body, good.upper().replace("SHA256=", "sha256="))
    assert not verify_webhook_signature("s3cret", body + b" ", good)
    assert not verify_webhook_signature("other", body, good)
    assert not verify_webhook_signature("s3cret", body, None)
    assert not verify_webhook_signature("s3cret", body, "")
    assert not verify_webhook_signature("s3cret", body, good.removeprefix("sha256="))
    assert not verify_webhook_signature("s3cret", body, "sha1=" + good.removeprefix("sha256="))
    assert not verify_webhook_signature("s3cret", body, "sha256=zz")
    assert not verify_webhook_signature("", body, _sign("", body))


ALICE_JSON = {"accountId": "5b10a", "displayName": "Alice Agent", "emailAddress": "alice@acme.example"}


def _status_change(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "timestamp": 1700000000000,
        "webhookEvent": "jira:issue_updated",
        "issue_event_type_name": "issue_generic",
        "user": ALICE_JSON,
        "issue": {"id": "10001", "key": "SUP-1", "fields": {"status": {"name": "In Progress"}, "summary": "s"}},
        "changelog": {"id": "1", "items": [
            {"field": "assignee", "fromString": None, "toString": "Alice Agent"},
            {"field": "status", "fieldId": "status", "fromString": "To Do", "toString": "In Progress"},
        ]},
    }
    payload.update(overrides)
    return payload


def test_parse_webhook_status_change() -> None:
    [event] = parse_webhook(_status_change(), delivery_id="d-1")
    assert event == JiraEvent(issue_key="SUP-1", kind="status", status="In Progress",
                              person=JiraPerson(account_id="5b10a", display_name="Alice Agent",
                                                email="alice@acme.example"),
                              delivery_id="d-1")


def test_parse_webhook_status_falls_back_to_the_issue_status_and_tolerates_a_hidden_email() -> None:
    payload = _status_change(user={"accountId": "5b10a", "displayName": "Alice Agent"},
                             changelog={"items": [{"field": "status"}]})
    [event] = parse_webhook(payload, delivery_id=None)
    assert event.status == "In Progress"
    assert event.person.email is None and event.delivery_id is None


def test_parse_webhook_comment() -> None:
    payload = {"timestamp": 1, "webhookEvent": "comment_created",
               "comment": {"id": "10100", "author": {"accountId": "x", "displayName": "Bob"},
                           "body": adf.doc(adf.paragraph(adf.text("Fixed")))},
               "issue": {"key": "SUP-2", "fields": {"status": {"name": "Done"}}}}
    [event] = parse_webhook(payload, delivery_id="d-2")
    assert (event.issue_key, event.kind, event.status, event.delivery_id) == ("SUP-2", "comment", None, "d-2")
    assert event.person == JiraPerson(account_id="x", display_name="Bob", email=None)


@pytest.mark.parametrize("payload", [
    _status_change(changelog={"items": [{"field": "summary", "toString": "new"}]}),
    _status_change(webhookEvent="jira:issue_created"),
    {"webhookEvent": "comment_updated", "comment": {"author": ALICE_JSON}, "issue": {"key": "SUP-1"}},
    {"webhookEvent": "worklog_updated"},
])
def test_parse_webhook_ignores_other_events(payload: dict[str, Any]) -> None:
    assert parse_webhook(payload, delivery_id="d") == []


@pytest.mark.parametrize("payload", [
    None, [], "jira:issue_updated", 42,
    {"webhookEvent": "comment_created"},
    {"webhookEvent": "comment_created", "issue": "SUP-1"},
    {"webhookEvent": "comment_created", "issue": {"key": None}},
    {"webhookEvent": "comment_created", "issue": {"key": "not a key"}},
    _status_change(changelog="broken"),
    _status_change(changelog={"items": "broken"}),
    _status_change(issue={"key": "SUP-1", "fields": "broken"}, changelog={"items": [{"field": "status"}]}),
    {"webhookEvent": "comment_created", "issue": {"key": "SUP-1"}, "comment": "broken"},
])
def test_parse_webhook_malformed_never_raises(payload: Any) -> None:
    events = parse_webhook(payload, delivery_id="d")
    assert all(isinstance(e, JiraEvent) for e in events)
    if not isinstance(payload, dict) or not isinstance(payload.get("issue"), dict):
        assert events == []

"""The stand-ins' fault injection (bot/sandbox/faults.py) as the kill-point tests use it: a request held by the
latency is counted as arrived, and is still carried out when its caller has gone, as a real service would."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from bot.sandbox.jira import JiraStandIn
from bot.sandbox.webhook_receiver import WebhookReceiver
from bot.webhooks.delivery import encode, signed_headers

SECRET = "receiver-secret"


async def test_a_request_whose_caller_hung_up_is_counted_and_still_carried_out() -> None:
    async with WebhookReceiver(secret=SECRET) as receiver:
        receiver.set_latency(0.5)
        body = encode({"event_id": "evt_1"})
        headers = signed_headers(secret=SECRET, event_id="evt_1", body=body, timestamp=int(time.time()))
        async with httpx.AsyncClient() as http:
            with pytest.raises(httpx.ReadTimeout):
                await http.post(receiver.url, content=body, headers=headers, timeout=0.1)
        # The caller is gone; the receiver has the request in hand and has not answered yet.
        assert (receiver.arrived, receiver.answering, receiver.requests) == (1, 1, [])
        await asyncio.sleep(0.6)
        assert (receiver.arrived, receiver.answering) == (1, 0)
        assert [(d.event_id, d.status) for d in receiver.requests] == [("evt_1", 200)]
        assert list(receiver.accepted_events()) == ["evt_1"]


async def test_jira_creates_the_issue_of_a_create_whose_caller_hung_up() -> None:
    async with JiraStandIn() as jira:
        jira.set_latency(0.4)
        draft = {"fields": {"project": {"key": next(iter(jira.projects))}, "issuetype": {"name": "Bug"},
                            "summary": "Invoices blank", "labels": ["supportbot-ticket-1-1"]}}
        async with httpx.AsyncClient(auth=(jira.email, jira.api_token)) as http:
            with pytest.raises(httpx.ReadTimeout):
                await http.post(f"{jira.base_url}/rest/api/3/issue", json=draft, timeout=0.1)
        assert jira.arrived == 1 and jira.issues == []
        await asyncio.sleep(0.5)
        assert [i["fields"]["labels"] for i in jira.issues] == [["supportbot-ticket-1-1"]]
        assert jira.answering == 0

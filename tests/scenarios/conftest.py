"""Stand-ins for PagerDuty and Statuspage beside the Slack sandbox, and a bot wired to all three."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest_asyncio

from bot.app import SupportBot
from bot.sandbox.customer_endpoint import CustomerEndpointStandIn, example_document
from bot.sandbox.jira import JiraStandIn
from bot.sandbox.pagerduty import PagerDutyStandIn
from bot.sandbox.statuspage import StatuspageStandIn

ROUTING_KEY = "R0UTINGKEY0000000000000000000001"
PAYMENTS_KEY = "R0UTINGKEYPAYMENTS00000000000002"
JIRA_WEBHOOK_SECRET = "jira-webhook-secret"


@pytest_asyncio.fixture
async def pagerduty() -> AsyncIterator[PagerDutyStandIn]:
    standin = PagerDutyStandIn(routing_keys=[ROUTING_KEY, PAYMENTS_KEY])
    await standin.start()
    yield standin
    await standin.stop()


@pytest_asyncio.fixture
async def statuspage() -> AsyncIterator[StatuspageStandIn]:
    # One request a second per key, as Statuspage allows: the bot must pace itself to stay under it.
    standin = StatuspageStandIn()
    await standin.start()
    yield standin
    await standin.stop()


@pytest_asyncio.fixture
async def jira() -> AsyncIterator[JiraStandIn]:
    standin = JiraStandIn()
    await standin.start()
    yield standin
    await standin.stop()


@pytest_asyncio.fixture
async def customer_endpoint() -> AsyncIterator[CustomerEndpointStandIn]:
    """The company's customer endpoint, knowing the workspace every sample ticket names."""
    standin = CustomerEndpointStandIn()
    standin.add(example_document("ws_4f2a9c"), workspace_id="ws_4f2a9c", emails=("dana@customer.example",))
    await standin.start()
    yield standin
    await standin.stop()


@pytest_asyncio.fixture
async def vendor_env(pagerduty: PagerDutyStandIn, statuspage: StatuspageStandIn, jira: JiraStandIn,
                     customer_endpoint: CustomerEndpointStandIn) -> dict[str, Any]:
    return {"pagerduty_routing_key": ROUTING_KEY, "pagerduty_events_url": pagerduty.url,
            "statuspage_api_key": statuspage.api_key, "statuspage_page_id": statuspage.page_id,
            "statuspage_api_url": statuspage.api_url, "team_routing_keys": {"payments": PAYMENTS_KEY},
            "jira_base_url": jira.base_url, "jira_email": jira.email, "jira_api_token": jira.api_token,
            "jira_webhook_secret": JIRA_WEBHOOK_SECRET, "customer_connection_url": customer_endpoint.url,
            "customer_connection_secret": customer_endpoint.secret}


@pytest_asyncio.fixture
async def bot(start_bot: Callable[..., Any], vendor_env: dict[str, Any],
              jira: JiraStandIn) -> AsyncIterator[SupportBot]:
    """In scenario tests the bot talks to PagerDuty and Statuspage stand-ins by default. It is stopped here,
    while the stand-ins still run, so work it had acknowledged finishes against them."""
    started: SupportBot = await start_bot(**vendor_env)
    jira.register_webhook(f"http://127.0.0.1:{started.port}/jira/webhook", JIRA_WEBHOOK_SECRET)
    yield started
    await started.stop()

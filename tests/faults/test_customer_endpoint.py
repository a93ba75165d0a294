"""The customer endpoint hanging, answering HTML, answering 3 MB, as the agent sees it in Slack: `/customer`
says "Customer data unavailable: <the plain reason>", and a ticket filed meanwhile is filed all the same, its
requester's verification shown as unknown. (The client's own handling: tests/bot/integrations/
test_customer_connection.py.)"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from bot.app import SupportBot
from bot.sandbox.customer_endpoint import CustomerEndpointStandIn
from bot.sandbox.driver import SlackDriver
from bot.sandbox.slack import SlackSandbox
from bot.sandbox.workspace import AGENT, GENERAL, file_ticket, ticket_card_message

TRIAGE = "C0TRIAGE01"
TIMEOUT = 2.0  # the contract's [customer_connection] timeout


def _hang(endpoint: CustomerEndpointStandIn) -> None:
    endpoint.set_latency(TIMEOUT + 1.5)


def _html(endpoint: CustomerEndpointStandIn) -> None:
    endpoint.raw_answer = (200, "text/html", b"<html><body>Down for maintenance</body></html>")


def _three_mb(endpoint: CustomerEndpointStandIn) -> None:
    endpoint.raw_answer = (200, "application/json", b'{"customer": "' + b"x" * 3_000_000 + b'"}')


FAULTS = [
    pytest.param(_hang, "the customer endpoint did not answer within 2 s", id="hanging"),
    pytest.param(_html, "the customer endpoint's answer is not JSON", id="HTML"),
    pytest.param(_three_mb, "the customer endpoint's answer is over 1 MB", id="3 MB"),
]


def _ephemerals(sandbox: SlackSandbox) -> list[Any]:
    return [e for e in sandbox.ephemerals if e.user == AGENT.user_id]


@pytest.mark.parametrize(("fault", "reason"), FAULTS)
async def test_the_agent_is_told_why_customer_data_is_missing_and_the_ticket_still_files(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, customer_endpoint: CustomerEndpointStandIn,
        fault: Callable[[CustomerEndpointStandIn], None], reason: str) -> None:
    fault(customer_endpoint)
    started = time.monotonic()
    command = await slack.slash_command(user_id=AGENT.user_id, command="/customer", text="ws_4f2a9c",
                                        channel_id=GENERAL)
    assert command.status == 200 and command.acked_in_time
    card = await sandbox.wait_for(lambda: next(iter(_ephemerals(sandbox)), None), timeout=TIMEOUT + 3)
    assert f"Customer data unavailable* for `ws_4f2a9c`: {reason}" in card.blocks[0]["text"]["text"], card.blocks
    assert time.monotonic() - started < TIMEOUT + 1.5  # a hanging endpoint costs the agent the timeout, no more
    assert "Try again" in str(card.blocks)

    _, filed = await file_ticket(slack, sandbox)
    assert filed.status == 200 and filed.acked_in_time and not (filed.json or {}).get("errors"), filed.body
    ticket = await sandbox.wait_for(lambda: ticket_card_message(sandbox, 1, TRIAGE), timeout=TIMEOUT + 5)
    assert "Verification unknown" in str(ticket.blocks)
    assert customer_endpoint.requests  # it was asked each time, and failed each time

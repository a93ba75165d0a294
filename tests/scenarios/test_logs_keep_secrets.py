"""Secrets and customer data never reach the logs, even when every outside system misbehaves once."""

from __future__ import annotations

import logging

import pytest

from bot.app import SupportBot
from bot.sandbox.driver import SlackDriver
from bot.sandbox.pagerduty import PagerDutyStandIn
from bot.sandbox.slack import SlackSandbox
from bot.sandbox.statuspage import StatuspageStandIn
from bot.sandbox.workspace import file_ticket, ticket_values
from tests.conftest import BOT_TOKEN, SIGNING_SECRET
from tests.scenarios.conftest import ROUTING_KEY

SECRET_IN_TICKET = "xoxb-1234567890-customersleakedtoken"
SEV1 = ticket_values(**{"Impact": "Production down or data loss", "Request ID": "req_8c1d2e3f",
                        "What happened": f"They pasted {SECRET_IN_TICKET} into the chat",
                        "Requester email": "dana.private@customer.example"})


async def test_a_noisy_sev1_logs_no_secret_and_no_customer_data(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, pagerduty: PagerDutyStandIn,
        statuspage: StatuspageStandIn, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    pagerduty.fail_next(503, times=10)
    statuspage.fail_next(429, times=1, retry_after=1)
    sandbox.fail_next("conversations.invite", "user_not_found")
    await file_ticket(slack, sandbox, values=SEV1)
    channel = await sandbox.wait_for(lambda: sandbox.channel_by_name("incident-1"), timeout=15)
    await sandbox.wait_for(lambda: any("Page on-call failed" in str(m.blocks) for m in sandbox.history(channel.id)),
                           timeout=15)
    await statuspage.wait_for(lambda page: len(page.incidents) == 1, timeout=10)
    await slack.post_raw("payload=not-json")  # a malformed request is logged too

    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert "step page failed" in logged and "malformed" in logged  # the failures themselves were logged
    for secret in (BOT_TOKEN, SIGNING_SECRET, ROUTING_KEY, statuspage.api_key, SECRET_IN_TICKET,
                   "dana.private@customer.example", "ws_4f2a9c", "req_8c1d2e3f"):
        assert secret not in logged, secret

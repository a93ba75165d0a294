"""`LOG_FORMAT=json`: a real `supportbot run` at DEBUG writes only JSON lines, each naming its ticket and Slack
request where there is one, and none carrying a secret or a value only the customer endpoint knew."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

from bot.core.config import EnvSettings
from bot.sandbox.customer_endpoint import CustomerEndpointStandIn, example_document
from bot.sandbox.driver import SlackDriver
from bot.sandbox.pagerduty import PagerDutyStandIn
from bot.sandbox.slack import SlackSandbox
from bot.sandbox.workspace import file_ticket, ticket_values
from tests.conftest import BOT_TOKEN, SIGNING_SECRET, WEBHOOK_SECRET_ENV
from tests.ports import free_port
from tests.scenarios.conftest import ROUTING_KEY
from tests.scenarios.test_process_restart import TICK, BotProcess, _short_cadence_config

TRIAGE = "C0TRIAGE01"
JIRA_TOKEN = "jira-api-token-never-logged"
CUSTOMER_SECRET = "customer-endpoint-secret-never-logged"
SENTINELS = ("Zyxwvut Holdings", "SENTINEL-7781", "contact-zq@holdings.example", "4217 seats-zq")
TICKET = ticket_values(**{"Requester email": "dana@customer.example", "Customer workspace ID": "ws_4f2a9c",
                          "What happened": "They pasted xoxb-1234567890-customersleakedtoken into the chat"})


def _document() -> dict[str, Any]:
    document = example_document("ws_4f2a9c", name="Zyxwvut Holdings", plan="Enterprise",
                                contacts=("dana@customer.example", "contact-zq@holdings.example"))
    document["customer"]["internal_note"] = "SENTINEL-7781"
    document["customer"]["organization"]["seats"] = "4217 seats-zq"
    return document


async def test_json_lines_carry_ticket_and_request_and_no_secret(
        sandbox: SlackSandbox, env_settings: EnvSettings, tmp_path: Path) -> None:
    async with PagerDutyStandIn(routing_keys=[ROUTING_KEY]) as pagerduty, \
            CustomerEndpointStandIn(secret=CUSTOMER_SECRET) as customer:
        customer.add(_document(), workspace_id="ws_4f2a9c", emails=("dana@customer.example",))
        pagerduty.fail_next(503, times=1)  # one failure, so the page's retry and its warning are logged too
        port = free_port()
        env = {**os.environ, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
               "SLACK_API_URL": sandbox.api_url, "DATABASE_URL": env_settings.database_url, "PORT": str(port),
               "SUPPORTBOT_CONFIG": str(_short_cadence_config(tmp_path)), "LOG_FORMAT": "json",
               "LOG_LEVEL": "DEBUG", "PAGERDUTY_ROUTING_KEY": ROUTING_KEY, "PAGERDUTY_EVENTS_URL": pagerduty.url,
               "CUSTOMER_CONNECTION_URL": customer.url, "CUSTOMER_CONNECTION_SECRET": CUSTOMER_SECRET,
               "JIRA_BASE_URL": "http://127.0.0.1:9", "JIRA_EMAIL": "bot@acme.example",
               "JIRA_API_TOKEN": JIRA_TOKEN}
        for name in ("SLACK_APP_TOKEN", "STATUSPAGE_API_KEY"):
            env.pop(name, None)
        log = tmp_path / "supportbot.log"
        bot = BotProcess(env, port, log)
        await bot.start()
        try:
            async with SlackDriver(events_url=f"http://127.0.0.1:{port}/slack/events",
                                   signing_secret=SIGNING_SECRET, sandbox=sandbox) as slack:
                await file_ticket(slack, sandbox, values=TICKET)
                await slack.post_raw("payload=not-json")  # a rejected request logs a line of its own
            await sandbox.wait_for(lambda: pagerduty.accepted_events("trigger") or None, timeout=30)
            await asyncio.sleep(TICK * 4)
        finally:
            await bot.stop()
        assert [r for r in customer.requests if r.status == 200], "the customer endpoint was asked at filing"

    text = log.read_text()
    lines = [json.loads(line) for line in text.splitlines()]  # every line is one JSON object
    assert len(lines) >= 3
    for line in lines:
        assert {"time", "level", "logger", "message"} <= line.keys(), line
    # PagerDuty's client says "retrying" from a worker thread, deep inside the filing request's work: the line
    # still names the ticket and the request (Slack's trigger ID, not one made up here).
    retry = next(line for line in lines if line["logger"].startswith("pagerduty") and line["level"] == "WARNING")
    assert retry["ticket"] == 1, retry
    assert not retry["slack_request_id"].startswith("sb-"), retry
    rejected = next(line for line in lines if "malformed" in line["message"])
    assert rejected["slack_request_id"].startswith("sb-") and "ticket" not in rejected, rejected
    # The payload loggers stay at their floors even with the process at DEBUG.
    assert not [line for line in lines if line["logger"].startswith(("aiosqlite", "httpcore", "httpx"))]
    assert not [line for line in lines if line["logger"].startswith("slack_bolt") and line["level"] == "DEBUG"]
    for secret in (BOT_TOKEN, SIGNING_SECRET, ROUTING_KEY, JIRA_TOKEN, CUSTOMER_SECRET,
                   os.environ[WEBHOOK_SECRET_ENV], "xoxb-1234567890-customersleakedtoken", *SENTINELS):
        assert secret not in text, f"{secret!r} is in the log: " + next(
            line for line in text.splitlines() if secret in line)[:300]

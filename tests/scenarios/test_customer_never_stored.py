"""Customer data is never stored: after a full flow (the modal's live card, filing with verification and
automation, `/customer`, the card's Customer button, an action, a SEV1 with its page and status page, an
escalation with its Jira issue), no value that only the customer endpoint knew is in the database, the
logs, or any request to PagerDuty, Statuspage or Jira."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from bot.app import SupportBot
from bot.sandbox.customer_endpoint import CustomerEndpointStandIn, example_document
from bot.sandbox.driver import SlackDriver
from bot.sandbox.jira import JiraStandIn
from bot.sandbox.pagerduty import PagerDutyStandIn
from bot.sandbox.slack import SlackSandbox
from bot.sandbox.statuspage import StatuspageStandIn
from bot.sandbox.workspace import AGENT, GENERAL, escalate, ticket_card_message, ticket_values
from tests.databases import stored_text

TRIAGE = "C0TRIAGE01"
# Values only the customer endpoint knows: none may reach storage, a log line or another system.
SENTINELS = ("Zyxwvut Holdings", "SENTINEL-7781", "contact-zq@holdings.example", "4217 seats-zq")


def _document() -> dict[str, Any]:
    document = example_document("ws_4f2a9c", name="Zyxwvut Holdings", plan="Enterprise",
                                contacts=("dana@customer.example", "contact-zq@holdings.example"))
    document["customer"]["internal_note"] = "SENTINEL-7781"
    document["customer"]["organization"]["seats"] = "4217 seats-zq"
    document["sections"][1]["items"].append({"description": "Note", "value": "{{ data.customer.internal_note }}"})
    return document


async def test_no_customer_value_is_stored_logged_or_sent_on(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, customer_endpoint: CustomerEndpointStandIn,
        pagerduty: PagerDutyStandIn, statuspage: StatuspageStandIn, jira: JiraStandIn, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    customer_endpoint.add(_document(), workspace_id="ws_4f2a9c")
    # The intake modal's live card, then filing a SEV1 (automation: Enterprise → label; verification).
    before = {v.id for v in sandbox.views.values()}
    await slack.slash_command(user_id=AGENT.user_id, command="/ticket", channel_id=GENERAL)
    view = await sandbox.wait_for(lambda: next((v for v in sandbox.views.values() if v.id not in before), None))
    await slack.type_in_view(user_id=AGENT.user_id, view_id=view.id, values={
        "Requester email": "dana@customer.example", "Customer workspace ID": "ws_4f2a9c"})
    await sandbox.wait_for(lambda: "Zyxwvut" in str(sandbox.views[view.id].view["blocks"]))
    await slack.submit_view(user_id=AGENT.user_id, view_id=view.id, values=ticket_values(**{
        "Impact": "Production down or data loss", "Customer workspace ID": "ws_4f2a9c"}))
    card = await sandbox.wait_for(lambda: ticket_card_message(sandbox, 1, TRIAGE))
    await sandbox.wait_for(lambda: sandbox.channel_by_name("incident-1"))
    # /customer, the card's Customer button and an action.
    await slack.slash_command(user_id=AGENT.user_id, command="/customer", text="ws_4f2a9c", channel_id=GENERAL)
    await slack.click(user_id=AGENT.user_id, action_id="ticket_customer", message=card)
    live = await sandbox.wait_for(lambda: next((m for m in sandbox.history(TRIAGE, thread_ts=card.ts)
                                                if "Regenerate report" in str(m.blocks)), None))
    await slack.click(user_id=AGENT.user_id, action_id="customer_action", message=live)
    await sandbox.wait_for(lambda: customer_endpoint.actions_run or None)
    # An escalation, with its page and Jira issue.
    await escalate(slack, sandbox, number=1, triage=TRIAGE)
    await sandbox.wait_for(lambda: jira.issues or None)
    await bot.background.settle(timeout=5)
    await slack.post_raw("payload=not-json")  # one line logged for sure: the log searched is the one written
    assert "Zyxwvut Holdings" in str(live.blocks)  # shown in Slack, where the agent needs it

    stored = await stored_text(bot.settings.env.database_url)  # every row; on SQLite the file's bytes too
    outbound = (str([e.body for e in pagerduty.events]) + str([r.body for r in statuspage.requests])
                + str([r.body for r in jira.requests]))
    logged = caplog.text
    for value in SENTINELS:
        assert value.encode() not in stored, f"{value!r} is in the database"
        assert value not in outbound, f"{value!r} was sent to PagerDuty, Statuspage or Jira"
        assert value not in logged, f"{value!r} is in the logs: " + next(
            line for line in logged.splitlines() if value in line)[:300]
    assert stored and outbound and logged  # each place searched really holds the flow's traces

"""SEV1 for one ticket pressed on two replicas at once opens one #incident-<n> channel, sends one page and
posts one status-page incident: the incident round, its steps and the ticket are claimed by unique keys and
conditional updates in the shared database, never by what one process remembers."""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from bot.sandbox.pagerduty import PagerDutyStandIn
from bot.sandbox.slack import SlackSandbox
from bot.sandbox.slack_models import View
from bot.sandbox.statuspage import StatuspageStandIn
from bot.sandbox.workspace import AGENT, AGENT_2, COMMANDER, file_ticket, ticket_card_message, ticket_values
from storage.repositories import audit
from tests.replicas.conftest import Replicas

TRIAGE = "C0TRIAGE01"
SEV1 = ticket_values(**{"Impact": "Production down or data loss", "Summary": "Login fails for everyone"})
INCIDENT_PAGE = "supportbot-ticket-1-1"


async def _trail(replicas: Replicas, action: str) -> list[Any]:
    async with replicas.bots[1].sessions() as session:
        return [e for e in await audit.audit_trail(session, ticket_number=1) if e.action == action]


def _assert_one_incident(sandbox: SlackSandbox, pagerduty: PagerDutyStandIn, statuspage: StatuspageStandIn) -> None:
    assert [e["dedup_key"] for e in pagerduty.accepted_events("trigger")].count(INCIDENT_PAGE) == 1
    assert len(sandbox.calls_to("conversations.create")) == 1
    assert len([c for c in sandbox.channels.values() if c.name.startswith("incident-")]) == 1
    assert len(statuspage.incidents) == 1
    assert [r.status for r in statuspage.requests if r.method == "POST"] == [201]


def _severity_view(sandbox: SlackSandbox, user_id: str) -> View | None:
    return next((v for v in sandbox.views.values() if v.user == user_id and not v.closed
                 and v.view.get("callback_id") == "severity_submit"), None)


async def _incident_opened(replicas: Replicas, sandbox: SlackSandbox, statuspage: StatuspageStandIn) -> None:
    await sandbox.wait_for(lambda: sandbox.channel_by_name("incident-1"), timeout=15)
    await statuspage.wait_for(lambda s: len(s.incidents) >= 1, timeout=15)
    await replicas.settle()
    await asyncio.sleep(0.3)  # room for a second channel, page or incident to show itself


async def test_one_sev1_submission_delivered_to_both_replicas_opens_one_incident(
        replicas: Replicas, sandbox: SlackSandbox, pagerduty: PagerDutyStandIn,
        statuspage: StatuspageStandIn) -> None:
    first = replicas.drivers[0]
    await first.slash_command(user_id=AGENT.user_id, command="/ticket")
    view = await sandbox.wait_for(lambda: sandbox.latest_view_for(AGENT.user_id))
    payload = first.payloads.view_submission(first.payloads.open_view(view.id, AGENT.user_id), AGENT.user_id, SEV1,
                                             validate=True)
    responses = await replicas.interaction_to_both(payload)
    assert [r.status for r in responses] == [200, 200]
    await _incident_opened(replicas, sandbox, statuspage)
    _assert_one_incident(sandbox, pagerduty, statuspage)
    assert len(await _trail(replicas, "ticket_filed")) == 1
    assert len([m for m in sandbox.history(TRIAGE)
                if (m.metadata or {}).get("event_type") == "supportbot_ticket_card"]) == 1
    assert len(await _trail(replicas, "incident_opened")) == 1


async def test_two_agents_raising_one_ticket_to_sev1_on_two_replicas_open_one_incident(
        replicas: Replicas, sandbox: SlackSandbox, pagerduty: PagerDutyStandIn,
        statuspage: StatuspageStandIn) -> None:
    await file_ticket(replicas.drivers[0], sandbox)  # SEV2
    card = await sandbox.wait_for(lambda: ticket_card_message(sandbox, 1, TRIAGE))
    views = []
    for driver, agent in zip(replicas.drivers, (AGENT, AGENT_2), strict=True):
        await driver.click(user_id=agent.user_id, action_id="ticket_change_severity", message=card)
        views.append(await sandbox.wait_for(functools.partial(_severity_view, sandbox, agent.user_id)))
    values = {"Impact": "Production down or data loss", "Reason": "Every customer is affected now"}
    responses = await asyncio.gather(*(
        driver.submit_view(user_id=agent.user_id, view_id=view.id, values=values)
        for driver, agent, view in zip(replicas.drivers, (AGENT, AGENT_2), views, strict=True)))
    assert [r.status for r in responses] == [200, 200]
    await _incident_opened(replicas, sandbox, statuspage)
    _assert_one_incident(sandbox, pagerduty, statuspage)
    assert len(await _trail(replicas, "severity_changed")) == 1


async def test_take_command_pressed_on_both_replicas_announces_one_commander(
        replicas: Replicas, sandbox: SlackSandbox, pagerduty: PagerDutyStandIn,
        statuspage: StatuspageStandIn) -> None:
    await file_ticket(replicas.drivers[0], sandbox, values=SEV1)
    channel = await sandbox.wait_for(lambda: sandbox.channel_by_name("incident-1"), timeout=15)
    kickoff = await sandbox.wait_for(lambda: next((m for m in sandbox.history(channel.id)
                                                   if "What the bot did" in f"{m.text} {m.blocks}"), None))
    payload = replicas.drivers[0].payloads.block_actions(user_id=COMMANDER.user_id,
                                                         action_id="incident_take_command", message=kickoff,
                                                         view_id=None, value=None)
    assert [r.status for r in await replicas.interaction_to_both(payload)] == [200, 200]
    await sandbox.wait_for(lambda: any("is now the incident commander" in f"{m.text} {m.blocks}"
                                       for m in sandbox.history(channel.id)))
    await replicas.settle()
    await asyncio.sleep(0.3)
    said = [m for m in sandbox.messages if "is now the incident commander" in f"{m.text} {m.blocks}"]
    assert len(said) == 1
    assert len(await _trail(replicas, "command_taken")) == 1
    _assert_one_incident(sandbox, pagerduty, statuspage)

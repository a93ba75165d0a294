"""Concurrent or repeated clicks change state once and say it once: Retry, Take command, Change severity."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.app import SupportBot
from bot.domain import StepState
from bot.sandbox.driver import SlackDriver
from bot.sandbox.pagerduty import PagerDutyStandIn
from bot.sandbox.slack import SlackSandbox
from bot.sandbox.slack_models import Message
from bot.sandbox.statuspage import StatuspageStandIn
from bot.sandbox.workspace import AGENT, AGENT_2, COMMANDER, file_ticket, ticket_values
from storage.repositories import audit
from storage.repositories import incidents as incident_repo

TRIAGE = "C0TRIAGE01"
SEV1 = ticket_values(**{"Impact": "Production down or data loss", "Summary": "Login fails for everyone"})


async def _trail(bot: SupportBot, action: str) -> list[Any]:
    async with bot.sessions() as session:
        return [e for e in await audit.audit_trail(session, ticket_number=1) if e.action == action]


def _said(sandbox: SlackSandbox, channel_id: str, words: str) -> list[Message]:
    return [m for m in sandbox.messages if m.channel == channel_id and words in f"{m.text} {m.blocks}"]


def _severity_notes(sandbox: SlackSandbox, card: Message) -> list[Message]:
    return [m for m in sandbox.history(TRIAGE, thread_ts=card.ts) if "changed the severity" in str(m.blocks)]


async def _card(sandbox: SlackSandbox) -> Message:
    return await sandbox.wait_for(lambda: next(iter(sandbox.history(TRIAGE)), None))


async def _severity_view(slack: SlackDriver, sandbox: SlackSandbox, card: Message, user_id: str) -> Any:
    await slack.click(user_id=user_id, action_id="ticket_change_severity", message=card)
    return await sandbox.wait_for(lambda: next((v for v in sandbox.views.values() if v.user == user_id
                                                and v.view.get("callback_id") == "severity_submit"
                                                and not v.closed), None))


async def test_retry_pressed_three_times_pages_once_and_says_it_once(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, pagerduty: PagerDutyStandIn,
        statuspage: StatuspageStandIn) -> None:
    pagerduty.fail_next(503, times=10)
    await file_ticket(slack, sandbox, values=SEV1)
    channel = await sandbox.wait_for(lambda: sandbox.channel_by_name("incident-1"), timeout=15)
    notice = await sandbox.wait_for(lambda: next(iter(_said(sandbox, channel.id, "Page on-call failed")), None),
                                    timeout=15)
    pagerduty.reset()
    pagerduty.set_latency(0.3)  # the first press is still in flight when the others arrive
    await asyncio.gather(*(slack.click(user_id=COMMANDER.user_id, action_id="incident_retry_step", message=notice)
                           for _ in range(3)))
    await sandbox.wait_for(lambda: _said(sandbox, channel.id, "done on retry"), timeout=15)
    await asyncio.sleep(0.8)  # room for a second outcome to show itself
    assert len(pagerduty.accepted_events("trigger")) == 1
    assert len(_said(sandbox, channel.id, "done on retry")) == 1
    async with bot.sessions() as session:
        incident = await incident_repo.latest_incident(session, ticket_number=1)
    assert incident is not None and incident.page.state is StepState.DONE


async def test_take_command_twice_announces_once(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, pagerduty: PagerDutyStandIn,
        statuspage: StatuspageStandIn) -> None:
    await file_ticket(slack, sandbox, values=SEV1)
    channel = await sandbox.wait_for(lambda: sandbox.channel_by_name("incident-1"), timeout=15)
    kickoff = await sandbox.wait_for(lambda: next(iter(_said(sandbox, channel.id, "What the bot did")), None))
    await asyncio.gather(*(slack.click(user_id=COMMANDER.user_id, action_id="incident_take_command",
                                       message=kickoff) for _ in range(2)))
    await sandbox.wait_for(lambda: _said(sandbox, channel.id, "is now the incident commander"))
    # A later, separate press by the commander they already are is no change either.
    await slack.click(user_id=COMMANDER.user_id, action_id="incident_take_command", message=kickoff)
    await asyncio.sleep(0.5)
    assert len(_said(sandbox, channel.id, "is now the incident commander")) == 1
    assert len(await _trail(bot, "command_taken")) == 1


async def test_two_agents_raising_the_same_ticket_to_sev1_change_it_once(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, pagerduty: PagerDutyStandIn,
        statuspage: StatuspageStandIn) -> None:
    await file_ticket(slack, sandbox)
    card = await _card(sandbox)
    first = await _severity_view(slack, sandbox, card, AGENT.user_id)
    second = await _severity_view(slack, sandbox, card, AGENT_2.user_id)
    values = {"Impact": "Production down or data loss", "Reason": "Every customer is affected now"}
    responses = await asyncio.gather(
        slack.submit_view(user_id=AGENT.user_id, view_id=first.id, values=values),
        slack.submit_view(user_id=AGENT_2.user_id, view_id=second.id, values=values))
    assert [r.status for r in responses] == [200, 200]
    await sandbox.wait_for(lambda: sandbox.channel_by_name("incident-1"), timeout=15)
    await asyncio.sleep(0.5)
    assert len(await _trail(bot, "severity_changed")) == 1
    assert len(_severity_notes(sandbox, card)) == 1
    # The SEV2 ticket was paged when filed; the incident pages once more, under its own dedup key.
    incident_pages = [e for e in pagerduty.accepted_events("trigger") if e["dedup_key"] == "supportbot-ticket-1-1"]
    assert len(incident_pages) == 1
    assert len(sandbox.calls_to("conversations.create")) == 1


async def test_the_same_severity_view_submitted_twice_is_one_change(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot) -> None:
    await file_ticket(slack, sandbox)
    card = await _card(sandbox)
    view = await _severity_view(slack, sandbox, card, AGENT.user_id)
    values = {"Impact": "Cosmetic or how-to question", "Reason": "A how-to question"}
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    await asyncio.gather(slack.submit_view(user_id=AGENT.user_id, view_id=view.id, values=values),
                         slack.submit_view(user_id=AGENT.user_id, view_id=view.id, values=values,
                                           extra_headers=retry))
    await sandbox.wait_for(lambda: "SEV4 · #1" in str(card.blocks))
    await asyncio.sleep(0.5)
    assert len(await _trail(bot, "severity_changed")) == 1
    assert len(_severity_notes(sandbox, card)) == 1


async def test_choosing_the_severity_the_ticket_already_has_is_no_change(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot) -> None:
    await file_ticket(slack, sandbox)  # SEV2: "Major feature broken, no workaround"
    card = await _card(sandbox)
    view = await _severity_view(slack, sandbox, card, AGENT.user_id)
    response = await slack.submit_view(user_id=AGENT.user_id, view_id=view.id,
                                       values={"Impact": "Major feature broken, no workaround", "Reason": "Same"})
    assert response.json is not None and response.json["response_action"] == "errors"
    assert "already SEV2" in response.json["errors"]["severity_impact"]
    assert not sandbox.views[view.id].closed
    await asyncio.sleep(0.3)
    assert await _trail(bot, "severity_changed") == []
    assert _severity_notes(sandbox, card) == []

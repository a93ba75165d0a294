"""A Slack event, an interaction or a Jira webhook delivered to two replicas at the same moment is processed
once: each is keyed by what it means (the reaction, the relayed message, the round's acknowledgement, the Jira
delivery identifier) in the shared database, and only the replica whose insert or conditional update took
effect acts."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from bot.sandbox.jira import JiraStandIn
from bot.sandbox.jira_webhooks import JiraUser
from bot.sandbox.pagerduty import PagerDutyStandIn
from bot.sandbox.slack import SlackSandbox
from bot.sandbox.slack_models import Message
from bot.sandbox.workspace import (
    AGENT,
    ENGINEER,
    OUTSIDER,
    button_action_id,
    escalate,
    file_ticket,
    ticket_card_message,
    ticket_values,
)
from storage.repositories import audit
from tests.replicas.conftest import Replicas, post_to_both

TRIAGE = "C0TRIAGE01"
GENERAL = "C0GENERAL1"
PAYMENTS = "C0PAYMENT1"
ENGINEER_IN_JIRA = JiraUser("5b10a2844c20165700ede21g", "Eli Engineer", "eli@acme.example")
NOBODY_LISTENING = "http://127.0.0.1:9/jira/webhook"  # Jira's own attempt goes nowhere; the test delivers it


async def _trail(replicas: Replicas, action: str) -> list[Any]:
    async with replicas.bots[0].sessions() as session:
        return [e for e in await audit.audit_trail(session, ticket_number=1) if e.action == action]


def _blocks(sandbox: SlackSandbox, post: Message) -> object:
    """The escalation post's blocks as Slack shows them now."""
    found = sandbox.find_message(PAYMENTS, post.ts)
    return None if found is None else found.blocks


async def _escalated(replicas: Replicas, sandbox: SlackSandbox) -> tuple[Message, Message]:
    driver = replicas.drivers[0]
    await file_ticket(driver, sandbox, values=ticket_values())
    await escalate(driver, sandbox, number=1, triage=TRIAGE)
    post = await sandbox.wait_for(lambda: next((m for m in sandbox.history(PAYMENTS) if (m.metadata or {})
                                                .get("event_type") == "supportbot_escalation"), None))
    await sandbox.wait_for(lambda: "SUP-1" in str(_blocks(sandbox, post)))
    await replicas.settle()
    return post, ticket_card_message(sandbox, 1, TRIAGE)


async def _acknowledged_once(replicas: Replicas, sandbox: SlackSandbox, pagerduty: PagerDutyStandIn,
                             post: Message, card: Message) -> None:
    await sandbox.wait_for(lambda: "Acknowledged by <@U0ENG00001>" in str(_blocks(sandbox, post)))
    await replicas.settle()
    await asyncio.sleep(0.3)  # room for a second acknowledgement to show itself
    assert len(await _trail(replicas, "escalation_acknowledged")) == 1
    assert [e["dedup_key"] for e in pagerduty.accepted_events("acknowledge")] == ["supportbot-escalation-1-1"]
    notes = [m for m in sandbox.history(TRIAGE, thread_ts=card.ts) if "acknowledged the escalation" in m.text]
    assert len(notes) == 1


async def test_a_ticket_reaction_delivered_to_both_replicas_offers_once(
        replicas: Replicas, sandbox: SlackSandbox) -> None:
    message = sandbox.record_message(GENERAL, "Our invoices page is blank since this morning", [], None,
                                     OUTSIDER.user_id)
    event = replicas.drivers[0].payloads.reaction_added_event(user_id=AGENT.user_id, message=message,
                                                              reaction="ticket")
    assert [r.status for r in await replicas.event_to_both(event, event_id="Ev0REACTION1")] == [200, 200]
    await sandbox.wait_for(lambda: [e for e in sandbox.ephemerals if e.user == AGENT.user_id])
    await replicas.settle()
    await asyncio.sleep(0.3)
    assert len([e for e in sandbox.ephemerals if e.user == AGENT.user_id]) == 1


async def test_acknowledge_pressed_twice_onto_two_replicas_and_a_reply_delivered_to_both_cross_once(
        replicas: Replicas, sandbox: SlackSandbox, pagerduty: PagerDutyStandIn) -> None:
    post, card = await _escalated(replicas, sandbox)
    press = replicas.drivers[0].payloads.block_actions(user_id=ENGINEER.user_id,
                                                       action_id="escalation_acknowledge", message=post,
                                                       view_id=None, value=None)
    assert [r.status for r in await replicas.interaction_to_both(press)] == [200, 200]
    await _acknowledged_once(replicas, sandbox, pagerduty, post, card)

    reply = sandbox.record_message(PAYMENTS, "Which browser does the customer use?", [], post.ts, ENGINEER.user_id)
    event = replicas.drivers[0].payloads.message_event(reply)
    assert [r.status for r in await replicas.event_to_both(event, event_id="Ev0RELAY001")] == [200, 200]
    await sandbox.wait_for(lambda: [m for m in sandbox.history(TRIAGE, thread_ts=card.ts) if "browser" in m.text])
    await replicas.settle()
    await asyncio.sleep(0.3)
    assert len([m for m in sandbox.history(TRIAGE, thread_ts=card.ts) if "browser" in m.text]) == 1


async def test_one_jira_delivery_arriving_at_both_replicas_is_applied_once(
        replicas: Replicas, sandbox: SlackSandbox, pagerduty: PagerDutyStandIn, jira: JiraStandIn) -> None:
    post, card = await _escalated(replicas, sandbox)
    jira.register_webhook(NOBODY_LISTENING, "jira-webhook-secret")
    await jira.transition("SUP-1", "In Progress", by=ENGINEER_IN_JIRA)
    delivery = jira.deliveries[-1]
    statuses = await post_to_both(replicas.bots, "/jira/webhook", delivery.body, delivery.headers)
    assert statuses == [200, 200]
    await _acknowledged_once(replicas, sandbox, pagerduty, post, card)
    assert "(from Jira)" in str(_blocks(sandbox, post))



async def _modal(replicas: Replicas, sandbox: SlackSandbox, action_id: str, card: Message) -> Any:
    before = set(sandbox.views)
    await replicas.drivers[0].click(user_id=AGENT.user_id, action_id=action_id, message=card)
    return await sandbox.wait_for(lambda: next((v for v in sandbox.views.values() if v.id not in before), None))


async def test_the_runbook_entry_modal_delivered_to_both_replicas_adds_one_entry_and_fails_on_neither(
        replicas: Replicas, sandbox: SlackSandbox, caplog: pytest.LogCaptureFixture) -> None:
    driver = replicas.drivers[0]
    await file_ticket(driver, sandbox, values=ticket_values(**{"Plan tier": "Pro"}))
    card = await sandbox.wait_for(lambda: ticket_card_message(sandbox, 1, TRIAGE))
    resolve = await _modal(replicas, sandbox, "ticket_resolve", card)
    await driver.submit_view(user_id=AGENT.user_id, view_id=resolve.id, values={
        "Root-cause category": "Billing",
        "Customer confirmation": ["The customer retried the original steps and confirmed the fix"],
        "Troubleshooting path": ["Novel path: add a runbook entry for the next agent"]})
    await sandbox.wait_for(lambda: "Add runbook entry" in str(card.blocks))
    view = await _modal(replicas, sandbox, button_action_id(card, "Add runbook entry"), card)
    payload = driver.payloads.view_submission(driver.payloads.open_view(view.id, AGENT.user_id), AGENT.user_id,
                                              {"Symptom keywords": "invoices blank, spinner",
                                               "Steps": "1. Clear the plan cache"}, validate=True)
    assert [r.status for r in await replicas.interaction_to_both(payload)] == [200, 200]
    closed = "#1 is closed: every checklist item is done"
    await sandbox.wait_for(lambda: [m for m in sandbox.history(TRIAGE, thread_ts=card.ts) if closed in m.text])
    await replicas.settle()
    await asyncio.sleep(0.3)
    done = [e.after["item"] for e in await _trail(replicas, "closure_item_done")]
    assert done == ["runbook_entry"]
    assert len([m for m in sandbox.history(TRIAGE, thread_ts=card.ts) if closed in m.text]) == 1
    # The twin that found the entry stored a moment earlier raised nothing (it used to hit the unique slug).
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert [e for e in sandbox.ephemerals if e.user == AGENT.user_id] == []
    found = await replicas.bots[1].runbook.search("invoices blank spinner")
    assert [match.entry.title for match in found] == ["Invoices page shows a blank screen"]

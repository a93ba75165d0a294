"""The acknowledgement ladder on the contract's SEV2 `ack_within` (15m): re-page at 15 min (a new alert that
notifies, summary "Unacknowledged:"), the manager at 30 min, the agent reminded from 45 min on, each once, and
nothing after the acknowledgement; and Jira's webhook acknowledging by status and by comment."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from typing import Any

import aiohttp

from bot.app import SupportBot
from bot.sandbox.clock import ManualClock
from bot.sandbox.driver import SlackDriver
from bot.sandbox.jira import JiraStandIn, JiraUser
from bot.sandbox.pagerduty import PagerDutyStandIn
from bot.sandbox.slack import SlackSandbox
from bot.sandbox.workspace import ENGINEER, OUTSIDER, escalate, file_ticket, ticket_card_message, ticket_values
from storage.repositories import audit
from tests.scenarios.conftest import PAYMENTS_KEY

TRIAGE = "C0TRIAGE01"
PAYMENTS = "C0PAYMENT1"
ENGINEER_IN_JIRA = JiraUser("5b10a2844c20165700ede21g", "Eli Engineer", "eli@acme.example")
OUTSIDER_IN_JIRA = JiraUser("5b10ac8d82e05b22cc7d4ef5", "Oscar Outsider", "oscar@acme.example")
STRANGER_IN_JIRA = JiraUser("5b10ac8d82e05b22cc7d4ef6", "Jira Only", None)


def _post(sandbox: SlackSandbox) -> Any:
    return next((m for m in sandbox.history(PAYMENTS)
                 if (m.metadata or {}).get("event_type") == "supportbot_escalation"), None)


def _team_triggers(pagerduty: PagerDutyStandIn) -> list[dict[str, Any]]:
    return [e for e in pagerduty.accepted_events("trigger") if e["routing_key"] == PAYMENTS_KEY]


async def _escalated(slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot) -> Any:
    await file_ticket(slack, sandbox, values=ticket_values())
    await escalate(slack, sandbox, number=1, triage=TRIAGE)
    post = await sandbox.wait_for(lambda: _post(sandbox))
    await sandbox.wait_for(lambda: "SUP-1" in str(sandbox.find_message(PAYMENTS, post.ts).blocks))
    await bot.background.settle(timeout=5)
    return post


async def _tick(bot: SupportBot, clock: ManualClock, minutes: float) -> None:
    clock.advance(timedelta(minutes=minutes))
    await bot.timers.fire_due()
    await bot.background.settle(timeout=5)


async def _trail(bot: SupportBot) -> list[Any]:
    async with bot.sessions() as session:
        return await audit.audit_trail(session, ticket_number=1)


def _texts(sandbox: SlackSandbox, channel: str, thread: str, needle: str) -> list[str]:
    return [m.text for m in sandbox.history(channel, thread_ts=thread) if needle in m.text]


async def test_the_ladder_repages_calls_the_manager_then_reminds_the_agent_each_once(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, pagerduty: PagerDutyStandIn,
        clock: ManualClock) -> None:
    post = await _escalated(slack, sandbox, bot)
    card = ticket_card_message(sandbox, 1, TRIAGE)
    await _tick(bot, clock, 14)
    assert len(_team_triggers(pagerduty)) == 1  # not yet: 15 minutes is the SEV2 ack_within

    await _tick(bot, clock, 1.5)
    await pagerduty.wait_for(lambda s: len(_team_triggers(s)) == 2)
    triggers = _team_triggers(pagerduty)
    assert [t["dedup_key"] for t in triggers] == ["supportbot-escalation-1-1", "supportbot-escalation-1-1-repage"]
    assert triggers[1]["payload"]["summary"].startswith("Unacknowledged: [SEV2] #1")
    assert len(pagerduty.open_alerts()) >= 2  # a new alert, so PagerDuty notifies again
    assert _texts(sandbox, PAYMENTS, post.ts, "re-paged")
    await sandbox.wait_for(lambda: "re-paged" in str(sandbox.find_message(PAYMENTS, post.ts).blocks))

    await _tick(bot, clock, 15)
    assert _texts(sandbox, PAYMENTS, post.ts, "<@U0PAYMGR01>")
    assert _texts(sandbox, TRIAGE, card.ts, "<@U0PAYMGR01>")
    await _tick(bot, clock, 15)
    await _tick(bot, clock, 15)
    reminders = _texts(sandbox, TRIAGE, card.ts, "Keep chasing")
    assert len(reminders) == 2 and "45 min" in reminders[0] and "1 h" in reminders[1]
    # A tick that runs again at the same moment fires nothing twice.
    await _tick(bot, clock, 0)
    assert len(_team_triggers(pagerduty)) == 2 and len(_texts(sandbox, TRIAGE, card.ts, "Keep chasing")) == 2
    rungs = [e.after["rung"] for e in await _trail(bot) if e.action == "escalation_rung"]  # type: ignore[index]
    assert rungs == [1, 2, 3, 4]

    await slack.click(user_id=ENGINEER.user_id, action_id="escalation_acknowledge", message=post)
    await sandbox.wait_for(lambda: "Acknowledged by" in str(sandbox.find_message(PAYMENTS, post.ts).blocks))
    await pagerduty.wait_for(lambda s: len(s.accepted_events("acknowledge")) == 2)
    acknowledged = {e["dedup_key"] for e in pagerduty.accepted_events("acknowledge")}
    assert acknowledged == {"supportbot-escalation-1-1", "supportbot-escalation-1-1-repage"}
    await _tick(bot, clock, 120)
    assert len(_texts(sandbox, TRIAGE, card.ts, "Keep chasing")) == 2


async def test_moving_the_jira_issue_to_in_progress_acknowledges_once_as_the_slack_user(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, jira: JiraStandIn,
        pagerduty: PagerDutyStandIn, clock: ManualClock) -> None:
    post = await _escalated(slack, sandbox, bot)
    assert await jira.transition("SUP-1", "In Progress", by=ENGINEER_IN_JIRA) == 200
    await sandbox.wait_for(lambda: "Acknowledged by <@U0ENG00001>" in str(
        sandbox.find_message(PAYMENTS, post.ts).blocks))
    assert "(from Jira)" in str(sandbox.find_message(PAYMENTS, post.ts).blocks)  # type: ignore[union-attr]
    assert await jira.redeliver_last() == 200  # Jira's retry of the same delivery
    await bot.background.settle(timeout=5)
    acks = [e for e in await _trail(bot) if e.action == "escalation_acknowledged"]
    assert len(acks) == 1 and acks[0].after["via"] == "jira"  # type: ignore[index]
    await pagerduty.wait_for(lambda s: len(s.accepted_events("acknowledge")) >= 1)
    assert len(pagerduty.accepted_events("acknowledge")) == 1
    await _tick(bot, clock, 60)
    assert len(_team_triggers(pagerduty)) == 1  # the ladder stopped


async def test_jira_from_someone_off_the_team_changes_nothing_and_a_first_comment_acknowledges(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, jira: JiraStandIn) -> None:
    post = await _escalated(slack, sandbox, bot)
    assert await jira.transition("SUP-1", "In Progress", by=OUTSIDER_IN_JIRA) == 200
    refusal = await sandbox.wait_for(lambda: next(iter(_texts(sandbox, PAYMENTS, post.ts, "is not in")), None))
    assert "<@U0SALES001>" in refusal and "still waits" in refusal
    assert "Acknowledge" in str(sandbox.find_message(PAYMENTS, post.ts).blocks)  # type: ignore[union-attr]
    assert "In Progress" in str(sandbox.find_message(PAYMENTS, post.ts).blocks)  # type: ignore[union-attr]
    assert await jira.comment("SUP-1", "Looking at the invoice renderer now", by=STRANGER_IN_JIRA) == 200
    await sandbox.wait_for(lambda: "Acknowledged by Jira Only" in str(
        sandbox.find_message(PAYMENTS, post.ts).blocks))
    assert OUTSIDER.user_id not in str(sandbox.find_message(PAYMENTS, post.ts).blocks)  # type: ignore[union-attr]


async def test_the_jira_webhook_refuses_a_bad_missing_or_foreign_signature(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, jira: JiraStandIn) -> None:
    post = await _escalated(slack, sandbox, bot)
    url = f"http://127.0.0.1:{bot.port}/jira/webhook"
    body = (b'{"webhookEvent":"jira:issue_updated","issue":{"key":"SUP-1","fields":{"status":{"name":"In Progress"}}},'
            b'"changelog":{"items":[{"field":"status","toString":"In Progress"}]},'
            b'"user":{"displayName":"Eli Engineer","emailAddress":"eli@acme.example"}}')
    good = "sha256=" + hmac.new(b"jira-webhook-secret", body, hashlib.sha256).hexdigest()
    wrong = "sha256=" + hmac.new(b"someone-else", body, hashlib.sha256).hexdigest()
    async with aiohttp.ClientSession() as http:
        for headers in ({}, {"X-Hub-Signature": wrong}, {"X-Hub-Signature": "sha1=" + good[7:]},
                        {"X-Hub-Signature": good + "00"}):
            async with http.post(url, data=body, headers=headers) as answer:
                assert answer.status == 401, headers
        await bot.background.settle(timeout=2)
        assert "Acknowledge" in str(sandbox.find_message(PAYMENTS, post.ts).blocks)  # type: ignore[union-attr]
        assert not [e for e in await _trail(bot) if e.action == "escalation_acknowledged"]
        async with http.post(url, data=body, headers={"X-Hub-Signature": good}) as answer:
            assert answer.status == 200
    await sandbox.wait_for(lambda: "Acknowledged by <@U0ENG00001>" in str(
        sandbox.find_message(PAYMENTS, post.ts).blocks))



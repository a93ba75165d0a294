"""Rate limits answered the way the real services answer them, waited out for as long as they say:
Slack's `ratelimited` on chat.update (HTTP 429, Retry-After; chat.postMessage: tests/scenarios/test_http_faults.py)
and Statuspage's 429 with Retry-After. Nothing is doubled and nobody is bothered."""

from __future__ import annotations

from bot.app import SupportBot
from bot.sandbox.driver import SlackDriver
from bot.sandbox.slack import SlackSandbox
from bot.sandbox.statuspage import StatuspageStandIn
from bot.sandbox.workspace import AGENT, escalate, file_ticket, ticket_card_message, ticket_values

TRIAGE = "C0TRIAGE01"
PAYMENTS = "C0PAYMENT1"
SEV1 = ticket_values(**{"Impact": "Production down or data loss", "Summary": "Login fails for everyone"})


async def test_a_ratelimited_card_update_is_retried_after_retry_after_and_lands_once(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot) -> None:
    await file_ticket(slack, sandbox)
    await sandbox.wait_for(lambda: ticket_card_message(sandbox, 1, TRIAGE))
    before = len(sandbox.calls_to("chat.update"))
    sandbox.fail_next("chat.update", "ratelimited", retry_after=1)
    _, response = await escalate(slack, sandbox, number=1, triage=TRIAGE)
    assert response.status == 200 and not (response.json or {}).get("errors"), response.body
    await sandbox.wait_for(lambda: "Escalated to *payments*" in str(ticket_card_message(sandbox, 1, TRIAGE).blocks)
                           or None, timeout=10)
    updates = sandbox.calls_to("chat.update")[before:]
    assert updates[0].error == "ratelimited"
    assert updates[1].ok and updates[1].at - updates[0].at >= 1.0  # Retry-After was honoured
    assert len([m for m in sandbox.history(TRIAGE) if ticket_card_message(sandbox, 1, TRIAGE).ts == m.ts]) == 1
    assert len([m for m in sandbox.history(PAYMENTS)
                if (m.metadata or {}).get("event_type") == "supportbot_escalation"]) == 1
    assert not [e for e in sandbox.ephemerals if e.user == AGENT.user_id]  # nobody was bothered


async def test_statuspage_429_is_retried_no_sooner_than_its_retry_after(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, statuspage: StatuspageStandIn) -> None:
    statuspage.fail_next(429, times=1, retry_after=2)
    await file_ticket(slack, sandbox, values=SEV1)
    await statuspage.wait_for(lambda page: len(page.incidents) == 1, timeout=15)
    posts = [r for r in statuspage.requests if r.method == "POST"]
    assert [r.status for r in posts] == [429, 201]
    assert posts[1].at - posts[0].at >= 2.0, posts[1].at - posts[0].at
    assert len(statuspage.incidents) == 1

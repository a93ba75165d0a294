"""Escalation when the world misbehaves: a team channel that refuses the post, PagerDuty down, Jira down or
refusing, routing that needs the component, the path or the agent's choice, and credentials pasted into the
hand-off. Each fault is told to the agent, kept in the audit trail, retried with backoff where it may pass, and
once it passes the part goes out exactly once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from bot.app import SupportBot
from bot.sandbox.clock import ManualClock
from bot.sandbox.driver import SlackDriver
from bot.sandbox.jira import JiraStandIn
from bot.sandbox.pagerduty import PagerDutyStandIn
from bot.sandbox.slack import SlackSandbox
from bot.sandbox.workspace import (
    AGENT,
    AGENT_2,
    escalate,
    escalation_values,
    file_ticket,
    open_escalation_modal,
    ticket_card_message,
    ticket_values,
)
from storage.repositories import audit
from tests.scenarios.conftest import PAYMENTS_KEY, ROUTING_KEY

TRIAGE = "C0TRIAGE01"
PAYMENTS = "C0PAYMENT1"
PLATFORM = "C0PLATFRM1"
TEAM_FIELD = "Team (only when no component or URL names one)"
# The first retry of a failed part comes 10 s after the failure (bot/core/scheduler.py retry_delay).
FIRST_RETRY = timedelta(seconds=10)
PASSWORD = "hunter2hunter2"
URL_KEY = "9f8e7d6c5b4a39281716"
AWS_KEY = "AKIAIOSFODNN7EXAMPLE"


async def _filed(slack: SlackDriver, sandbox: SlackSandbox, pagerduty: PagerDutyStandIn, number: int,
                 **values: str) -> Any:
    """Files a ticket and waits for its card (and, being SEV2, for its own filing-time page)."""
    await file_ticket(slack, sandbox, values=ticket_values(**values))
    card = await sandbox.wait_for(lambda: ticket_card_message(sandbox, number, TRIAGE))
    await pagerduty.wait_for(lambda s: any(e["dedup_key"] == f"supportbot-ticket-{number}-sev2"
                                           for e in s.accepted_events("trigger")))
    return card


def _posts(sandbox: SlackSandbox, channel: str, escalation_id: int | None = None) -> list[Any]:
    return [m for m in sandbox.history(channel)
            if (m.metadata or {}).get("event_type") == "supportbot_escalation"
            and (escalation_id is None
                 or (m.metadata or {}).get("event_payload", {}).get("escalation") == escalation_id)]


def _blocks(sandbox: SlackSandbox, post: Any) -> str:
    found = sandbox.find_message(post.channel, post.ts)
    assert found is not None
    return json.dumps(found.blocks, ensure_ascii=False)


def _team_triggers(pagerduty: PagerDutyStandIn, routing_key: str = PAYMENTS_KEY) -> list[dict[str, Any]]:
    return [e for e in pagerduty.accepted_events("trigger")
            if e["routing_key"] == routing_key and e["dedup_key"].startswith("supportbot-escalation-")]


async def _trail(bot: SupportBot, number: int = 1) -> list[Any]:
    async with bot.sessions() as session:
        return await audit.audit_trail(session, ticket_number=number)


async def _actions(bot: SupportBot, number: int = 1) -> list[str]:
    return [e.action for e in await _trail(bot, number)]


async def _tick(bot: SupportBot, clock: ManualClock, by: timedelta) -> None:
    clock.advance(by)
    await bot.timers.fire_due()
    await bot.background.settle(timeout=10)


async def _wait_audit(bot: SupportBot, sandbox: SlackSandbox, action: str, count: int = 1,
                      number: int = 1) -> list[Any]:
    async def seen() -> list[Any]:
        return [e for e in await _trail(bot, number) if e.action == action]

    for _ in range(200):
        found = await seen()
        if len(found) >= count:
            return found
        await bot.background.settle(timeout=0.05)
        await asyncio.sleep(0.05)  # polling the database: nothing to wait on
    raise AssertionError(f"no {count}x {action!r} in the audit trail: {await _actions(bot, number)}")


def _ephemeral(sandbox: SlackSandbox, user: str, needle: str) -> Callable[[], Any]:
    return lambda: next((e for e in sandbox.ephemerals if e.user == user and needle in e.text), None)


# -- the team channel refuses the post ----------------------------------------------------------------------

async def test_a_team_channel_without_the_bot_tells_the_agent_and_posts_once_when_the_bot_is_back(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, pagerduty: PagerDutyStandIn,
        jira: JiraStandIn, clock: ManualClock) -> None:
    await _filed(slack, sandbox, pagerduty, 1)
    members = sandbox.channels[PAYMENTS].members
    members.remove(sandbox.bot_user_id)

    _, response = await escalate(slack, sandbox, number=1, triage=TRIAGE)
    assert response.status == 200 and not (response.json or {}).get("errors")
    note = await sandbox.wait_for(_ephemeral(sandbox, AGENT.user_id, "could not post"))
    assert "not a member" in note.text and "/invite" in note.text, note.text
    assert "recorded" in note.text and "payments" in note.text
    # The round is stored and the rest of it still goes out: the page, the Jira issue.
    await pagerduty.wait_for(lambda s: len(_team_triggers(s)) == 1)
    await sandbox.wait_for(lambda: jira.issues or None)
    await bot.background.settle(timeout=5)
    failed = [e for e in await _trail(bot) if e.action == "escalation_post_failed"]
    assert len(failed) == 1 and failed[0].after["error"] == "not_in_channel"
    assert "escalated" in await _actions(bot)
    assert _posts(sandbox, PAYMENTS) == []

    members.append(sandbox.bot_user_id)  # someone invited the bot
    await _tick(bot, clock, FIRST_RETRY - timedelta(seconds=1))
    assert _posts(sandbox, PAYMENTS) == []  # not before the retry is due
    await _tick(bot, clock, timedelta(seconds=2))
    await sandbox.wait_for(lambda: _posts(sandbox, PAYMENTS) or None)
    post = _posts(sandbox, PAYMENTS)[0]
    await sandbox.wait_for(lambda: "SUP-1" in _blocks(sandbox, post) or None)
    assert "Acknowledge" in _blocks(sandbox, post)
    # Later ticks (past any further retry that might have been left behind) add nothing.
    for _ in range(3):
        await _tick(bot, clock, timedelta(seconds=70))
    assert len(_posts(sandbox, PAYMENTS)) == 1
    assert len(_team_triggers(pagerduty)) == 1 and len(jira.issues) == 1
    assert [e.action for e in await _trail(bot)].count("escalation_post_failed") == 1


async def test_the_post_refused_is_told_to_the_agent_who_escalated_not_only_to_the_filer(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, pagerduty: PagerDutyStandIn) -> None:
    # Ava filed the ticket; Sam, another agent, escalates it. Sam pressed the button and is the one to fix it.
    await _filed(slack, sandbox, pagerduty, 1)
    sandbox.channels[PAYMENTS].members.remove(sandbox.bot_user_id)
    await escalate(slack, sandbox, number=1, triage=TRIAGE, user_id=AGENT_2.user_id)
    await pagerduty.wait_for(lambda s: len(_team_triggers(s)) == 1)
    await _wait_audit(bot, sandbox, "escalation_post_failed")
    await bot.background.settle(timeout=5)
    told = [(e.user, e.channel) for e in sandbox.ephemerals if "could not post" in e.text]
    assert any(user == AGENT_2.user_id for user, _ in told), told


# -- PagerDuty fails ------------------------------------------------------------------------------------------

async def test_pagerduty_failing_is_shown_on_the_post_and_the_retry_pages_once(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, pagerduty: PagerDutyStandIn,
        clock: ManualClock) -> None:
    await _filed(slack, sandbox, pagerduty, 1)
    pagerduty.fail_next(500, times=10)

    await escalate(slack, sandbox, number=1, triage=TRIAGE)
    post = await sandbox.wait_for(lambda: next(iter(_posts(sandbox, PAYMENTS)), None))
    await sandbox.wait_for(lambda: "Paging the team failed" in _blocks(sandbox, post) or None)
    assert "trying again at" in _blocks(sandbox, post)
    failures = await _wait_audit(bot, sandbox, "escalation_page_failed")
    assert failures[0].after["attempt"] == 1
    assert _team_triggers(pagerduty) == []

    # Still down at the first retry: a second failure, a later retry.
    await _tick(bot, clock, FIRST_RETRY + timedelta(seconds=1))
    await _wait_audit(bot, sandbox, "escalation_page_failed", count=2)
    assert _team_triggers(pagerduty) == []

    pagerduty.clear_faults()
    await _tick(bot, clock, 2 * FIRST_RETRY + timedelta(seconds=1))
    await pagerduty.wait_for(lambda s: len(_team_triggers(s)) == 1)
    page = _team_triggers(pagerduty)[0]
    assert page["dedup_key"] == "supportbot-escalation-1-1"
    assert page["routing_key"] == PAYMENTS_KEY
    await sandbox.wait_for(lambda: "Paging the team failed" not in _blocks(sandbox, post) or None)
    assert "escalation_paged" in await _actions(bot)

    # Firing again later (still inside the ladder's first 15 minutes) pages nobody twice.
    for _ in range(3):
        await _tick(bot, clock, timedelta(minutes=3))
    assert len(_team_triggers(pagerduty)) == 1
    assert len(_posts(sandbox, PAYMENTS)) == 1


# -- Jira fails -----------------------------------------------------------------------------------------------

async def test_jira_down_shows_the_issue_as_pending_and_the_retry_creates_exactly_one(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, pagerduty: PagerDutyStandIn,
        jira: JiraStandIn, clock: ManualClock) -> None:
    await _filed(slack, sandbox, pagerduty, 1)
    jira.fail_next(503, times=10)

    await escalate(slack, sandbox, number=1, triage=TRIAGE)
    post = await sandbox.wait_for(lambda: next(iter(_posts(sandbox, PAYMENTS)), None))
    await _wait_audit(bot, sandbox, "escalation_jira_failed")
    await bot.background.settle(timeout=5)
    assert "being created" in _blocks(sandbox, post)
    assert jira.issues == []
    assert len(_team_triggers(pagerduty)) == 1  # the page did not wait for Jira

    jira.clear_faults()
    await _tick(bot, clock, FIRST_RETRY + timedelta(seconds=1))
    await sandbox.wait_for(lambda: jira.issues or None)
    await sandbox.wait_for(lambda: "SUP-1" in _blocks(sandbox, post) or None)
    assert "being created" not in _blocks(sandbox, post)
    for _ in range(3):
        await _tick(bot, clock, timedelta(minutes=3))
    assert len(jira.issues) == 1, [(r.method, r.path, r.status) for r in jira.requests]
    assert jira.issues[0]["key"] == "SUP-1"
    assert [e.action for e in await _trail(bot)].count("jira_issue_created") == 1


async def test_jira_refusing_the_issue_is_not_retried_and_the_card_thread_says_so(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, pagerduty: PagerDutyStandIn,
        jira: JiraStandIn, clock: ManualClock) -> None:
    card = await _filed(slack, sandbox, pagerduty, 1)
    jira.projects["SUP"] = ["Task"]  # the configured issue type "Bug" no longer exists: Jira answers 400

    await escalate(slack, sandbox, number=1, triage=TRIAGE)
    post = await sandbox.wait_for(lambda: next(iter(_posts(sandbox, PAYMENTS)), None))
    said = await sandbox.wait_for(lambda: next((m for m in sandbox.history(TRIAGE, thread_ts=card.ts)
                                                if "Jira refused" in m.text), None))
    assert "#1" in said.text
    await sandbox.wait_for(lambda: "Jira refused to create it" in _blocks(sandbox, post) or None)
    creates = [r for r in jira.requests if r.method == "POST" and r.path == "/rest/api/3/issue"]
    assert len(creates) == 1 and creates[0].status == 400  # a 4xx is not retried, not even by the client

    for _ in range(4):
        await _tick(bot, clock, timedelta(minutes=3))
    creates = [r for r in jira.requests if r.method == "POST" and r.path == "/rest/api/3/issue"]
    assert len(creates) == 1 and jira.issues == []
    assert [e.action for e in await _trail(bot)].count("escalation_jira_failed") == 1


# -- routing ------------------------------------------------------------------------------------------------

async def test_routing_by_component_over_path_by_path_and_by_the_agents_choice(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, pagerduty: PagerDutyStandIn) -> None:
    # 1. The component names platform, the URL a payments path: the component wins, and the post says so.
    await _filed(slack, sandbox, pagerduty, 1, **{"URL or API endpoint": "https://app.acme.example/api/billing/invoices",
                                                  "Request ID": "req_7f3a9b21"})
    await escalate(slack, sandbox, number=1, triage=TRIAGE, values=escalation_values(Component="auth"))
    first = await sandbox.wait_for(lambda: next(iter(_posts(sandbox, PLATFORM, 1)), None))
    shown = _blocks(sandbox, first)
    assert "component" in shown and "auth" in shown and "/api/billing/**" in shown, shown
    assert "component wins" in shown
    assert _posts(sandbox, PAYMENTS) == []
    await pagerduty.wait_for(lambda s: len(_team_triggers(s, ROUTING_KEY)) == 1)  # platform: the default key

    # 2. No component: the URL's path names payments.
    await _filed(slack, sandbox, pagerduty, 2, **{"URL or API endpoint": "/api/billing/invoices",
                                                  "Request ID": "req_7f3a9b22"})
    await escalate(slack, sandbox, number=2, triage=TRIAGE, values=escalation_values(Component=None))
    second = await sandbox.wait_for(lambda: next(iter(_posts(sandbox, PAYMENTS, 2)), None))
    assert "component wins" not in _blocks(sandbox, second)

    # 3. Neither names a team: the modal asks for one, inline, and stores nothing until it is chosen.
    await _filed(slack, sandbox, pagerduty, 3, **{"URL or API endpoint": "https://app.acme.example/reports"})
    view_id = await open_escalation_modal(slack, sandbox, number=3, triage=TRIAGE)
    refused = await slack.submit_view(user_id=AGENT.user_id, view_id=view_id,
                                      values=escalation_values(Component=None))
    errors = (refused.json or {}).get("errors") or {}
    assert "esc_team" in errors and "choose the team" in errors["esc_team"], refused.json
    assert "escalated" not in await _actions(bot, 3)
    chosen = await slack.submit_view(user_id=AGENT.user_id, view_id=view_id,
                                     values=escalation_values(Component=None, **{TEAM_FIELD: "platform"}))
    assert not (chosen.json or {}).get("errors"), chosen.json
    third = await sandbox.wait_for(lambda: next(iter(_posts(sandbox, PLATFORM, 3)), None))
    assert "the agent chose platform" in _blocks(sandbox, third)

    routed = {n: next(e.after for e in await _trail(bot, n) if e.action == "escalated") for n in (1, 2, 3)}
    assert [(routed[n]["team"], routed[n]["routed_by"]) for n in (1, 2, 3)] == [
        ("platform", "component"), ("payments", "path"), ("platform", "agent")]


# -- credentials in the hand-off ------------------------------------------------------------------------------

async def test_credentials_pasted_into_the_hand_off_never_reach_the_post_the_page_or_jira(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, pagerduty: PagerDutyStandIn,
        jira: JiraStandIn) -> None:
    await _filed(slack, sandbox, pagerduty, 1)
    steps = (f"1. Sign in as admin with password={PASSWORD}\n"
             f"2. Call the export API with the key {AWS_KEY}\n3. Open Billing > Invoices: blank page")
    await escalate(slack, sandbox, number=1, triage=TRIAGE,
                   values=escalation_values(**{"Reproduction steps": steps}))
    post = await sandbox.wait_for(lambda: next(iter(_posts(sandbox, PAYMENTS)), None))
    await pagerduty.wait_for(lambda s: len(_team_triggers(s)) == 1)
    await sandbox.wait_for(lambda: jira.issues or None)
    await sandbox.wait_for(lambda: "SUP-1" in _blocks(sandbox, post) or None)
    await bot.background.settle(timeout=5)

    shown = _blocks(sandbox, post)
    assert "Open Billing &gt; Invoices" in shown or "Open Billing > Invoices" in shown  # the steps are there...
    assert "[redacted]" in shown  # ...with the credentials masked
    details = json.dumps(_team_triggers(pagerduty)[0]["payload"], ensure_ascii=False)
    assert "[redacted]" in details and "blank page" in details
    description = json.dumps(jira.issues[0]["fields"], ensure_ascii=False)
    assert "[redacted]" in description and "blank page" in description

    # Nowhere at all: no message (or earlier version of one), no PagerDuty event, no request to Jira.
    everywhere = json.dumps([[m.text, m.blocks, m.edits] for m in sandbox.messages], ensure_ascii=False, default=str)
    everywhere += json.dumps([e.body for e in pagerduty.events], default=str)
    everywhere += json.dumps([r.body for r in jira.requests], default=str)
    for secret in (PASSWORD, AWS_KEY):
        assert secret not in everywhere, secret
    escalated = next(e for e in await _trail(bot) if e.action == "escalated")
    assert set(escalated.after["redacted"]) >= {"a password", "an AWS access key"}


async def test_credentials_in_the_sentry_link_never_reach_the_post_the_page_or_jira(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, pagerduty: PagerDutyStandIn,
        jira: JiraStandIn) -> None:
    # At intake every link field is redacted (bot/tickets/filing.py); the hand-off's Sentry link is pasted too.
    await _filed(slack, sandbox, pagerduty, 1)
    sentry = f"https://sentry.example.com/organizations/acme/issues/4711/?api_key={URL_KEY}"
    await escalate(slack, sandbox, number=1, triage=TRIAGE, values=escalation_values(**{"Sentry link": sentry}))
    post = await sandbox.wait_for(lambda: next(iter(_posts(sandbox, PAYMENTS)), None))
    await pagerduty.wait_for(lambda s: len(_team_triggers(s)) == 1)
    await sandbox.wait_for(lambda: jira.issues or None)
    await sandbox.wait_for(lambda: "SUP-1" in _blocks(sandbox, post) or None)
    await bot.background.settle(timeout=5)
    assert "issues/4711" in _blocks(sandbox, post)  # the link itself still goes out
    places = {"Slack": json.dumps([[m.text, m.blocks, m.edits] for m in sandbox.messages], default=str),
              "PagerDuty": json.dumps([e.body for e in pagerduty.events], default=str),
              "Jira": json.dumps([r.body for r in jira.requests], default=str)}
    leaked = [where for where, text in places.items() if URL_KEY in text]
    assert leaked == [], f"the Sentry link's api_key reached {leaked}"


async def test_the_page_keeps_the_sentry_issue_link_beside_the_diagnostic_search(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, pagerduty: PagerDutyStandIn) -> None:
    # The paged engineer needs the Sentry issue the agent linked, not only the configured `[links] sentry` search.
    await _filed(slack, sandbox, pagerduty, 1)
    await escalate(slack, sandbox, number=1, triage=TRIAGE)
    await pagerduty.wait_for(lambda s: len(_team_triggers(s)) == 1)
    details = _team_triggers(pagerduty)[0]["payload"]["custom_details"]
    issue = escalation_values()["Sentry link"]
    assert issue in details.values(), details

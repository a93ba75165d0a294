"""Escalation end to end: the modal refuses an incomplete hand-off, routing picks the owning team, SEV1/SEV2 page
it once per round, Jira gets one issue, Acknowledge stops the ladder, and anyone off the team is told."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from bot.app import SupportBot
from bot.domain import EscalationState
from bot.sandbox.clock import ManualClock
from bot.sandbox.driver import SlackDriver
from bot.sandbox.jira import JiraStandIn
from bot.sandbox.pagerduty import PagerDutyStandIn
from bot.sandbox.slack import SlackSandbox
from bot.sandbox.view_state import ViewSubmissionBlocked
from bot.sandbox.workspace import (
    AGENT,
    ENGINEER,
    OUTSIDER,
    escalate,
    escalation_values,
    file_ticket,
    open_escalation_modal,
    ticket_card_message,
    ticket_values,
)
from storage.repositories import audit
from tests.properties.forge import settled
from tests.scenarios.conftest import PAYMENTS_KEY, ROUTING_KEY

TRIAGE = "C0TRIAGE01"
PAYMENTS = "C0PAYMENT1"
PLATFORM = "C0PLATFRM1"
SEV3 = {"Impact": "Minor feature broken, or a workaround exists"}
SEV4 = {"Impact": "Cosmetic or how-to question"}


async def _filed(slack: SlackDriver, sandbox: SlackSandbox, **values: str) -> None:
    await file_ticket(slack, sandbox, values=ticket_values(**values))
    await sandbox.wait_for(lambda: ticket_card_message(sandbox, len(sandbox.history(TRIAGE)), TRIAGE))


async def _events(pagerduty: PagerDutyStandIn, wanted: Callable[[dict[str, Any]], bool],
                  count: int = 1) -> list[dict[str, Any]]:
    await pagerduty.wait_for(lambda s: len([e for e in s.accepted_events() if wanted(e)]) >= count)
    return [e for e in pagerduty.accepted_events() if wanted(e)]


def _post(sandbox: SlackSandbox, channel: str) -> object:
    return next((m for m in sandbox.history(channel)
                 if (m.metadata or {}).get("event_type") == "supportbot_escalation"), None)


async def test_an_incomplete_hand_off_is_refused_inline_and_nothing_is_stored(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, pagerduty: PagerDutyStandIn) -> None:
    await _filed(slack, sandbox)
    values = escalation_values(**{"Request ID": "", "Sentry link": "", "Reproduction steps": "",
                                  "Customer impact, in one sentence": "x" * 201})
    # Slack's client refuses these itself (required, max_length)...
    with pytest.raises(ViewSubmissionBlocked):
        await escalate(slack, sandbox, number=1, triage=TRIAGE, values=values)
    # ...and the bot refuses them when a submission arrives without that check (blank after trimming, forged).
    values.update({"Request ID": "   ", "Sentry link": " ", "Reproduction steps": "  "})
    _, response = await escalate(slack, sandbox, number=1, triage=TRIAGE, values=values, validate=False)
    errors = response.json["errors"]  # type: ignore[index]
    assert "response headers" in errors["esc_request_id"]
    assert "Sentry" in errors["esc_sentry_url"]
    assert "steps" in errors["esc_repro_steps"]
    assert "200" in errors["esc_customer_impact"]
    _, response = await escalate(slack, sandbox, number=1, triage=TRIAGE,
                                 values=escalation_values(**{"Sentry link": "sentry issue 4711"}))
    assert "http(s)" in response.json["errors"]["esc_sentry_url"]  # type: ignore[index]
    assert _post(sandbox, PAYMENTS) is None
    async with bot.sessions() as session:
        actions = [e.action for e in await audit.audit_trail(session, ticket_number=1)]
    assert "escalated" not in actions
    assert [e for e in pagerduty.accepted_events("trigger") if e["routing_key"] == PAYMENTS_KEY] == []


async def test_a_sev2_escalation_pages_the_owning_team_once_and_creates_one_jira_issue(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, pagerduty: PagerDutyStandIn,
        jira: JiraStandIn) -> None:
    await _filed(slack, sandbox)
    view_id = await open_escalation_modal(slack, sandbox, number=1, triage=TRIAGE)
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    # Two presses of the same submission (Slack's retry of a slow one): one round.
    first, second = await asyncio.gather(
        slack.submit_view(user_id=AGENT.user_id, view_id=view_id, values=escalation_values()),
        slack.submit_view(user_id=AGENT.user_id, view_id=view_id, values=escalation_values(), extra_headers=retry))
    assert first.status == 200 and not (first.json or {}).get("errors")
    assert not (second.json or {}).get("errors")
    post = await sandbox.wait_for(lambda: _post(sandbox, PAYMENTS))
    text = str(post.blocks)  # type: ignore[attr-defined]
    for fact in ("req_7f3a9b21", "Finance cannot download", "Reproducible", "ws_4f2a9c", "Blank page",
                 "Sentry issue", "Acknowledge"):
        assert fact in text, fact
    team_pages = await _events(pagerduty, lambda e: e["routing_key"] == PAYMENTS_KEY)
    page = team_pages[0]
    assert page["dedup_key"] == "supportbot-escalation-1-1"
    assert "#1" in page["payload"]["summary"] and "Finance cannot download" in page["payload"]["summary"]
    assert page["payload"]["custom_details"]["request_id"] == "req_7f3a9b21"
    await sandbox.wait_for(lambda: jira.issues or None)
    assert len(jira.issues) == 1, jira.requests
    issue = jira.issues[0]
    assert issue["key"] == "SUP-1" and issue["fields"]["labels"] == ["supportbot-escalation-1-1"]
    await sandbox.wait_for(lambda: "SUP-1" in str(_post(sandbox, PAYMENTS).blocks))  # type: ignore[attr-defined]
    card = ticket_card_message(sandbox, 1, TRIAGE)
    await sandbox.wait_for(lambda: "Escalated to *payments*" in str(card.blocks))
    # While the round waits the card offers no second escalation; still one round, one page, one issue.
    assert "ticket_escalate" not in str(card.blocks)
    await bot.background.settle(timeout=5)
    assert len([e for e in pagerduty.accepted_events("trigger") if e["routing_key"] == PAYMENTS_KEY]) == 1
    assert len(jira.issues) == 1
    assert len([m for m in sandbox.history(PAYMENTS) if (m.metadata or {}).get("event_type")
                == "supportbot_escalation"]) == 1


async def test_sev3_mentions_the_oncall_group_and_sev4_posts_without_a_mention(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, pagerduty: PagerDutyStandIn) -> None:
    await _filed(slack, sandbox, **SEV3)
    await escalate(slack, sandbox, number=1, triage=TRIAGE)
    post = await sandbox.wait_for(lambda: _post(sandbox, PAYMENTS))
    assert "<!subteam^S0PAYONCL1>" in post.text  # type: ignore[attr-defined]
    await _filed(slack, sandbox, **SEV4, **{"URL or API endpoint": "https://app.acme.example/sso/login"})
    await escalate(slack, sandbox, number=2, triage=TRIAGE, values=escalation_values(Component=None))
    post = await sandbox.wait_for(lambda: _post(sandbox, PLATFORM))
    assert "subteam" not in post.text  # type: ignore[attr-defined]
    assert [e for e in pagerduty.accepted_events("trigger") if "escalation" in e["dedup_key"]] == []


async def test_acknowledge_by_the_oncall_engineer_stops_the_ladder_and_acknowledges_the_page(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, pagerduty: PagerDutyStandIn,
        clock: ManualClock) -> None:
    await _filed(slack, sandbox)
    await escalate(slack, sandbox, number=1, triage=TRIAGE)
    post = await sandbox.wait_for(lambda: _post(sandbox, PAYMENTS))
    await _events(pagerduty, lambda e: e["routing_key"] == PAYMENTS_KEY)

    refused = await slack.click(user_id=OUTSIDER.user_id, action_id="escalation_acknowledge", message=post)
    assert refused.status == 200
    note = await sandbox.wait_for(lambda: next((e for e in sandbox.ephemerals if e.user == OUTSIDER.user_id), None))
    assert "S0PAYONCL1" in note.text and "nothing was changed" in note.text
    assert "Acknowledge" in str(sandbox.find_message(PAYMENTS, post.ts).blocks)  # type: ignore[union-attr,attr-defined]

    await slack.click(user_id=ENGINEER.user_id, action_id="escalation_acknowledge", message=post)
    await sandbox.wait_for(lambda: "Acknowledged by <@U0ENG00001>" in str(
        sandbox.find_message(PAYMENTS, post.ts).blocks))  # type: ignore[attr-defined]
    card = ticket_card_message(sandbox, 1, TRIAGE)
    await sandbox.wait_for(lambda: any("acknowledged the escalation" in m.text
                                       for m in sandbox.history(TRIAGE, thread_ts=card.ts)))
    acks = await _events(pagerduty, lambda e: e["event_action"] == "acknowledge")
    assert acks[0]["dedup_key"] == "supportbot-escalation-1-1"
    # Past every rung's time: nothing more happens once acknowledged.
    clock.advance(timedelta(hours=2))
    await bot.timers.fire_due()
    await bot.background.settle(timeout=5)
    assert [e for e in pagerduty.accepted_events("trigger") if "repage" in e["dedup_key"]] == []
    async with bot.sessions() as session:
        actions = [e.action for e in await audit.audit_trail(session, ticket_number=1)]
    assert "escalation_acknowledged" in actions and "escalation_rung" not in actions



async def test_the_oncall_engineers_app_home_lists_what_waits_on_their_teams(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, clock: ManualClock) -> None:
    await _filed(slack, sandbox)
    await escalate(slack, sandbox, number=1, triage=TRIAGE)
    post = await sandbox.wait_for(lambda: _post(sandbox, PAYMENTS))
    clock.advance(timedelta(minutes=7))
    await slack.app_home_opened(user_id=ENGINEER.user_id)
    home = await sandbox.wait_for(lambda: sandbox.home_views.get(ENGINEER.user_id))
    text = str(home["blocks"])
    assert "Escalations waiting on your teams" in text and "#1" in text and "waiting 7 min" in text
    await slack.app_home_opened(user_id=OUTSIDER.user_id)
    other = await sandbox.wait_for(lambda: sandbox.home_views.get(OUTSIDER.user_id))
    assert "Escalations waiting" not in str(other["blocks"])
    await slack.click(user_id=ENGINEER.user_id, action_id="escalation_acknowledge", message=post)
    await sandbox.wait_for(lambda: "Acknowledged by" in str(sandbox.find_message(PAYMENTS, post.ts).blocks))
    sandbox.home_views.pop(ENGINEER.user_id)
    await slack.app_home_opened(user_id=ENGINEER.user_id)
    home = await sandbox.wait_for(lambda: sandbox.home_views.get(ENGINEER.user_id))
    assert "Escalations waiting" not in str(home["blocks"])


async def test_a_handed_back_ticket_can_be_escalated_again_as_a_new_round_that_pages_again(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, pagerduty: PagerDutyStandIn,
        jira: JiraStandIn) -> None:
    await _filed(slack, sandbox)
    await escalate(slack, sandbox, number=1, triage=TRIAGE, values=escalation_values(**{"Jira issue": "SUP-77"}))
    post = await sandbox.wait_for(lambda: _post(sandbox, PAYMENTS))
    assert "SUP-77" in str(post.blocks) and jira.issues == []  # an existing key: no new issue
    await slack.click(user_id=ENGINEER.user_id, action_id="escalation_acknowledge", message=post)
    await sandbox.wait_for(lambda: "escalation_hand_back" in str(sandbox.find_message(PAYMENTS, post.ts).blocks))
    await slack.click(user_id=ENGINEER.user_id, action_id="escalation_hand_back",
                      message=sandbox.find_message(PAYMENTS, post.ts))
    await settled(bot)  # the acknowledgement's and the hand-back's listeners done, card redraws and all
    assert (await bot.escalations.get(1)).state is EscalationState.HANDED_BACK
    card = ticket_card_message(sandbox, 1, TRIAGE)
    await sandbox.wait_for(lambda: "ticket_escalate" in str(card.blocks))
    await escalate(slack, sandbox, number=1, triage=TRIAGE)
    await _events(pagerduty, lambda e: e["dedup_key"] == "supportbot-escalation-1-2")
    await sandbox.wait_for(lambda: len(jira.issues) == 1 or None)
    assert jira.issues[0]["fields"]["labels"] == ["supportbot-escalation-1-2"]


async def test_tickets_with_the_same_sentry_issue_are_related_and_the_links_are_filled(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot) -> None:
    await _filed(slack, sandbox)
    await escalate(slack, sandbox, number=1, triage=TRIAGE)
    await sandbox.wait_for(lambda: _post(sandbox, PAYMENTS))
    await _filed(slack, sandbox, **{"Customer workspace ID": "ws 9&x=<y>"})
    link = "https://sentry.example.com/organizations/acme/issues/4711/?project=2"
    await escalate(slack, sandbox, number=2, triage=TRIAGE,
                   values=escalation_values(**{"Sentry link": link, "Customer workspace ID": "ws 9&x=<y>"}))
    second = await sandbox.wait_for(lambda: next((m for m in sandbox.history(PAYMENTS)
                                                  if "#2" in str(m.blocks) and (m.metadata or {}).get(
                                                      "event_type") == "supportbot_escalation"), None))
    assert "Same Sentry issue as #1" in str(second.blocks)
    card = ticket_card_message(sandbox, 2, TRIAGE)
    await sandbox.wait_for(lambda: "Same Sentry issue as #1" in str(card.blocks))
    text = str(second.blocks)
    # The contract's [links]: the workspace ID URL-encoded, 15 minutes either side of when it happened.
    assert "workspace_id%3Aws%209%26x%3D%3Cy%3E" in text and "&amp;start=" in text
    assert "from_ts=" in text and "to_ts=" in text
    assert "Same Sentry issue" not in str(ticket_card_message(sandbox, 1, TRIAGE).blocks)


async def test_a_sev1_is_escalated_from_its_incident_channel_and_pages_the_team_as_critical(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, pagerduty: PagerDutyStandIn) -> None:
    await file_ticket(slack, sandbox, values=ticket_values(**{"Impact": "Production down or data loss",
                                                              "Plan tier": "Enterprise"}))
    channel = await sandbox.wait_for(lambda: sandbox.channel_by_name("incident-1"))
    kickoff = await sandbox.wait_for(lambda: next((m for m in sandbox.history(channel.id)
                                                   if "ticket_escalate" in str(m.blocks)), None))
    before = {v.id for v in sandbox.views.values()}
    await slack.click(user_id=AGENT.user_id, action_id="ticket_escalate", message=kickoff)
    view = await sandbox.wait_for(lambda: next((v for v in sandbox.views.values() if v.id not in before), None))
    response = await slack.submit_view(user_id=AGENT.user_id, view_id=view.id, values=escalation_values())
    assert not (response.json or {}).get("errors")
    page = (await _events(pagerduty, lambda e: e["dedup_key"] == "supportbot-escalation-1-1"))[0]
    assert page["routing_key"] == PAYMENTS_KEY and page["payload"]["severity"] == "critical"
    # The filing-time page went to the customer-impacting rotation and stays as it was.
    incident_page = (await _events(pagerduty, lambda e: e["dedup_key"] == "supportbot-ticket-1-1"))[0]
    assert incident_page["routing_key"] == ROUTING_KEY

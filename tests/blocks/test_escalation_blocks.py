"""blocks/escalation.py: the modal, the post in each state, the card's escalation line and the App Home section
parse with slack_sdk.models and within Slack's limits; typed words stay inert."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from blocks import escalation as esc
from blocks import ticket_card as cards
from blocks.ids import Action
from bot.domain import Escalation, EscalationFacts, EscalationState, JiraState, PlanTier, ReproResult
from tests.blocks.test_builders import NOW, assert_valid_blocks, assert_valid_view, buttons, make_ticket


def make_escalation(**changes: Any) -> Escalation:
    facts = EscalationFacts(
        workspace_id="ws_4f2a9c", plan_tier=PlanTier.BUSINESS, occurred_at=NOW - timedelta(minutes=30),
        customer_timezone="Europe/Berlin", expected="Invoices <!channel> listed", actual="A blank page & a spinner",
        request_id="req_91ab7c", sentry_url="https://sentry.example.com/organizations/acme/issues/4711/",
        repro_steps="1. Open Billing\n2. See <@U0LEAD0001>", repro_result=ReproResult.REPRODUCIBLE,
        component="billing", customer_impact="Finance cannot close the month")
    escalation = Escalation(id=3, ticket_number=42, round=1, team="payments", facts=facts, routed_by="component",
                            route_note=None, escalated_by="U0AGENT1", escalated_at=NOW, jira_key="SUP-9",
                            jira_url="https://acme.atlassian.net/browse/SUP-9", jira_state=JiraState.CREATED,
                            post_channel="C0PAYMENT1", post_ts="1700000000.000200")
    return replace(escalation, **changes)


WHERE = esc.PostContext(ticket=make_ticket(), team_channel="C0PAYMENT1", oncall_usergroup="S0PAYONCL1",
                        card_url="https://slack.com/archives/C0TRIAGE01/p1700000000000100",
                        diagnostic_links=[("Logs", "https://logs.example.com/?q=a&b=c")], related_tickets=[7])


def test_the_modal_is_a_valid_view_prefilled_from_the_ticket() -> None:
    view = esc.escalation_modal(make_ticket(), components=["auth", "billing"], teams=["platform", "payments"],
                                channel_id="C0TRIAGE01")
    assert_valid_view(view)
    initial = {b["block_id"]: b["element"].get("initial_value") for b in view["blocks"] if b["type"] == "input"}
    assert initial["esc_workspace_id"] == "ws_4f2a9c" and initial["esc_request_id"] == "req_91ab7c"
    required = {b["block_id"] for b in view["blocks"] if b["type"] == "input" and not b["optional"]}
    assert {"esc_request_id", "esc_sentry_url", "esc_repro_steps", "esc_repro_result",
            "esc_customer_impact"} <= required
    impact = next(b for b in view["blocks"] if b.get("block_id") == "esc_customer_impact")
    assert impact["element"]["max_length"] == 200
    request_id = next(b for b in view["blocks"] if b.get("block_id") == "esc_request_id")
    assert "response headers" in request_id["hint"]["text"]


def test_the_post_waiting_acknowledged_and_handed_back() -> None:
    waiting = esc.escalation_post(make_escalation(), WHERE, now=NOW + timedelta(minutes=7))
    assert_valid_blocks(waiting)
    text = str(waiting)
    assert "&lt;!channel&gt;" in text and "&lt;@U0LEAD0001&gt;" in text and "&amp; a spinner" in text
    assert "<https://logs.example.com/?q=a&amp;b=c|Logs>" in text and "Same Sentry issue as #7" in text
    assert "(7 min)" in text and buttons(waiting) == [(Action.ACKNOWLEDGE, "3")]
    acked = esc.escalation_post(make_escalation(state=EscalationState.ACKNOWLEDGED, acknowledged_by="U0ENG00001",
                                                acknowledged_at=NOW, acknowledged_via="jira"), WHERE, now=NOW)
    assert_valid_blocks(acked)
    assert "Acknowledged by <@U0ENG00001>" in str(acked) and "(from Jira)" in str(acked)
    assert buttons(acked) == [(Action.HAND_BACK, "3")]
    back = esc.escalation_post(make_escalation(state=EscalationState.HANDED_BACK), WHERE, now=NOW)
    assert buttons(back) == []


def test_the_card_shows_where_the_escalation_stands_and_offers_it_only_when_none_is_open() -> None:
    ticket = make_ticket()
    waiting = cards.ticket_card(ticket, now=NOW, escalation=make_escalation(repaged_at=NOW), related=[7],
                                diagnostic_links=[("Sentry", "https://sentry.example.com/?q=1")])
    assert_valid_blocks(waiting)
    text = str(waiting)
    assert "Escalated to *payments*" in text and "re-paged" in text and "SUP-9" in text
    assert "|the escalation>" in text and "Same Sentry issue as #7" in text
    assert (Action.ESCALATE, "42") not in buttons(waiting)
    handed_back = cards.ticket_card(ticket, now=NOW, escalation=make_escalation(state=EscalationState.HANDED_BACK))
    assert (Action.ESCALATE, "42") in buttons(handed_back)


def test_the_home_section_lists_waiting_escalations() -> None:
    view = cards.home_view([], now=NOW + timedelta(minutes=20), waiting=[(make_escalation(), make_ticket())])
    assert_valid_view(view)
    assert "waiting 20 min" in str(view)

"""Every Block Kit builder: valid for slack_sdk, the right IDs and values, escaped, truncated, honest drafts."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from blocks import incident as inc
from blocks import ticket_card as cards
from blocks import ticket_modal as modals
from blocks.ids import Action, Callback, SeverityField, StatusField, TicketField
from blocks.text import truncate
from bot.domain import (
    Category,
    Environment,
    Impact,
    Incident,
    IncidentStatus,
    IncidentStep,
    PlanTier,
    Severity,
    StepOutcome,
    StepState,
    Ticket,
)

NOW = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)  # a Monday, 20:00 in Berlin (CET)
HOSTILE = "Hi <!channel> & <@U1>, it's down"
HOSTILE_ESCAPED = "Hi &lt;!channel&gt; &amp; &lt;@U1&gt;, it's down"
IMPACT_LABELS = ["Production down or data loss", "Major feature broken, no workaround",
                 "Minor feature broken, or a workaround exists", "Cosmetic or how-to question"]


# Small factories ---------------------------------------------------------------------------------------

def make_ticket(**changes: Any) -> Ticket:
    ticket = Ticket(
        number=42, workspace_id="ws_4f2a9c", requester_email="dana@customer.com",
        summary="Invoices page returns 500 for every user",
        what_happened="Billing > Invoices shows 'Something went wrong' (HTTP 500) since 18:30.",
        expected="The list of last year's invoices", impact=Impact.MAJOR_BROKEN, severity=Severity.SEV2,
        severity_reason="Impact reported at intake: major feature broken, no workaround",
        plan_tier=PlanTier.BUSINESS,
        environment=Environment(browser="Chrome 131", os="macOS 15.1", url="https://app.acme.com/billing/invoices",
                                occurred_at=NOW - timedelta(minutes=30), customer_timezone="Europe/Berlin",
                                request_id="req_91ab7c"),
        attachment_link="https://www.loom.com/share/abc123",
        helpdesk_link="https://acme.zendesk.com/agent/tickets/981", category=Category.BILLING,
        filed_by="U0AGENT1", filed_at=NOW, first_response_due=NOW + timedelta(hours=1),
        card_channel="C0TRIAGE01", card_ts="1700000000.000100")
    return replace(ticket, **changes)


def make_sev1(**changes: Any) -> Ticket:
    sev1 = {"impact": Impact.PRODUCTION_DOWN, "severity": Severity.SEV1,
            "severity_reason": "Impact reported at intake: production down or data loss"}
    return make_ticket(**{**sev1, **changes})


def make_incident(**changes: Any) -> Incident:
    incident = Incident(
        id=7, ticket_number=42, generation=1, status=IncidentStatus.INVESTIGATING, commander=None,
        public_title="Service disruption affecting billing", opened_at=NOW, resolved_at=None,
        last_public_update_at=NOW, last_public_message="We are investigating reports of billing errors.",
        kickoff_ts=None,
        steps={IncidentStep.PAGE: StepOutcome(StepState.DONE, "paged <!subteam^S0PAYONCL1>",
                                              external_id="supportbot-42-1"),
               IncidentStep.CHANNEL: StepOutcome(StepState.DONE, "opened <#C0INC0042>", external_id="C0INC0042",
                                                 external_name="incident-42"),
               IncidentStep.STATUSPAGE: StepOutcome(StepState.FAILED, "Statuspage answered 503")})
    return replace(incident, **changes)


def with_step(incident: Incident, step: IncidentStep, outcome: StepOutcome) -> Incident:
    return replace(incident, steps={**incident.steps, step: outcome})


# Helpers -----------------------------------------------------------------------------------------------

def assert_valid_blocks(blocks: list[dict[str, Any]], *, max_blocks: int = 50) -> None:
    """slack_sdk parses and validates each block, the round trip keeps them all, and Slack's own caps hold."""
    assert 1 <= len(blocks) <= max_blocks
    parsed = Block.parse_all(blocks)
    assert all(b is not None for b in parsed), [b["type"] for b in blocks]
    for parsed_block in parsed:
        parsed_block.validate_json()
    dumped = [b.to_dict() for b in parsed]
    assert len(dumped) == len(blocks)
    assert dumped == blocks  # nothing slack_sdk does not know about was silently dropped
    for block in blocks:
        assert_slack_limits(block)


def assert_slack_limits(block: dict[str, Any]) -> None:
    """The limits slack_sdk leaves to Slack: field text, context size, IDs and button values."""
    assert len(block.get("block_id", "")) <= 255
    if block["type"] == "section":
        assert "text" in block or block.get("fields"), block
        assert len(block.get("fields", [])) <= 10
        assert all(len(f["text"]) <= 2000 for f in block.get("fields", []))
        if "text" in block:
            assert len(block["text"]["text"]) <= 3000
    if block["type"] == "header":
        assert len(block["text"]["text"]) <= 150
    if block["type"] == "context":
        assert 1 <= len(block["elements"]) <= 10
    if block["type"] == "actions":
        for element in block["elements"]:
            assert len(element["action_id"]) <= 255
            assert len(element.get("value", "")) <= 2000
            assert len(element["text"]["text"]) <= 75


def assert_valid_view(view: dict[str, Any]) -> View:
    parsed = View(**view)
    parsed.validate_json()
    dumped = parsed.to_dict()
    assert len(dumped["blocks"]) == len(view["blocks"])
    assert dumped == view
    if view["type"] == "modal":
        assert len(view["title"]["text"]) <= 24
        assert len(view.get("private_metadata", "")) <= 3000
    for block in view["blocks"]:
        assert_slack_limits(block)
    return parsed


def texts(blocks: list[dict[str, Any]]) -> list[str]:
    """Every mrkdwn string a reader sees, in order."""
    found: list[str] = []
    for block in blocks:
        if block["type"] == "section":
            found += [block["text"]["text"]] if "text" in block else []
            found += [f["text"] for f in block.get("fields", [])]
        elif block["type"] == "context":
            found += [e["text"] for e in block["elements"]]
    return found


def home(tickets: list[Ticket], now: datetime = NOW) -> dict[str, Any]:
    view: dict[str, Any] = cards.home_view(tickets, now=now)
    return view


def home_blocks(tickets: list[Ticket]) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = home(tickets)["blocks"]
    return blocks


def of_type(blocks: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [b for b in blocks if b["type"] == kind]


def buttons(blocks: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    return [(e["action_id"], e.get("value")) for b in of_type(blocks, "actions") for e in b["elements"]]


# (a) every builder parses with slack_sdk -----------------------------------------------------------------

def every_message() -> dict[str, list[dict[str, Any]]]:
    ticket, sev1, incident = make_ticket(), make_sev1(), make_incident()
    answered = make_ticket(first_response_at=NOW, first_response_by="U0AGENT2")
    bare = make_ticket(environment=Environment(), attachment_link=None, helpdesk_link=None, category=None)
    return {
        "ticket_card": cards.ticket_card(ticket, now=NOW),
        "ticket_card_answered": cards.ticket_card(answered, now=NOW, incident_channel="C0INC0042",
                                                  incident_status="monitoring"),
        "ticket_card_bare": cards.ticket_card(bare, now=NOW),
        "draft_message": cards.draft_message(ticket, next_update=NOW + timedelta(hours=1), zone="Europe/Berlin"),
        "redaction_notice": cards.redaction_notice(make_ticket(redactions=("a Slack token in What happened",))),
        "first_response_reminder": cards.first_response_reminder(ticket, now=NOW + timedelta(minutes=48)),
        "first_response_breach": cards.first_response_breach(ticket, leads_group="S0LEADS01",
                                                             now=NOW + timedelta(minutes=61)),
        "severity_changed_note": cards.severity_changed_note(ticket, sev1, actor="U0AGENT2"),
        "kickoff": inc.kickoff(sev1, incident, card_url="https://acme.slack.com/archives/C0TRIAGE01/p1",
                               commanders_group="S0COMMAND1"),
        "step_failed": inc.step_failed(incident, IncidentStep.STATUSPAGE, next_retry=NOW + timedelta(minutes=1)),
        "step_recovered": inc.step_recovered(
            with_step(incident, IncidentStep.STATUSPAGE, StepOutcome(StepState.DONE, "posted")),
            IncidentStep.STATUSPAGE),
        "step_abandoned": inc.step_abandoned(incident, IncidentStep.STATUSPAGE, by="U0IC"),
        "status_update_posted": inc.status_update_posted(incident, status=IncidentStatus.IDENTIFIED,
                                                         message="We found the cause.", by="U0IC",
                                                         published_to="Statuspage", reason=None),
        "status_reminder": inc.status_reminder(incident, now=NOW + timedelta(minutes=30),
                                               commanders_group="S0COMMAND1"),
        "resolved": inc.resolved(replace(incident, last_public_update_at=NOW + timedelta(hours=2)), by="U0IC",
                                 page_note="PagerDuty alert resolved."),
    }


@pytest.mark.parametrize("name", sorted(every_message()))
def test_every_message_parses_and_validates(name: str) -> None:
    assert_valid_blocks(every_message()[name])


def every_view() -> dict[str, dict[str, Any]]:
    return {
        "ticket_modal": modals.ticket_modal(summary="Invoices page 500", private_metadata={"channel": "C1"}),
        "not_allowed_modal": modals.not_allowed_modal(group_id="S0AGENTS01", action="file tickets"),
        "severity_modal": modals.severity_modal(ticket_number=42, current=Severity.SEV2,
                                                current_impact=Impact.MAJOR_BROKEN),
        "status_modal": inc.status_modal(make_incident(), channel_id="C0INC0042"),
        "home_view": home([make_ticket(), make_sev1(number=43, first_response_at=NOW)]),
        "home_view_empty": home([]),
    }


@pytest.mark.parametrize("name", sorted(every_view()))
def test_every_view_parses_and_validates(name: str) -> None:
    assert_valid_view(every_view()[name])


def test_home_view_caps_the_list_below_slacks_100_blocks() -> None:
    tickets = [make_ticket(number=n) for n in range(1, 120)]
    view = home(tickets)
    assert_valid_view(view)
    assert len(view["blocks"]) <= 100


# (b) key parts against expected dicts --------------------------------------------------------------------

def test_ticket_modal_fields_and_impact_question() -> None:
    view = modals.ticket_modal(summary="Invoices page 500", private_metadata={"channel": "C1"})
    assert view["callback_id"] == Callback.TICKET_SUBMIT.value == "ticket_submit"
    assert json.loads(view["private_metadata"]) == {"channel": "C1"}
    inputs = {b["block_id"]: b for b in of_type(view["blocks"], "input")}
    assert list(inputs) == [f.value for f in TicketField]
    assert all(b["element"]["action_id"] == block_id for block_id, b in inputs.items())
    required = {block_id for block_id, b in inputs.items() if not b.get("optional")}
    assert required == {"workspace_id", "requester_email", "summary", "what_happened", "expected", "impact",
                        "plan_tier"}
    impact = inputs["impact"]["element"]
    assert impact["type"] == "radio_buttons"
    assert [(o["text"]["text"], o["value"], o["description"]["text"]) for o in impact["options"]] == [
        (IMPACT_LABELS[0], "production_down", "SEV1"), (IMPACT_LABELS[1], "major_broken", "SEV2"),
        (IMPACT_LABELS[2], "minor_broken", "SEV3"), (IMPACT_LABELS[3], "cosmetic", "SEV4")]
    assert [o["value"] for o in inputs["plan_tier"]["element"]["options"]] == [
        "enterprise", "business", "pro", "trial", "free"]
    assert inputs["requester_email"]["element"]["type"] == "email_text_input"
    assert inputs["summary"]["element"] == {"type": "plain_text_input", "action_id": "summary",
                                            "initial_value": "Invoices page 500", "max_length": 150,
                                            "placeholder": {"type": "plain_text", "emoji": True,
                                                            "text": "One line an engineer can scan"}}
    assert inputs["occurred_at"]["element"]["type"] == "datetimepicker"
    assert inputs["customer_timezone"]["element"]["type"] == "external_select"


def test_ticket_modal_without_summary_has_no_initial_value() -> None:
    summary = next(b for b in modals.ticket_modal()["blocks"] if b.get("block_id") == "summary")
    assert "initial_value" not in summary["element"]


def test_severity_modal_preselects_the_current_impact() -> None:
    view = modals.severity_modal(ticket_number=42, current=Severity.SEV3, current_impact=Impact.MINOR_BROKEN)
    assert view["callback_id"] == "severity_submit"
    assert view["title"]["text"] == "Severity of #42"
    assert json.loads(view["private_metadata"]) == {"ticket": 42, "channel": None}  # no channel given here
    assert "Ticket #42 is *SEV3* now." in texts(view["blocks"])[0]
    radio = view["blocks"][1]
    assert radio["block_id"] == SeverityField.IMPACT
    assert [o["text"]["text"] for o in radio["element"]["options"]] == IMPACT_LABELS
    assert radio["element"]["initial_option"]["value"] == "minor_broken"
    assert view["blocks"][2]["element"]["max_length"] == 500


def test_not_allowed_modal_names_the_group() -> None:
    view = modals.not_allowed_modal(group_id="S0AGENTS01", action="file tickets")
    assert view["callback_id"] == "not_allowed"
    assert "submit" not in view
    assert texts(view["blocks"]) == ["Only members of <!subteam^S0AGENTS01> can file tickets. "
                                     "Ask a support lead to add you to the group."]


def test_timezone_options_match_any_part_and_put_city_prefixes_first() -> None:
    zones = ["Africa/Bangui", "America/Los_Angeles", "America/New_York", "Asia/Anadyr", "Europe/Andorra",
             "Europe/Berlin"]
    assert modals.timezone_options("berlin", zones) == [
        {"text": {"type": "plain_text", "text": "Europe/Berlin", "emoji": True}, "value": "Europe/Berlin"}]
    assert [o["value"] for o in modals.timezone_options("  new york ", zones)] == ["America/New_York"]
    assert [o["text"]["text"] for o in modals.timezone_options("new", zones)] == ["America/New York"]
    assert [o["value"] for o in modals.timezone_options("an", zones)] == [
        "Asia/Anadyr", "Europe/Andorra", "Africa/Bangui", "America/Los_Angeles"]
    assert modals.timezone_options("nowhere", zones) == []
    assert len(modals.timezone_options("", zones * 30)) == 100


def test_timezone_options_leave_the_callers_list_alone() -> None:
    # blocks/ are pure functions; an empty query used to sort the caller's list in place.
    zones = ["Europe/Berlin", "America/New_York", "Asia/Tokyo"]
    modals.timezone_options("", zones)
    assert zones == ["Europe/Berlin", "America/New_York", "Asia/Tokyo"]


def test_ticket_card_header_fields_and_buttons() -> None:
    blocks = cards.ticket_card(make_ticket(), now=NOW)
    assert blocks[0] == {"type": "header", "text": {"type": "plain_text", "emoji": True,
                                                    "text": "🟠 SEV2 · #42 Invoices page returns 500 for every user"}}
    assert blocks[-1] == {"type": "actions", "block_id": "ticket_actions_42", "elements": [
        {"type": "button", "action_id": "ticket_first_response", "value": "42", "style": "primary",
         "text": {"type": "plain_text", "text": "First response sent", "emoji": True}},
        {"type": "button", "action_id": "ticket_change_severity", "value": "42",
         "text": {"type": "plain_text", "text": "Change severity", "emoji": True}},
        {"type": "button", "action_id": "ticket_customer", "value": "42",
         "text": {"type": "plain_text", "text": "Customer", "emoji": True}},
        {"type": "button", "action_id": "ticket_fix_deployed", "value": "42",
         "text": {"type": "plain_text", "text": "Fix deployed", "emoji": True}},
        {"type": "button", "action_id": "ticket_resolve", "value": "42",
         "text": {"type": "plain_text", "text": "Resolve", "emoji": True}},
        {"type": "button", "action_id": "ticket_escalate", "value": "42",
         "text": {"type": "plain_text", "text": "Escalate to engineering", "emoji": True}}]}
    shown = texts(blocks)
    assert "*Customer*\n`ws_4f2a9c`" in shown
    assert "*Plan tier*\nBusiness" in shown
    assert "*Filed by*\n<@U0AGENT1>" in shown
    assert "*URL or endpoint*\n<https://app.acme.com/billing/invoices>" in shown
    assert "*Request ID*\n`req_91ab7c`" in shown
    assert any(t.startswith("⏱ First response due <!date^") and t.endswith("(in 1 h)") for t in shown)


def test_ticket_card_after_first_response_and_with_incident() -> None:
    ticket = make_sev1(first_response_at=NOW + timedelta(minutes=5), first_response_by="U0AGENT2")
    blocks = cards.ticket_card(ticket, now=NOW + timedelta(hours=2), incident_channel="C0INC0042",
                               incident_status="identified")
    assert blocks[0]["text"]["text"].startswith("🔴 SEV1 · #42 ")
    assert buttons(blocks) == [(Action.CHANGE_SEVERITY, "42"), (Action.CUSTOMER_SHOW, "42"),
                               (Action.FIX_DEPLOYED, "42"), (Action.RESOLVE, "42"), (Action.ESCALATE, "42")]
    shown = texts(blocks)
    assert any(t.startswith("✅ First response sent by <@U0AGENT2> <!date^") for t in shown)
    assert "🚨 Incident channel <#C0INC0042> · status page: *Identified*" in shown


def test_ticket_card_overdue_and_without_environment() -> None:
    ticket = make_ticket(environment=Environment(), attachment_link=None, helpdesk_link=None, category=None)
    blocks = cards.ticket_card(ticket, now=NOW + timedelta(hours=1, minutes=5))
    assert not any(t.startswith("*Browser*") for t in texts(blocks))
    assert not any("*Category*" in t for t in texts(blocks))
    assert any(t.endswith("(overdue by 5 min)") for t in texts(blocks))


def test_reminder_breach_redaction_and_severity_notes() -> None:
    ticket = make_ticket(redactions=("a Slack token in What happened",))
    assert "the first response on #42 is due" in texts(cards.first_response_reminder(ticket, now=NOW))[0]
    breach = texts(cards.first_response_breach(ticket, leads_group="S0LEADS01", now=NOW + timedelta(hours=2)))
    assert breach[0].startswith("🚨 <!subteam^S0LEADS01> first-response SLA breached on *#42* (SEV2, Business): ")
    assert "overdue by 1 h" in breach[1]
    assert texts(cards.redaction_notice(ticket)) == [
        "🔒 <@U0AGENT1> I removed credentials before storing this ticket: a Slack token in What happened. "
        "Ask the customer to rotate them if they were real."]
    after = make_sev1(severity_reason="Changed by <@U0AGENT2>: customer confirmed data loss")
    assert texts(cards.severity_changed_note(make_ticket(), after, actor="U0AGENT2")) == [
        "<@U0AGENT2> changed the severity from *SEV2* to *SEV1*: customer confirmed data loss"]


def test_home_view_lists_open_tickets() -> None:
    view = home([make_ticket(), make_sev1(number=43, first_response_at=NOW)])
    assert view["type"] == "home"
    assert view["blocks"][0]["text"]["text"] == "Your open tickets"
    shown = texts(view["blocks"])
    assert shown[0].startswith("🟠 *SEV2* · *#42* Invoices page returns 500")
    assert shown[0].endswith("first response due in 1 h")
    assert shown[1].endswith("first response sent ✅")
    empty = home([])
    assert "You have no open tickets" in texts(empty["blocks"])[0]


def test_kickoff_header_commander_and_buttons() -> None:
    incident = with_step(make_incident(), IncidentStep.STATUSPAGE, StepOutcome(
        StepState.FAILED, "Statuspage answered 503", external_url="https://status.acme.com/incidents/x1"))
    blocks = inc.kickoff(make_sev1(), incident, card_url="https://acme.slack.com/archives/C0TRIAGE01/p1",
                         commanders_group="S0COMMAND1")
    assert blocks[0]["text"]["text"] == "🚨 SEV1 incident · #42 Invoices page returns 500 for every user"
    assert buttons(blocks) == [(Action.TAKE_COMMAND, "7"), (Action.POST_STATUS, "7"), (Action.ESCALATE, "42")]
    assert of_type(blocks, "actions")[0]["block_id"] == "incident_actions_7"
    shown = texts(blocks)
    assert "*Impact*\nProduction down or data loss" in shown
    assert "*What the bot did*\n✅ *Page on-call:* paged <!subteam^S0PAYONCL1>\n✅ *Incident channel:* opened " \
           "<#C0INC0042>\n⚠️ *Status page:* Statuspage answered 503" in shown
    assert "<https://acme.slack.com/archives/C0TRIAGE01/p1|Ticket card #42> · " \
           "<https://status.acme.com/incidents/x1|Status page>" in shown
    assert "*Commander:* <!subteam^S0COMMAND1> until someone presses *Take command*\n" \
           "*Status page:* Investigating" in shown


def test_kickoff_with_commander_and_reopened() -> None:
    blocks = inc.kickoff(make_sev1(), make_incident(commander="U0IC", generation=2), card_url=None,
                         commanders_group="S0COMMAND1")
    shown = texts(blocks)
    assert shown[0].startswith("*What we know* (re-opened, round 2)\n")
    assert "*Commander:* <@U0IC>\n*Status page:* Investigating" in shown
    assert "Ticket #42" in shown


def test_step_messages() -> None:
    incident = make_incident()
    failed = inc.step_failed(incident, IncidentStep.STATUSPAGE, next_retry=NOW + timedelta(minutes=1))
    assert buttons(failed) == [(Action.RETRY_STEP, "7:statuspage"), (Action.GIVE_UP_STEP, "7:statuspage")]
    assert [e["style"] for e in failed[1]["elements"]] == ["primary", "danger"]
    assert failed[1]["block_id"] == "step_7_statuspage"
    assert texts(failed)[0].startswith("⚠️ *Status page failed* for ticket #42: Statuspage answered 503. "
                                       "The bot retries <!date^")
    recovered = with_step(incident, IncidentStep.STATUSPAGE, StepOutcome(StepState.DONE, "posted on Statuspage"))
    assert texts(inc.step_recovered(recovered, IncidentStep.STATUSPAGE)) == [
        "✅ *Status page* done on retry: posted on Statuspage"]
    assert texts(inc.step_abandoned(incident, IncidentStep.PAGE, by="U0IC")) == [
        "✖️ <@U0IC> gave up on *Page on-call* for ticket #42. The bot will not retry it."]


def test_step_failed_without_a_scheduled_retry_reads_as_a_sentence() -> None:
    text = texts(inc.step_failed(make_incident(), IncidentStep.STATUSPAGE, next_retry=None))[0]
    # With no retry timer the text used to read "...answered 503. until it works or someone gives up."
    assert ". until" not in text


def test_status_messages_and_modal() -> None:
    incident = make_incident(status=IncidentStatus.MONITORING)
    posted = inc.status_update_posted(incident, status=IncidentStatus.IDENTIFIED, message="Cause found.",
                                      by="U0IC", published_to="Statuspage", reason="the fix did not hold")
    assert texts(posted) == ["📣 <@U0IC> posted a status update: *Identified*\n>Cause found.",
                             "Published to Statuspage · moved back from Monitoring: the fix did not hold"]
    reminder = inc.status_reminder(incident, now=NOW + timedelta(minutes=45), commanders_group="S0COMMAND1")
    assert texts(reminder)[0].startswith("⏰ <!subteam^S0COMMAND1> the status page has been silent for *45 min*.")
    assert buttons(reminder) == [(Action.POST_STATUS, "7")]
    assert reminder[1]["block_id"] == f"reminder_7_{int((NOW + timedelta(minutes=45)).timestamp())}"
    done = inc.resolved(replace(incident, last_public_update_at=NOW + timedelta(hours=1, minutes=20)), by="U0IC",
                        page_note="PagerDuty alert resolved.")
    assert texts(done)[0] == ("✅ *Resolved* by <@U0IC> after 1 h 20 min. Status-page reminders have stopped. "
                              "PagerDuty alert resolved.")
    modal = inc.status_modal(incident, channel_id="C0INC0042")
    assert modal["callback_id"] == "status_submit"
    assert json.loads(modal["private_metadata"]) == {"incident": 7, "channel": "C0INC0042"}
    select = modal["blocks"][1]
    assert select["block_id"] == StatusField.STATUS
    assert [(o["text"]["text"], o["value"]) for o in select["element"]["options"]] == [
        ("Investigating", "investigating"), ("Identified", "identified"), ("Monitoring", "monitoring"),
        ("Resolved", "resolved")]
    assert select["element"]["initial_option"]["value"] == "monitoring"
    assert [b["block_id"] for b in modal["blocks"][1:]] == [f.value for f in StatusField]


def test_channel_topic() -> None:
    topic = inc.channel_topic(make_sev1(summary="x" * 200), make_incident(status=IncidentStatus.IDENTIFIED))
    assert topic == f"SEV1 · #42 {'x' * 120} · ws_4f2a9c · Status: Identified"
    assert len(topic) <= 250
    assert len(inc.channel_topic(make_sev1(summary="x" * 150, workspace_id="w" * 300), make_incident())) == 250


# (c) text from people is escaped ------------------------------------------------------------------------

def hostile_messages() -> dict[str, list[dict[str, Any]]]:
    ticket = make_ticket(summary=HOSTILE, what_happened=HOSTILE, expected=HOSTILE, workspace_id="ws_<!here>",
                         requester_email="dana&co@customer.com",
                         environment=Environment(browser=HOSTILE, os=HOSTILE, url="POST /api/<!channel>",
                                                 request_id="req_<!channel>"))
    incident = make_incident(last_public_message=HOSTILE)
    after = replace(ticket, severity=Severity.SEV1, severity_reason=f"Changed by <@U0AGENT2>: {HOSTILE}")
    return {
        "ticket_card": cards.ticket_card(ticket, now=NOW),
        "draft_message": cards.draft_message(ticket, next_update=NOW, zone="Europe/Berlin"),
        "first_response_breach": cards.first_response_breach(ticket, leads_group="S0LEADS01", now=NOW),
        "severity_changed_note": cards.severity_changed_note(ticket, after, actor="U0AGENT2"),
        "home_view": home_blocks([ticket]),
        "kickoff": inc.kickoff(ticket, incident, card_url=None, commanders_group="S0COMMAND1"),
        "status_update_posted": inc.status_update_posted(incident, status=IncidentStatus.MONITORING,
                                                         message=HOSTILE, by="U0IC", published_to="Statuspage",
                                                         reason=HOSTILE),
        "status_reminder": inc.status_reminder(incident, now=NOW, commanders_group="S0COMMAND1"),
        "status_modal": inc.status_modal(incident, channel_id=None)["blocks"],
    }


@pytest.mark.parametrize("name", sorted(hostile_messages()))
def test_text_from_people_is_escaped(name: str) -> None:
    shown = "\n".join(texts(hostile_messages()[name]))
    assert HOSTILE_ESCAPED in shown
    assert "<!channel>" not in shown
    assert "<!here>" not in shown
    assert "<@U1>" not in shown
    assert "&#39;" not in shown and "it's down" in shown


def test_card_escapes_every_field_from_people() -> None:
    shown = texts(hostile_messages()["ticket_card"])
    assert "*Customer*\n`ws_&lt;!here&gt;`" in shown
    assert "*Requester*\ndana&amp;co@customer.com" in shown
    assert "*URL or endpoint*\nPOST /api/&lt;!channel&gt;" in shown
    assert "*Request ID*\n`req_&lt;!channel&gt;`" in shown


def test_card_links_with_angle_brackets_are_escaped_not_linked() -> None:
    ticket = make_ticket(attachment_link="https://x.example/<!channel>", helpdesk_link="https://h.example/a|b")
    shown = texts(cards.ticket_card(ticket, now=NOW))
    assert "*Screenshot / HAR*\nhttps://x.example/&lt;!channel&gt;" in shown
    assert "*Help desk*\nhttps://h.example/a|b" in shown


@pytest.mark.parametrize("link", ["https://help.acme.com/t/981?q=<!channel>",
                                  "https://help.acme.com/t/981|Verify your password here",
                                  "https://help.acme.com/t/981>x<!here>"])
def test_draft_message_never_wraps_an_unsafe_help_desk_link(link: str) -> None:
    # The intake form accepts any http(s) URL here; draft_message once wrapped the raw value in <…|…>.
    shown = "\n".join(texts(cards.draft_message(make_ticket(helpdesk_link=link), next_update=NOW,
                                                 zone="Europe/Berlin")))
    assert "<!channel>" not in shown and "<!here>" not in shown
    assert "|Verify" not in shown
    assert shown.startswith("<@U0AGENT1> here is a first reply to send")


def test_card_shows_who_changed_the_severity_as_a_mention() -> None:
    # The bot writes "Changed by <@U…>: reason"; only the person's reason should be escaped.
    ticket = make_sev1(severity_reason=f"Changed by <@U0AGENT2>: {HOSTILE}")
    reason_line = texts(cards.ticket_card(ticket, now=NOW))[0]
    assert HOSTILE_ESCAPED in reason_line
    assert "Changed by <@U0AGENT2>" in reason_line


# (d) truncation to Slack's limits -----------------------------------------------------------------------

@pytest.mark.parametrize("what_happened", ["x" * 3500, "&" * 3500, "<!channel> " * 350])
def test_long_what_happened_is_truncated(what_happened: str) -> None:
    ticket = make_sev1(what_happened=what_happened, summary="y" * 200, workspace_id="w" * 2500)
    for blocks in (cards.ticket_card(ticket, now=NOW),
                   inc.kickoff(ticket, make_incident(), card_url=None, commanders_group="S0COMMAND1")):
        assert_valid_blocks(blocks)
        story = next(t for t in texts(blocks) if t.startswith(("*What happened*", "*What we know*")))
        assert len(story) <= 3000
        assert story.endswith("…")
        assert len(blocks[0]["text"]["text"]) <= 150
        assert blocks[0]["text"]["text"].endswith("…")
        assert all(len(t) <= 2000 for b in of_type(blocks, "section") for t in
                   [f["text"] for f in b.get("fields", [])])


@pytest.mark.parametrize("what_happened", ["&" * 3500, "a" * 2980 + "<" * 100, "a" * 2981 + ">" * 100])
def test_truncation_never_cuts_an_entity_in_half(what_happened: str) -> None:
    # Escaping happens before truncating, so a cut can land inside "&amp;" and show "&am…" in Slack.
    shown = texts(cards.ticket_card(make_ticket(what_happened=what_happened), now=NOW))
    story = next(t for t in shown if t.startswith("*What happened*"))
    assert len(story) <= 3000
    assert not re.search(r"&[a-z]{0,3}…$", story), story[-12:]


def test_long_summary_header_and_modal_titles() -> None:
    ticket = make_ticket(summary="s" * 200)
    header = cards.ticket_card(ticket, now=NOW)[0]["text"]["text"]
    assert len(header) == 150
    assert home([ticket])["blocks"][0]["text"]["text"] == "Your open tickets"
    view = modals.severity_modal(ticket_number=123_456_789_012_345, current=Severity.SEV1,
                                 current_impact=Impact.PRODUCTION_DOWN)
    assert_valid_view(view)
    assert len(view["title"]["text"]) <= 24
    modal = modals.ticket_modal(summary="s" * 200)
    assert_valid_view(modal)
    summary = next(b for b in modal["blocks"] if b.get("block_id") == "summary")
    assert summary["element"]["initial_value"] == "s" * 150


def test_long_public_message_and_reason_stay_within_limits() -> None:
    incident = make_incident(last_public_message="&" * 2000)
    for blocks in (inc.status_update_posted(incident, status=IncidentStatus.MONITORING, message="<" * 2000,
                                            by="U0IC", published_to="Statuspage", reason=">" * 2000),
                   inc.status_reminder(incident, now=NOW, commanders_group="S0COMMAND1")):
        assert_valid_blocks(blocks)
    assert_valid_view(inc.status_modal(incident, channel_id="C0INC0042"))


# (e) the first-touch draft ------------------------------------------------------------------------------

def draft_text(ticket: Ticket, next_update: datetime, zone: str = "Europe/Berlin") -> str:
    return cards.first_touch_draft(ticket, next_update=next_update, zone=zone)


def test_draft_names_the_next_update_in_the_customers_zone() -> None:
    winter = draft_text(make_ticket(), datetime(2026, 11, 24, 19, 0, tzinfo=UTC))
    assert "by Tuesday 24 November at 20:00 CET (Europe/Berlin)" in winter
    summer = draft_text(make_ticket(), datetime(2026, 7, 1, 8, 30, tzinfo=UTC))
    assert "by Wednesday 01 July at 10:30 CEST (Europe/Berlin)" in summer
    tokyo = draft_text(make_ticket(), datetime(2026, 11, 24, 19, 0, tzinfo=UTC), zone="Asia/Tokyo")
    assert "Wednesday 25 November at 04:00 JST (Asia/Tokyo)" in tokyo


@pytest.mark.parametrize("ticket", [make_ticket(), make_sev1(), make_ticket(severity=Severity.SEV4)],
                         ids=["sev2", "sev1", "sev4"])
def test_draft_promises_no_fix_time(ticket: Ticket) -> None:
    text = draft_text(ticket, NOW + timedelta(hours=1))
    assert "ticket #42" in text and "“Invoices page returns 500 for every user”" in text
    assert len(re.findall(r"\d{2}:\d{2}", text)) == 1  # the only time named is the next update
    assert not re.search(r"(?i)\bfix(ed)?\b|\bresolved? (by|within)|\bwithin \d", text)


def test_sev1_draft_says_it_is_urgent() -> None:
    sev1 = draft_text(make_sev1(), NOW + timedelta(minutes=30))
    assert "urgent production incident" in sev1
    assert "on-call engineers are engaged" in sev1 and "status page" in sev1
    sev2 = draft_text(make_ticket(), NOW + timedelta(hours=1))
    assert "urgent" not in sev2 and "Our team is reviewing the details you sent." in sev2


def test_draft_message_quotes_the_draft_for_the_agent() -> None:
    blocks = cards.draft_message(make_ticket(), next_update=NOW + timedelta(hours=1), zone="Europe/Berlin")
    intro, quoted = texts(blocks)
    assert intro == ("<@U0AGENT1> here is a first reply to send in "
                     "<https://acme.zendesk.com/agent/tickets/981|the help desk conversation>, "
                     "then press *First response sent*:")
    assert all(line.startswith(">") for line in quoted.splitlines())
    assert ">Hi there," in quoted and "21:00 CET (Europe/Berlin)" in quoted
    no_link = cards.draft_message(make_ticket(helpdesk_link=None), next_update=NOW, zone="UTC")
    assert texts(no_link)[0] == "<@U0AGENT1> here is a first reply to send, then press *First response sent*:"


# (d) links are whole, absolute and escaped; truncation never cuts one --------------------------------------

def _balanced(text: str) -> bool:
    """Every `<` Slack would parse is closed before the next one opens."""
    depth = 0
    for char in text:
        if char == "<":
            if depth:
                return False
            depth = 1
        elif char == ">":
            depth = 0
    return depth == 0


LONG_URL = "https://app.acme.example/reports?" + "&".join(f"k{i}=v{i}" for i in range(300))


@pytest.mark.parametrize("field", ["url", "attachment_link", "helpdesk_link"])
def test_a_very_long_link_never_leaves_a_half_link(field: str) -> None:
    assert len(LONG_URL) > 2000
    ticket = (make_ticket(environment=Environment(url=LONG_URL)) if field == "url"
              else make_ticket(**{field: LONG_URL}))
    for blocks in (cards.ticket_card(ticket, now=NOW),
                   cards.draft_message(ticket, next_update=NOW, zone="Europe/Berlin")):
        assert_valid_blocks(blocks)
        for text in texts(blocks):
            assert _balanced(text), text[-80:]


def test_the_draft_keeps_its_tail_when_the_help_desk_link_is_long() -> None:
    shown = "\n".join(texts(cards.draft_message(make_ticket(helpdesk_link=LONG_URL), next_update=NOW,
                                                 zone="Europe/Berlin")))
    assert "Best regards," in shown and "press *First response sent*" in shown


def test_ampersands_in_link_urls_are_escaped() -> None:
    ticket = make_ticket(helpdesk_link="https://help.acme.com/t?id=981&view=full")
    shown = texts(cards.ticket_card(ticket, now=NOW))
    assert "*Help desk*\n<https://help.acme.com/t?id=981&amp;view=full>" in shown
    draft = "\n".join(texts(cards.draft_message(ticket, next_update=NOW, zone="Europe/Berlin")))
    assert "<https://help.acme.com/t?id=981&amp;view=full|the help desk conversation>" in draft


@pytest.mark.parametrize("text", [
    "see " + "x" * 2990 + " <https://a.example/very/long|the link>",
    "x" * 2995 + "<@U0AGENT01> and more",
    "x" * 2990 + "<!date^1700000000^{date_short}|2023-11-14> tail",
])
def test_truncation_drops_a_whole_entity_rather_than_cutting_it(text: str) -> None:
    cut = truncate(text, 3000)
    assert len(cut) <= 3000 and cut.endswith("…") and _balanced(cut)


def test_modal_url_and_text_inputs_have_a_max_length() -> None:
    view = modals.ticket_modal()
    limits = {b["block_id"]: b["element"].get("max_length") for b in view["blocks"] if b["type"] == "input"
              and b["element"]["type"] == "plain_text_input"}
    for field in (TicketField.URL, TicketField.ATTACHMENT_LINK, TicketField.HELPDESK_LINK):
        assert limits[field.value] == modals.URL_MAX
    assert all(limits.values()), limits

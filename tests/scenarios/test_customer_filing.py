"""The live customer check at filing: the requester verified (or not, or unknown) prominently on the card,
the HIPAA / SOC 2 reply that neither confirms nor denies an account, and each kind of automation rule."""

from __future__ import annotations

from typing import Any

from bot.app import SupportBot
from bot.sandbox.customer_endpoint import CustomerEndpointStandIn, example_document
from bot.sandbox.driver import SlackDriver
from bot.sandbox.pagerduty import PagerDutyStandIn
from bot.sandbox.slack import SlackSandbox
from bot.sandbox.workspace import file_ticket, ticket_card_message, ticket_values
from storage.repositories import audit

TRIAGE = "C0TRIAGE01"


async def _filed(slack: SlackDriver, sandbox: SlackSandbox, **values: str) -> Any:
    await file_ticket(slack, sandbox, values=ticket_values(**values))
    number = len([m for m in sandbox.history(TRIAGE) if (m.metadata or {}).get("event_type")
                  == "supportbot_ticket_card"]) + 1
    return await sandbox.wait_for(lambda: ticket_card_message(sandbox, number, TRIAGE))


async def _trail(bot: SupportBot, number: int) -> list[Any]:
    async with bot.sessions() as session:
        return await audit.audit_trail(session, ticket_number=number)


async def test_a_verified_requester_is_shown_on_the_card(slack: SlackDriver, sandbox: SlackSandbox,
                                                          bot: SupportBot) -> None:
    card = await _filed(slack, sandbox, **{"Requester email": "DANA@Customer.example"})
    assert "Verified contact" in str(card.blocks)
    checked = [e for e in await _trail(bot, 1) if e.action == "customer_checked"]
    assert checked[0].after["verification"] == "verified"


async def test_an_unverified_requester_of_a_hipaa_customer_gets_a_neutral_reply(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot,
        customer_endpoint: CustomerEndpointStandIn) -> None:
    customer_endpoint.add(example_document("ws_clinic1", name="Clinic", compliance=("HIPAA",)),
                          workspace_id="ws_clinic1")
    card = await _filed(slack, sandbox, **{"Customer workspace ID": "ws_clinic1",
                                           "Requester email": "stranger@elsewhere.example"})
    text = str(card.blocks)
    assert "NOT an authorized contact" in text and "do not share account details" in text
    draft = await sandbox.wait_for(lambda: next((m for m in sandbox.history(TRIAGE, thread_ts=card.ts)
                                                 if "first reply" in m.text.lower() or "Hi there" in str(m.blocks)),
                                                None))
    words = str(draft.blocks)
    assert "authorized contact" in words
    for telling in ("Invoices page", "your account", "We have received your report"):
        assert telling not in words


async def test_an_unreachable_endpoint_is_unknown_and_treated_as_not_verified(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot,
        customer_endpoint: CustomerEndpointStandIn) -> None:
    customer_endpoint.fail_next(503, times=3)
    card = await _filed(slack, sandbox)
    assert "Verification unknown" in str(card.blocks)


async def test_automation_rules_raise_the_severity_label_and_post_elsewhere(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, pagerduty: PagerDutyStandIn,
        customer_endpoint: CustomerEndpointStandIn) -> None:
    # The contract's rules: Enterprise → severity floor SEV2 + label; suspended → post to C0BILLING1 + label.
    customer_endpoint.add(example_document("ws_big1", name="Big Co", plan="Enterprise", suspended=True),
                          workspace_id="ws_big1")
    card = await _filed(slack, sandbox, **{"Customer workspace ID": "ws_big1",
                                           "Impact": "Cosmetic or how-to question"})
    await sandbox.wait_for(lambda: "SEV2" in str(ticket_card_message(sandbox, 1, TRIAGE).blocks)
                           and "suspended-account" in str(ticket_card_message(sandbox, 1, TRIAGE).blocks))
    text = str(ticket_card_message(sandbox, 1, TRIAGE).blocks)
    assert "`enterprise`" in text and "Automation rule 1, 2: severity floor SEV2" in text
    note = await sandbox.wait_for(lambda: next(iter(sandbox.history("C0BILLING1")), None))
    assert "#1" in note.text and "suspended-account" in note.text
    await pagerduty.wait_for(lambda s: any(e["dedup_key"] == "supportbot-ticket-1-sev2"
                                           for e in s.accepted_events("trigger")))  # raised to SEV2: paged
    trail = await _trail(bot, 1)
    applied = next(e for e in trail if e.action == "automation_applied")
    assert applied.after["rules"] == [0, 1] and applied.after["severity_floor"] == "SEV2"
    assert "Big Co" not in str([e.after for e in trail])  # what a rule did, never the customer data
    assert card is not None


async def test_a_severity_floor_of_sev1_starts_the_incident(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, start_bot: Any,
        customer_endpoint: CustomerEndpointStandIn) -> None:
    from dataclasses import replace

    from bot.core.config import AutomationRule
    from bot.domain import PlanTier, Severity
    rules = (AutomationRule(path="customer.plan_type", equals="Enterprise", severity_floor=Severity.SEV1),
             AutomationRule(path="customer.plan_type", in_=("Enterprise", "Business"), plan_tier=PlanTier.ENTERPRISE))
    bot.tickets.config = replace(bot.tickets.config, automation=rules)
    bot.customers.config = bot.tickets.config
    customer_endpoint.add(example_document("ws_big2", plan="Enterprise"), workspace_id="ws_big2")
    await _filed(slack, sandbox, **{"Customer workspace ID": "ws_big2", "Plan tier": "Pro"})
    await sandbox.wait_for(lambda: sandbox.channel_by_name("incident-1"), timeout=10)
    ticket = await bot.tickets.get(1)
    assert ticket.severity is Severity.SEV1 and ticket.plan_tier is PlanTier.ENTERPRISE

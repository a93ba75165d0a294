"""The minimal cases the property tests found, kept as plain tests."""

from __future__ import annotations

from bot.app import SupportBot
from bot.sandbox.driver import SlackDriver
from bot.sandbox.slack import SlackSandbox
from bot.sandbox.slack_models import View
from bot.sandbox.workspace import AGENT, escalation_values, file_ticket, ticket_card_message, ticket_values
from storage.repositories import audit
from storage.repositories import escalations as escalation_repo
from storage.repositories import tickets as ticket_repo
from tests.properties.forge import forged_option, inline_errors, labelled, open_modal, submit_forged

TRIAGE = "C0TRIAGE01"


async def _intake(slack: SlackDriver, sandbox: SlackSandbox) -> View:
    before = set(sandbox.views)
    await slack.slash_command(user_id=AGENT.user_id, command="/ticket")
    return await sandbox.wait_for(lambda: next((v for i, v in sandbox.views.items() if i not in before), None))


async def test_an_option_value_that_is_a_list_is_an_inline_error_not_a_crash(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot) -> None:
    view = await _intake(slack, sandbox)
    values = {**ticket_values(), "impact": forged_option([1])}
    errors = inline_errors(await submit_forged(slack, user_id=AGENT.user_id, view=view, values=values), view)
    assert errors is not None and "impact" in errors


async def test_a_nul_in_the_summary_is_refused_inline_on_every_database(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot) -> None:
    view = await _intake(slack, sandbox)
    values = {**ticket_values(), "summary": "Blank\x00page"}
    errors = inline_errors(await submit_forged(slack, user_id=AGENT.user_id, view=view, values=values), view)
    assert errors is not None and "not text" in errors["summary"]
    async with bot.sessions() as session:
        assert await ticket_repo.count_tickets(session) == 0


async def test_a_severity_reason_past_its_max_length_is_refused_inline(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot) -> None:
    await file_ticket(slack, sandbox, values=ticket_values(Impact="Cosmetic or how-to question"))
    card = await sandbox.wait_for(lambda: ticket_card_message(sandbox, 1, TRIAGE))
    view = await open_modal(slack, user_id=AGENT.user_id, action_id="ticket_change_severity", message=card)
    values = {"severity_impact": "Major feature broken, no workaround", "severity_reason": "x" * 501}
    errors = inline_errors(await submit_forged(slack, user_id=AGENT.user_id, view=view, values=values), view)
    assert errors == {"severity_reason": "Keep this to 500 characters (it has 501)"}
    assert (await bot.tickets.get(1)).impact.value == "cosmetic"


async def test_a_nul_in_the_closing_note_is_refused_before_the_modal_closes(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot) -> None:
    await file_ticket(slack, sandbox, values=ticket_values(Impact="Cosmetic or how-to question"))
    card = await sandbox.wait_for(lambda: ticket_card_message(sandbox, 1, TRIAGE))
    view = await open_modal(slack, user_id=AGENT.user_id, action_id="ticket_resolve", message=card)
    values = {"close_root_cause": "Billing", "close_note": "Fixed\x00"}
    errors = inline_errors(await submit_forged(slack, user_id=AGENT.user_id, view=view, values=values), view)
    assert errors is not None and "close_note" in errors
    assert (await bot.tickets.get(1)).status.value == "open"


async def test_a_forged_component_past_its_column_is_refused_inline_not_a_database_error(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot) -> None:
    await file_ticket(slack, sandbox, values=ticket_values(Impact="Cosmetic or how-to question"))
    card = await sandbox.wait_for(lambda: ticket_card_message(sandbox, 1, TRIAGE))
    view = await open_modal(slack, user_id=AGENT.user_id, action_id="ticket_escalate", message=card)
    values = {**labelled(view, escalation_values()), "esc_component": forged_option("billing" + "x" * 300),
              "esc_team": "payments"}
    errors = inline_errors(await submit_forged(slack, user_id=AGENT.user_id, view=view, values=values), view)
    assert errors is not None and "esc_component" in errors
    async with bot.sessions() as session:
        assert await escalation_repo.latest_escalation(session, ticket_number=1) is None


async def test_a_release_tag_past_its_max_length_is_refused_inline(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot) -> None:
    await file_ticket(slack, sandbox, values=ticket_values(Impact="Cosmetic or how-to question"))
    card = await sandbox.wait_for(lambda: ticket_card_message(sandbox, 1, TRIAGE))
    view = await open_modal(slack, user_id=AGENT.user_id, action_id="ticket_fix_deployed", message=card)
    values = {"fix_release_tag": "v" * 101, "fix_in_production": "yes"}
    errors = inline_errors(await submit_forged(slack, user_id=AGENT.user_id, view=view, values=values), view)
    assert errors == {"fix_release_tag": "Keep this to 100 characters (it has 101)"}
    async with bot.sessions() as session:
        assert "fix_deployed" not in [e.action for e in await audit.audit_trail(session, ticket_number=1)]

"""Filing a ticket end to end: signed requests in, Slack sandbox calls out, a real SQLite file underneath."""

from __future__ import annotations

from datetime import timedelta

from bot.app import SupportBot
from bot.sandbox.driver import SlackDriver
from bot.sandbox.slack import SlackSandbox
from bot.sandbox.workspace import AGENT, GENERAL, OUTSIDER, file_ticket, ticket_values
from storage.repositories import audit
from storage.repositories import tickets as ticket_repo

TRIAGE = "C0TRIAGE01"


async def test_slash_command_opens_the_intake_modal_with_every_field(slack: SlackDriver, sandbox: SlackSandbox) -> None:
    response = await slack.slash_command(user_id=AGENT.user_id, command="/ticket", text="Exports time out",
                                         channel_id=GENERAL)
    assert response.status == 200
    view = await sandbox.wait_for(lambda: sandbox.latest_view_for(AGENT.user_id))
    labels = [b["label"]["text"] for b in view.view["blocks"] if b["type"] == "input"]
    for wanted in ("Customer workspace ID", "Requester email", "Summary", "What happened", "What was expected",
                   "Impact", "Plan tier", "Browser and version", "Operating system", "URL or API endpoint",
                   "When it happened", "Customer's time zone", "Request ID", "Screenshot, Loom or HAR link",
                   "Help desk ticket link", "Category"):
        assert wanted in labels
    summary = next(b for b in view.view["blocks"] if b.get("block_id") == "summary")
    assert summary["element"]["initial_value"] == "Exports time out"


async def test_submission_files_a_ticket_and_posts_the_card(slack: SlackDriver, sandbox: SlackSandbox,
                                                            bot: SupportBot) -> None:
    _, response = await file_ticket(slack, sandbox)
    assert response.status == 200 and not response.body
    card = await sandbox.wait_for(lambda: next(iter(sandbox.history(TRIAGE)), None))
    text = str(card.blocks)
    assert "SEV2 · #1 Invoices page shows a blank screen" in text
    assert "ws_4f2a9c" in text and "Business" in text and "dana@customer.example" in text
    assert "First response sent" in text and "Change severity" in text
    draft = await sandbox.wait_for(lambda: next(iter(sandbox.history(TRIAGE, thread_ts=card.ts)), None))
    assert "Europe/Berlin" in str(draft.blocks)
    async with bot.sessions() as session:
        ticket = await ticket_repo.get_ticket(session, number=1)
        trail = await audit.audit_trail(session, ticket_number=1)
    assert ticket is not None and ticket.card_ts == card.ts
    assert ticket.first_response_due - ticket.filed_at == timedelta(hours=1)
    assert [e.action for e in trail] == ["ticket_filed", "customer_checked"]


async def test_outsider_gets_an_explanation_instead_of_the_form(slack: SlackDriver, sandbox: SlackSandbox) -> None:
    await slack.slash_command(user_id=OUTSIDER.user_id, command="/ticket", channel_id=GENERAL)
    view = await sandbox.wait_for(lambda: sandbox.latest_view_for(OUTSIDER.user_id))
    assert "Only members of" in str(view.view["blocks"])
    assert view.view["callback_id"] == "not_allowed"


async def test_bad_fields_get_inline_errors_and_nothing_is_stored(slack: SlackDriver, sandbox: SlackSandbox,
                                                                 bot: SupportBot) -> None:
    values = ticket_values(**{"Requester email": "not-an-email", "URL or API endpoint": "POST /api/v2/invoices"})
    # Slack's client would refuse the email itself; an old client or a forged request would not.
    _, response = await file_ticket(slack, sandbox, values=values, validate=False)
    assert response.json is not None and response.json["response_action"] == "errors"
    assert set(response.json["errors"]) == {"requester_email", "request_id"}
    async with bot.sessions() as session:
        assert await ticket_repo.count_tickets(session) == 0

"""The runbook end to end over signed HTTP against the Slack sandbox: `/runbook` answers only the agent who
asked, with the steps and only a documented workaround; anyone else is refused; nothing found says so; and the
ticket card names the matching entries so Tier 1 looks there first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.app import SupportBot
from bot.sandbox.driver import SlackDriver
from bot.sandbox.slack import SlackSandbox
from bot.sandbox.workspace import AGENT, GENERAL, OUTSIDER, file_ticket, ticket_card_message, ticket_values
from tests.blocks.test_builders import assert_valid_blocks

STARTER = Path(__file__).resolve().parents[2] / "runbook"
TRIAGE = "C0TRIAGE01"


def _ephemerals(sandbox: SlackSandbox, user: str) -> list[Any]:
    return [e for e in sandbox.ephemerals if e.user == user]


async def _runbook(slack: SlackDriver, sandbox: SlackSandbox, text: str, user: str = AGENT.user_id) -> Any:
    before = len(_ephemerals(sandbox, user))
    await slack.slash_command(user_id=user, command="/runbook", text=text, channel_id=GENERAL)
    return await sandbox.wait_for(lambda: _ephemerals(sandbox, user)[before]
                                  if len(_ephemerals(sandbox, user)) > before else None)


async def test_runbook_shows_the_best_entries_with_their_steps_only_to_the_agent(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot) -> None:
    report = await bot.runbook.import_folder(STARTER)
    assert len(report.added) == 5 and not report.skipped
    answer = await _runbook(slack, sandbox, 'SSO "login" broken after IdP certificate rotation*')
    assert_valid_blocks(answer.blocks)
    text = str(answer.blocks)
    assert text.index("SSO configuration drift") < text.index("Misconfigured SAML metadata")
    assert "certificate fingerprint" in text and "🩹 *Workaround*" in text
    assert not [m for m in sandbox.history(GENERAL) if "Runbook" in str(m.blocks)]  # never in the channel

    saml = await _runbook(slack, sandbox, "invalid audience ACS URL mismatch")
    first = str(saml.blocks).split("'type': 'divider'")[0]
    assert "Misconfigured SAML metadata" in first and "Workaround" not in first  # none documented: none offered

    nothing = await _runbook(slack, sandbox, "printer toner smells")
    assert "No runbook entry matches “printer toner smells”" in str(nothing.blocks)
    usage = await _runbook(slack, sandbox, "")
    assert "Usage: `/runbook <symptom words>`" in usage.text

    refused = await _runbook(slack, sandbox, "SSO", user=OUTSIDER.user_id)
    assert "S0AGENTS01" in refused.text and "search the runbook" in refused.text
    assert "fingerprint" not in str(refused.blocks or "")


async def test_the_ticket_card_names_the_matching_entries(slack: SlackDriver, sandbox: SlackSandbox,
                                                          bot: SupportBot) -> None:
    await bot.runbook.import_folder(STARTER)
    await file_ticket(slack, sandbox, values=ticket_values(
        **{"Summary": "Webhooks stopped arriving", "Category": None,
           "What happened": "The delivery log says retries exhausted and the endpoint is disabled."}))
    card = await sandbox.wait_for(lambda: ticket_card_message(sandbox, 1, TRIAGE))
    assert_valid_blocks(card.blocks)
    runbook = next(b for b in card.blocks if "Runbook first" in str(b))
    lines = runbook["text"]["text"].split("\n")
    assert lines[1].startswith("• *Webhook retry exhaustion*: Workaround: While the endpoint is being fixed")


async def test_a_card_without_matches_has_no_runbook_lines(slack: SlackDriver, sandbox: SlackSandbox,
                                                          bot: SupportBot) -> None:
    await file_ticket(slack, sandbox)  # an empty runbook: nothing to name
    card = await sandbox.wait_for(lambda: ticket_card_message(sandbox, 1, TRIAGE))
    assert "Runbook first" not in str(card.blocks)

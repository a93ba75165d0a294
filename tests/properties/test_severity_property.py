"""The change-severity modal under arbitrary input: the ticket re-classified with its audit event, or inline
errors and the ticket as it was."""

from __future__ import annotations

from typing import Any

from hypothesis import event, given
from hypothesis import strategies as st

from bot.app import SupportBot
from bot.domain import Impact
from bot.sandbox.driver import SlackDriver
from bot.sandbox.slack import SlackSandbox
from bot.sandbox.workspace import AGENT, file_ticket, ticket_card_message, ticket_values
from storage.repositories import audit
from tests.properties.forge import (
    crashes,
    examples,
    forged_option,
    hostile_text,
    inline_errors,
    junk_json,
    odd_but_fine,
    open_modal,
    settled,
    submit_forged,
)

TRIAGE = "C0TRIAGE01"
# Becoming SEV1 opens an incident; the status modal's property covers that path.
IMPACTS = ["Major feature broken, no workaround", "Minor feature broken, or a workaround exists",
           "Cosmetic or how-to question"]
IMPACT_VALUES = ["major_broken", "minor_broken", "cosmetic"]
impacts = st.one_of(st.none(), st.sampled_from(IMPACTS), st.sampled_from(IMPACTS), hostile_text.map(forged_option),
                    junk_json.map(forged_option))


@examples(40)
@given(impact=impacts, reason=st.one_of(st.none(), hostile_text, st.just("Customer confirmed the impact")),
       dropped=st.sets(st.sampled_from(["severity_impact", "severity_reason"]), max_size=1),
       gentle=st.booleans(), odd=odd_but_fine)
async def test_every_severity_change_is_recorded_whole_or_answers_inline_errors(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, impact: Any, reason: str | None,
        dropped: set[str], gentle: bool, odd: str) -> None:
    if ticket_card_message(sandbox, 1, TRIAGE) is None:
        await file_ticket(slack, sandbox, values=ticket_values(Impact="Cosmetic or how-to question"))
    card = await sandbox.wait_for(lambda: ticket_card_message(sandbox, 1, TRIAGE))
    view = await open_modal(slack, user_id=AGENT.user_id, action_id="ticket_change_severity", message=card,
                            value="1")
    if gentle:  # a real change, its reason with odd characters in it
        current = (await bot.tickets.get(1)).severity
        impact = next(label for label, value in zip(IMPACTS, IMPACT_VALUES, strict=True)
                      if Impact(value).severity is not current)
        reason, dropped = f"Customer says {odd}", set()
    values: dict[str, Any] = {}
    if impact is not None:
        values["severity_impact"] = impact
    if reason is not None:
        values["severity_reason"] = reason
    before = await bot.tickets.get(1)
    async with bot.sessions() as session:
        trail = len(await audit.audit_trail(session, ticket_number=1))
    seen = len(sandbox.ephemerals)

    submission = await submit_forged(slack, user_id=AGENT.user_id, view=view, values=values, dropped=dropped)

    errors = inline_errors(submission, view)
    event("inline errors" if errors is not None else "re-classified")
    await settled(bot)
    after = await bot.tickets.get(1)
    async with bot.sessions() as session:
        actions = [e.action for e in await audit.audit_trail(session, ticket_number=1)]
    if errors is not None:
        assert (after.severity, after.impact) == (before.severity, before.impact)
        assert len(actions) == trail
    else:
        assert after.severity is not before.severity, "the modal closed but the severity did not change"
        assert actions[trail:].count("severity_changed") == 1
    assert crashes(sandbox, seen) == []

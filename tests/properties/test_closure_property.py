"""Closure's modals under arbitrary input. Resolve: the ticket resolved with its audit event and checklist, or
inline errors and the ticket still open. Fix deployed: the fix recorded with its reply drafted, or inline
errors and nothing recorded."""

from __future__ import annotations

from typing import Any

from hypothesis import event, given
from hypothesis import strategies as st

from bot.app import SupportBot
from bot.domain import Category, TicketStatus
from bot.sandbox.driver import SlackDriver
from bot.sandbox.slack import SlackSandbox
from bot.sandbox.workspace import AGENT, file_ticket, ticket_card_message, ticket_values
from storage.repositories import audit
from storage.repositories import tickets as ticket_repo
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
CAUSES = [c.label for c in Category]
RESOLVE_BLOCKS = ["close_root_cause", "close_confirmed", "close_novel_path", "close_note"]
ticked = st.one_of(st.none(), st.just("yes"), hostile_text.map(forged_option), junk_json.map(forged_option))


async def _actions(bot: SupportBot, number: int) -> list[str]:
    async with bot.sessions() as session:
        return [e.action for e in await audit.audit_trail(session, ticket_number=number)]


async def _new_card(slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot) -> tuple[int, Any]:
    await file_ticket(slack, sandbox, values=ticket_values(Impact="Cosmetic or how-to question"))
    async with bot.sessions() as session:
        number = await ticket_repo.count_tickets(session)
    return number, await sandbox.wait_for(lambda: ticket_card_message(sandbox, number, TRIAGE))


@examples(15)
@given(cause=st.one_of(st.none(), st.sampled_from(CAUSES), st.sampled_from(CAUSES), hostile_text.map(forged_option),
                       junk_json.map(forged_option)),
       confirmed=ticked, novel=ticked, note=st.one_of(st.none(), hostile_text),
       dropped=st.sets(st.sampled_from(RESOLVE_BLOCKS), max_size=1),
       junk=st.dictionaries(st.sampled_from(RESOLVE_BLOCKS), junk_json, max_size=1),
       gentle=st.booleans(), odd=odd_but_fine)
async def test_every_resolve_submission_resolves_whole_or_answers_inline_errors(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, cause: Any, confirmed: Any, novel: Any,
        note: str | None, dropped: set[str], junk: dict[str, Any], gentle: bool, odd: str) -> None:
    number, card = await _new_card(slack, sandbox, bot)
    view = await open_modal(slack, user_id=AGENT.user_id, action_id="ticket_resolve", message=card)
    if gentle:  # a good resolution, its note with odd characters in it
        cause, confirmed, novel, note, dropped, junk = "Billing", "yes", None, f"Fixed {odd}", set(), {}
    chosen = {"close_root_cause": cause, "close_confirmed": confirmed, "close_novel_path": novel,
              "close_note": note}
    values = {k: v for k, v in chosen.items() if v is not None}
    seen = len(sandbox.ephemerals)

    submission = await submit_forged(slack, user_id=AGENT.user_id, view=view, values=values, dropped=dropped,
                                     junk=junk)

    errors = inline_errors(submission, view)
    event("inline errors" if errors is not None else "resolved")
    await settled(bot)
    ticket = await bot.tickets.get(number)
    actions = await _actions(bot, number)
    if errors is not None:
        assert ticket.status is TicketStatus.OPEN and "ticket_resolved" not in actions
    else:
        assert ticket.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED), "the modal closed, nothing resolved"
        assert actions.count("ticket_resolved") == 1
    assert crashes(sandbox, seen) == []


FIX_BLOCKS = ["fix_release_tag", "fix_in_production", "fix_visible_at"]
moments = st.one_of(st.none(), st.integers(min_value=-(2**70), max_value=2**70), hostile_text,
                    st.integers(min_value=1_795_000_000, max_value=1_796_000_000))


@examples(20)
@given(tag=st.one_of(st.none(), hostile_text, st.just("v2026.12.3")), production=ticked, visible=moments,
       dropped=st.sets(st.sampled_from(FIX_BLOCKS), max_size=1),
       junk=st.dictionaries(st.sampled_from(FIX_BLOCKS), junk_json, max_size=1), gentle=st.booleans(),
       odd=odd_but_fine)
async def test_every_fix_deployed_submission_is_recorded_whole_or_answers_inline_errors(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, tag: str | None, production: Any, visible: Any,
        dropped: set[str], junk: dict[str, Any], gentle: bool, odd: str) -> None:
    card = ticket_card_message(sandbox, 1, TRIAGE)
    if card is None:
        _, card = await _new_card(slack, sandbox, bot)
    view = await open_modal(slack, user_id=AGENT.user_id, action_id="ticket_fix_deployed", message=card)
    if gentle:  # a good fix, its tag with odd characters in it
        tag, production, visible, dropped, junk = f"v1 {odd}", "yes", 1_795_600_000, set(), {}
    chosen = {"fix_release_tag": tag, "fix_in_production": production, "fix_visible_at": visible}
    values = {k: v for k, v in chosen.items() if v is not None}
    before = (await _actions(bot, 1)).count("fix_deployed")
    seen = len(sandbox.ephemerals)

    submission = await submit_forged(slack, user_id=AGENT.user_id, view=view, values=values, dropped=dropped,
                                     junk=junk)

    errors = inline_errors(submission, view)
    event("inline errors" if errors is not None else "recorded")
    await settled(bot)
    after = (await _actions(bot, 1)).count("fix_deployed")
    assert after == before + (0 if errors is not None else 1)
    assert crashes(sandbox, seen) == []

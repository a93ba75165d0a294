"""The checklist's own modals under arbitrary input (the CSM call, the incident summary, the runbook entry):
each submission completes its item once, whole, or answers inline errors and leaves the item open."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

from hypothesis import event, given
from hypothesis import strategies as st

from bot.app import SupportBot
from bot.domain import ClosureItem
from bot.sandbox.clock import ManualClock
from bot.sandbox.driver import SlackDriver
from bot.sandbox.slack import SlackSandbox
from bot.sandbox.workspace import AGENT, button_action_id, file_ticket, ticket_card_message, ticket_values
from storage.repositories import audit
from storage.repositories import closure as closure_repo
from storage.repositories import tickets as ticket_repo
from tests.properties.forge import (
    crashes,
    examples,
    hostile_text,
    inline_errors,
    junk_json,
    odd_but_fine,
    open_modal,
    settled,
    submit_forged,
)

TRIAGE = "C0TRIAGE01"
CONFIRMED = "The customer retried the original steps and confirmed the fix"
NOVEL = "Novel path: add a runbook entry for the next agent"
BUTTONS = {ClosureItem.CSM_CALL: "Schedule CSM call", ClosureItem.INCIDENT_SUMMARY: "Write incident summary",
           ClosureItem.RUNBOOK_ENTRY: "Add runbook entry"}


async def _resolved_enterprise_card(slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot) -> tuple[int, Any]:
    """A new Enterprise ticket resolved on a novel path: its checklist asks for all three items."""
    await file_ticket(slack, sandbox, values=ticket_values(**{"Plan tier": "Enterprise"}))
    async with bot.sessions() as session:
        number = await ticket_repo.count_tickets(session)
    card = await sandbox.wait_for(lambda: ticket_card_message(sandbox, number, TRIAGE))
    view = await open_modal(slack, user_id=AGENT.user_id, action_id="ticket_resolve", message=card)
    answer = await slack.submit_view(user_id=AGENT.user_id, view_id=view.id, values={
        "Root-cause category": "Billing", "Customer confirmation": [CONFIRMED], "Troubleshooting path": [NOVEL]})
    assert not (answer.json or {}).get("errors"), answer.json
    await sandbox.wait_for(lambda: "Add runbook entry" in str(card.blocks))
    return number, card



async def _item_state(bot: SupportBot, number: int, item: ClosureItem) -> tuple[str | None, int]:
    """The item's recorded value (None while open) and how many times it was recorded done."""
    async with bot.sessions() as session:
        closure = await closure_repo.closure_of(session, number=number)
        trail = await audit.audit_trail(session, ticket_number=number)
    assert closure is not None
    done = [e for e in trail if e.action == "closure_item_done" and (e.after or {}).get("item") == item.value]
    return closure.done.get(item), len(done)


async def _submit_item(slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, item: ClosureItem,
                       values: dict[str, Any], dropped: set[str], junk: dict[str, Any]
                       ) -> tuple[int, dict[str, str] | None]:
    number, card = await _resolved_enterprise_card(slack, sandbox, bot)
    view = await open_modal(slack, user_id=AGENT.user_id, action_id=button_action_id(card, BUTTONS[item]), message=card)
    seen = len(sandbox.ephemerals)
    submission = await submit_forged(slack, user_id=AGENT.user_id, view=view, values=values, dropped=dropped,
                                     junk=junk)
    errors = inline_errors(submission, view)
    event("inline errors" if errors is not None else "item done")
    await settled(bot)
    assert crashes(sandbox, seen) == []
    recorded, times = await _item_state(bot, number, item)
    if errors is not None:
        assert recorded is None and times == 0, "inline errors, yet the item was recorded"
    else:
        assert recorded is not None and times == 1, "the modal closed, the item not recorded once"
    return number, errors


CSM_BLOCKS = ["close_csm", "close_call_at"]
csm = st.one_of(st.just("U0LEAD0001"), st.just("W0GRIDUSER"), hostile_text, junk_json)
# Seconds after the clock's time (START, Monday 14:00 New York): the call is due by Tuesday 14:00, 24 h later.
call_offset = st.one_of(st.integers(min_value=0, max_value=23 * 3600), st.integers(min_value=25 * 3600,
                                                                                   max_value=400 * 86400))


@examples(12)
@given(who=csm, offset=call_offset,
       call_at=st.one_of(st.none(), st.integers(min_value=-(2**70), max_value=2**70), hostile_text),
       dropped=st.sets(st.sampled_from(CSM_BLOCKS), max_size=1),
       junk=st.dictionaries(st.sampled_from(CSM_BLOCKS), junk_json, max_size=1), gentle=st.booleans())
async def test_every_csm_call_submission_schedules_the_call_whole_or_answers_inline_errors(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, clock: ManualClock, who: Any, offset: int,
        call_at: Any, dropped: set[str], junk: dict[str, Any], gentle: bool) -> None:
    moment = int((clock.now() + timedelta(seconds=offset)).timestamp())
    if gentle:  # a real CSM at a time inside or past the business day: scheduled, or refused inline
        who, call_at, dropped, junk = "U0LEAD0001", moment, set(), {}
    values = {k: v for k, v in {"close_csm": who, "close_call_at": call_at}.items() if v is not None}

    number, errors = await _submit_item(slack, sandbox, bot, ClosureItem.CSM_CALL, values, dropped, junk)

    if gentle:
        late = offset > 24 * 3600
        assert (errors is not None) == late, (offset, errors)
        if late:
            assert errors is not None and "one business day" in errors["close_call_at"]
    if errors is None:
        recorded, _ = await _item_state(bot, number, ClosureItem.CSM_CALL)
        assert recorded is not None and recorded.startswith(str(who))


SUMMARY_BLOCKS = ["close_summary"]


@examples(12)
@given(summary=st.one_of(st.none(), hostile_text), dropped=st.sets(st.sampled_from(SUMMARY_BLOCKS), max_size=1),
       junk=st.dictionaries(st.sampled_from(SUMMARY_BLOCKS), junk_json, max_size=1), gentle=st.booleans(),
       odd=odd_but_fine)
async def test_every_incident_summary_submission_completes_the_item_whole_or_answers_inline_errors(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, summary: str | None, dropped: set[str],
        junk: dict[str, Any], gentle: bool, odd: str) -> None:
    if gentle:  # an edited summary with odd characters in it
        summary, dropped, junk = f"Impact: invoices blank {odd}", set(), {}
    values = {"close_summary": summary} if summary is not None else {}  # None: the drafted text as it is

    number, errors = await _submit_item(slack, sandbox, bot, ClosureItem.INCIDENT_SUMMARY, values, dropped, junk)

    if gentle:
        assert errors is None, errors
        recorded, _ = await _item_state(bot, number, ClosureItem.INCIDENT_SUMMARY)
        assert recorded == (summary or "").strip()


ENTRY = itertools.count(1)  # a word no other entry has, to find the example's own entry by
RUNBOOK_BLOCKS = ["close_runbook_title", "close_runbook_keywords", "close_runbook_steps"]


@examples(12)
@given(title=st.one_of(st.none(), hostile_text), keywords=hostile_text, steps=hostile_text,
       dropped=st.sets(st.sampled_from(RUNBOOK_BLOCKS), max_size=1),
       junk=st.dictionaries(st.sampled_from(RUNBOOK_BLOCKS), junk_json, max_size=1), gentle=st.booleans(),
       odd=odd_but_fine)
async def test_every_runbook_entry_submission_joins_the_runbook_whole_or_answers_inline_errors(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, title: str | None, keywords: str, steps: str,
        dropped: set[str], junk: dict[str, Any], gentle: bool, odd: str) -> None:
    word = f"zqx{next(ENTRY)}"
    if gentle:  # a good entry with odd characters in its steps
        title, keywords, steps, dropped, junk = None, f"invoices {word}", f"1. Clear the plan cache {odd}", set(), {}
    values = {k: v for k, v in {"close_runbook_title": title, "close_runbook_keywords": keywords,
                                "close_runbook_steps": steps}.items() if v is not None}
    assert bot.runbook is not None

    _, errors = await _submit_item(slack, sandbox, bot, ClosureItem.RUNBOOK_ENTRY, values, dropped, junk)

    if gentle:
        assert errors is None, errors
        found = await bot.runbook.search(word)
        assert [m.entry.title for m in found] == ["Invoices page shows a blank screen"], "not in the runbook"

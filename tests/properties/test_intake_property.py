"""/ticket's intake modal under arbitrary input: a stored ticket with its audit trail, timers and card, or
inline errors on blocks the modal has and no ticket; never a 500, never a late answer, never a crash."""

from __future__ import annotations

from typing import Any

from hypothesis import event, given
from hypothesis import strategies as st

from bot.app import SupportBot
from bot.sandbox.driver import SlackDriver
from bot.sandbox.slack import SlackSandbox
from bot.sandbox.workspace import AGENT, GENERAL, ticket_card_message, ticket_values
from storage.repositories import audit, timers
from storage.repositories import tickets as ticket_repo
from tests.properties.forge import (
    crashes,
    examples,
    forged_option,
    hostile_text,
    inline_errors,
    input_blocks,
    junk_json,
    short_text,
    submit_forged,
)

TRIAGE = "C0TRIAGE01"
TEXT_FIELDS = ["workspace_id", "requester_email", "summary", "what_happened", "expected", "browser", "os", "url",
               "request_id", "attachment_link", "helpdesk_link"]
SELECTS = ["impact", "plan_tier", "category", "customer_timezone"]
BLOCKS = TEXT_FIELDS + SELECTS + ["occurred_at"]
# SEV1 opens an incident (a channel, a page, a status page post) per ticket: the status modal's property
# covers that path; here the valid impacts are the ones without an incident.
IMPACTS = ["Major feature broken, no workaround", "Minor feature broken, or a workaround exists",
           "Cosmetic or how-to question"]

text_overrides = st.dictionaries(st.sampled_from(TEXT_FIELDS), hostile_text, max_size=5)
select_overrides = st.dictionaries(
    st.sampled_from(SELECTS), st.one_of(hostile_text.map(forged_option), junk_json.map(forged_option)),
    max_size=2)
# Free text that passes every rule, so that half the examples reach the database with odd Unicode in it.
FREE_TEXT = ["summary", "what_happened", "expected", "browser", "os", "workspace_id", "request_id"]
odd_but_valid = st.dictionaries(st.sampled_from(FREE_TEXT),
                                short_text.filter(lambda t: t.strip() and "\x00" not in t), min_size=1)
moments = st.one_of(st.integers(min_value=-(2**63), max_value=2**63), st.floats(allow_nan=True),
                    st.integers(min_value=1_700_000_000, max_value=1_800_000_000), hostile_text)


async def _open_intake(slack: SlackDriver, sandbox: SlackSandbox, summary: str) -> Any:
    before = set(sandbox.views)
    await slack.slash_command(user_id=AGENT.user_id, command="/ticket", text=summary, channel_id=GENERAL)
    return await sandbox.wait_for(lambda: next((v for i, v in sandbox.views.items() if i not in before), None))


@examples(40)
@given(texts=text_overrides, selects=select_overrides, impact=st.sampled_from(IMPACTS),
       moment=st.one_of(st.none(), moments), dropped=st.sets(st.sampled_from(BLOCKS), max_size=3),
       junk=st.dictionaries(st.sampled_from(BLOCKS), junk_json, max_size=2), command_text=hostile_text,
       gentle=st.booleans(), valid_odd=odd_but_valid)
async def test_every_intake_submission_files_a_whole_ticket_or_answers_inline_errors(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, texts: dict[str, str],
        selects: dict[str, Any], impact: str, moment: Any, dropped: set[str], junk: dict[str, Any],
        command_text: str, gentle: bool, valid_odd: dict[str, str]) -> None:
    view = await _open_intake(slack, sandbox, command_text)
    blocks = input_blocks(view)
    values: dict[str, Any] = ticket_values(Impact=impact)
    if gentle:  # the odd characters inside values that are otherwise fine
        values.update({k: f"{v[:20]} x" for k, v in valid_odd.items()})
        dropped, junk = set(), {}
    else:
        values.update({**texts, **selects})
        if moment is not None:
            values["occurred_at"] = moment
    values = {str(blocks[k]["block_id"]) if k in blocks else k: v for k, v in values.items()}
    async with bot.sessions() as session:
        before = await ticket_repo.count_tickets(session)
    seen = len(sandbox.ephemerals)

    submission = await submit_forged(slack, user_id=AGENT.user_id, view=view, values=values, dropped=dropped,
                                   junk=junk)

    errors = inline_errors(submission, view)
    async with bot.sessions() as session:
        after = await ticket_repo.count_tickets(session)
    event("inline errors" if errors is not None else "filed")
    if errors is not None:
        assert after == before, f"a ticket was stored although the modal answered {errors}"
    else:
        assert after == before + 1, "the modal closed but no ticket was stored"
        number = after
        async with bot.sessions() as session:
            ticket = await ticket_repo.get_ticket(session, number=number)
            trail = [e.action for e in await audit.audit_trail(session, ticket_number=number)]
            pending = await timers.pending_timers(session, ticket_number=number)
        assert ticket is not None and "ticket_filed" in trail
        assert len(pending) >= 2, "no first-response reminder and breach timers"
        await sandbox.wait_for(lambda: ticket_card_message(sandbox, number, TRIAGE))
    assert crashes(sandbox, seen) == []

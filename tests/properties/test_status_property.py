"""The incident's status update modal under arbitrary input: an update stored with its audit event and its
next reminder, or inline errors and nothing recorded (a SEV1 ticket opens the incident once per test)."""

from __future__ import annotations

from typing import Any

from hypothesis import event, given
from hypothesis import strategies as st

from bot.app import SupportBot
from bot.sandbox.driver import SlackDriver
from bot.sandbox.slack import SlackSandbox
from bot.sandbox.workspace import COMMANDER, file_ticket, ticket_values
from storage.repositories import audit, incidents, timers
from tests.properties.forge import (
    crashes,
    examples,
    forged_option,
    hostile_text,
    inline_errors,
    junk_json,
    labelled,
    odd_but_fine,
    open_modal,
    settled,
    submit_forged,
)

SEV1 = ticket_values(**{"Impact": "Production down or data loss", "Summary": "Checkout returns 500",
                        "Request ID": "req_8c1d2e3f"})
# Resolved closes the incident and the next update re-opens it (a new page, a new public incident): the
# valid choices stay on the open side; forged values may still say anything.
STATUSES = ["Investigating", "Identified", "Monitoring"]
statuses = st.one_of(st.none(), st.sampled_from(STATUSES), st.sampled_from(STATUSES),
                     hostile_text.map(forged_option), junk_json.map(forged_option))
messages = st.one_of(st.none(), hostile_text, st.just("We are looking into failed checkouts."))


async def _kickoff(slack: SlackDriver, sandbox: SlackSandbox) -> Any:
    if sandbox.channel_by_name("incident-1") is None:
        await file_ticket(slack, sandbox, values=SEV1)
    channel = await sandbox.wait_for(lambda: sandbox.channel_by_name("incident-1"))
    return await sandbox.wait_for(lambda: next((m for m in sandbox.history(channel.id)
                                                if "What the bot did" in str(m.blocks)), None))


@examples(30)
@given(status=statuses, message=messages, reason=st.one_of(st.none(), hostile_text),
       dropped=st.sets(st.sampled_from(["status_state", "status_message", "status_backwards_reason"]),
                       max_size=1),
       junk=st.dictionaries(st.sampled_from(["status_state", "status_message"]), junk_json, max_size=1),
       gentle=st.booleans(), odd=odd_but_fine, choice=st.sampled_from(STATUSES))
async def test_every_status_update_is_recorded_whole_or_answers_inline_errors(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, status: Any, message: str | None,
        reason: str | None, dropped: set[str], junk: dict[str, Any], gentle: bool, odd: str, choice: str) -> None:
    kickoff = await _kickoff(slack, sandbox)
    view = await open_modal(slack, user_id=COMMANDER.user_id, action_id="incident_post_status", message=kickoff)
    if gentle:  # a good update with odd characters in it
        status, message, reason, dropped, junk = choice, f"We are looking into it {odd}", f"Because {odd}", set(), {}
    given_values = {"Status": status, "Message to customers": message,
                    "Reason, if the status moves backwards": reason}
    values = labelled(view, {k: v for k, v in given_values.items() if v is not None})
    async with bot.sessions() as session:
        incident = await incidents.latest_incident(session, ticket_number=1)
        assert incident is not None
        updates = len(await incidents.status_updates(session, incident_id=incident.id))
        trail = [e.action for e in await audit.audit_trail(session, ticket_number=1)].count("status_update")
    seen = len(sandbox.ephemerals)

    submission = await submit_forged(slack, user_id=COMMANDER.user_id, view=view, values=values,
                                     dropped=dropped, junk=junk)

    errors = inline_errors(submission, view)
    event("inline errors" if errors is not None else "published")
    await settled(bot)
    async with bot.sessions() as session:
        after = len(await incidents.status_updates(session, incident_id=incident.id))
        actions = [e.action for e in await audit.audit_trail(session, ticket_number=1)].count("status_update")
        reminders = [t for t in await timers.pending_timers(session, incident_id=incident.id)
                     if "status" in t.kind]
    if errors is not None:
        assert (after, actions) == (updates, trail), f"recorded although the modal answered {errors}"
    else:
        assert (after, actions) == (updates + 1, trail + 1), "the modal closed but no update was recorded"
        assert reminders, "no next status reminder"
    assert crashes(sandbox, seen) == []

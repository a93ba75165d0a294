"""The resolve modal, the closure checklist on the card, the checklist's modals and its reminders."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from blocks.ids import Action, Callback, ClosureField
from blocks.text import (
    Block,
    actions,
    button,
    context,
    customer_time,
    escape,
    input_block,
    option,
    plain,
    section,
    slack_date,
    user,
)
from bot.domain import Category, Closure, ClosureItem, Ticket

C = ClosureField
UNRESPONSIVE = "unresponsive"
# Items done from the card with one press; the others open a modal.
DIRECT = (ClosureItem.CUSTOMER_CONFIRMED,)
# Each text input's max_length: the handlers refuse past these too (Slack's client is the only one enforcing them).
LIMITS: dict[str, int] = {C.JIRA_KEY: 100, C.SENTRY_ID: 100, C.SUMMARY: 3000, C.RUNBOOK_TITLE: 150,
                          C.RUNBOOK_KEYWORDS: 300, C.RUNBOOK_STEPS: 2500, C.RELEASE_TAG: 100, C.NOTE: 2500}


def _input(block: ClosureField, label: str, element: dict[str, Any], *, optional: bool = False,
           hint: str | None = None) -> Block:
    return input_block(block.value, label, element, optional=optional, hint=hint)


def _text(initial: str | None = None, *, multiline: bool = False, max_length: int = 2500) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "max_length": max_length, "multiline": multiline}
    if initial:
        element["initial_value"] = initial[:max_length]
    return element


def _modal(callback: Callback, title: str, submit: str, ticket: int, blocks: list[Block]) -> dict[str, Any]:
    return {"type": "modal", "callback_id": callback.value, "title": plain(title, 24), "submit": plain(submit, 24),
            "close": plain("Cancel", 24), "private_metadata": json.dumps({"ticket": ticket}), "blocks": blocks}


def resolve_modal(ticket: Ticket, *, escalated: bool, jira_key: str | None, sentry_id: str | None) -> dict[str, Any]:
    """Resolve: the root cause, whether the customer confirmed, a novel path, and the IDs when escalated."""
    causes = [option(c.label, c.value) for c in Category]
    blocks: list[Block] = [
        section(f"Resolving *#{ticket.number}* {escape(ticket.summary)}. The ticket closes once every item of its "
                "checklist is done; until then it is *resolved, checklist open*."),
        _input(C.ROOT_CAUSE, "Root-cause category", {"type": "static_select", "options": causes,
                                                     "placeholder": plain("auth, billing, integration, …")}),
        _input(C.CONFIRMED, "Customer confirmation", {"type": "checkboxes", "options": [
            option("The customer retried the original steps and confirmed the fix", "yes")]}, optional=True,
               hint="The engineer's word alone is not enough; leave it unticked until the customer says so"),
        _input(C.NOVEL_PATH, "Troubleshooting path", {"type": "checkboxes", "options": [
            option("Novel path: add a runbook entry for the next agent", "yes")]}, optional=True),
    ]
    if escalated:
        blocks += [_input(C.JIRA_KEY, "Jira issue", _text(jira_key, max_length=LIMITS[C.JIRA_KEY])),
                   _input(C.SENTRY_ID, "Sentry issue ID", _text(sentry_id, max_length=LIMITS[C.SENTRY_ID]))]
    blocks.append(_input(C.NOTE, "Closing note", _text(multiline=True, max_length=LIMITS[C.NOTE]), optional=True))
    return _modal(Callback.RESOLVE_SUBMIT, f"Resolve #{ticket.number}", "Resolve", ticket.number, blocks)


def csm_modal(ticket: Ticket, *, latest: datetime) -> dict[str, Any]:
    """The CSM call: who and when (within one business day of resolution)."""
    return _modal(Callback.CSM_CALL_SUBMIT, "CSM call", "Save", ticket.number, [
        section(f"Loop in the account's CSM and schedule a 15-minute call by {slack_date(latest)}."),
        _input(C.CSM, "CSM", {"type": "users_select", "placeholder": plain("The customer success manager")}),
        _input(C.CALL_AT, "Call time", {"type": "datetimepicker"}),
    ])


def summary_modal(ticket: Ticket, draft: str) -> dict[str, Any]:
    """The written incident summary, drafted from the timeline for the agent to edit."""
    return _modal(Callback.SUMMARY_SUBMIT, "Incident summary", "Save", ticket.number, [
        section("Drafted from the incident's timeline and status updates: edit it before the call."),
        _input(C.SUMMARY, "Summary (impact, root cause, remediation)",
               _text(draft, multiline=True, max_length=LIMITS[C.SUMMARY])),
    ])


def runbook_modal(ticket: Ticket) -> dict[str, Any]:
    """The runbook entry for a novel troubleshooting path."""
    return _modal(Callback.RUNBOOK_ENTRY_SUBMIT, "Runbook entry", "Save", ticket.number, [
        _input(C.RUNBOOK_TITLE, "Title", _text(ticket.summary, max_length=LIMITS[C.RUNBOOK_TITLE])),
        _input(C.RUNBOOK_KEYWORDS, "Symptom keywords the next agent will search for",
               _text(max_length=LIMITS[C.RUNBOOK_KEYWORDS])),
        _input(C.RUNBOOK_STEPS, "Steps", _text(multiline=True, max_length=LIMITS[C.RUNBOOK_STEPS])),
    ])


def item_action(item: ClosureItem, *, unresponsive: bool = False) -> str:
    """A checklist button's action ID: one per item, since Slack wants them unique within a block."""
    return f"{Action.CLOSURE_ITEM.value}_{item.value}" + ("_unresponsive" if unresponsive else "")


def item_value(number: int, item: ClosureItem, *, unresponsive: bool = False) -> str:
    """The value a checklist button carries."""
    return json.dumps({"t": number, "i": item.value, "u": unresponsive}, separators=(",", ":"))


def checklist(closure: Closure, *, now: datetime) -> list[Block]:
    """On the card: what is done, what is left with a button each, or closed."""
    if closure.closed_at is not None:
        return [context(f"🔒 Closed {slack_date(closure.closed_at)}: every checklist item is done")]
    lines = []
    for item in closure.required:
        value = closure.done.get(item)
        mark = "✅" if value is not None else "⬜"
        shown = " (customer unresponsive after two reminders)" if value == UNRESPONSIVE else ""
        lines.append(f"{mark} {item.label}{shown}")
    blocks: list[Block] = [section("*Resolved, checklist open*\n" + "\n".join(lines))]
    buttons = []
    for item in closure.remaining:
        if item is ClosureItem.CUSTOMER_CONFIRMED:
            buttons.append(button("Customer confirmed", item_action(item), item_value(closure.ticket_number, item),
                                  style="primary"))
            if closure.customer_reminders >= 2:
                buttons.append(button("Customer unresponsive", item_action(item, unresponsive=True),
                                      item_value(closure.ticket_number, item, unresponsive=True)))
        else:
            buttons.append(button(BUTTONS[item], item_action(item), item_value(closure.ticket_number, item)))
    if buttons:
        blocks.append(actions(*buttons, block_id=f"closure_{closure.ticket_number}"))
    return blocks


BUTTONS = {ClosureItem.ROOT_CAUSE: "Root cause", ClosureItem.ESCALATION_IDS: "Jira and Sentry IDs",
           ClosureItem.CSM_CALL: "Schedule CSM call", ClosureItem.INCIDENT_SUMMARY: "Write incident summary",
           ClosureItem.RUNBOOK_ENTRY: "Add runbook entry", ClosureItem.CUSTOMER_CONFIRMED: "Customer confirmed"}

REMINDER_TEXT = {
    "customer": "{agent} the customer has not confirmed the fix on #{n} yet: ask them to retry the original steps "
                "(reminder {count}).",
    "csm": "{agent} the CSM call for #{n} is not scheduled, and it is due by the end of the business day.",
    "summary": "{agent} the incident summary for #{n} is missing, and the CSM call is in an hour.",
}


def reminder(which: str, ticket: Ticket, *, count: int) -> str:
    """A checklist reminder in the card's thread."""
    text = REMINDER_TEXT[which].format(agent=user(ticket.filed_by), n=ticket.number, count=count)
    if which == "customer" and count >= 2:
        text += " After this reminder you may mark the customer unresponsive."
    return text


def closed_note(ticket: Ticket) -> str:
    """Under the card when the last item is done."""
    return f"🔒 #{ticket.number} is closed: every checklist item is done."


PICK_A_TIME = "Pick a date and time"
PICK_THE_CSM = "Pick the account's CSM"


def call_too_late(latest: datetime) -> str:
    """The CSM modal's inline error for a call past one business day."""
    return f"Schedule the call by {latest:%a %d %b %H:%M} (one business day after resolution)"


def unresponsive_too_early(reminders: int) -> str:
    """Ephemeral: "customer unresponsive" needs two reminders first."""
    return f"The customer can be marked unresponsive after two reminders; {reminders} sent so far."


def fix_deployed_modal(ticket: Ticket) -> dict[str, Any]:
    """Fix deployed: the release tag, and the confirmation that the deploy reached production (merged is not
    shipped: rollouts are gradual)."""
    return _modal(Callback.FIX_DEPLOYED_SUBMIT, "Fix deployed", "Record", ticket.number, [
        _input(C.RELEASE_TAG, "Release tag", _text(max_length=LIMITS[C.RELEASE_TAG]), optional=True,
               hint="e.g. v2026.12.3; without a tag the reply promises no time"),
        _input(C.IN_PRODUCTION, "Production", {"type": "checkboxes", "options": [
            option("The deploy reached production (not only merged)", "yes")]}),
        _input(C.VISIBLE_AT, "Customers see it from", {"type": "datetimepicker"}, optional=True,
               hint="When the rollout reaches everyone; leave empty when it already has"),
    ])


def fix_reply(ticket: Ticket, *, tag: str | None, visible_at: datetime | None, zone: str) -> str:
    """The customer reply about the fix, in customer-facing words; a time is promised only for a tagged
    release."""
    lines = ["Hi there,", ""]
    if tag:
        when = (f"It reaches every account by {customer_time(visible_at, zone)}." if visible_at
                else "It is live now; a refresh of the page may be needed.")
        lines.append(f"Good news about “{ticket.summary}”: the fix is in our release {tag}, now in production. {when}")
    else:
        lines.append(f"Good news about “{ticket.summary}”: a fix is now in production. We will confirm once "
                     "it has reached your account.")
    lines += ["Could you please try the original steps again and tell us whether it works for you now?", "",
              "Best regards,"]
    return "\n".join(lines)


def fix_note(ticket: Ticket, *, by: str, tag: str | None, reply: str) -> list[Block]:
    """Under the card: what was shipped, and the drafted reply to send."""
    quoted = "\n".join(f">{escape(line)}" if line else ">" for line in reply.splitlines())
    shipped = f"release `{escape(tag)}`" if tag else "an untagged release (no time promised to the customer)"
    return [section(f"🚀 {user(by)} recorded the fix for #{ticket.number} in production: {shipped}. "
                    "A reply to send:"), section(quoted)]


def not_in_production() -> str:
    """The fix modal's inline error when production is not confirmed."""
    return "Confirm the deploy reached production: merged is not shipped"


def fix_reminder(ticket: Ticket) -> str:
    """In the card's thread: acknowledged by engineering a business day ago, and no fix or answer yet."""
    return (f"⏰ {user(ticket.filed_by)} engineering acknowledged #{ticket.number} a business day ago and no fix "
            "or answer is recorded: ask the engineer where it stands, and update the customer.")


def incident_resolved_prompt(ticket_number: int) -> list[Block]:
    """Under the card when its incident is resolved: the ticket goes on to its closure checklist."""
    return [section(f"✅ The incident of #{ticket_number} is resolved. Press *Resolve* to open the ticket's closure "
                    "checklist (root cause, the customer's confirmation, and what the plan requires)."),
            actions(button("Resolve", Action.RESOLVE, str(ticket_number), style="primary"),
                    block_id=f"closure_prompt_{ticket_number}")]

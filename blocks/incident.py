"""Incident channel messages: kickoff, step outcomes, status updates, reminders, and the status modal."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from blocks.ids import Action, Callback, StatusField
from blocks.text import (
    Block,
    actions,
    button,
    channel,
    context,
    duration_words,
    escape,
    fields,
    header,
    option,
    plain,
    section,
    slack_date,
    user,
    usergroup,
)
from bot.domain import Incident, IncidentStatus, IncidentStep, StepState, Ticket

STEP_MARK = {StepState.DONE: "✅", StepState.FAILED: "⚠️", StepState.SKIPPED: "⏭️", StepState.RUNNING: "⏳",
             StepState.PENDING: "⏳", StepState.ABANDONED: "✖️"}


def commander_mention(incident: Incident, commanders_group: str) -> str:
    return user(incident.commander) if incident.commander else usergroup(commanders_group)


def channel_topic(ticket: Ticket, incident: Incident) -> str:
    return (f"{ticket.severity} · #{ticket.number} {ticket.summary[:120]} · {ticket.workspace_id} · "
            f"Status: {incident.status.label}")[:250]


def step_lines(incident: Incident) -> list[str]:
    # Details are written by the bot (vendor text is escaped where it is recorded), so links stay links.
    return [f"{STEP_MARK[incident.step(step).state]} *{step.label}:* {incident.step(step).detail or ''}"
            for step in IncidentStep]


def kickoff_fallback_text(ticket: Ticket) -> str:
    return f"{ticket.severity} incident for ticket #{ticket.number}"


def invite_failed(failures: list[tuple[str, str]]) -> str:
    """Who could not be invited to the incident channel, and Slack's reason for each."""
    names = ", ".join(f"{user(who)} ({escape(error)})" for who, error in failures)
    return f"⚠️ Could not invite {names}: please add them by hand."


def not_paged_note(commanders_group: str) -> str:
    return ("nobody was paged: PAGERDUTY_ROUTING_KEY is not set. "
            f"{usergroup(commanders_group)} please take command.")


def paged_note(severity: str, dedup_key: str) -> str:
    return f"paged on-call through PagerDuty ({severity}, alert key `{escape(dedup_key)}`)"


def channel_opened_note(channel_id: str, *, reopened: bool = False) -> str:
    return f"re-opened in {channel(channel_id)}" if reopened else f"opened {channel(channel_id)}"


def channel_names_taken(first: str, last: str) -> str:
    return f"every name from #{first} to #{last} is taken"


def status_page_posted_note(title: str, status: IncidentStatus, *, page_name: str, url: str | None) -> str:
    where = f"<{url}|{escape(page_name)}>" if url else escape(page_name)
    return f"posted “{escape(title)}” as {status.label} on {where}"


def step_not_retried(detail: str) -> str:
    return f"{detail}; not retried automatically, press Retry once it is fixed"


def given_up_by(by: str) -> str:
    return f"given up by {user(by)}"


def new_commander(by: str) -> str:
    return f"🎖 {user(by)} is now the incident commander and owns customer updates."


def update_refused(error: str) -> str:
    return (f"⚠️ The status page refused this update: {escape(error)}. "
            "It is not retried automatically: update the page by hand.")


def update_not_taken(error: str) -> str:
    return (f"⚠️ The status page did not take this update: {escape(error)}. "
            "The bot retries it with the next tick until it does.")


def nowhere_yet(why: str) -> str:
    return f"nowhere yet ({why})"


def page_not_resolved_note(dedup_key: str, error: str, *, retrying: bool) -> str:
    if retrying:
        return (f"⚠️ Could not resolve the PagerDuty alert `{escape(dedup_key)}` yet: {escape(error)}. "
                "The bot keeps trying.")
    return f"⚠️ PagerDuty refused to resolve alert `{escape(dedup_key)}`: {escape(error)}. Resolve it by hand."


def page_resolved_note(dedup_key: str) -> str:
    return f"PagerDuty alert `{escape(dedup_key)}` resolved."


NOBODY_PAGED_NOTE = "Nobody was paged, so there was no alert to resolve."


def kickoff(ticket: Ticket, incident: Incident, *, card_url: str | None, commanders_group: str) -> list[Block]:
    links = [f"<{card_url}|Ticket card #{ticket.number}>" if card_url else f"Ticket #{ticket.number}"]
    if incident.statuspage_url:
        links.append(f"<{incident.statuspage_url}|Status page>")
    when = slack_date(ticket.environment.occurred_at) if ticket.environment.occurred_at else None
    reopened = f" (re-opened, round {incident.generation})" if incident.generation > 1 else ""
    blocks: list[Block] = [
        header(f"🚨 {ticket.severity} incident · #{ticket.number} {ticket.summary}"),
        section(f"*What we know*{reopened}\n{escape(ticket.what_happened)}"),
        fields(("Customer", f"`{escape(ticket.workspace_id)}`"), ("Plan tier", ticket.plan_tier.label),
               ("Impact", ticket.impact.label), ("Reported by", user(ticket.filed_by)),
               ("When it happened", when),
               ("Request ID", f"`{escape(ticket.environment.request_id)}`" if ticket.environment.request_id else None)),
        section("*What the bot did*\n" + "\n".join(step_lines(incident))),
        context(" · ".join(links)),
        section(f"*Commander:* {commander_mention(incident, commanders_group)}"
                + ("" if incident.commander else " until someone presses *Take command*")
                + f"\n*Status page:* {incident.status.label}"),
        actions(button("Take command", Action.TAKE_COMMAND, str(incident.id)),
                button("Post status update", Action.POST_STATUS, str(incident.id), style="primary"),
                block_id=f"incident_actions_{incident.id}"),
    ]
    return blocks


def step_failed(incident: Incident, step: IncidentStep, *, next_retry: datetime | None) -> list[Block]:
    outcome = incident.step(step)
    then = (f" The bot retries {slack_date(next_retry, '{time}')} and keeps retrying until it works or someone "
            "gives up." if next_retry else " Press Retry once the cause is fixed, or Give up.")
    return [
        section(f"⚠️ *{step.label} failed* for ticket #{incident.ticket_number}: {outcome.detail or ''}.{then}"),
        actions(button("Retry", Action.RETRY_STEP, f"{incident.id}:{step.value}", style="primary"),
                button("Give up", Action.GIVE_UP_STEP, f"{incident.id}:{step.value}", style="danger"),
                block_id=f"step_{incident.id}_{step.value}"),
    ]


def step_recovered(incident: Incident, step: IncidentStep) -> list[Block]:
    return [section(f"✅ *{step.label}* done on retry: {incident.step(step).detail or ''}")]


def step_abandoned(incident: Incident, step: IncidentStep, *, by: str) -> list[Block]:
    return [section(f"✖️ {user(by)} gave up on *{step.label}* for ticket #{incident.ticket_number}. "
                    "The bot will not retry it.")]


def status_update_posted(incident: Incident, *, status: IncidentStatus, message: str, by: str,
                         published_to: str, reason: str | None) -> list[Block]:
    blocks = [section(f"📣 {user(by)} posted a status update: *{status.label}*\n>{escape(message)}")]
    note = f"Published to {published_to}"
    if reason:
        note += f" · moved back from {incident.status.label}: {escape(reason)}"
    blocks.append(context(note))
    return blocks


def status_reminder(incident: Incident, *, now: datetime, commanders_group: str) -> list[Block]:
    silent = duration_words(now - incident.last_public_update_at)
    return [
        section(f"⏰ {commander_mention(incident, commanders_group)} the status page has been silent for "
                f"*{silent}*. Last public update ({incident.status.label}, "
                f"{slack_date(incident.last_public_update_at, '{time}')}):\n>{escape(incident.last_public_message)}"),
        actions(button("Post status update", Action.POST_STATUS, str(incident.id), style="primary"),
                block_id=f"reminder_{incident.id}_{int(now.timestamp())}"),
    ]


def resolved(incident: Incident, *, by: str, page_note: str) -> list[Block]:
    return [
        section(f"✅ *Resolved* by {user(by)} after "
                f"{duration_words(incident.last_public_update_at - incident.opened_at)}."
                f" Status-page reminders have stopped. {page_note}"),
        context(f"Ticket #{incident.ticket_number} moves on to its closure checklist."),
    ]


def status_modal(incident: Incident, *, channel_id: str | None) -> dict[str, Any]:
    options = [option(s.label, s.value) for s in IncidentStatus]
    current = next(o for o in options if o["value"] == incident.status.value)
    return {
        "type": "modal",
        "callback_id": Callback.STATUS_SUBMIT.value,
        "title": plain("Status update", 24),
        "submit": plain("Publish", 24),
        "close": plain("Cancel", 24),
        "private_metadata": json.dumps({"incident": incident.id, "channel": channel_id}),
        "blocks": [
            section(f"Now *{incident.status.label}*. Last public update:\n>{escape(incident.last_public_message)}"),
            {"type": "input", "block_id": StatusField.STATUS.value, "label": plain("Status"),
             "element": {"type": "static_select", "action_id": StatusField.STATUS.value, "options": options,
                         "initial_option": current}},
            {"type": "input", "block_id": StatusField.MESSAGE.value, "label": plain("Message to customers"),
             "hint": plain("Public: no customer names, emails, workspace or request IDs."),
             "element": {"type": "plain_text_input", "action_id": StatusField.MESSAGE.value, "multiline": True,
                         "max_length": 2000}},
            {"type": "input", "block_id": StatusField.REASON.value, "optional": True,
             "label": plain("Reason, if the status moves backwards"),
             "element": {"type": "plain_text_input", "action_id": StatusField.REASON.value}},
        ],
    }

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
    cut_clean,
    duration_words,
    escape,
    fields,
    header,
    link,
    option,
    plain,
    section,
    slack_date,
    user,
    usergroup,
)
from bot.domain import Incident, IncidentStatus, IncidentStep, StepState, Ticket

STATUS_TEXT_MAX = 2000  # a status update's message and reason, as the modal's inputs allow
STEP_MARK = {StepState.DONE: "✅", StepState.FAILED: "⚠️", StepState.SKIPPED: "⏭️", StepState.RUNNING: "⏳",
             StepState.PENDING: "⏳", StepState.ABANDONED: "✖️"}


def commander_mention(incident: Incident, commanders_group: str) -> str:
    """The incident commander's mention, or the commanders group's while nobody has taken command."""
    return user(incident.commander) if incident.commander else usergroup(commanders_group)


def channel_topic(ticket: Ticket, incident: Incident) -> str:
    """The incident channel's topic: severity, ticket, customer and status page state, cut to Slack's 250 limit.

    Escaped like every message: a summary of `<!channel>` is shown, not sent to everyone in the channel.
    """
    return cut_clean(f"{ticket.severity} · #{ticket.number} {cut_clean(escape(ticket.summary), 120)} · "
                     f"{escape(ticket.workspace_id)} · Status: {incident.status.label}", 250)


def step_lines(incident: Incident) -> list[str]:
    """One line per incident step (page, channel, status page) with its outcome mark and what happened."""
    # Details are written by the bot (vendor text is escaped where it is recorded), so links stay links.
    return [f"{STEP_MARK[incident.step(step).state]} *{step.label}:* {incident.step(step).detail or ''}"
            for step in IncidentStep]


def kickoff_fallback_text(ticket: Ticket) -> str:
    """The notification text for the kickoff message, for clients that cannot show blocks."""
    return f"{ticket.severity} incident for ticket #{ticket.number}"


def invite_failed(failures: list[tuple[str, str]]) -> str:
    """Who could not be invited to the incident channel, and Slack's reason for each."""
    names = ", ".join(f"{user(who)} ({escape(error)})" for who, error in failures)
    return f"⚠️ Could not invite {names}: please add them by hand."


def not_paged_note(commanders_group: str) -> str:
    """The paging step's note when no PagerDuty routing key is set; asks the commanders group to take command."""
    return ("nobody was paged: PAGERDUTY_ROUTING_KEY is not set. "
            f"{usergroup(commanders_group)} please take command.")


def paged_note(severity: str, dedup_key: str) -> str:
    """The paging step's note once on-call was paged, with the alert key to find it in PagerDuty."""
    return f"paged on-call through PagerDuty ({severity}, alert key `{escape(dedup_key)}`)"


def channel_opened_note(channel_id: str, *, reopened: bool = False) -> str:
    """The channel step's note: which incident channel was opened, or re-opened for a new round."""
    return f"re-opened in {channel(channel_id)}" if reopened else f"opened {channel(channel_id)}"


def channel_names_taken(first: str, last: str) -> str:
    """The channel step's failure detail when every candidate incident channel name is already taken."""
    return f"every name from #{first} to #{last} is taken"


def status_page_posted_note(title: str, status: IncidentStatus, *, page_name: str, url: str | None) -> str:
    """The status page step's note: the incident title, its status and a link to the page when there is one."""
    where = link(url, page_name) or escape(page_name)
    return f"posted “{escape(title)}” as {status.label} on {where}"


def step_not_retried(detail: str) -> str:
    """A failed step's detail for failures that retrying would not fix; Retry waits for a person."""
    return f"{detail}; not retried automatically, press Retry once it is fixed"


def given_up_by(by: str) -> str:
    """A step's detail once someone gave up on it."""
    return f"given up by {user(by)}"


def new_commander(by: str) -> str:
    """Announces in the incident channel who now commands the incident and owns customer updates."""
    return f"🎖 {user(by)} is now the incident commander and owns customer updates."


def update_refused(error: str) -> str:
    """Tells the channel the status page refused an update for good; someone must update the page by hand."""
    return (f"⚠️ The status page refused this update: {escape(error)}. "
            "It is not retried automatically: update the page by hand.")


def update_not_taken(error: str) -> str:
    """Tells the channel the status page did not take an update for now; the bot keeps retrying it."""
    return (f"⚠️ The status page did not take this update: {escape(error)}. "
            "The bot retries it with the next tick until it does.")


def nowhere_yet(why: str) -> str:
    """Where a status update went when no status page incident exists yet, with the reason."""
    return f"nowhere yet ({why})"


def page_not_resolved_note(dedup_key: str, error: str, *, retrying: bool) -> str:
    """The resolution note when the PagerDuty alert could not be resolved: still retrying, or resolve by hand."""
    if retrying:
        return (f"⚠️ Could not resolve the PagerDuty alert `{escape(dedup_key)}` yet: {escape(error)}. "
                "The bot keeps trying.")
    return f"⚠️ PagerDuty refused to resolve alert `{escape(dedup_key)}`: {escape(error)}. Resolve it by hand."


def page_resolved_note(dedup_key: str) -> str:
    """The resolution note once the PagerDuty alert was resolved."""
    return f"PagerDuty alert `{escape(dedup_key)}` resolved."


NOBODY_PAGED_NOTE = "Nobody was paged, so there was no alert to resolve."


def kickoff(ticket: Ticket, incident: Incident, *, card_url: str | None, commanders_group: str) -> list[Block]:
    """The incident channel's kickoff: what happened, the customer, what each step did, commander and buttons."""
    links = [link(card_url, f"Ticket card #{ticket.number}") or f"Ticket #{ticket.number}",
             link(incident.statuspage_url, "Status page") or ""]
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
        context(" · ".join(p for p in links if p)),
        section(f"*Commander:* {commander_mention(incident, commanders_group)}"
                + ("" if incident.commander else " until someone presses *Take command*")
                + f"\n*Status page:* {incident.status.label}"),
        actions(button("Take command", Action.TAKE_COMMAND, str(incident.id)),
                button("Post status update", Action.POST_STATUS, str(incident.id), style="primary"),
                button("Escalate to engineering", Action.ESCALATE, str(ticket.number)),
                block_id=f"incident_actions_{incident.id}"),
    ]
    return blocks


def step_failed(incident: Incident, step: IncidentStep, *, next_retry: datetime | None) -> list[Block]:
    """Tells the channel a step failed, when the bot retries (if it does), with Retry and Give up buttons."""
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
    """Tells the channel a failed step succeeded on retry."""
    return [section(f"✅ *{step.label}* done on retry: {incident.step(step).detail or ''}")]


def step_abandoned(incident: Incident, step: IncidentStep, *, by: str) -> list[Block]:
    """Tells the channel who gave up on a step; the bot no longer retries it."""
    return [section(f"✖️ {user(by)} gave up on *{step.label}* for ticket #{incident.ticket_number}. "
                    "The bot will not retry it.")]


def status_update_posted(incident: Incident, *, status: IncidentStatus, message: str, by: str,
                         published_to: str, reason: str | None) -> list[Block]:
    """Records in the channel a published status update: who, which status, the message and where it went."""
    blocks = [section(f"📣 {user(by)} posted a status update: *{status.label}*\n>{escape(message)}")]
    note = f"Published to {published_to}"
    if reason:
        note += f" · moved back from {incident.status.label}: {escape(reason)}"
    blocks.append(context(note))
    return blocks


def status_reminder(incident: Incident, *, now: datetime, commanders_group: str) -> list[Block]:
    """Reminds the commander how long the status page has been silent, with a button to post an update."""
    silent = duration_words(now - incident.last_public_update_at)
    return [
        section(f"⏰ {commander_mention(incident, commanders_group)} the status page has been silent for "
                f"*{silent}*. Last public update ({incident.status.label}, "
                f"{slack_date(incident.last_public_update_at, '{time}')}):\n>{escape(incident.last_public_message)}"),
        actions(button("Post status update", Action.POST_STATUS, str(incident.id), style="primary"),
                block_id=f"reminder_{incident.id}_{int(now.timestamp())}"),
    ]


def resolved(incident: Incident, *, by: str, page_note: str) -> list[Block]:
    """Announces the incident resolved and that status page reminders stopped; the ticket moves to closure."""
    return [
        section(f"✅ *Resolved* by {user(by)} after "
                f"{duration_words(incident.last_public_update_at - incident.opened_at)}."
                f" Status-page reminders have stopped. {page_note}"),
        context(f"Ticket #{incident.ticket_number} moves on to its closure checklist."),
    ]


def status_modal(incident: Incident, *, channel_id: str | None) -> dict[str, Any]:
    """The status update modal: status (current preselected), public message and a reason for moving backwards."""
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
                         "max_length": STATUS_TEXT_MAX}},
            {"type": "input", "block_id": StatusField.REASON.value, "optional": True,
             "label": plain("Reason, if the status moves backwards"),
             "element": {"type": "plain_text_input", "action_id": StatusField.REASON.value,
                         "max_length": STATUS_TEXT_MAX}},
        ],
    }

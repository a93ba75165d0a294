"""The escalation modal, the escalation post in the team channel, and the words of the ladder."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from blocks.ids import Action, Callback, EscalationField
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
    input_block,
    link,
    option,
    plain,
    section,
    slack_date,
    truncate,
    user,
    usergroup,
)
from blocks.ticket_modal import TEXT_MAX, URL_MAX
from bot.domain import Escalation, EscalationState, JiraState, PlanTier, ReproResult, Severity, Ticket

E = EscalationField
IMPACT_MAX = 200
REQUEST_ID_HINT = ("Where to find it: the response headers of the failing request (X-Request-Id), in the "
                   "browser's network tab or the customer's HAR file. Engineers cannot find the request without it.")


@dataclass(frozen=True)
class PostContext:
    """What the escalation post shows beside the round itself: the ticket, the owning team, the links."""

    ticket: Ticket
    team_channel: str
    oncall_usergroup: str
    card_url: str | None
    diagnostic_links: Sequence[tuple[str, str]] = ()
    related_tickets: Sequence[int] = ()
    pagerduty: bool = True


def _input(block: EscalationField, label: str, element: dict[str, Any], *, optional: bool = False,
           hint: str | None = None) -> Block:
    return input_block(block.value, label, element, optional=optional, hint=hint)


def _text(initial: str | None = None, *, multiline: bool = False, max_length: int = TEXT_MAX,
          placeholder: str | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "max_length": max_length}
    if multiline:
        element["multiline"] = True
    if initial:
        element["initial_value"] = truncate(initial, max_length)
    if placeholder:
        element["placeholder"] = plain(placeholder, 150)
    return element


def _select(options: list[dict[str, Any]], initial: str | None, placeholder: str) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "static_select", "options": options, "placeholder": plain(placeholder, 150)}
    chosen = next((o for o in options if o["value"] == initial), None)
    if chosen is not None:
        element["initial_option"] = chosen
    return element


def escalation_modal(ticket: Ticket, *, components: Sequence[str], teams: Sequence[str],
                     channel_id: str | None) -> dict[str, Any]:
    """The escalation modal, prefilled from the ticket; nothing goes out without request ID, Sentry link,
    repro steps and the customer impact."""
    env = ticket.environment
    when: dict[str, Any] = {"type": "datetimepicker"}
    if env.occurred_at is not None:
        when["initial_date_time"] = int(env.occurred_at.timestamp())
    blocks: list[Block] = [
        section(f"Escalating *#{ticket.number}* {escape(ticket.summary)} ({ticket.severity}) to engineering. "
                "Every required field is what an engineer would otherwise come back and ask for."),
        _input(E.CUSTOMER_IMPACT, "Customer impact, in one sentence",
               _text(placeholder="e.g. 40 users cannot download invoices before month-end close",
                     max_length=IMPACT_MAX)),
        _input(E.WORKSPACE_ID, "Customer workspace ID", _text(ticket.workspace_id, max_length=100)),
        _input(E.PLAN_TIER, "Plan tier", _select([option(t.label, t.value) for t in PlanTier],
                                                 ticket.plan_tier.value, "The customer's plan")),
        _input(E.OCCURRED_AT, "When it happened", when, optional=True),
        _input(E.CUSTOMER_TIMEZONE, "Customer's time zone", _text(env.customer_timezone, max_length=64,
                                                                  placeholder="e.g. Europe/Berlin"),
               optional=True),
        _input(E.EXPECTED, "Expected", _text(ticket.expected, multiline=True)),
        _input(E.ACTUAL, "Actual", _text(ticket.what_happened, multiline=True)),
        _input(E.REQUEST_ID, "Request ID", _text(env.request_id, max_length=200, placeholder="X-Request-Id"),
               hint=REQUEST_ID_HINT),
        _input(E.SENTRY_URL, "Sentry link", _text(max_length=URL_MAX, placeholder="https://sentry.io/…/issues/…"),
               hint="The Sentry issue for this error (an http(s) link)"),
        _input(E.REPRO_STEPS, "Reproduction steps", _text(multiline=True,
                                                          placeholder="1. Sign in as … 2. Open … 3. See …")),
        _input(E.REPRO_RESULT, "Reproduction result",
               {"type": "radio_buttons", "options": [option(r.label, r.value) for r in ReproResult]}),
    ]
    if components:
        blocks.append(_input(E.COMPONENT, "Component", _select([option(c, c) for c in components], None,
                                                               "Which part of the product"), optional=True,
                             hint="Names the owning team; otherwise the reported URL decides"))
    if teams:
        blocks.append(_input(E.TEAM, "Team (only when no component or URL names one)",
                             _select([option(t, t) for t in teams], None, "The owning team"), optional=True))
    blocks.append(_input(E.JIRA, "Jira issue", _text(max_length=URL_MAX, placeholder="SUP-123 or its link"),
                         optional=True, hint="Leave empty and the bot creates the issue when Jira is set up"))
    return {
        "type": "modal",
        "callback_id": Callback.ESCALATION_SUBMIT.value,
        "title": plain(f"Escalate #{ticket.number}", 24),
        "submit": plain("Escalate", 24),
        "close": plain("Cancel", 24),
        "private_metadata": json.dumps({"ticket": ticket.number, "channel": channel_id}),
        "blocks": blocks,
    }


def _when(escalation: Escalation) -> str | None:
    facts = escalation.facts
    if facts.occurred_at is None:
        return None
    zone = f" (customer in {escape(facts.customer_timezone)})" if facts.customer_timezone else ""
    return slack_date(facts.occurred_at) + zone


def jira_text(escalation: Escalation) -> str | None:
    """The Jira issue as the post and the card show it: a link, pending, or refused."""
    if escalation.jira_key:
        shown = link(escalation.jira_url, escalation.jira_key) if escalation.jira_url else None
        status = f" · {escape(escalation.jira_status)}" if escalation.jira_status else ""
        return (shown or f"`{escape(escalation.jira_key)}`") + status
    if escalation.jira_state is JiraState.PENDING:
        return "⏳ being created (Jira did not answer yet; retrying)"
    if escalation.jira_state is JiraState.REFUSED:
        return "⚠️ Jira refused to create it (see the thread)"
    return None


def standing(escalation: Escalation, *, now: datetime) -> str:
    """Where the round stands in one line: waiting since when, re-paged, manager called in, acknowledged."""
    if escalation.state is EscalationState.ACKNOWLEDGED and escalation.acknowledged_at is not None:
        who = user(escalation.acknowledged_by) if escalation.acknowledged_by else escape(
            escalation.acknowledged_name or "someone")
        via = " (from Jira)" if escalation.acknowledged_via == "jira" else ""
        return f"✅ Acknowledged by {who} {slack_date(escalation.acknowledged_at, '{time}')}{via}"
    if escalation.state is EscalationState.HANDED_BACK:
        return "↩️ Handed back to support"
    waited = duration_words(max(now - escalation.escalated_at, timedelta(0)))
    parts = [f"⏳ Waiting for acknowledgement since {slack_date(escalation.escalated_at, '{time}')} ({waited})"]
    if escalation.repaged_at:
        parts.append(f"re-paged {slack_date(escalation.repaged_at, '{time}')}")
    if escalation.manager_called_at:
        parts.append(f"manager called in {slack_date(escalation.manager_called_at, '{time}')}")
    return " · ".join(parts)


def escalation_post(escalation: Escalation, where: PostContext, *, now: datetime) -> list[Block]:
    """The hand-off in the team channel: every fact, the impact, Jira and the diagnostic links, and the
    Acknowledge button while it waits."""
    ticket, facts = where.ticket, escalation.facts
    links = [link(facts.sentry_url, "Sentry issue") or escape(facts.sentry_url)]
    links += [shown for name, url in where.diagnostic_links if (shown := link(url, name))]
    if where.card_url and (card := link(where.card_url, f"Ticket #{ticket.number}")):
        links.append(card)
    blocks: list[Block] = [
        header(f"🔺 {ticket.severity} · #{ticket.number} {ticket.summary}"),
        section(f"*Customer impact:* {escape(facts.customer_impact)}"),
        fields(
            ("Customer", f"`{escape(facts.workspace_id)}`"),
            ("Plan tier", facts.plan_tier.label),
            ("When it happened", _when(escalation)),
            ("Request ID", f"`{escape(facts.request_id)}`"),
            ("Component", escape(facts.component) if facts.component else None),
            ("Reproduction", facts.repro_result.label),
            ("Jira", jira_text(escalation)),
            ("Escalated by", user(escalation.escalated_by)),
        ),
        section(f"*Expected*\n{escape(facts.expected)}"),
        section(f"*Actual*\n{escape(facts.actual)}"),
        section(f"*Reproduction steps*\n{escape(facts.repro_steps)}"),
        section("*Links:* " + " · ".join(links)),
    ]
    if where.related_tickets:
        related = ", ".join(f"#{n}" for n in where.related_tickets)
        blocks.append(section(f"🔗 Same Sentry issue as {related}: link them rather than fixing one error twice."))
    if escalation.route_note:
        blocks.append(context(escape(escalation.route_note)))
    problems = [p for p in (escalation.page_problem,) if p]
    if problems:
        blocks.append(context(*(f"⚠️ {escape(p)}" for p in problems)))
    blocks.append(context(standing(escalation, now=now)))
    value = str(escalation.id)
    if escalation.state is EscalationState.WAITING:
        blocks.append(actions(button("Acknowledge", Action.ACKNOWLEDGE, value, style="primary"),
                              block_id=f"escalation_{escalation.id}"))
    elif escalation.state is EscalationState.ACKNOWLEDGED:
        blocks.append(actions(button("Hand back to support", Action.HAND_BACK, value),
                              block_id=f"escalation_{escalation.id}"))
    return blocks


def post_text(escalation: Escalation, where: PostContext, severity: Severity) -> str:
    """The post's notification text: SEV3 mentions the on-call group (SEV1/SEV2 page through PagerDuty)."""
    title = f"Escalation: #{where.ticket.number} {escape(where.ticket.summary)} ({severity})"
    if severity is Severity.SEV3:
        return f"{usergroup(where.oncall_usergroup)} {title}"
    return title


def escalated_note(escalation: Escalation, *, team_channel: str, paged: bool) -> str:
    """Under the ticket card: where the escalation went."""
    how = " and paged the team through PagerDuty" if paged else ""
    return (f"🔺 {user(escalation.escalated_by)} escalated #{escalation.ticket_number} to *{escalation.team}* "
            f"in {channel(team_channel)}{how}. I will tell you here when someone acknowledges.")


def acknowledged_note(escalation: Escalation) -> str:
    """Under the ticket card: who acknowledged."""
    who = user(escalation.acknowledged_by) if escalation.acknowledged_by else escape(
        escalation.acknowledged_name or "someone")
    via = " from Jira" if escalation.acknowledged_via == "jira" else ""
    return f"✅ {who} acknowledged the escalation of #{escalation.ticket_number}{via}."


def not_on_team(team: str, oncall_usergroup: str, manager: str) -> str:
    """Ephemeral, to someone outside the team who pressed Acknowledge."""
    return (f"Only {usergroup(oncall_usergroup)} (on call for *{team}*) or their manager {user(manager)} can "
            "acknowledge this escalation; nothing was changed.")


def jira_ack_refused(person: str, key: str, team: str, oncall_usergroup: str) -> str:
    """In the escalation thread: Jira said someone outside the team started work; the round still waits."""
    return (f"{person} moved {escape(key)} in Jira, but is not in {usergroup(oncall_usergroup)} (on call for "
            f"*{team}*): the escalation still waits for the on-call engineer.")


def repaged_note(escalation: Escalation, *, severity: Severity, oncall_usergroup: str) -> str:
    """In the escalation thread at the first rung: nobody acknowledged within the time, so the team hears again."""
    if severity in (Severity.SEV1, Severity.SEV2):
        return (f"🔁 Not acknowledged yet: re-paged {usergroup(oncall_usergroup)} through PagerDuty "
                "(a new alert, \"Unacknowledged:\").")
    return f"🔁 {usergroup(oncall_usergroup)} not acknowledged yet: who is on call for *{escalation.team}*?"


def manager_note(escalation: Escalation, *, manager: str, waited: timedelta) -> str:
    """At the second rung, in the team channel and the ticket's thread."""
    return (f"📣 {user(manager)} the escalation of #{escalation.ticket_number} has waited "
            f"{duration_words(waited)} without an acknowledgement from *{escalation.team}*.")


def agent_reminder(escalation: Escalation, *, waited: timedelta) -> str:
    """From the third rung on, in the ticket's thread: the agent keeps chasing, never parks the ticket."""
    return (f"⏰ {user(escalation.escalated_by)} the escalation of #{escalation.ticket_number} to "
            f"*{escalation.team}* is still not acknowledged after {duration_words(waited)}. Keep chasing: do not "
            "mark the ticket pending and walk away.")


def post_not_delivered(team: str, team_channel: str, error: str) -> str:
    """Told to the agent when the team channel refused the post; the escalation is recorded and retried."""
    why = {"not_in_channel": "I am not a member of it (invite me with /invite @supportbot)",
           "channel_not_found": "it does not exist or I cannot see it",
           "is_archived": "it is archived"}.get(error, f"Slack said `{escape(error)}`")
    return (f"The escalation to *{team}* is recorded, but I could not post it in {channel(team_channel)}: {why}. "
            "I will keep trying; fix the channel and it goes out.")


def relayed(author: str, text: str, *, where: str) -> str:
    """A message carried between the escalation thread and the card's thread, marked with who wrote it."""
    return f"💬 {user(author)} in {where}:\n{text}"


def already_escalated(escalation: Escalation) -> str:
    """The modal's inline error when the ticket's round is still open."""
    if escalation.state is EscalationState.WAITING:
        return (f"#{escalation.ticket_number} is already escalated to {escalation.team} and waiting for an "
                "acknowledgement; it can be escalated again once that round is handed back")
    return (f"#{escalation.ticket_number} is with {escalation.team} (acknowledged); escalate again after the "
            "engineer hands it back")


def home_section(escalations: Sequence[tuple[Escalation, Ticket]], *, now: datetime) -> list[Block]:
    """The on-call engineer's App Home: escalations waiting on their teams, longest-waiting first."""
    if not escalations:
        return []
    blocks: list[Block] = [header("Escalations waiting on your teams")]
    for escalation, ticket in escalations[:20]:
        waited = duration_words(max(now - escalation.escalated_at, timedelta(0)))
        where = link(f"https://slack.com/archives/{escalation.post_channel}/p{escalation.post_ts.replace('.', '')}",
                     "the post") if escalation.post_channel and escalation.post_ts else None
        blocks.append(section(f"🔺 *{ticket.severity}* · *#{ticket.number}* {escape(ticket.summary)}\n"
                              f"*{escalation.team}* · waiting {waited}" + (f" · {where}" if where else "")))
    return blocks


def handed_back_note(escalation: Escalation, *, by: str) -> str:
    """Under the ticket card: the engineer handed the round back; support may escalate again."""
    return (f"↩️ {user(by)} handed #{escalation.ticket_number} back to support (round {escalation.round}). "
            "Escalate again from the card if it needs engineering once more.")

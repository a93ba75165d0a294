"""The ticket card in the triage channel, the first-touch draft, and the SLA reminders."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from blocks.closure import checklist
from blocks.escalation import home_section, jira_text, standing
from blocks.ids import Action
from blocks.runbook import card_section as runbook_card_section
from blocks.text import (
    Block,
    actions,
    button,
    channel,
    context,
    countdown,
    customer_time,
    divider,
    escape,
    fields,
    header,
    link,
    section,
    slack_date,
    user,
    usergroup,
)
from blocks.text import (
    actor as actor_text,
)
from bot.domain import Closure, Escalation, EscalationState, Severity, Ticket

SEVERITY_MARK = {Severity.SEV1: "🔴", Severity.SEV2: "🟠", Severity.SEV3: "🟡", Severity.SEV4: "⚪"}


_CHANGED_BY = re.compile(r"^(Changed by <@[A-Z0-9]+>: )(.*)$", re.DOTALL)


def reason_text(reason: str) -> str:
    """The mention of who changed it stays live; the words they typed are escaped."""
    match = _CHANGED_BY.match(reason)
    return match.group(1) + escape(match.group(2)) if match else escape(reason)


def card_title(ticket: Ticket) -> str:
    """The ticket's one-line title: severity, number and summary."""
    return f"{ticket.severity} · #{ticket.number} {ticket.summary}"


def card_fallback_text(ticket: Ticket) -> str:
    """The card's notification text, for clients that cannot show blocks."""
    return escape(f"{card_title(ticket)} ({ticket.plan_tier.label}, {ticket.workspace_id})")


def _link(url: str | None) -> str | None:
    return (link(url) or escape(url)) if url else None


def ticket_card(ticket: Ticket, *, now: datetime, incident_channel: str | None = None,
                incident_status: str | None = None, escalation: Escalation | None = None,
                diagnostic_links: Sequence[tuple[str, str]] = (), related: Sequence[int] = (),
                closure: Closure | None = None, runbook_matches: Sequence[tuple[str, str]] = ()) -> list[Block]:
    """The ticket card: the report, first-response state, incident channel, escalation, links and buttons."""
    env = ticket.environment
    blocks: list[Block] = [
        header(f"{SEVERITY_MARK[ticket.severity]} {card_title(ticket)}"),
        section(f"*{ticket.severity}*  ·  {reason_text(ticket.severity_reason)}"),
        *requester_standing(ticket),
        fields(
            ("Customer", f"`{escape(ticket.workspace_id)}`"),
            ("Plan tier", ticket.plan_tier.label),
            ("Requester", escape(ticket.requester_email)),
            ("Filed by", user(ticket.filed_by)),
            ("Category", ticket.category.label if ticket.category else None),
        ),
        section(f"*What happened*\n{escape(ticket.what_happened)}"),
        section(f"*What was expected*\n{escape(ticket.expected)}"),
    ]
    environment = fields(
        ("Browser", escape(env.browser) if env.browser else None),
        ("Operating system", escape(env.os) if env.os else None),
        ("URL or endpoint", _link(env.url)),
        ("When it happened", slack_date(env.occurred_at) if env.occurred_at else None),
        ("Customer's time zone", env.customer_timezone),
        ("Request ID", f"`{escape(env.request_id)}`" if env.request_id else None),
        ("Screenshot / HAR", _link(ticket.attachment_link)),
        ("Help desk", _link(ticket.helpdesk_link)),
    )
    if environment["fields"]:
        blocks.append(environment)
    if ticket.source is not None:
        message = link(ticket.source.link, "a message") or "a message"
        blocks.append(context(f"💬 From {message} in {channel(ticket.source.channel)}"))
    if ticket.first_response_at and ticket.first_response_by:
        blocks.append(context(f"✅ First response sent by {user(ticket.first_response_by)} "
                              f"{slack_date(ticket.first_response_at)}"))
    else:
        blocks.append(context(f"⏱ First response due {slack_date(ticket.first_response_due)} "
                              f"({countdown(ticket.first_response_due, now)})"))
    if incident_channel:
        status = f" · status page: *{incident_status.capitalize()}*" if incident_status else ""
        blocks.append(context(f"🚨 Incident channel {channel(incident_channel)}{status}"))
    if escalation is not None:
        jira = jira_text(escalation)
        where = f" in {channel(escalation.post_channel)}" if escalation.post_channel else ""
        if escalation.post_channel and escalation.post_ts and (post := link(
                f"https://slack.com/archives/{escalation.post_channel}/p{escalation.post_ts.replace('.', '')}",
                "the escalation")):
            where += f" ({post})"
        blocks.append(context(f"🔺 Escalated to *{escalation.team}*{where} (round {escalation.round}) · "
                              + standing(escalation, now=now) + (f" · Jira {jira}" if jira else "")))
    if related:
        blocks.append(context("🔗 Same Sentry issue as " + ", ".join(f"#{n}" for n in related)))
    shown = [s for name, url in diagnostic_links if (s := link(url, name))]
    if shown:
        blocks.append(context("Diagnostics: " + " · ".join(shown)))
    if runbook_matches:  # the runbook entries matching the report (title, one-line hint): Tier 1 looks here first
        blocks.append(runbook_card_section(runbook_matches))
    if closure is not None:
        blocks += checklist(closure, now=now)
    buttons = []
    if closure is not None and closure.closed_at is not None:
        # A closed ticket offers only a look at the customer: nothing about it is left to change.
        blocks.append(actions(button("Customer", Action.CUSTOMER_SHOW, str(ticket.number)),
                              block_id=f"ticket_actions_{ticket.number}"))
        return blocks
    if not ticket.first_response_at:
        buttons.append(button("First response sent", Action.FIRST_RESPONSE, str(ticket.number), style="primary"))
    buttons.append(button("Change severity", Action.CHANGE_SEVERITY, str(ticket.number)))
    buttons.append(button("Customer", Action.CUSTOMER_SHOW, str(ticket.number)))
    if closure is None:
        buttons.append(button("Fix deployed", Action.FIX_DEPLOYED, str(ticket.number)))
        buttons.append(button("Resolve", Action.RESOLVE, str(ticket.number)))
    if escalation is None or escalation.state is EscalationState.HANDED_BACK:
        buttons.append(button("Escalate to engineering", Action.ESCALATE, str(ticket.number)))
    blocks.append(actions(*buttons, block_id=f"ticket_actions_{ticket.number}"))
    return blocks


REQUESTER_STANDING = {
    "verified": "✅ *Verified contact*: the requester is on the customer's authorized contact list.",
    "not_authorized": "⛔ *NOT an authorized contact*: the requester is not on the customer's authorized contact "
                      "list. Verify who they are before discussing the account.",
    "unknown": "❔ *Verification unknown*: the customer endpoint did not answer at filing; treat the requester as "
               "not verified.",
}


def requester_standing(ticket: Ticket) -> list[Block]:
    """The requester's verification, prominent on the card, and what not to share; labels from automation."""
    blocks: list[Block] = []
    if ticket.requester_verification:
        text = REQUESTER_STANDING.get(ticket.requester_verification, REQUESTER_STANDING["unknown"])
        if ticket.share_restricted:
            text += ("\n🔒 HIPAA / SOC 2 customer: do not share account details, and do not confirm or deny "
                     "that an account exists, until the requester is verified.")
        blocks.append(section(text))
    if ticket.labels:
        blocks.append(context("🏷 " + " · ".join(f"`{escape(label)}`" for label in ticket.labels)))
    return blocks


def automation_note(ticket: Ticket, labels: tuple[str, ...]) -> str:
    """Posted in the channel an automation rule names: the ticket, why it is here, and its card."""
    where = link(card_url(ticket), "the ticket card") or f"#{ticket.number} in triage"
    tags = f" ({', '.join(escape(label) for label in labels)})" if labels else ""
    return (f"🏷 {ticket.severity} ticket #{ticket.number}{tags}: {escape(ticket.summary)}. An automation rule "
            f"sends it here as well; see {where}.")


def first_touch_draft(ticket: Ticket, *, next_update: datetime, zone: str) -> str:
    """The words the agent sends the customer: receipt, honest next step, and no promised fix time."""
    if ticket.share_restricted:
        # HIPAA / SOC 2 and an unverified requester: nothing that confirms or denies an account exists.
        return "\n".join([
            "Hi there,", "",
            f"Thank you for getting in touch. We have logged your message as request #{ticket.number}.",
            "To protect the security of the accounts we look after, we can only discuss account details with "
            "an authorized contact. If you are one, please reply from the email address on file, or ask an "
            "administrator of your organization to contact us.",
            f"You will hear from us again by {customer_time(next_update, zone)}.", "", "Best regards,"])
    lines = [
        "Hi there,",
        "",
        f"Thank you for letting us know about “{ticket.summary}”. We have received your report and logged it "
        f"as ticket #{ticket.number}.",
    ]
    if ticket.severity is Severity.SEV1:
        lines.append("We are treating this as an urgent production incident: our on-call engineers are engaged "
                     "now, and we will post progress on our status page as well.")
    else:
        lines.append("Our team is reviewing the details you sent.")
    lines += [
        f"You will hear from us again by {customer_time(next_update, zone)}, sooner if we learn more.",
        "",
        "Best regards,",
    ]
    return "\n".join(lines)


def draft_message(ticket: Ticket, *, next_update: datetime, zone: str) -> list[Block]:
    """Offers the filer a first reply to send the customer, quoted, under the card."""
    quoted = "\n".join(f">{escape(line)}" if line else ">" for line in
                       first_touch_draft(ticket, next_update=next_update, zone=zone).splitlines())
    helpdesk = link(ticket.helpdesk_link, "the help desk conversation")
    # Only a link Slack can't misread is offered; anything else is left out rather than half-escaped.
    where = f" in {helpdesk}" if helpdesk else ""
    return [
        section(f"{user(ticket.filed_by)} here is a first reply to send{where}, then press *First response sent*:"),
        section(quoted),
    ]


def redaction_notice(ticket: Ticket) -> list[Block]:
    """Tells the filer which credentials were removed before storing, and to have them rotated."""
    found = ", ".join(ticket.redactions)
    return [section(f"🔒 {user(ticket.filed_by)} I removed credentials before storing this ticket: {found}. "
                    "Ask the customer to rotate them if they were real.")]


def first_response_reminder(ticket: Ticket, *, now: datetime) -> list[Block]:
    """Reminds the filer in the card's thread that the first response is due soon."""
    return [section(f"⏰ {user(ticket.filed_by)} the first response on #{ticket.number} is due "
                    f"{slack_date(ticket.first_response_due, '{time}')} ({countdown(ticket.first_response_due, now)}). "
                    "Press *First response sent* on the card once the customer has it.")]


def first_response_breach(ticket: Ticket, *, leads_group: str, now: datetime) -> list[Block]:
    """Tells the support leads in triage that a ticket's first-response SLA was breached."""
    return [
        section(f"🚨 {usergroup(leads_group)} first-response SLA breached on *#{ticket.number}* "
                f"({ticket.severity}, {ticket.plan_tier.label}): {escape(ticket.summary)}"),
        context(f"Due {slack_date(ticket.first_response_due)} · {countdown(ticket.first_response_due, now)} · "
                f"filed by {user(ticket.filed_by)}"),
    ]


def severity_changed_note(before: Ticket, after: Ticket, *, actor: str) -> list[Block]:
    """Records under the card who changed the severity, from what to what, and why."""
    return [section(f"{actor_text(actor)} changed the severity from *{before.severity}* to *{after.severity}*: "
                    f"{escape(after.severity_reason.split(': ', 1)[-1])}")]


def home_view(tickets: list[Ticket], *, now: datetime,
              waiting: Sequence[tuple[Escalation, Ticket]] = ()) -> dict[str, object]:
    """The App Home: escalations waiting on the person's teams (on-call engineers), then their open tickets
    with severity and first-response countdowns."""
    blocks: list[Block] = home_section(waiting[:20], now=now)
    if blocks and not tickets:
        blocks.append(divider())
        blocks.append(context(f"Updated {slack_date(now)}"))
        return {"type": "home", "blocks": blocks}
    blocks.append(header("Your open tickets"))
    if not tickets:
        blocks.append(section("You have no open tickets. Type `/ticket` in any channel to file one."))
    for ticket in tickets[:45 - len(blocks)]:
        if ticket.first_response_at:
            sla = "first response sent ✅"
        else:
            left = countdown(ticket.first_response_due, now)
            sla = f"first response {left}" if left.startswith("overdue") else f"first response due {left}"
        blocks.append(section(f"{SEVERITY_MARK[ticket.severity]} *{ticket.severity}* · *#{ticket.number}* "
                              f"{escape(ticket.summary)}\n{ticket.plan_tier.label} · `{escape(ticket.workspace_id)}` "
                              f"· {sla}"))
    blocks.append(divider())
    blocks.append(context(f"Updated {slack_date(now)}"))
    return {"type": "home", "blocks": blocks}


def card_url(ticket: Ticket) -> str | None:
    """Where the ticket lives in Slack: its card's permalink, once the card is posted."""
    if not ticket.card_channel or not ticket.card_ts:
        return None
    return f"https://slack.com/archives/{ticket.card_channel}/p{ticket.card_ts.replace('.', '')}"


def reminder_fallback_text(ticket: Ticket) -> str:
    """The notification text of a first-response reminder."""
    return f"First response on #{ticket.number} is due soon"


def breach_fallback_text(ticket: Ticket) -> str:
    """The notification text of a first-response SLA breach alert."""
    return f"First-response SLA breached on #{ticket.number}"


def card_not_posted(ticket: Ticket, *, channel_id: str, error: str) -> str:
    """Told to the filer when the card could not be posted; the ticket itself is stored."""
    return (f"Ticket #{ticket.number} is saved, but I could not post its card in {channel(channel_id)}: "
            f"Slack said `{escape(error)}`.")


def thread_post_failed(ticket: Ticket, *, what: str, error: str) -> str:
    """Told to the filer when a note under the card could not be posted."""
    return f"I could not post “{what}” under ticket #{ticket.number}: Slack said `{escape(error)}`."


def severity_unchanged(ticket: Ticket) -> str:
    """The change-severity modal's inline error when the chosen impact keeps the severity the ticket has."""
    return f"#{ticket.number} is already {ticket.severity}: choose an impact that changes it, or Cancel"


def ticket_not_saved(why: str) -> str:
    """The intake modal's inline error when filing failed: nothing was stored, and what to do."""
    return f"The ticket was NOT saved: {why}. Your input is still here: press File ticket again."

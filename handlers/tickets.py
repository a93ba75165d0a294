"""`/ticket`, the intake modal, and the buttons on the ticket card."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from blocks.ids import Action, Callback, Command, SeverityField, TicketField
from blocks.ticket_modal import not_allowed_modal, severity_modal, ticket_modal, timezone_options
from bot.core.clock import Clock
from bot.core.errors import TicketNotSaved
from bot.core.formats import TIME_ZONES
from bot.core.views import state_value, text_value, view_metadata
from bot.domain import Impact
from bot.tickets.from_message import message_source
from bot.tickets.intake import TicketForm, severity_errors
from bot.tickets.service import TicketService
from handlers.errors import guarded, refused_inline


def register(app: AsyncApp) -> None:
    """Attaches `/ticket`, the intake and severity modals and the ticket card's buttons to the Bolt app."""
    app.command(Command.TICKET.value)(guarded(open_ticket_modal))
    app.options(TicketField.CUSTOMER_TIMEZONE.value)(guarded(suggest_timezones))
    app.view(Callback.TICKET_SUBMIT.value)(guarded(file_ticket))
    app.action(Action.FIRST_RESPONSE.value)(guarded(mark_first_response))
    app.action(Action.CHANGE_SEVERITY.value)(guarded(open_severity_modal))
    app.view(Callback.SEVERITY_SUBMIT.value)(guarded(change_severity))


async def open_ticket_modal(ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient,
                            tickets: TicketService) -> None:
    """`/ticket`: opens the intake modal for a support agent, or a modal saying who may file tickets."""
    await ack()
    if not await tickets.may_file(command["user_id"]):
        view = not_allowed_modal(group_id=tickets.config.slack.support_agents, action="file tickets")
    else:
        view = ticket_modal(summary=command.get("text", ""), private_metadata={"channel": command.get("channel_id")})
    await client.views_open(trigger_id=command["trigger_id"], view=view)


async def suggest_timezones(ack: AsyncAck, payload: dict[str, Any]) -> None:
    """Options request of the intake's time zone select: IANA zones matching what was typed."""
    await ack(options=timezone_options(payload.get("value", ""), TIME_ZONES))


async def file_ticket(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], tickets: TicketService,
                      clock: Clock) -> None:
    """Intake modal submission: inline field errors, or stores the ticket and posts its card (SEV1: incident)."""
    if await refused_inline(ack, TicketField.SUMMARY.value, tickets.require_agent(body["user"]["id"], "file tickets")):
        return
    form = TicketForm.parse(view, now=clock.now())
    if form.errors:
        await ack(response_action="errors", errors=dict(form.errors))
        return
    metadata = view_metadata(view)
    try:
        filed = await tickets.file(form, filed_by=body["user"]["id"], submission_key=view["id"],
                                   origin_channel=metadata.get("channel"), source=message_source(metadata))
    except TicketNotSaved as exc:
        await ack(response_action="errors", errors={TicketField.SUMMARY.value: exc.user_message})
        return
    await ack()
    await tickets.announce(filed.ticket)


async def mark_first_response(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                              tickets: TicketService) -> None:
    """"First response sent" button: records the first response and stops the SLA reminder and breach alert."""
    await ack()
    await tickets.record_first_response(int(action["value"]), by=body["user"]["id"])


async def open_severity_modal(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient,
                              tickets: TicketService) -> None:
    """"Change severity" button: opens the change-severity modal for a support agent."""
    await ack()
    await tickets.require_agent(body["user"]["id"], "change a ticket's severity")
    ticket = await tickets.get(int(action["value"]))
    await client.views_open(trigger_id=body["trigger_id"], view=severity_modal(
        ticket_number=ticket.number, current=ticket.severity, current_impact=ticket.impact,
        channel_id=(body.get("channel") or {}).get("id")))


async def change_severity(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], tickets: TicketService) -> None:
    """Change-severity modal submission: asks for impact and reason, or re-classifies the ticket."""
    if await refused_inline(ack, SeverityField.REASON.value,
                            tickets.require_agent(body["user"]["id"], "change a ticket's severity")):
        return
    impact = state_value(view, SeverityField.IMPACT.value)
    reason = text_value(view, SeverityField.REASON.value)
    if errors := severity_errors(impact, reason):
        await ack(response_action="errors", errors=errors)
        return
    number = int(view_metadata(view)["ticket"])
    if unchanged := await tickets.severity_unchanged(number, Impact(impact)):
        await ack(response_action="errors", errors={SeverityField.IMPACT.value: unchanged})
        return
    await ack()
    await tickets.change_severity(number, impact=Impact(impact), reason=reason, actor=body["user"]["id"])

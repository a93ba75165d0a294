"""Filing from a message: the "File a ticket" message shortcut, a support agent's :ticket: reaction, and the
button that reaction's offer carries."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from blocks.ids import Action, Shortcut
from blocks.message_ticket import already_filed, offer_target
from blocks.ticket_modal import not_allowed_modal, ticket_modal
from bot.tickets.from_message import FiledAlready, MessageStart, MessageTickets, NotAnAgent, source_metadata
from handlers.errors import guarded


def register(app: AsyncApp) -> None:
    """Attaches the message shortcut, the reaction listener and the offer's button to the Bolt app."""
    app.shortcut(Shortcut.FILE_TICKET.value)(guarded(file_from_shortcut))
    app.action(Action.FILE_FROM_MESSAGE.value)(guarded(file_from_offer))
    app.event("reaction_added")(guarded(offer_for_reaction))


async def file_from_shortcut(ack: AsyncAck, shortcut: dict[str, Any], client: AsyncWebClient,
                             message_tickets: MessageTickets) -> None:
    """"File a ticket" on a message: the prefilled intake modal, or where its ticket already is."""
    await ack()
    user, channel, message = shortcut["user"]["id"], shortcut["channel"]["id"], shortcut["message"]
    start = await message_tickets.start(user, channel=channel, ts=message["ts"], text=message.get("text") or "")
    await _show(start, client, trigger_id=shortcut["trigger_id"], user=user, channel=channel)


async def file_from_offer(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient,
                          message_tickets: MessageTickets) -> None:
    """"File a ticket" on the private offer a :ticket: reaction brought: the same as the shortcut."""
    await ack()
    if (target := offer_target(action.get("value"))) is None:
        return  # no offer of ours carries that value
    user, (channel, ts) = body["user"]["id"], target
    start = await message_tickets.start(user, channel=channel, ts=ts)
    await _show(start, client, trigger_id=body["trigger_id"], user=user, channel=channel)


async def offer_for_reaction(event: dict[str, Any], message_tickets: MessageTickets) -> None:
    """reaction_added: a support agent's :ticket: brings them a private offer; every other reaction is ignored."""
    await message_tickets.offer(event)


async def _show(start: MessageStart, client: AsyncWebClient, *, trigger_id: str, user: str, channel: str) -> None:
    if isinstance(start, NotAnAgent):
        await client.views_open(trigger_id=trigger_id,
                                view=not_allowed_modal(group_id=start.group_id, action="file tickets"))
    elif isinstance(start, FiledAlready):
        await client.chat_postEphemeral(channel=channel, user=user, text=already_filed(start.ticket))
    else:
        prefill = start.prefill
        await client.views_open(trigger_id=trigger_id, view=ticket_modal(
            summary=prefill.summary, workspace_id=prefill.workspace_id, what_happened=prefill.what_happened,
            helpdesk_link=start.source.link, source_channel=start.source.channel, removed=prefill.redactions,
            private_metadata=source_metadata(start.source)))

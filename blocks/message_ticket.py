"""The words around filing a ticket from a Slack message: the offer a :ticket: reaction brings, the note that a
ticket was already filed from the message, and the reply in the message's thread."""

from __future__ import annotations

import json

from blocks.ids import Action
from blocks.text import Block, actions, button, escape, link, section
from blocks.ticket_card import card_url
from bot.domain import Ticket


def offer_value(channel_id: str, ts: str) -> str:
    """The offer button's value: which message it files from."""
    return json.dumps({"channel": channel_id, "ts": ts}, separators=(",", ":"))


def ticket_offer(channel_id: str, ts: str) -> list[Block]:
    """Shown only to the agent who reacted with :ticket:: a reaction cannot open a form, a button can."""
    return [section("🎫 File a ticket from this message? The form opens prefilled from it."),
            actions(button("File a ticket", Action.FILE_FROM_MESSAGE, offer_value(channel_id, ts), style="primary"),
                    block_id="ticket_from_message")]


TICKET_OFFER_TEXT = "File a ticket from this message?"


def _card(ticket: Ticket, label: str) -> str:
    return link(card_url(ticket), label) or label


def already_filed(ticket: Ticket) -> str:
    """Told privately to whoever asks to file from a message that already has its ticket."""
    return f"Ticket #{ticket.number} was filed from this message: see {_card(ticket, 'its card')}."


def already_filed_inline(ticket: Ticket) -> str:
    """The intake modal's inline error when another submission filed this message first (plain text)."""
    where = card_url(ticket)
    return (f"Ticket #{ticket.number} was already filed from this message" + (f": {where}" if where else "")
            + ". Nothing new was saved; press Cancel.")


def filed_reply_text(ticket: Ticket) -> str:
    """The notification text of the reply under the source message."""
    return f"Ticket #{ticket.number} was filed from this message"


def filed_reply(ticket: Ticket) -> list[Block]:
    """The reply in the source message's thread: which ticket, and where its card is."""
    card = link(card_url(ticket), "the ticket card")
    return [section(f"🎫 Ticket #{ticket.number} was filed from this message: {escape(ticket.summary)}"
                    + (f" ({card})" if card else ""))]


def offer_target(value: object) -> tuple[str, str] | None:
    """The (channel, ts) an offer button's value names; None for a value no offer of ours carries."""
    try:
        parsed = json.loads(value) if isinstance(value, str) else None
    except ValueError:
        return None
    if not isinstance(parsed, dict):
        return None
    channel, ts = parsed.get("channel"), parsed.get("ts")
    return (channel, ts) if isinstance(channel, str) and channel and isinstance(ts, str) and ts else None


def message_gone() -> str:
    """Told when the message to file from cannot be read any more."""
    return "I cannot read that message any more (deleted, or I am no longer in the channel): use /ticket instead."

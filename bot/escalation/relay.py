"""One conversation, not two: replies in the escalation post's thread reach the ticket card's thread, and the
agent's replies there reach the escalation thread, each marked with who wrote it.

Only people's new messages are relayed: the bot's own (every relayed copy is one), edits and other subtypes
are not, so nothing is relayed twice round; a message Slack delivers twice is relayed once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from blocks import escalation as words
from blocks.text import channel as channel_link
from blocks.text import section
from bot.core.once import OneTimeSteps
from bot.domain import EscalationState
from storage.repositories import escalations as repo
from storage.repositories import tickets as ticket_repo
from storage.repositories.side_effects import Claim

# A relayed @channel would ping a whole other channel that never asked for it.
_BROADCAST = re.compile(r"<!(channel|here|everyone)(\|[^>]*)?>")


def relayable(event: Mapping[str, Any]) -> bool:
    """A person's new reply in a thread: no subtype (edits, joins, bot messages), no bot."""
    return (event.get("type") == "message" and not event.get("subtype") and not event.get("bot_id")
            and isinstance(event.get("user"), str) and isinstance(event.get("thread_ts"), str)
            and event.get("thread_ts") != event.get("ts") and isinstance(event.get("text"), str))


class ThreadRelay:
    """Carries thread replies between an escalation post and its ticket card."""

    def __init__(self, *, sessions: async_sessionmaker[AsyncSession], slack: AsyncWebClient,
                 once: OneTimeSteps) -> None:
        self._sessions = sessions
        self._slack = slack
        self._once = once

    async def relay(self, event: Mapping[str, Any]) -> bool:
        """Relays the message when it is a reply under an escalation post or an escalated ticket's card; True
        when this call relayed it."""
        if not relayable(event):
            return False
        source, thread, ts = str(event["channel"]), str(event["thread_ts"]), str(event["ts"])
        target = await self._target(source, thread)
        if target is None:
            return False
        to_channel, to_thread = target
        text = words.relayed(str(event["user"]), _BROADCAST.sub(r"@\1", str(event["text"])),
                             where=channel_link(source))

        async def send(_claim: Claim) -> str:
            posted = await self._slack.chat_postMessage(channel=to_channel, thread_ts=to_thread, text=text,
                                                        blocks=[section(text)])
            return str(posted["ts"])

        try:
            return await self._once.perform(f"relay:{source}:{ts}", send) is not None
        except SlackApiError:
            return False

    async def _target(self, channel: str, thread: str) -> tuple[str, str] | None:
        async with self._sessions() as session:
            escalation = await repo.escalation_by_post(session, channel=channel, ts=thread)
            if escalation is not None:
                ticket = await ticket_repo.get_ticket(session, number=escalation.ticket_number)
                if ticket is None or not ticket.card_channel or not ticket.card_ts:
                    return None
                return ticket.card_channel, ticket.card_ts
            ticket = await ticket_repo.ticket_by_card(session, channel=channel, ts=thread)
            if ticket is None:
                return None
            latest = await repo.latest_escalation(session, ticket_number=ticket.number)
        if latest is None or latest.state is EscalationState.HANDED_BACK or not latest.post_channel \
                or not latest.post_ts:
            return None
        return latest.post_channel, latest.post_ts

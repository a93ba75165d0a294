"""The ticket card in triage, which every workflow shares: read the ticket, post its card once, refresh it,
say something under it, and tell the agent who filed it when Slack refuses."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from blocks import ticket_card as cards
from blocks.text import section
from bot.core.clock import Clock
from bot.core.config import BotConfig
from bot.core.errors import UnknownTicket
from bot.domain import Ticket
from storage.repositories import incidents as incident_repo
from storage.repositories import side_effects
from storage.repositories import tickets as repo

log = logging.getLogger(__name__)


def card_key(ticket_number: int) -> str:
    """The one-time side effect of posting the ticket's card."""
    return f"ticket:{ticket_number}:card"


class TicketCard:
    """Reads tickets and keeps their card in the triage channel current; knows nothing of incidents or paging."""

    def __init__(self, *, config: BotConfig, sessions: async_sessionmaker[AsyncSession], slack: AsyncWebClient,
                 clock: Clock) -> None:
        self._config = config
        self._sessions = sessions
        self._slack = slack
        self._clock = clock

    async def get(self, number: int) -> Ticket:
        """The ticket as stored now; UnknownTicket when there is none."""
        async with self._sessions() as session:
            ticket = await repo.get_ticket(session, number=number)
        if ticket is None:
            raise UnknownTicket(f"Ticket #{number} does not exist.")
        return ticket

    async def post(self, ticket: Ticket) -> str | None:
        """Posts the card once however often called (claim, post, complete); the new card's ts, or None when
        it was posted already or Slack refused (the filer is told why)."""
        key = card_key(ticket.number)
        async with self._sessions.begin() as session:
            if not await side_effects.claim_side_effect(session, key=key, now=self._clock.now()):
                return None
        channel = self._config.slack.triage_channel
        try:
            posted = await self._slack.chat_postMessage(
                channel=channel, text=cards.card_fallback_text(ticket),
                blocks=cards.ticket_card(ticket, now=self._clock.now()), unfurl_links=False)
        except SlackApiError as exc:
            async with self._sessions.begin() as session:
                await side_effects.release_side_effect(session, key=key)
            await self.tell_agent(ticket, cards.card_not_posted(ticket, channel_id=channel,
                                                                error=str(exc.response.get("error"))))
            return None
        ts = str(posted["ts"])
        async with self._sessions.begin() as session:
            await repo.record_card_location(session, number=ticket.number, channel=channel, ts=ts)
            await side_effects.complete_side_effect(session, key=key, now=self._clock.now(), result={"ts": ts})
        return ts

    async def refresh(self, number: int) -> None:
        """Redraws the card in place with the ticket's current state and its incident's badge."""
        async with self._sessions() as session:
            ticket = await repo.get_ticket(session, number=number)
            badge = await incident_repo.incident_badge(session, ticket_number=number)
        if ticket is None or not ticket.card_channel or not ticket.card_ts:
            return
        blocks = cards.ticket_card(ticket, now=self._clock.now(),
                                   incident_channel=badge.channel_id if badge else None,
                                   incident_status=badge.status if badge else None)
        try:
            await self._slack.chat_update(channel=ticket.card_channel, ts=ticket.card_ts,
                                          text=cards.card_fallback_text(ticket), blocks=blocks)
        except SlackApiError as exc:
            log.warning("could not update the card of #%s: %s", number, exc.response.get("error"))

    async def say(self, number: int, text: str, blocks: list[Any] | None = None) -> None:
        """Posts under the card (in triage while there is no card yet); the filer hears when Slack refuses."""
        ticket = await self.get(number)
        try:
            await self._slack.chat_postMessage(channel=ticket.card_channel or self._config.slack.triage_channel,
                                               thread_ts=ticket.card_ts, text=text,
                                               blocks=blocks if blocks is not None else [section(text)])
        except SlackApiError as exc:
            await self.tell_agent(ticket, cards.thread_post_failed(ticket, what=text,
                                                                   error=str(exc.response.get("error"))))

    async def tell_agent(self, ticket: Ticket, text: str) -> None:
        """An ephemeral note for the filer, where they filed the ticket or else in triage."""
        async with self._sessions() as session:
            origin = await repo.origin_channel_of(session, number=ticket.number)
        for channel in dict.fromkeys(c for c in (origin, self._config.slack.triage_channel) if c):
            try:
                await self._slack.chat_postEphemeral(channel=channel, user=ticket.filed_by, text=text)
                return
            except SlackApiError as exc:
                log.warning("could not tell the agent in %s: %s", channel, exc.response.get("error"))

"""Announcing a filed ticket: its card, the notes under it and, for SEV2, the page. Each is a one-time step
planned in the ticket's own transaction, so a stop anywhere after the acknowledgement loses none of them: the
recovery sweep resumes the ticket and every step is done exactly once."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncSession

from blocks import ticket_card as cards
from bot.core.clock import Clock
from bot.core.config import BotConfig
from bot.core.once import OneTimeSteps
from bot.domain import Severity, Ticket
from bot.incidents.service import IncidentService
from bot.paging.service import Sev2Pager, page_key
from bot.ticket_card.service import TicketCard, card_key, note_key
from bot.tickets.from_message import SourceThread, source_reply_key
from bot.tickets.sla import next_update_due

DRAFT_NOTE = "draft"
REDACTIONS_NOTE = "redactions"


class Announcer:
    """Posts a ticket's card and its notes and pages for a SEV2, once each; resumes what a stop left."""

    def __init__(self, *, config: BotConfig, clock: Clock, card: TicketCard, pager: Sev2Pager,
                 incidents: IncidentService, once: OneTimeSteps, source: SourceThread | None = None) -> None:
        self._config = config
        self._clock = clock
        self._card = card
        self._pager = pager
        self._incidents = incidents
        self._once = once
        self._source = source

    async def plan(self, session: AsyncSession, ticket: Ticket) -> None:
        """Writes down, with the new ticket, everything announcing it must do."""
        number = ticket.number
        keys = [card_key(number), note_key(number, DRAFT_NOTE)]
        if ticket.redactions:
            keys.append(note_key(number, REDACTIONS_NOTE))
        if ticket.severity is Severity.SEV2:
            keys.append(page_key(number))
        if ticket.source is not None and self._source is not None:
            keys.append(source_reply_key(number))
        await self._once.plan(session, keys, claim=True)  # posted by this process right after the commit

    async def post_card(self, ticket: Ticket, *, planned_only: bool = False) -> tuple[str | None, Ticket]:
        """The card, then the draft reply and the redaction notice under it: the card's ts if this call posted it,
        and the ticket as it now stands. `planned_only`: a resume, doing only what is written down."""
        posted = await self._card.post(ticket, planned_only=planned_only)
        if posted:  # what posting it recorded: no need to read it back
            ticket = replace(ticket, card_channel=self._config.slack.triage_channel, card_ts=posted)
        else:
            ticket = await self._card.get(ticket.number)
        if not ticket.card_ts:
            if not await self._once.pending(card_key(ticket.number)):
                await self._reply_at_source(ticket, planned_only)  # refused: no card to link, but say it was filed
            return None, ticket  # refused, or another attempt is posting it (and its notes)
        zone = ticket.environment.customer_timezone or self._config.business_hours.timezone
        next_update = next_update_due(self._config, severity=ticket.severity, plan=ticket.plan_tier,
                                      now=self._clock.now())
        await self._card.note(ticket.number, DRAFT_NOTE, "Draft first reply",
                              cards.draft_message(ticket, next_update=next_update, zone=zone),
                              planned_only=planned_only, ticket=ticket)
        if ticket.redactions:
            await self._card.note(ticket.number, REDACTIONS_NOTE, "Credentials removed",
                                  cards.redaction_notice(ticket), planned_only=planned_only, ticket=ticket)
        await self._reply_at_source(ticket, planned_only)  # after the card, so the reply links to it
        return posted, ticket

    async def _reply_at_source(self, ticket: Ticket, planned_only: bool) -> None:
        if ticket.source is not None and self._source is not None:
            await self._source.reply(ticket, planned_only=planned_only)

    async def resume(self, number: int) -> None:
        """Finishes what announcing the ticket left undone (the recovery sweep calls this)."""
        ticket = await self._card.get(number)
        posted, _ = await self.post_card(ticket, planned_only=True)
        await self._pager.resume(await self._card.get(number))
        if posted and ticket.severity is Severity.SEV1:
            await self._card.refresh(number)
            await self._incidents.card_posted(number)

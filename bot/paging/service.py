"""Paging on-call for SEV2: one `error` page per ticket, retried with backoff until PagerDuty takes it.
(SEV1 pages as a step of its incident; SEV3 and SEV4 never page.)"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from blocks import paging as words
from blocks.text import section
from bot.core.clock import Clock
from bot.core.config import BotConfig
from bot.core.errors import OutsideServiceError
from bot.core.once import OneTimeSteps
from bot.core.scheduler import retry_delay
from bot.core.timers import schedule
from bot.domain import Severity, Ticket
from bot.integrations.pagerduty import PagerDuty
from bot.paging.page import page_request, sev2_dedup_key
from bot.paging.timers import Sev2PageRetry
from bot.ticket_card.service import TicketCard, note_key
from storage.repositories import audit
from storage.repositories.side_effects import Claim, release_side_effect

PAGE_NOTE = "sev2_page"


def page_key(ticket_number: int) -> str:
    """The one-time side effect of paging on-call for a SEV2 ticket."""
    return f"ticket:{ticket_number}:sev2_page"


class Sev2Pager:
    """Pages on-call once per SEV2 ticket and reports under the ticket card, also across a stop mid-way."""

    def __init__(self, *, config: BotConfig, sessions: async_sessionmaker[AsyncSession], clock: Clock,
                 pagerduty: PagerDuty | None, card: TicketCard, once: OneTimeSteps) -> None:
        self._config = config
        self._sessions = sessions
        self._clock = clock
        self._pagerduty = pagerduty
        self._card = card
        self._once = once

    async def page_for(self, ticket: Ticket, *, failures: int = 0, planned_only: bool = False) -> None:
        """Pages unless paged already or being paged; `failures` is how many attempts failed before. An attempt
        that comes again pages with the same dedup key, which PagerDuty keeps to one alert."""
        key, number = page_key(ticket.number), ticket.number
        request = page_request(ticket, dedup_key=sev2_dedup_key(number),
                               triage_channel=self._config.slack.triage_channel)

        paged_here = False

        async def send(_claim: Claim) -> str | None:
            return None if self._pagerduty is None else (await self._pagerduty.trigger(request)).dedup_key

        async def record(session: AsyncSession, dedup_key: str | None) -> dict[str, Any]:
            nonlocal paged_here
            paged_here = True
            # The note under the card is planned with the page, so a stop between the two cannot lose it; this
            # process posts it next.
            await self._once.plan(session, [note_key(number, PAGE_NOTE)], claim=True)
            if dedup_key is not None:
                await audit.append_audit_event(session, ticket_number=number, action="sev2_paged", actor="supportbot",
                                               at=self._clock.now(), before=None, after={"dedup_key": dedup_key})
            return {"dedup_key": dedup_key}

        try:
            await self._once.perform(key, send, record=record, planned_only=planned_only)
        except OutsideServiceError as exc:
            await self._failed(ticket, key, exc, attempt=failures + 1)
            return
        if paged_here or await self._once.done(key):
            text = words.sev2_paged(sev2_dedup_key(number)) if self._pagerduty else words.sev2_not_paged()
            await self._card.note(number, PAGE_NOTE, text, [section(text)], planned_only=True, ticket=ticket)

    async def resume(self, ticket: Ticket) -> None:
        """Finishes a planned page left by a stopped attempt; a ticket no longer SEV2 is not paged any more."""
        if ticket.severity is Severity.SEV2:
            await self.page_for(ticket, planned_only=True)
        elif not await self._once.done(page_key(ticket.number)):
            await self._once.forget_under(page_key(ticket.number))

    async def _failed(self, ticket: Ticket, key: str, exc: OutsideServiceError, *, attempt: int) -> None:
        now = self._clock.now()
        due = now + retry_delay(attempt)
        async with self._sessions.begin() as session:
            await release_side_effect(session, key=key)
            await audit.append_audit_event(session, ticket_number=ticket.number, action="sev2_page_failed",
                                           actor="supportbot", at=now, before=None, after={"error": str(exc)})
            if exc.retryable:
                await schedule(session, Sev2PageRetry(ticket.number, attempt), due_at=due)
        text = words.page_failed(str(exc), retry_at=due) if exc.retryable else words.page_refused(str(exc))
        await self._card.say(ticket.number, text)

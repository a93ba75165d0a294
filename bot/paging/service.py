"""Paging on-call for SEV2: one `error` page per ticket, retried with backoff until PagerDuty takes it.
(SEV1 pages as a step of its incident; SEV3 and SEV4 never page.)"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from blocks import paging as words
from bot.core.clock import Clock
from bot.core.config import BotConfig
from bot.core.errors import OutsideServiceError
from bot.core.scheduler import retry_delay
from bot.core.timers import schedule
from bot.domain import Ticket
from bot.integrations.pagerduty import PagerDuty
from bot.paging.page import page_request, sev2_dedup_key
from bot.paging.timers import Sev2PageRetry
from bot.ticket_card.service import TicketCard
from storage.repositories import audit, side_effects


class Sev2Pager:
    """Pages on-call once per SEV2 ticket and reports under the ticket card."""

    def __init__(self, *, config: BotConfig, sessions: async_sessionmaker[AsyncSession], clock: Clock,
                 pagerduty: PagerDuty | None, card: TicketCard) -> None:
        self._config = config
        self._sessions = sessions
        self._clock = clock
        self._pagerduty = pagerduty
        self._card = card

    async def page_for(self, ticket: Ticket, *, failures: int = 0) -> None:
        """Pages unless paged already or being paged; `failures` is how many attempts failed before."""
        key = f"ticket:{ticket.number}:sev2_page"
        async with self._sessions.begin() as session:
            if not await side_effects.claim_side_effect(session, key=key, now=self._clock.now()):
                return
        if self._pagerduty is None:
            async with self._sessions.begin() as session:
                await side_effects.complete_side_effect(session, key=key, now=self._clock.now())
            await self._card.say(ticket.number, words.sev2_not_paged())
            return
        request = page_request(ticket, dedup_key=sev2_dedup_key(ticket.number),
                               triage_channel=self._config.slack.triage_channel)
        try:
            result = await self._pagerduty.trigger(request)
        except OutsideServiceError as exc:
            await self._failed(ticket, key, exc, attempt=failures + 1)
            return
        now = self._clock.now()
        async with self._sessions.begin() as session:
            await side_effects.complete_side_effect(session, key=key, now=now, result={"dedup_key": result.dedup_key})
            await audit.append_audit_event(session, ticket_number=ticket.number, action="sev2_paged",
                                           actor="supportbot", at=now, before=None,
                                           after={"dedup_key": result.dedup_key})
        await self._card.say(ticket.number, words.sev2_paged(result.dedup_key))

    async def _failed(self, ticket: Ticket, key: str, exc: OutsideServiceError, *, attempt: int) -> None:
        now = self._clock.now()
        due = now + retry_delay(attempt)
        async with self._sessions.begin() as session:
            await side_effects.release_side_effect(session, key=key)
            await audit.append_audit_event(session, ticket_number=ticket.number, action="sev2_page_failed",
                                           actor="supportbot", at=now, before=None, after={"error": str(exc)})
            if exc.retryable:
                await schedule(session, Sev2PageRetry(ticket.number, attempt), due_at=due)
        text = words.page_failed(str(exc), retry_at=due) if exc.retryable else words.page_refused(str(exc))
        await self._card.say(ticket.number, text)

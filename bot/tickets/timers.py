"""The first-response SLA's deadlines: a reminder at 80 % of the window, the breach at its end."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import ClassVar, Self

from sqlalchemy.ext.asyncio import AsyncSession

from blocks import ticket_card as cards
from bot.core.clock import Clock
from bot.core.config import BotConfig
from bot.core.once import OneTimeSteps
from bot.core.scheduler import BackgroundWork, TimerService
from bot.core.timers import TicketTimerKey, fields, number
from bot.ticket_card.service import TicketCard, note_key
from storage.repositories import audit
from storage.repositories import tickets as repo
from storage.repositories.timers import DueTimer


@dataclass(frozen=True)
class FirstResponseReminder(TicketTimerKey):
    """Remind the filer that the first response is due soon."""

    kind: ClassVar[str] = "first_response_warning"

    def encode(self) -> str:
        """The key's text in the timers table."""
        return f"ticket:{self.ticket}:{self.kind}"

    @classmethod
    def parse(cls, text: str) -> Self:
        """The key back from its text; raises BadTimerKey."""
        ticket, _ = fields(text, "ticket", 2)
        return cls(number(ticket))


@dataclass(frozen=True)
class FirstResponseBreach(FirstResponseReminder):
    """Tell the leads the first-response SLA was breached."""

    kind: ClassVar[str] = "first_response_breach"


FIRST_RESPONSE_KINDS = (FirstResponseReminder.kind, FirstResponseBreach.kind)


class FirstResponseTimers:
    """Posts the reminder in the card's thread and the breach in triage, unless the first response was sent.

    The timer's transaction records that the message is owed (a one-time step) beside the firing; the post
    follows the commit, stamped so an attempt cut short is found in Slack rather than posted twice, and a
    process stopped before posting leaves it to the recovery sweep (`resume`)."""

    def __init__(self, *, config: BotConfig, clock: Clock, card: TicketCard, once: OneTimeSteps,
                 background: BackgroundWork) -> None:
        self._config = config
        self._clock = clock
        self._card = card
        self._once = once
        self._background = background

    def register(self, timers: TimerService) -> None:
        """Hands both kinds to the scheduler."""
        timers.on(FirstResponseReminder, self.fire)
        timers.on(FirstResponseBreach, self.fire)

    async def fire(self, session: AsyncSession, key: FirstResponseReminder, timer: DueTimer) -> None:
        """Records the reminder or the breach as owed, and audits it; nothing once a first response is on record."""
        ticket = await repo.get_ticket(session, number=key.ticket)
        if ticket is None or ticket.first_response_at is not None:
            return
        await self._once.plan(session, [note_key(ticket.number, key.kind)])
        await audit.append_audit_event(session, ticket_number=ticket.number, action=f"{key.kind}_fired",
                                       actor="supportbot", at=self._clock.now(), before=None,
                                       after={"due": ticket.first_response_due.isoformat()})
        self._background.spawn_after_commit(session, functools.partial(self.post, key), f"post {timer.key}")

    async def post(self, key: FirstResponseReminder, *, planned_only: bool = False) -> None:
        """The message, once: the breach in triage for the leads, the reminder under the card for the filer."""
        ticket = await self._card.get(key.ticket)
        now, slack = self._clock.now(), self._config.slack
        if isinstance(key, FirstResponseBreach):
            await self._card.note(ticket.number, key.kind, cards.breach_fallback_text(ticket),
                                  cards.first_response_breach(ticket, leads_group=slack.support_leads, now=now),
                                  planned_only=planned_only, elsewhere=slack.triage_channel)
        else:
            await self._card.note(ticket.number, key.kind, cards.reminder_fallback_text(ticket),
                                  cards.first_response_reminder(ticket, now=now), planned_only=planned_only)

    async def resume(self, number: int) -> None:
        """Posts what a stopped process owed for the ticket's first response (the recovery sweep calls this)."""
        for key in (FirstResponseReminder(number), FirstResponseBreach(number)):
            if await self._once.pending(note_key(number, key.kind)):
                await self.post(key, planned_only=True)

"""The first-response SLA's deadlines: a reminder at 80 % of the window, the breach at its end."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession

from blocks import ticket_card as cards
from bot.core.clock import Clock
from bot.core.config import BotConfig
from bot.core.scheduler import TimerService
from bot.core.timers import TicketTimerKey, fields, number
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
    """Posts the reminder in the card's thread and the breach in triage, unless the first response was sent."""

    def __init__(self, *, config: BotConfig, slack: AsyncWebClient, clock: Clock) -> None:
        self._config = config
        self._slack = slack
        self._clock = clock

    def register(self, timers: TimerService) -> None:
        """Hands both kinds to the scheduler."""
        timers.on(FirstResponseReminder, self.fire)
        timers.on(FirstResponseBreach, self.fire)

    async def fire(self, session: AsyncSession, key: FirstResponseReminder, timer: DueTimer) -> None:
        """Posts the reminder or the breach, and audits it; nothing once a first response is on record."""
        ticket = await repo.get_ticket(session, number=key.ticket)
        if ticket is None or ticket.first_response_at is not None:
            return
        now = self._clock.now()
        slack = self._config.slack
        if isinstance(key, FirstResponseBreach):
            await self._slack.chat_postMessage(
                channel=slack.triage_channel, text=cards.breach_fallback_text(ticket),
                blocks=cards.first_response_breach(ticket, leads_group=slack.support_leads, now=now))
        else:
            await self._slack.chat_postMessage(
                channel=ticket.card_channel or slack.triage_channel, thread_ts=ticket.card_ts,
                text=cards.reminder_fallback_text(ticket), blocks=cards.first_response_reminder(ticket, now=now))
        await audit.append_audit_event(session, ticket_number=ticket.number, action=f"{key.kind}_fired",
                                       actor="supportbot", at=now, before=None,
                                       after={"due": ticket.first_response_due.isoformat()})

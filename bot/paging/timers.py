"""The SEV2 page's retry: attempt N waits longer than attempt N-1, and the key carries N."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Self

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.scheduler import BackgroundWork, TimerService
from bot.core.timers import BadTimerKey, TicketTimerKey, fields, number
from bot.domain import Severity
from storage.repositories import tickets as ticket_repo
from storage.repositories.timers import DueTimer

if TYPE_CHECKING:
    from bot.paging.service import Sev2Pager


@dataclass(frozen=True)
class Sev2PageRetry(TicketTimerKey):
    """Page on-call again for a SEV2 ticket after `attempt` failures."""

    kind: ClassVar[str] = "sev2_page_retry"
    attempt: int

    def encode(self) -> str:
        """The key's text in the timers table."""
        return f"ticket:{self.ticket}:sev2_page:retry:{self.attempt}"

    @classmethod
    def parse(cls, text: str) -> Self:
        """The key back from its text; raises BadTimerKey."""
        ticket, what, retry, attempt = fields(text, "ticket", 4)
        if (what, retry) != ("sev2_page", "retry"):
            raise BadTimerKey(f"{text!r} is not a SEV2 page retry")
        return cls(number(ticket), number(attempt))


class PagingTimers:
    """Starts the SEV2 page's retry beside the tick, so a slow PagerDuty never delays another deadline."""

    def __init__(self, *, pager: Sev2Pager, background: BackgroundWork) -> None:
        self._pager = pager
        self._background = background

    def register(self, timers: TimerService) -> None:
        """Hands the retry kind to the scheduler."""
        timers.on(Sev2PageRetry, self.fire_retry)

    async def fire_retry(self, session: AsyncSession, key: Sev2PageRetry, timer: DueTimer) -> None:
        """Pages again unless the ticket became SEV1 (which pages through its incident) or less."""
        ticket = await ticket_repo.get_ticket(session, number=key.ticket)
        if ticket is not None and ticket.severity is Severity.SEV2:
            self._background.spawn(self._pager.page_for(ticket, failures=key.attempt), f"sev2 page {timer.key}")

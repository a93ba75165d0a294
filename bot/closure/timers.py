"""The closure checklist's reminders, each a durable timer cancelled by its item being done: the customer's
confirmation (after one and two business days), the CSM call (end of the next business day), the enterprise
summary (an hour before the call)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Self

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.scheduler import BackgroundWork, TimerService
from bot.core.timers import BadTimerKey, TicketTimerKey, fields, number
from storage.repositories.timers import DueTimer

if TYPE_CHECKING:
    from bot.closure.service import ClosureService

REMINDERS = ("customer", "csm", "summary")


@dataclass(frozen=True)
class ClosureReminder(TicketTimerKey):
    """Remind the agent in the card's thread about one open item (`which`), the `count`-th time."""

    kind: ClassVar[str] = "closure_reminder"
    which: str
    count: int = 1

    def encode(self) -> str:
        """The key's text in the timers table."""
        return f"ticket:{self.ticket}:closure:{self.which}:{self.count}"

    @classmethod
    def parse(cls, text: str) -> Self:
        """The key back from its text; raises BadTimerKey."""
        ticket, what, which, count = fields(text, "ticket", 4)
        if what != "closure" or which not in REMINDERS:
            raise BadTimerKey(f"{text!r} is not a closure reminder")
        return cls(number(ticket), which, number(count))


class ClosureTimers:
    """Hands the reminders to the scheduler; each says its piece after the timer's transaction commits."""

    def __init__(self, *, closure: ClosureService, background: BackgroundWork) -> None:
        self._closure = closure
        self._background = background

    def register(self, timers: TimerService) -> None:
        """Hands the reminder kind to the scheduler."""
        timers.on(ClosureReminder, self.fire)

    async def fire(self, session: AsyncSession, key: ClosureReminder, timer: DueTimer) -> None:
        """Counts the reminder in the timer's transaction; the message follows the commit."""
        if await self._closure.reminder_due(session, key):
            self._background.spawn_after_commit(session, functools.partial(self._closure.remind, key),
                                                f"closure reminder {timer.key}")

"""The escalation's deadlines: each rung of the acknowledgement ladder, and the retries of its post, page and
Jira issue. Each key says which ticket, which round and which rung or attempt."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Self

from sqlalchemy.ext.asyncio import AsyncSession

from blocks.closure import fix_reminder
from bot.core.scheduler import BackgroundWork, TimerService
from bot.core.timers import BadTimerKey, TicketTimerKey, fields, number
from bot.domain import TicketStatus
from storage.repositories import audit
from storage.repositories import tickets as ticket_repo
from storage.repositories.timers import DueTimer

if TYPE_CHECKING:
    from bot.escalation.delivery import EscalationDelivery
    from bot.escalation.ladder import AcknowledgementLadder
    from bot.ticket_card.service import TicketCard

STEPS = ("post", "page", "jira")


@dataclass(frozen=True)
class LadderRung(TicketTimerKey):
    """Rung `rung` of round `round`'s ladder: 1 re-pages, 2 calls in the manager, 3 and on remind the agent."""

    kind: ClassVar[str] = "escalation_rung"
    round: int
    rung: int

    def encode(self) -> str:
        """The key's text in the timers table."""
        return f"ticket:{self.ticket}:escalation:{self.round}:rung:{self.rung}"

    @classmethod
    def parse(cls, text: str) -> Self:
        """The key back from its text; raises BadTimerKey."""
        ticket, what, round_, rung_word, rung = fields(text, "ticket", 5)
        if (what, rung_word) != ("escalation", "rung"):
            raise BadTimerKey(f"{text!r} is not an escalation rung")
        return cls(number(ticket), number(round_), number(rung))


@dataclass(frozen=True)
class DeliveryRetry(TicketTimerKey):
    """Try one part of round `round`'s delivery again (the post, the page or the Jira issue) after failures."""

    kind: ClassVar[str] = "escalation_retry"
    round: int
    step: str
    attempt: int

    def encode(self) -> str:
        """The key's text in the timers table."""
        return f"ticket:{self.ticket}:escalation:{self.round}:{self.step}:retry:{self.attempt}"

    @classmethod
    def parse(cls, text: str) -> Self:
        """The key back from its text; raises BadTimerKey."""
        ticket, what, round_, step, retry, attempt = fields(text, "ticket", 6)
        if what != "escalation" or retry != "retry" or step not in STEPS:
            raise BadTimerKey(f"{text!r} is not an escalation retry")
        return cls(number(ticket), number(round_), step, number(attempt))


@dataclass(frozen=True)
class FixReminder(TicketTimerKey):
    """One business day after engineering acknowledged round `round`: remind the agent unless a fix (or the
    ticket's resolution) is recorded."""

    kind: ClassVar[str] = "fix_reminder"
    round: int

    def encode(self) -> str:
        """The key's text in the timers table."""
        return f"ticket:{self.ticket}:fix_reminder:{self.round}"

    @classmethod
    def parse(cls, text: str) -> Self:
        """The key back from its text; raises BadTimerKey."""
        ticket, what, round_ = fields(text, "ticket", 3)
        if what != "fix_reminder":
            raise BadTimerKey(f"{text!r} is not a fix reminder")
        return cls(number(ticket), number(round_))


class EscalationTimers:
    """Hands the ladder's rungs and the delivery retries to the scheduler; slow outside calls run beside the
    tick, so a slow PagerDuty never delays another deadline."""

    def __init__(self, *, ladder: AcknowledgementLadder, delivery: EscalationDelivery, card: TicketCard,
                 background: BackgroundWork) -> None:
        self._ladder = ladder
        self._delivery = delivery
        self._card = card
        self._background = background

    def register(self, timers: TimerService) -> None:
        """Hands both kinds to the scheduler."""
        timers.on(LadderRung, self.fire_rung)
        timers.on(DeliveryRetry, self.fire_retry)
        timers.on(FixReminder, self.fire_fix_reminder)

    async def fire_rung(self, session: AsyncSession, key: LadderRung, timer: DueTimer) -> None:
        """Climbs one rung in the timer's own transaction (so it counts once); its messages follow."""
        escalation_id = await self._ladder.climb(session, key)
        if escalation_id is not None:
            self._background.spawn_after_commit(session, functools.partial(self._delivery.resume, escalation_id),
                                                f"escalation rung {timer.key}")

    async def fire_retry(self, session: AsyncSession, key: DeliveryRetry, timer: DueTimer) -> None:
        """Starts the retry beside the tick."""
        self._background.spawn_after_commit(session, functools.partial(self._delivery.retry, key),
                                            f"escalation retry {timer.key}")

    async def fire_fix_reminder(self, session: AsyncSession, key: FixReminder, timer: DueTimer) -> None:
        """Reminds the agent unless a fix was recorded or the ticket was resolved meanwhile."""
        ticket = await ticket_repo.get_ticket(session, number=key.ticket)
        if ticket is None or ticket.status is not TicketStatus.OPEN:
            return
        if await audit.has_event(session, ticket_number=key.ticket, action="fix_deployed"):
            return
        text = fix_reminder(ticket)
        self._background.spawn_after_commit(session, functools.partial(self._card.say, key.ticket, text),
                                            f"fix reminder {timer.key}")

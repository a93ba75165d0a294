"""The acknowledgement ladder: with nobody acknowledging within `[escalation] ack_within`, re-page at 1x, call
in the manager at 2x, then remind the agent once per `ack_within`, until someone acknowledges.

Each rung is a durable timer; climbing it (recording the rung, planning its messages, scheduling the next)
happens in the timer's own transaction, so a rung counts once however often the tick runs, also across a
restart, and never after the acknowledgement.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import Clock
from bot.core.config import BotConfig
from bot.core.once import OneTimeSteps
from bot.core.timers import schedule
from bot.domain import Escalation, EscalationState, Severity
from bot.escalation.steps import rung_step, step_key
from bot.escalation.timers import LadderRung
from storage.repositories import audit
from storage.repositories import escalations as repo
from storage.repositories import tickets as ticket_repo


def rung_due(escalation: Escalation, config: BotConfig, severity: Severity, rung: int) -> datetime:
    """When rung `rung` is due: counted from the escalation, so a late tick never pushes the next one back."""
    return escalation.escalated_at + config.ack_within[severity] * rung


class AcknowledgementLadder:
    """Schedules the first rung with the round and climbs one rung each time a rung's timer fires."""

    def __init__(self, *, config: BotConfig, clock: Clock, once: OneTimeSteps) -> None:
        self._config = config
        self._clock = clock
        self._once = once

    async def start(self, session: AsyncSession, escalation: Escalation, severity: Severity) -> None:
        """Schedules rung 1, in the transaction that stores the round."""
        await schedule(session, LadderRung(escalation.ticket_number, escalation.round, 1),
                       due_at=rung_due(escalation, self._config, severity, 1))

    async def climb(self, session: AsyncSession, key: LadderRung) -> int | None:
        """Records the rung and plans its messages; the round's ID when it climbed, None when the round was
        acknowledged (or handed back) meanwhile."""
        escalation = await repo.escalation_round(session, ticket_number=key.ticket, round_=key.round)
        if escalation is None or escalation.state is not EscalationState.WAITING:
            return None
        ticket = await ticket_repo.get_ticket(session, number=key.ticket)
        if ticket is None:
            return None
        now = self._clock.now()
        if not await repo.record_rung(session, escalation_id=escalation.id, rung=key.rung, at=now):
            return None
        await self._once.plan(session, [step_key(escalation.id, rung_step(key.rung))])
        await schedule(session, LadderRung(key.ticket, key.round, key.rung + 1),
                       due_at=rung_due(escalation, self._config, ticket.severity, key.rung + 1))
        what = {1: "re-paged", 2: "manager called in"}.get(key.rung, "agent reminded")
        await audit.append_audit_event(session, ticket_number=key.ticket, action="escalation_rung",
                                       actor="supportbot", at=now, before=None,
                                       after={"round": key.round, "rung": key.rung, "what": what})
        return escalation.id

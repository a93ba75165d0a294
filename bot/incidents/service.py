"""SEV1 response: page on-call, open #incident-<n>, post the status page, all at once and each exactly once.

Each step claims itself in the database before it runs and records its outcome after, so a
duplicated submission, a second click on Retry or a scheduler retry never doubles a page, a
channel or a status-page incident.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from slack_sdk.errors import SlackApiError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from blocks import incident as blocks
from blocks.text import escape
from bot.core.clock import Clock
from bot.core.config import BotConfig
from bot.core.errors import OutsideServiceError, UnknownTicket
from bot.core.once import attempt_seconds
from bot.core.scheduler import retry_delay
from bot.core.timers import cancel, schedule
from bot.domain import Incident, IncidentStep, StepState, Ticket
from bot.incidents.channel import IncidentChannel
from bot.incidents.public_text import investigating_message, public_title
from bot.incidents.steps import OpeningSteps, StepResult, StepRunner
from bot.incidents.timers import StatusReminder, StepRetry
from bot.ticket_card.service import TicketCard
from storage.repositories import audit, timers
from storage.repositories import incident_steps as step_repo
from storage.repositories import incidents as repo

log = logging.getLogger(__name__)

# The default lease of one attempt at a step ([scheduler] lease). An attempt gives up at three quarters of it,
# which is longer than the slowest step takes with its own retries (Statuspage: 4 tries of 10 s plus waits).
STEP_LEASE = timedelta(seconds=120)


@dataclass(frozen=True)
class PreparedIncident:
    """An incident stored and its steps claimed; running them is all that is left."""

    incident: Incident
    ticket: Ticket
    claimed: tuple[IncidentStep, ...]
    again: bool = False  # the incident existed: its steps may have been attempted before


def reminder_at(incident_id: int, due: datetime) -> StatusReminder:
    """The status reminder due at `due`."""
    return StatusReminder(incident_id, due.isoformat())


class IncidentService:
    """Opens a ticket's incident round and runs, records and retries its opening steps."""

    def __init__(self, *, config: BotConfig, sessions: async_sessionmaker[AsyncSession], clock: Clock,
                 card: TicketCard, channel: IncidentChannel, steps: OpeningSteps) -> None:
        self._config = config
        self._sessions = sessions
        self._clock = clock
        self._card = card
        self.channel = channel
        self._runners: dict[IncidentStep, StepRunner] = steps.runners
        self._lease = config.scheduler_lease

    async def open_for(self, ticket: Ticket, actor: str) -> Incident:
        """Opens (or finds) the ticket's incident and runs whichever steps are not done yet."""
        async with self._sessions.begin() as session:
            prepared = await self.prepare(session, ticket, actor)
        return await self.run_prepared(prepared)

    async def prepare(self, session: AsyncSession, ticket: Ticket, actor: str, *,
                      new_ticket: bool = False) -> PreparedIncident:
        """The database half of opening, inside the caller's transaction (filing a SEV1 uses its own).

        Every statement here stands between the submission and the page, so a ticket filed this moment
        skips the look-up for earlier rounds, and a new incident is written with its steps claimed.
        """
        now = self._clock.now()
        cadence = self._config.incident.status_update_every
        latest = None if new_ticket else await repo.latest_incident(session, ticket_number=ticket.number)
        generation = 1 if latest is None else latest.generation + (1 if latest.resolved_at else 0)
        incident, created = await repo.open_incident_once(
            session, ticket_number=ticket.number, generation=generation, public_title=public_title(ticket),
            message=investigating_message(ticket, cadence_minutes=int(cadence.total_seconds() // 60)), now=now,
            steps=list(self._runners), claim_for=self._lease)
        if created:
            await schedule(session, reminder_at(incident.id, now + cadence), due_at=now + cadence)
            await audit.append_audit_event(session, ticket_number=ticket.number, action="incident_opened",
                                           actor=actor, at=now, before=None,
                                           after={"incident": incident.id, "generation": generation})
            claimed = list(self._runners)  # inserted claimed; one retry covers them all if nobody reports back
            await schedule(session, StepRetry(incident.id, None), due_at=now + self._lease + timedelta(seconds=1))
        else:
            claimed = await self._claim(session, incident.id, list(self._runners))
        return PreparedIncident(incident=incident, ticket=ticket, claimed=tuple(claimed), again=not created)

    async def run_prepared(self, prepared: PreparedIncident) -> Incident:
        """Runs the claimed steps of a prepared incident; the incident as it stands afterwards."""
        await self._run_claimed(prepared.incident, prepared.ticket, list(prepared.claimed), again=prepared.again)
        return await self.get(prepared.incident.id)

    async def card_posted(self, ticket_number: int) -> None:
        """The card exists now: give the kickoff its link."""
        async with self._sessions() as session:
            incident = await repo.latest_incident(session, ticket_number=ticket_number)
        if incident is not None and incident.kickoff_ts:
            await self.channel.update_kickoff(incident, await self._card.get(ticket_number))

    async def get(self, incident_id: int) -> Incident:
        """The incident as stored now; UnknownTicket when there is none."""
        async with self._sessions() as session:
            incident = await repo.get_incident(session, incident_id=incident_id)
        if incident is None:
            raise UnknownTicket(f"Incident {incident_id} does not exist.")
        return incident

    async def in_channel(self, channel_id: str) -> Incident | None:
        """The incident whose channel this is."""
        async with self._sessions() as session:
            return await repo.incident_in_channel(session, channel_id=channel_id)

    async def _claim(self, session: AsyncSession, incident_id: int, steps: list[IncidentStep]) -> list[IncidentStep]:
        now = self._clock.now()
        claimed = [step for step in steps if await step_repo.claim_step(
            session, incident_id=incident_id, step=step, now=now, lease=self._lease)]
        for step in claimed:
            # If this attempt never reports back (a crash, a deploy), the step is retried when its lease ends.
            await self._set_retry(session, incident_id, step, due=now + self._lease + timedelta(seconds=1))
        return claimed

    async def _set_retry(self, session: AsyncSession, incident_id: int, step: IncidentStep, *,
                         due: datetime | None) -> None:
        """Replaces the step's pending retry with one at `due` (none when `due` is None)."""
        key = StepRetry(incident_id, step)
        await cancel(session, key, now=self._clock.now())
        if due is not None:
            await schedule(session, key, due_at=due)

    async def _run_claimed(self, incident: Incident, ticket: Ticket, claimed: list[IncidentStep], *,
                           again: bool) -> None:
        # The outside calls overlap: the slowest API sets the pace, not their sum.
        await asyncio.gather(*(self._run_step(incident, ticket, step, again) for step in claimed))
        await self._follow_up(incident.id, ticket.number, ran=claimed)

    async def _run_step(self, incident: Incident, ticket: Ticket, step: IncidentStep, again: bool) -> None:
        attempt = asyncio.ensure_future(self._attempt(incident, ticket, step, again))
        try:
            result, retry = await asyncio.shield(attempt)
        except asyncio.CancelledError:
            # Told to stop: what already came back (a page's 202) is recorded; a call still out is abandoned
            # and its step is taken up again, looked for first, once its lease ends.
            if attempt.done() and not attempt.cancelled():
                await asyncio.shield(self._record(incident, step, *attempt.result()))
            else:
                attempt.cancel()
            raise
        await asyncio.shield(self._record(incident, step, result, retry))

    async def _attempt(self, incident: Incident, ticket: Ticket, step: IncidentStep,
                       again: bool) -> tuple[StepResult, bool]:
        """The runner's outcome (never raising) and whether a failure is worth retrying by itself."""
        try:
            async with asyncio.timeout(attempt_seconds(self._lease)):  # give up before the lease passes on
                return await self._runners[step](incident, ticket, again), True
        except (OutsideServiceError, SlackApiError, OSError, TimeoutError) as exc:
            result = StepResult(StepState.FAILED, _describe(exc))
            if isinstance(exc, OutsideServiceError) and not exc.retryable:
                # A 400 or 401 will fail the same way again: a person fixes the cause and presses Retry.
                return StepResult(StepState.FAILED, blocks.step_not_retried(result.detail)), False
            return result, True
        except Exception as exc:  # an unexpected failure must still be visible and retried, never lost
            log.exception("incident step %s crashed", step.value)
            return StepResult(StepState.FAILED, f"unexpected error ({type(exc).__name__})"), True

    async def _record(self, incident: Incident, step: IncidentStep, result: StepResult, retry: bool) -> None:
        async with self._sessions.begin() as session:
            failures = await step_repo.record_step(session, incident_id=incident.id, step=step, state=result.state,
                                                   detail=result.detail, made=result.made)
            await audit.append_audit_event(session, ticket_number=incident.ticket_number,
                                           action=f"incident_{step.value}_{result.state.value}", actor="supportbot",
                                           at=self._clock.now(), before=None, after={"detail": result.detail})
            if step is IncidentStep.CHANNEL and result.state is StepState.DONE:
                await self.channel.plan_kickoff(session, incident.id)  # so a stop now cannot lose the kickoff
            if result.state is StepState.FAILED:
                due = self._clock.now() + retry_delay(failures) if retry else None
                if retry:
                    log.warning("incident %s step %s failed (attempt %s): %s", incident.id, step.value, failures,
                                result.detail)
                await self._set_retry(session, incident.id, step, due=due)
            # On success the lease-end retry is left in place: it finds the step done and does nothing,
            # and not touching it keeps the way to "done" short.

    async def _follow_up(self, incident_id: int, ticket_number: int, *, ran: list[IncidentStep]) -> None:
        incident = await self.get(incident_id)
        ticket = await self._card.get(ticket_number)
        kickoff_existed = incident.kickoff_ts is not None
        if incident.channel.state is StepState.DONE and incident.channel_id:
            await self.channel.prepare(incident, ticket)
        incident = await self.get(incident_id)
        for step in ran:
            if incident.step(step).state is StepState.FAILED:
                next_retry = await self._next_retry(incident.id, step)
                await self.channel.say(incident, blocks.step_failed(incident, step, next_retry=next_retry),
                                       f"{step.label} failed")
        if kickoff_existed and ran:
            await self.channel.update_kickoff(incident, ticket)  # a retried step changed what the kickoff reports
        await self._card.refresh(ticket.number)

    async def _next_retry(self, incident_id: int, step: IncidentStep) -> datetime | None:
        key = StepRetry(incident_id, step).encode()
        async with self._sessions() as session:
            pending = [t.due_at for t in await timers.pending_timers(session, incident_id=incident_id)
                       if t.key == key]
        return min(pending) if pending else None

    async def retry_step(self, incident_id: int, step: IncidentStep) -> Incident:
        """Runs the step again unless it is done, given up, or still held by a live attempt (its lease)."""
        before = await self.get(incident_id)
        if before.step(step).state not in (StepState.FAILED, StepState.PENDING, StepState.RUNNING):
            return before
        ticket = await self._card.get(before.ticket_number)
        async with self._sessions.begin() as session:
            claimed = await self._claim(session, incident_id, [step])
        await self._run_claimed(before, ticket, claimed, again=True)
        after = await self.get(incident_id)
        if after.step(step).state is StepState.DONE and before.step(step).state is not StepState.DONE:
            await self.channel.say(after, blocks.step_recovered(after, step), f"{step.label} done on retry")
        return after

    async def stalled_steps(self) -> list[tuple[int, IncidentStep]]:
        """Steps still running past their lease: their attempt stopped without reporting back."""
        async with self._sessions() as session:
            return await step_repo.steps_past_lease(session, now=self._clock.now())

    async def give_up(self, incident_id: int, step: IncidentStep, *, by: str) -> None:
        """Stops retrying a failed step, on a person's word; said in the channel and on the kickoff."""
        async with self._sessions.begin() as session:
            changed = await step_repo.abandon_step(session, incident_id=incident_id, step=step,
                                                   detail=blocks.given_up_by(by))
            if changed:
                await self._set_retry(session, incident_id, step, due=None)
        if changed:
            incident = await self.get(incident_id)
            ticket = await self._card.get(incident.ticket_number)
            await self.channel.say(incident, blocks.step_abandoned(incident, step, by=by), "Step given up")
            await self.channel.update_kickoff(incident, ticket)


def _describe(exc: BaseException) -> str:
    """A failure in words for the channel; vendor text is escaped because it is not ours."""
    if isinstance(exc, SlackApiError):
        text = f"Slack said `{exc.response.get('error')}`"
    elif isinstance(exc, OutsideServiceError):
        text = str(exc)
    else:
        text = f"{type(exc).__name__} ({str(exc)[:120]})" if str(exc) else type(exc).__name__
    return escape(text)

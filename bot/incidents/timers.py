"""The incident's deadlines: step retries, the status-page reminder, and the retries of status-page updates
and of the PagerDuty resolve. Each key carries what it means, the attempt number included."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Self

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.scheduler import BackgroundWork, TimerService
from bot.core.timers import BadTimerKey, IncidentTimerKey, fields, number
from bot.domain import IncidentStep, StepState
from storage.repositories import incidents as repo
from storage.repositories.timers import DueTimer

if TYPE_CHECKING:
    from bot.incidents.service import IncidentService
    from bot.incidents.status_page_sync import StatusPageSync
    from bot.incidents.status_updates import StatusCadence


@dataclass(frozen=True)
class StepRetry(IncidentTimerKey):
    """Run an opening step again. `step=None` is the opening's lease: retry whichever never reported back."""

    kind: ClassVar[str] = "incident_step_retry"
    step: IncidentStep | None

    def encode(self) -> str:
        """The key's text in the timers table."""
        return f"incident:{self.incident}:all:lease" if self.step is None else \
            f"incident:{self.incident}:{self.step.value}:retry"

    @classmethod
    def parse(cls, text: str) -> Self:
        """The key back from its text; raises BadTimerKey."""
        incident, which, _ = fields(text, "incident", 3)
        if which == "all":
            return cls(number(incident), None)
        if which not in IncidentStep._value2member_map_:
            raise BadTimerKey(f"{text!r} names no incident step")
        return cls(number(incident), IncidentStep(which))


@dataclass(frozen=True)
class StatusReminder(IncidentTimerKey):
    """Remind the commander when the status page has been quiet for a cadence. `after` makes each one unique."""

    kind: ClassVar[str] = "status_reminder"
    after: str

    def encode(self) -> str:
        """The key's text in the timers table."""
        return f"incident:{self.incident}:reminder:{self.after}"

    @classmethod
    def parse(cls, text: str) -> Self:
        """The key back from its text; raises BadTimerKey."""
        incident, what, after = fields(text, "incident", 3)
        if what != "reminder":
            raise BadTimerKey(f"{text!r} is not a status reminder")
        return cls(number(incident), after)


@dataclass(frozen=True)
class PublishRetry(IncidentTimerKey):
    """Publish the incident's latest public words again; `attempt` failures so far."""

    kind: ClassVar[str] = "status_publish_retry"
    update: str
    attempt: int

    def encode(self) -> str:
        """The key's text in the timers table."""
        return f"incident:{self.incident}:publish:{self.update}:{self.attempt}"

    @classmethod
    def parse(cls, text: str) -> Self:
        """The key back from its text; raises BadTimerKey."""
        incident, what, rest = fields(text, "incident", 3)
        update, _, attempt = rest.rpartition(":")
        if what != "publish" or not update:
            raise BadTimerKey(f"{text!r} is not a status-page publish retry")
        return cls(number(incident), update, number(attempt))


@dataclass(frozen=True)
class ResolveRetry(IncidentTimerKey):
    """Resolve the incident's PagerDuty alert again; `attempt` failures so far."""

    kind: ClassVar[str] = "page_resolve_retry"
    attempt: int

    def encode(self) -> str:
        """The key's text in the timers table."""
        return f"incident:{self.incident}:page_resolve:{self.attempt}"

    @classmethod
    def parse(cls, text: str) -> Self:
        """The key back from its text; raises BadTimerKey."""
        incident, what, attempt = fields(text, "incident", 3)
        if what != "page_resolve":
            raise BadTimerKey(f"{text!r} is not a PagerDuty resolve retry")
        return cls(number(incident), number(attempt))


class IncidentTimers:
    """Fires the incident's deadlines; vendor calls run beside the tick, so one slow API delays nothing else."""

    def __init__(self, *, incidents: IncidentService, cadence: StatusCadence, sync: StatusPageSync,
                 background: BackgroundWork) -> None:
        self._incidents = incidents
        self._cadence = cadence
        self._sync = sync
        self._background = background

    def register(self, timers: TimerService) -> None:
        """Hands the four kinds, and the sweep over steps left running, to the scheduler."""
        timers.on(StepRetry, self.fire_step_retry)
        timers.on(StatusReminder, self.fire_reminder)
        timers.on(PublishRetry, self.fire_publish_retry)
        timers.on(ResolveRetry, self.fire_resolve_retry)
        timers.sweep(self.sweep_stalled_steps)

    async def sweep_stalled_steps(self) -> int:
        """Retries every step whose attempt stopped without reporting back (its lease ended), at every tick
        and so at once after a restart; how many it started."""
        started = 0
        for incident_id, step in await self._incidents.stalled_steps():
            started += self._background.spawn_unless_running(
                f"retry incident:{incident_id}:{step.value}",
                functools.partial(self._incidents.retry_step, incident_id, step))
        return started

    async def fire_step_retry(self, session: AsyncSession, key: StepRetry, timer: DueTimer) -> None:
        """Retries the step; the opening's lease retries only steps whose attempt never reported back."""
        if key.step is None:
            incident = await repo.get_incident(session, incident_id=key.incident)
            steps = [s for s in IncidentStep if incident and incident.step(s).state is StepState.RUNNING]
        else:
            steps = [key.step]
        # Each step records its own outcome and schedules its next retry, so this timer is done either way.
        for step in steps:
            self._background.spawn(self._incidents.retry_step(key.incident, step), f"retry {timer.key} {step}")

    async def fire_reminder(self, session: AsyncSession, key: StatusReminder, timer: DueTimer) -> None:
        """Reminds the commander inside the timer's transaction, and schedules the next reminder."""
        await self._cadence.remind(session, key.incident, due_at=timer.due_at)

    async def fire_publish_retry(self, session: AsyncSession, key: PublishRetry, timer: DueTimer) -> None:
        """Publishes the latest public words again."""
        self._background.spawn(self._sync.republish(key), f"republish {timer.key}")

    async def fire_resolve_retry(self, session: AsyncSession, key: ResolveRetry, timer: DueTimer) -> None:
        """Resolves the PagerDuty alert again."""
        self._background.spawn(self._sync.retry_resolve(key), f"resolve {timer.key}")

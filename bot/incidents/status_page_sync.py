"""Keeping the outside world in step with the incident: status-page updates and the PagerDuty resolve,
each retried with backoff when the vendor fails, and said plainly when it refuses."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from blocks import incident as words
from blocks.text import section
from bot.core.clock import Clock
from bot.core.errors import OutsideServiceError
from bot.core.plain import plain_text
from bot.core.scheduler import retry_delay
from bot.core.timers import schedule
from bot.domain import Incident, IncidentStep, StatusUpdate
from bot.incidents.channel import IncidentChannel
from bot.incidents.timers import PublishRetry, ResolveRetry
from bot.integrations.pagerduty import PagerDuty
from bot.integrations.statuspage import StatusPublisher
from storage.repositories import incident_steps as step_repo
from storage.repositories import incidents as repo


class StatusPageSync:
    """Publishes status updates to the status page and resolves the page, retrying what may succeed later."""

    def __init__(self, *, sessions: async_sessionmaker[AsyncSession], clock: Clock, channel: IncidentChannel,
                 status_page: StatusPublisher, pagerduty: PagerDuty | None) -> None:
        self._sessions = sessions
        self._clock = clock
        self._channel = channel
        self.status_page = status_page
        self._pagerduty = pagerduty

    async def publish(self, incident: Incident, update: StatusUpdate) -> bool:
        """True when the status page took the update; a retryable failure is retried with the next tick."""
        if not incident.statuspage_incident_id:
            return False  # the opening step has not succeeded yet; its retry posts the current state
        try:
            await self.status_page.update_incident(incident.statuspage_incident_id, status=update.status.value,
                                                   body=plain_text(update.message))
            return True
        except OutsideServiceError as exc:
            if not exc.retryable:
                await self._post(incident, words.update_refused(str(exc)))
                return False
            # The retry is on record before anyone is told it will happen.
            await self._retry_later(PublishRetry(incident.id, update.posted_at.isoformat(), 1), due=self._clock.now())
            await self._post(incident, words.update_not_taken(str(exc)))
            return False

    async def republish(self, key: PublishRetry) -> None:
        """Publishes the incident's latest public words, which include any update that failed before."""
        async with self._sessions() as session:
            incident = await repo.get_incident(session, incident_id=key.incident)
        if incident is None or not incident.statuspage_incident_id:
            return
        try:
            await self.status_page.update_incident(incident.statuspage_incident_id, status=incident.status.value,
                                                   body=plain_text(incident.last_public_message))
        except OutsideServiceError as exc:
            if exc.retryable:
                await self._retry_later(PublishRetry(key.incident, key.update, key.attempt + 1))
            else:
                await self._post(incident, words.update_refused(str(exc)))

    async def resolve_page(self, incident: Incident, *, attempt: int = 0) -> str:
        """Resolves the incident's PagerDuty alert; what happened, in words. A failure is retried with backoff."""
        if not incident.page_dedup_key or self._pagerduty is None:
            return words.NOBODY_PAGED_NOTE
        try:
            await self._pagerduty.resolve(incident.page_dedup_key)
        except OutsideServiceError as exc:
            if exc.retryable:
                await self._retry_later(ResolveRetry(incident.id, attempt + 1))
            return words.page_not_resolved_note(incident.page_dedup_key, str(exc), retrying=exc.retryable)
        async with self._sessions.begin() as session:
            await step_repo.record_step_closed(session, incident_id=incident.id, step=IncidentStep.PAGE,
                                               now=self._clock.now())
        return words.page_resolved_note(incident.page_dedup_key)

    async def retry_resolve(self, key: ResolveRetry) -> None:
        """The resolve again; the channel hears when it finally worked."""
        async with self._sessions() as session:
            incident = await repo.get_incident(session, incident_id=key.incident)
        if incident is None:
            return
        note = await self.resolve_page(incident, attempt=key.attempt)
        if note == words.page_resolved_note(incident.page_dedup_key or ""):
            await self._post(incident, f"✅ {note} (on retry)")

    async def _retry_later(self, key: PublishRetry | ResolveRetry, *, due: datetime | None = None) -> None:
        """Attempt N waits longer than attempt N-1."""
        async with self._sessions.begin() as session:
            await schedule(session, key, due_at=due or self._clock.now() + retry_delay(key.attempt))

    async def _post(self, incident: Incident, text: str) -> None:
        await self._channel.say(incident, [section(text)], text)

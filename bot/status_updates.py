"""The status cadence: commanders publish Investigating → Identified → Monitoring → Resolved, and the bot
reminds them whenever the public page has been quiet for `[incident] status_update_every`."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from blocks import incident as blocks
from blocks.ids import StatusField
from blocks.text import escape, section
from bot.clock import Clock
from bot.config import BotConfig
from bot.directory import Directory
from bot.domain import Incident, IncidentStatus, StatusUpdate
from bot.errors import NotAllowed, OutsideServiceError
from bot.incidents import STATUS_REMINDER, IncidentService, reminder_key
from bot.public_text import leak_problem
from bot.scheduler import retry_delay
from bot.tickets import TicketService
from storage.repositories import audit, timers
from storage.repositories import incidents as repo

log = logging.getLogger(__name__)

PUBLISH_RETRY = "status_publish_retry"
PAGE_RESOLVE_RETRY = "page_resolve_retry"


@dataclass(frozen=True)
class StatusDraft:
    status: IncidentStatus | None
    message: str
    reason: str | None


def status_errors(draft: StatusDraft, incident: Incident, *, leak: str | None) -> dict[str, str]:
    """Inline errors for the status modal; empty when the update may be published."""
    errors: dict[str, str] = {}
    if draft.status is None:
        errors[StatusField.STATUS.value] = "Choose the status customers will see"
    if not draft.message.strip():
        errors[StatusField.MESSAGE.value] = "Write what customers should know"
    elif leak:
        errors[StatusField.MESSAGE.value] = leak
    if draft.status is not None and draft.status.order < incident.status.order and not draft.reason:
        errors[StatusField.REASON.value] = (f"Moving back from {incident.status.label} to {draft.status.label}: "
                                            "say why")
    return errors


class StatusCadence:
    def __init__(self, *, config: BotConfig, sessions: async_sessionmaker[AsyncSession], slack: AsyncWebClient,
                 directory: Directory, clock: Clock, incidents: IncidentService, tickets: TicketService) -> None:
        self.config = config
        self._sessions = sessions
        self._slack = slack
        self._directory = directory
        self._clock = clock
        self._incidents = incidents
        self._tickets = tickets

    async def incident_in_channel(self, channel_id: str) -> Incident | None:
        async with self._sessions() as session:
            return await repo.incident_in_channel(session, channel_id=channel_id)

    async def require_commander(self, incident: Incident, user_id: str) -> None:
        if user_id == incident.commander:
            return
        if not await self._directory.is_member(user_id, self.config.slack.incident_commanders):
            who = f"<@{incident.commander}> (the commander)" if incident.commander else "the commander"
            raise NotAllowed(f"Only {who} and members of <!subteam^{self.config.slack.incident_commanders}> can "
                             "post status updates: customers read them. Ask in this channel instead.")

    async def take_command(self, incident_id: int, user_id: str) -> Incident:
        incident = await self._incidents.get(incident_id)
        now = self._clock.now()
        async with self._sessions.begin() as session:
            previous = await repo.take_command(session, incident_id=incident_id, user_id=user_id)
            await audit.append_audit_event(session, ticket_number=incident.ticket_number, action="command_taken",
                                           actor=user_id, at=now, before={"commander": previous},
                                           after={"commander": user_id})
        incident = await self._incidents.get(incident_id)
        if incident.channel_id:
            await self._post(incident, f"🎖 <@{user_id}> is now the incident commander and owns customer updates.")
        return incident

    async def check(self, incident_id: int, draft: StatusDraft) -> dict[str, str]:
        incident = await self._incidents.get(incident_id)
        ticket = await self._tickets.get(incident.ticket_number)
        return status_errors(draft, incident, leak=leak_problem(draft.message, ticket=ticket))

    async def publish(self, incident_id: int, draft: StatusDraft, *, by: str, submission_key: str) -> Incident:
        """Records the update once, then tells the status page, the channel, the topic and the card."""
        assert draft.status is not None
        before = await self._incidents.get(incident_id)
        if before.status is IncidentStatus.RESOLVED and draft.status is not IncidentStatus.RESOLVED:
            # Re-opened: a new round pages again under a new dedup_key and opens a new public incident.
            reopened = await self._incidents.open_for(await self._tickets.get(before.ticket_number), by)
            incident_id, before = reopened.id, reopened
        now = self._clock.now()
        update = StatusUpdate(incident_id=incident_id, status=draft.status, message=draft.message.strip(),
                              posted_by=by, posted_at=now, reason=draft.reason)
        async with self._sessions.begin() as session:
            if not await repo.record_status_update(session, update_=update, submission_key=submission_key):
                return before  # the same modal submitted twice
            await timers.cancel_timers(session, now=now, kinds=[STATUS_REMINDER], incident_id=incident_id)
            if draft.status is not IncidentStatus.RESOLVED:
                due = now + self.config.incident.status_update_every
                # Keyed by the update itself: a cancelled reminder with the same due time must not block this one.
                await timers.schedule_timer(session, key=f"incident:{incident_id}:reminder:after:{submission_key}",
                                            kind=STATUS_REMINDER,
                                            due_at=due, incident_id=incident_id)
            await audit.append_audit_event(session, ticket_number=before.ticket_number, action="status_update",
                                           actor=by, at=now, before={"status": before.status.value},
                                           after={"status": draft.status.value, "reason": draft.reason})
        published = await self._publish_to_page(before, update)
        incident = await self._incidents.get(incident_id)
        ticket = await self._tickets.get(incident.ticket_number)
        where = self._incidents.status_page.name if published else f"nowhere yet ({published_note(before)})"
        await self._post_blocks(incident, blocks.status_update_posted(
            before, status=draft.status, message=update.message, by=by, published_to=where,
            reason=draft.reason if draft.status.order < before.status.order else None), "Status update")
        if incident.channel_id:
            try:
                await self._slack.conversations_setTopic(channel=incident.channel_id,
                                                         topic=blocks.channel_topic(ticket, incident))
            except SlackApiError as exc:
                log.warning("could not update the topic: %s", exc.response.get("error"))
        await self._incidents.update_kickoff(incident, ticket)
        await self._tickets.refresh_card(ticket.number)
        if draft.status is IncidentStatus.RESOLVED:
            await self._resolve(incident, by=by)
        return incident

    async def _publish_to_page(self, incident: Incident, update: StatusUpdate) -> bool:
        if not incident.statuspage_incident_id:
            return False  # the opening step has not succeeded yet; its retry posts the current state
        try:
            await self._incidents.status_page.update_incident(incident.statuspage_incident_id,
                                                              status=update.status.value, body=update.message)
            return True
        except OutsideServiceError as exc:
            if not exc.retryable:
                await self._post(incident, f"⚠️ The status page refused this update: {escape(str(exc))}. "
                                           "It is not retried automatically: update the page by hand.")
                return False
            # The retry is on record before anyone is told it will happen.
            await self._retry_later(incident.id, f"incident:{incident.id}:publish:{update.posted_at.isoformat()}",
                                    PUBLISH_RETRY, attempt=1, due=self._clock.now())
            await self._post(incident, f"⚠️ The status page did not take this update: {escape(str(exc))}. "
                                       "The bot retries it with the next tick until it does.")
            return False

    async def _retry_later(self, incident_id: int, base_key: str, kind: str, *, attempt: int,
                           due: datetime | None = None) -> None:
        """A vendor call to try again: attempt N waits longer than attempt N-1 (the key ends in N)."""
        async with self._sessions.begin() as session:
            await timers.schedule_timer(session, key=f"{base_key}:{attempt}", kind=kind,
                                        due_at=due or self._clock.now() + retry_delay(attempt),
                                        incident_id=incident_id)

    async def fire_publish_retry(self, session: AsyncSession, timer: timers.DueTimer) -> None:
        assert timer.incident_id is not None
        base_key, _, attempt = timer.key.rpartition(":")
        self._incidents.background.spawn(self._republish(timer.incident_id, base_key, int(attempt)),
                                         f"republish {timer.key}")

    async def _republish(self, incident_id: int, base_key: str, attempt: int) -> None:
        """Publishes the incident's latest public words, which include any update that failed before."""
        incident = await self._incidents.get(incident_id)
        if not incident.statuspage_incident_id:
            return
        try:
            await self._incidents.status_page.update_incident(incident.statuspage_incident_id,
                                                              status=incident.status.value,
                                                              body=incident.last_public_message)
        except OutsideServiceError as exc:
            if exc.retryable:
                await self._retry_later(incident_id, base_key, PUBLISH_RETRY, attempt=attempt + 1)
            else:
                await self._post(incident, f"⚠️ The status page refused the update: {escape(str(exc))}. "
                                           "It is not retried automatically: update the page by hand.")

    async def _resolve(self, incident: Incident, *, by: str) -> None:
        note = "Nobody was paged, so there was no alert to resolve."
        if incident.page_dedup_key and self._incidents.pagerduty is not None:
            note = await self._resolve_page(incident, attempt=0)
        await self._post_blocks(incident, blocks.resolved(incident, by=by, page_note=note), "Incident resolved")
        async with self._sessions.begin() as session:
            await audit.append_audit_event(session, ticket_number=incident.ticket_number, action="closure_pending",
                                           actor="supportbot", at=self._clock.now(), before=None,
                                           after={"incident": incident.id, "page": note})

    async def _resolve_page(self, incident: Incident, *, attempt: int) -> str:
        """Resolves the incident's PagerDuty alert; a failure is retried with backoff until it works."""
        assert incident.page_dedup_key and self._incidents.pagerduty is not None
        try:
            await self._incidents.pagerduty.resolve(incident.page_dedup_key)
        except OutsideServiceError as exc:
            if not exc.retryable:
                return (f"⚠️ PagerDuty refused to resolve alert `{incident.page_dedup_key}`: {escape(str(exc))}. "
                        "Resolve it by hand.")
            await self._retry_later(incident.id, f"incident:{incident.id}:page_resolve", PAGE_RESOLVE_RETRY,
                                    attempt=attempt + 1)
            return (f"⚠️ Could not resolve the PagerDuty alert `{incident.page_dedup_key}` yet: "
                    f"{escape(str(exc))}. The bot keeps trying.")
        async with self._sessions.begin() as session:
            await repo.record_page_resolved(session, incident_id=incident.id, now=self._clock.now())
        return f"PagerDuty alert `{incident.page_dedup_key}` resolved."

    async def fire_resolve_retry(self, session: AsyncSession, timer: timers.DueTimer) -> None:
        assert timer.incident_id is not None
        attempt = int(timer.key.rpartition(":")[2])

        async def retry() -> None:
            incident = await self._incidents.get(timer.incident_id or 0)
            note = await self._resolve_page(incident, attempt=attempt)
            if note.startswith("PagerDuty alert"):
                await self._post(incident, f"✅ {note} (on retry)")

        self._incidents.background.spawn(retry(), f"resolve {timer.key}")

    async def fire_reminder(self, session: AsyncSession, timer: timers.DueTimer) -> None:
        assert timer.incident_id is not None
        incident = await repo.get_incident(session, incident_id=timer.incident_id)
        if incident is None or incident.status is IncidentStatus.RESOLVED:
            return
        cadence = self.config.incident.status_update_every
        now = self._clock.now()
        if incident.last_public_update_at + cadence > now:
            return  # an update arrived after this timer was set; its own reminder is already scheduled
        await self._post_blocks(incident, blocks.status_reminder(
            incident, now=now, commanders_group=self.config.slack.incident_commanders), "Status page reminder")
        following = timer.due_at + cadence
        while following <= now:  # after downtime, remind once now and keep the rhythm, not a burst
            following += cadence
        await timers.schedule_timer(session, key=reminder_key(incident.id, following), kind=STATUS_REMINDER,
                                    due_at=following, incident_id=incident.id)
        await audit.append_audit_event(session, ticket_number=incident.ticket_number, action="status_reminder",
                                       actor="supportbot", at=now, before=None,
                                       after={"silent_since": incident.last_public_update_at.isoformat()})

    async def _post(self, incident: Incident, text: str) -> None:
        await self._post_blocks(incident, [section(text)], text)

    async def _post_blocks(self, incident: Incident, message: list[dict[str, object]], text: str) -> None:
        ticket = await self._tickets.get(incident.ticket_number)
        await self._incidents.say(incident, ticket, message, text)


def published_note(incident: Incident) -> str:
    return incident.statuspage.detail or "the status-page incident is not open yet"


"""The status cadence: commanders publish Investigating → Identified → Monitoring → Resolved, and the bot
reminds them whenever the public page has been quiet for `[incident] status_update_every`."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from blocks import closure as closure_words
from blocks import incident as blocks
from blocks.ids import StatusField
from blocks.incident import STATUS_TEXT_MAX
from blocks.refusals import BROKEN_CHARACTERS, CommanderAction, commanders_only, too_long
from blocks.text import section
from bot.core.clock import Clock
from bot.core.config import BotConfig
from bot.core.errors import NotAllowed
from bot.core.redaction import redact
from bot.core.slack import Directory
from bot.core.timers import schedule
from bot.core.views import has_broken_characters
from bot.domain import Incident, IncidentStatus, StatusUpdate
from bot.incidents.channel import IncidentChannel
from bot.incidents.public_text import leak_problem
from bot.incidents.service import IncidentService, PreparedIncident, reminder_at
from bot.incidents.status_page_sync import StatusPageSync
from bot.incidents.timers import StatusReminder
from bot.ticket_card.service import TicketCard
from storage.repositories import audit, timers
from storage.repositories import incidents as repo

log = logging.getLogger(__name__)
# Clicks racing on one incident settle in a round or two; past that, the latest state stands.
CHANGE_ATTEMPTS = 3

@dataclass(frozen=True)
class StatusDraft:
    """What the status modal asks to publish."""

    status: IncidentStatus | None
    message: str
    reason: str | None


class _AlreadyRecorded(Exception):
    """The same modal was submitted twice."""


@dataclass(frozen=True)
class RecordedUpdate:
    """A status update stored and not yet announced; `reopened` when it re-opened a resolved incident."""

    before: Incident
    update: StatusUpdate
    reopened: PreparedIncident | None


def status_errors(draft: StatusDraft, incident: Incident, *, leak: str | None) -> dict[str, str]:
    """Inline errors for the status modal; empty when the update may be published."""
    errors: dict[str, str] = {}
    if draft.status is None:
        errors[StatusField.STATUS.value] = "Choose the status customers will see"
    if not draft.message.strip():
        errors[StatusField.MESSAGE.value] = "Write what customers should know"
    elif len(draft.message) > STATUS_TEXT_MAX:
        errors[StatusField.MESSAGE.value] = too_long(STATUS_TEXT_MAX, len(draft.message))
    elif has_broken_characters(draft.message):
        errors[StatusField.MESSAGE.value] = BROKEN_CHARACTERS
    elif leak:
        errors[StatusField.MESSAGE.value] = leak
    if draft.reason and (has_broken_characters(draft.reason) or len(draft.reason) > STATUS_TEXT_MAX):
        errors[StatusField.REASON.value] = (BROKEN_CHARACTERS if has_broken_characters(draft.reason)
                                            else too_long(STATUS_TEXT_MAX, len(draft.reason)))
    elif draft.status is not None and draft.status.order < incident.status.order and not draft.reason:
        errors[StatusField.REASON.value] = (f"Moving back from {incident.status.label} to {draft.status.label}: "
                                            "say why")
    return errors


class StatusCadence:
    """Commanders publish status updates in order; the bot reminds them when the public page goes quiet."""

    def __init__(self, *, config: BotConfig, sessions: async_sessionmaker[AsyncSession], directory: Directory,
                 clock: Clock, incidents: IncidentService, channel: IncidentChannel, card: TicketCard,
                 sync: StatusPageSync) -> None:
        self._config = config
        self._sessions = sessions
        self._directory = directory
        self._clock = clock
        self._incidents = incidents
        self._channel = channel
        self._card = card
        self._sync = sync

    async def require_commander(self, incident: Incident, user_id: str, action: CommanderAction) -> None:
        """NotAllowed, naming the action, unless the user is the commander or one of the incident commanders."""
        if user_id == incident.commander:
            return
        group = self._config.slack.incident_commanders
        if not await self._directory.is_member(user_id, group):
            raise NotAllowed(commanders_only(incident.commander, group, action))

    async def take_command(self, incident_id: int, user_id: str) -> Incident:
        """Makes the user the commander, audited and said in the channel once, however often it is pressed."""
        for _ in range(CHANGE_ATTEMPTS):
            incident = await self._incidents.get(incident_id)
            if incident.commander == user_id:
                return incident  # already theirs (a double click, or a second press): nothing to say
            async with self._sessions.begin() as session:
                if not await repo.hand_over_command(session, incident_id=incident_id, expected=incident.commander,
                                                    to=user_id):
                    continue  # someone else took command in between: look again
                await audit.append_audit_event(session, ticket_number=incident.ticket_number,
                                               action="command_taken", actor=user_id, at=self._clock.now(),
                                               before={"commander": incident.commander},
                                               after={"commander": user_id})
            incident = await self._incidents.get(incident_id)
            if incident.channel_id:
                await self._post(incident, blocks.new_commander(user_id))
            return incident
        return await self._incidents.get(incident_id)

    async def check(self, incident_id: int, draft: StatusDraft) -> dict[str, str]:
        """Inline errors for the draft, leaks of internal details included; empty when it may be published."""
        incident = await self._incidents.get(incident_id)
        ticket = await self._card.get(incident.ticket_number)
        return status_errors(draft, incident, leak=leak_problem(draft.message, ticket=ticket))

    async def record(self, incident_id: int, draft: StatusDraft, *, by: str,
                     submission_key: str) -> RecordedUpdate | None:
        """Records the update once, before the modal closes, so the next submission is checked against it.

        None when the same modal was submitted twice. A resolved incident moved back re-opens: a new round
        pages again under a new dedup_key and opens a new public incident (announce runs its steps).
        """
        before = await self._incidents.get(incident_id)
        try:
            return await self._record(before, draft, by=by, submission_key=submission_key)
        except _AlreadyRecorded:
            return None

    async def _record(self, before: Incident, draft: StatusDraft, *, by: str, submission_key: str) -> RecordedUpdate:
        assert draft.status is not None
        now = self._clock.now()
        async with self._sessions.begin() as session:
            reopened = None
            if before.status is IncidentStatus.RESOLVED and draft.status is not IncidentStatus.RESOLVED:
                reopened = await self._incidents.prepare(session, await self._card.get(before.ticket_number), by)
                before = reopened.incident
            # One redaction before storage, audit and the channel: the reason is internal, so it is cleaned
            # rather than refused; the public message was refused for any credential before it got here.
            reason = redact(draft.reason).text if draft.reason else None
            update = StatusUpdate(incident_id=before.id, status=draft.status,
                                  message=redact(draft.message.strip()).text, posted_by=by, posted_at=now,
                                  reason=reason)
            if not await repo.record_status_update(session, update_=update, submission_key=submission_key):
                raise _AlreadyRecorded  # rolls back a re-opening prepared for the duplicate
            await timers.cancel_timers(session, now=now, kinds=[StatusReminder.kind], incident_id=before.id)
            if draft.status is not IncidentStatus.RESOLVED:
                # Keyed by the update itself: a cancelled reminder with the same due time must not block this one.
                await schedule(session, StatusReminder(before.id, f"after:{submission_key}"),
                               due_at=now + self._config.incident.status_update_every)
            await audit.append_audit_event(session, ticket_number=before.ticket_number, action="status_update",
                                           actor=by, at=now, before={"status": before.status.value},
                                           after={"status": draft.status.value, "reason": reason})
        return RecordedUpdate(before=before, update=update, reopened=reopened)

    async def announce(self, recorded: RecordedUpdate | None) -> Incident | None:
        """Tells the status page, the channel, the topic and the card about a recorded update."""
        if recorded is None:
            return None
        before, update = recorded.before, recorded.update
        if recorded.reopened is not None:
            # The new round's steps ran just now; its status before this update is still the recorded one.
            before = replace(before, steps=(await self._incidents.run_prepared(recorded.reopened)).steps)
        published = await self._sync.publish(before, update)
        incident = await self._incidents.get(before.id)
        ticket = await self._card.get(incident.ticket_number)
        where = self._sync.status_page.name if published else blocks.nowhere_yet(published_note(before))
        await self._channel.say(incident, blocks.status_update_posted(
            before, status=update.status, message=update.message, by=update.posted_by, published_to=where,
            reason=update.reason if update.status.order < before.status.order else None), "Status update")
        await self._channel.set_topic(incident, ticket)
        await self._channel.update_kickoff(incident, ticket)
        await self._card.refresh(ticket.number)
        if update.status is IncidentStatus.RESOLVED:
            await self._resolve(incident, by=update.posted_by)
        return incident

    async def _resolve(self, incident: Incident, *, by: str) -> None:
        note = await self._sync.resolve_page(incident)
        await self._channel.say(incident, blocks.resolved(incident, by=by, page_note=note), "Incident resolved")
        async with self._sessions.begin() as session:
            await audit.append_audit_event(session, ticket_number=incident.ticket_number, action="closure_pending",
                                           actor="supportbot", at=self._clock.now(), before=None,
                                           after={"incident": incident.id, "page": note})
        await self._card.say(incident.ticket_number, "Incident resolved: open the closure checklist",
                             closure_words.incident_resolved_prompt(incident.ticket_number))

    async def remind(self, session: AsyncSession, incident_id: int, *, due_at: datetime) -> None:
        """Reminds the commander if the page has been quiet for a cadence, and schedules the next reminder."""
        incident = await repo.get_incident(session, incident_id=incident_id)
        if incident is None or incident.status is IncidentStatus.RESOLVED:
            return
        cadence = self._config.incident.status_update_every
        now = self._clock.now()
        if incident.last_public_update_at + cadence > now:
            return  # an update arrived after this timer was set; its own reminder is already scheduled
        await self._channel.say(incident, blocks.status_reminder(
            incident, now=now, commanders_group=self._config.slack.incident_commanders), "Status page reminder")
        following = due_at + cadence
        while following <= now:  # after downtime, remind once now and keep the rhythm, not a burst
            following += cadence
        await schedule(session, reminder_at(incident.id, following), due_at=following)
        await audit.append_audit_event(session, ticket_number=incident.ticket_number, action="status_reminder",
                                       actor="supportbot", at=now, before=None,
                                       after={"silent_since": incident.last_public_update_at.isoformat()})

    async def _post(self, incident: Incident, text: str) -> None:
        await self._channel.say(incident, [section(text)], text)


def published_note(incident: Incident) -> str:
    """Why an update went nowhere yet: what the status-page step last said."""
    return incident.statuspage.detail or "the status-page incident is not open yet"

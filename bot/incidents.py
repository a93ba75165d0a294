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
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from blocks import incident as blocks
from blocks.text import escape
from bot.clock import Clock
from bot.config import BotConfig
from bot.directory import Directory
from bot.domain import Incident, IncidentStep, StepState, Ticket
from bot.errors import OutsideServiceError, UnknownTicket
from bot.integrations.pagerduty import PagerDuty
from bot.integrations.statuspage import PublicIncidentDraft, StatusPublisher
from bot.paging import card_url, page_request
from bot.public_text import investigating_message, public_title
from bot.scheduler import BackgroundWork, retry_delay
from bot.tickets import TicketService
from storage.repositories import audit, side_effects, timers
from storage.repositories import incidents as repo

log = logging.getLogger(__name__)

STEP_RETRY = "incident_step_retry"
STATUS_REMINDER = "status_reminder"
# Longer than the slowest step can take with its own retries (Statuspage: 4 tries of 10 s plus waits).
STEP_LEASE = timedelta(seconds=120)
MAX_NAME_SUFFIX = 20


@dataclass(frozen=True)
class PreparedIncident:
    """An incident stored and its steps claimed; running them is all that is left."""

    incident: Incident
    ticket: Ticket
    claimed: tuple[IncidentStep, ...]


def dedup_key(incident: Incident) -> str:
    return f"supportbot-ticket-{incident.ticket_number}-{incident.generation}"


def reminder_key(incident_id: int, due: datetime) -> str:
    return f"incident:{incident_id}:reminder:{due.isoformat()}"


class IncidentService:
    def __init__(self, *, config: BotConfig, sessions: async_sessionmaker[AsyncSession], slack: AsyncWebClient,
                 directory: Directory, clock: Clock, tickets: TicketService, pagerduty: PagerDuty | None,
                 status_page: StatusPublisher, background: BackgroundWork) -> None:
        self.background = background
        self.config = config
        self._sessions = sessions
        self._slack = slack
        self._directory = directory
        self._clock = clock
        self._tickets = tickets
        self.pagerduty = pagerduty
        self.status_page = status_page

    # Opening ----------------------------------------------------------------------------------------

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
        cadence = self.config.incident.status_update_every
        latest = None if new_ticket else await repo.latest_incident(session, ticket_number=ticket.number)
        generation = 1 if latest is None else latest.generation + (1 if latest.resolved_at else 0)
        incident, created = await repo.open_incident_once(
            session, ticket_number=ticket.number, generation=generation, public_title=public_title(ticket),
            message=investigating_message(ticket, cadence_minutes=int(cadence.total_seconds() // 60)), now=now,
            claim_for=STEP_LEASE)
        if created:
            await timers.schedule_timer(session, key=reminder_key(incident.id, now + cadence),
                                        kind=STATUS_REMINDER, due_at=now + cadence, incident_id=incident.id)
            await audit.append_audit_event(session, ticket_number=ticket.number, action="incident_opened",
                                           actor=actor, at=now, before=None,
                                           after={"incident": incident.id, "generation": generation})
        if created:
            claimed = list(IncidentStep)  # inserted claimed; one retry covers them all if nobody reports back
            await timers.schedule_timer(session, key=f"incident:{incident.id}:all:lease", kind=STEP_RETRY,
                                        due_at=now + STEP_LEASE + timedelta(seconds=1), incident_id=incident.id)
        else:
            claimed = await self._claim(session, incident.id, list(IncidentStep))
        return PreparedIncident(incident=incident, ticket=ticket, claimed=tuple(claimed))

    async def run_prepared(self, prepared: PreparedIncident) -> Incident:
        await self._run_claimed(prepared.incident, prepared.ticket, list(prepared.claimed))
        return await self.get(prepared.incident.id)

    async def card_posted(self, ticket_number: int) -> None:
        """The card exists now: give the kickoff its link."""
        async with self._sessions() as session:
            incident = await repo.latest_incident(session, ticket_number=ticket_number)
        if incident is not None and incident.kickoff_ts:
            await self.update_kickoff(incident, await self._tickets.get(ticket_number))

    async def get(self, incident_id: int) -> Incident:
        async with self._sessions() as session:
            incident = await repo.get_incident(session, incident_id=incident_id)
        if incident is None:
            raise UnknownTicket(f"Incident {incident_id} does not exist.")
        return incident

    async def run_steps(self, incident_id: int, only: IncidentStep | None = None) -> None:
        incident = await self.get(incident_id)
        ticket = await self._tickets.get(incident.ticket_number)
        async with self._sessions.begin() as session:
            claimed = await self._claim(session, incident_id, [only] if only else list(IncidentStep))
        await self._run_claimed(incident, ticket, claimed)

    async def _claim(self, session: AsyncSession, incident_id: int, steps: list[IncidentStep]) -> list[IncidentStep]:
        now = self._clock.now()
        claimed = [step for step in steps if await repo.claim_step(
            session, incident_id=incident_id, step=step, now=now, lease=STEP_LEASE)]
        for step in claimed:
            # If this attempt never reports back (a crash, a deploy), the step is retried when its lease ends.
            await self._set_retry(session, incident_id, step, due=now + STEP_LEASE + timedelta(seconds=1))
        return claimed

    async def _set_retry(self, session: AsyncSession, incident_id: int, step: IncidentStep, *,
                         due: datetime | None) -> None:
        """Replaces the step's pending retry with one at `due` (none when `due` is None)."""
        prefix = f"incident:{incident_id}:{step.value}:"
        await timers.cancel_timers(session, now=self._clock.now(), kinds=[STEP_RETRY], incident_id=incident_id,
                                   key_prefix=prefix)
        if due is not None:
            await timers.schedule_timer(session, key=f"{prefix}retry:{due.isoformat()}", kind=STEP_RETRY,
                                        due_at=due, incident_id=incident_id)

    async def _run_claimed(self, incident: Incident, ticket: Ticket, claimed: list[IncidentStep]) -> None:
        runners = {IncidentStep.PAGE: self._page, IncidentStep.CHANNEL: self._open_channel,
                   IncidentStep.STATUSPAGE: self._post_status_page}
        # The three outside calls overlap: the slowest API sets the pace, not their sum.
        await asyncio.gather(*(self._run_step(incident, ticket, s, runners[s]) for s in claimed))
        await self._follow_up(incident.id, ticket, ran=claimed)

    async def _run_step(self, incident: Incident, ticket: Ticket, step: IncidentStep, runner: Any) -> None:
        retry = True
        try:
            state, detail, values = await runner(incident, ticket)
        except (OutsideServiceError, SlackApiError, OSError, TimeoutError) as exc:
            state, detail, values = StepState.FAILED, _describe(exc), {}
            if isinstance(exc, OutsideServiceError) and not exc.retryable:
                # A 400 or 401 will fail the same way again: a person fixes the cause and presses Retry.
                retry, detail = False, f"{detail}; not retried automatically, press Retry once it is fixed"
        except Exception as exc:  # an unexpected failure must still be visible and retried, never lost
            log.exception("incident step %s crashed", step.value)
            state, detail, values = StepState.FAILED, f"unexpected error ({type(exc).__name__})", {}
        async with self._sessions.begin() as session:
            await repo.record_step(session, incident_id=incident.id, step=step, state=state, detail=detail, **values)
            await audit.append_audit_event(session, ticket_number=incident.ticket_number,
                                           action=f"incident_{step.value}_{state.value}", actor="supportbot",
                                           at=self._clock.now(), before=None, after={"detail": detail})
            if state is StepState.FAILED:
                due = None
                if retry:
                    failures = len([e for e in await audit.audit_trail(session, ticket_number=incident.ticket_number)
                                    if e.action == f"incident_{step.value}_failed"])
                    due = self._clock.now() + retry_delay(failures)
                    log.warning("incident %s step %s failed (attempt %s): %s", incident.id, step.value, failures,
                                detail)
                await self._set_retry(session, incident.id, step, due=due)
            # On success the lease-end retry is left in place: it finds the step done and does nothing,
            # and not touching it keeps the way to "done" short.

    async def _page(self, incident: Incident, ticket: Ticket) -> tuple[StepState, str, dict[str, Any]]:
        if self.pagerduty is None:
            return (StepState.SKIPPED, "nobody was paged: PAGERDUTY_ROUTING_KEY is not set. "
                    f"<!subteam^{self.config.slack.incident_commanders}> please take command.", {})
        page = page_request(ticket, dedup_key=dedup_key(incident), triage_channel=self.config.slack.triage_channel)
        result = await self.pagerduty.trigger(page)
        return StepState.DONE, f"paged on-call through PagerDuty ({page.severity}, alert key `{result.dedup_key}`)", {
            "page_dedup_key": result.dedup_key}

    async def _open_channel(self, incident: Incident, ticket: Ticket) -> tuple[StepState, str, dict[str, Any]]:
        if incident.generation > 1:
            async with self._sessions() as session:
                earlier = await repo.incident_of_generation(session, ticket_number=ticket.number,
                                                            generation=incident.generation - 1)
            if earlier and earlier.channel_id:
                return StepState.DONE, f"re-opened in <#{earlier.channel_id}>", {
                    "channel_id": earlier.channel_id, "channel_name": earlier.channel_name}
        base = f"{self.config.incident.channel_prefix}{ticket.number}"
        for suffix in range(1, MAX_NAME_SUFFIX + 1):
            name = base if suffix == 1 else f"{base}-{suffix}"
            try:
                created = await self._slack.conversations_create(name=name, is_private=False)
            except SlackApiError as exc:
                if exc.response.get("error") == "name_taken":
                    continue  # someone else's channel: never post into it
                raise
            channel = created["channel"]
            return StepState.DONE, f"opened <#{channel['id']}>", {"channel_id": channel["id"],
                                                                   "channel_name": channel["name"]}
        return StepState.FAILED, f"every name from #{base} to #{base}-{MAX_NAME_SUFFIX} is taken", {}

    async def _post_status_page(self, incident: Incident, ticket: Ticket) -> tuple[StepState, str, dict[str, Any]]:
        current = incident  # read just before the claim (run_steps) or just created (prepare)
        draft = PublicIncidentDraft(name=current.public_title, status=current.status.value,
                                    body=current.last_public_message)
        # A recorded outcome means an earlier attempt ran, and its create may have landed unseen.
        published = await self.status_page.open_incident(draft, idempotency_key=dedup_key(incident),
                                                         maybe_exists=current.statuspage.detail is not None)
        latest = await self.get(incident.id)
        if (latest.status, latest.last_public_message) != (current.status, current.last_public_message):
            # The commander posted while the page was being opened: that update had nowhere to go yet.
            await self.status_page.update_incident(published.id, status=latest.status.value,
                                                   body=latest.last_public_message)
        where = f"<{published.url}|{self.status_page.name}>" if published.url else self.status_page.name
        return StepState.DONE, f"posted “{current.public_title}” as {current.status.label} on {where}", {
            "statuspage_incident_id": published.id, "statuspage_url": published.url}

    # After the steps ----------------------------------------------------------------------------------

    async def _follow_up(self, incident_id: int, ticket: Ticket, *, ran: list[IncidentStep]) -> None:
        incident = await self.get(incident_id)
        ticket = await self._tickets.get(ticket.number)
        kickoff_existed = incident.kickoff_ts is not None
        if incident.channel.state is StepState.DONE and incident.channel_id:
            await self._prepare_channel(incident, ticket)
        incident = await self.get(incident_id)
        for step in ran:
            if incident.step(step).state is StepState.FAILED:
                next_retry = await self._next_retry(incident.id, step)
                await self.say(incident, ticket, blocks.step_failed(incident, step, next_retry=next_retry),
                               f"{step.label} failed")
        if kickoff_existed and ran:
            await self.update_kickoff(incident, ticket)  # a retried step changed what the kickoff reports
        await self._tickets.refresh_card(ticket.number)

    async def _next_retry(self, incident_id: int, step: IncidentStep) -> datetime | None:
        prefix = f"incident:{incident_id}:{step.value}:"
        async with self._sessions() as session:
            pending = [t.due_at for t in await timers.pending_timers(session, incident_id=incident_id)
                       if t.kind == STEP_RETRY and t.key.startswith(prefix)]
        return min(pending) if pending else None

    async def _prepare_channel(self, incident: Incident, ticket: Ticket) -> None:
        """Topic, invitations and the kickoff message, each once; a failed invite never loses the channel."""
        assert incident.channel_id
        key = f"incident:{incident.id}:kickoff"
        async with self._sessions.begin() as session:
            if not await side_effects.claim_side_effect(session, key=key, now=self._clock.now()):
                return
        await self._set_topic(incident, ticket)
        invite_note = await self._invite(incident, ticket)
        text = f"{ticket.severity} incident for ticket #{ticket.number}"
        try:
            message = blocks.kickoff(ticket, incident, card_url=card_url(ticket),
                                     commanders_group=self.config.slack.incident_commanders)
            posted = await self._slack.chat_postMessage(channel=incident.channel_id, text=text, blocks=message)
        except SlackApiError:
            async with self._sessions.begin() as session:
                await side_effects.release_side_effect(session, key=key)
            raise
        async with self._sessions.begin() as session:
            await repo.record_kickoff(session, incident_id=incident.id, ts=str(posted["ts"]))
            await side_effects.complete_side_effect(session, key=key, now=self._clock.now())
        if invite_note:
            await self._slack.chat_postMessage(channel=incident.channel_id, text=invite_note)

    async def _set_topic(self, incident: Incident, ticket: Ticket) -> None:
        if not incident.channel_id:
            return
        try:
            await self._slack.conversations_setTopic(channel=incident.channel_id,
                                                     topic=blocks.channel_topic(ticket, incident))
        except SlackApiError as exc:
            log.warning("could not set the topic of %s: %s", incident.channel_name, exc.response.get("error"))

    async def _invite(self, incident: Incident, ticket: Ticket) -> str | None:
        assert incident.channel_id
        try:
            commanders = await self._directory.members(self.config.slack.incident_commanders)
        except SlackApiError as exc:
            commanders = frozenset()
            log.warning("could not list incident commanders: %s", exc.response.get("error"))
        wanted = [ticket.filed_by, *sorted(commanders - {ticket.filed_by})]
        failed: list[str] = []
        try:
            await self._slack.conversations_invite(channel=incident.channel_id, users=",".join(wanted))
            return None
        except SlackApiError as exc:
            # One bad user fails the whole batch: invite one by one to learn who.
            log.info("batch invite to %s failed (%s); inviting one by one", incident.channel_name,
                     exc.response.get("error"))
        for user_id in wanted:
            try:
                await self._slack.conversations_invite(channel=incident.channel_id, users=user_id)
            except SlackApiError as exc:
                if exc.response.get("error") != "already_in_channel":
                    failed.append(f"<@{user_id}> ({exc.response.get('error')})")
        return f"⚠️ Could not invite {', '.join(failed)}: please add them by hand." if failed else None

    async def update_kickoff(self, incident: Incident, ticket: Ticket) -> None:
        if not incident.channel_id or not incident.kickoff_ts:
            return
        try:
            await self._slack.chat_update(channel=incident.channel_id, ts=incident.kickoff_ts,
                                          text=f"{ticket.severity} incident for ticket #{ticket.number}",
                                          blocks=blocks.kickoff(ticket, incident, card_url=card_url(ticket),
                                                                commanders_group=self.config.slack.incident_commanders))
        except SlackApiError as exc:
            log.warning("could not update the kickoff: %s", exc.response.get("error"))

    async def say(self, incident: Incident, ticket: Ticket, message: list[Any], text: str) -> None:
        """Posts in the incident channel, or under the ticket card when there is no channel yet."""
        channel = incident.channel_id if incident.channel.state is StepState.DONE else None
        thread = None
        if channel is None:
            channel, thread = ticket.card_channel or self.config.slack.triage_channel, ticket.card_ts
        try:
            await self._slack.chat_postMessage(channel=channel, thread_ts=thread, text=text, blocks=message)
        except SlackApiError as exc:
            log.warning("could not post %r: %s", text, exc.response.get("error"))

    # Retries ------------------------------------------------------------------------------------------

    async def retry_step(self, incident_id: int, step: IncidentStep, *, by: str | None) -> Incident:
        """Runs the step again unless it is done, given up, or still held by a live attempt (its lease)."""
        before = await self.get(incident_id)
        if before.step(step).state not in (StepState.FAILED, StepState.PENDING, StepState.RUNNING):
            return before
        await self.run_steps(incident_id, only=step)
        after = await self.get(incident_id)
        ticket = await self._tickets.get(after.ticket_number)
        if after.step(step).state is StepState.DONE and before.step(step).state is not StepState.DONE:
            await self.say(after, ticket, blocks.step_recovered(after, step), f"{step.label} done on retry")
        return after

    async def give_up(self, incident_id: int, step: IncidentStep, *, by: str) -> None:
        async with self._sessions.begin() as session:
            changed = await repo.abandon_step(session, incident_id=incident_id, step=step,
                                              detail=f"given up by <@{by}>")
            if changed:
                await self._set_retry(session, incident_id, step, due=None)
        if changed:
            incident = await self.get(incident_id)
            ticket = await self._tickets.get(incident.ticket_number)
            await self.say(incident, ticket, blocks.step_abandoned(incident, step, by=by), "Step given up")
            await self.update_kickoff(incident, ticket)

    async def fire_step_retry(self, session: AsyncSession, timer: timers.DueTimer) -> None:
        assert timer.incident_id is not None
        which = timer.key.split(":")[2]
        if which == "all":  # the opening's lease ended: only steps whose attempt never reported back
            incident = await repo.get_incident(session, incident_id=timer.incident_id)
            steps = [s for s in IncidentStep if incident and incident.step(s).state is StepState.RUNNING]
        else:
            steps = [IncidentStep(which)]
        # Each step records its own outcome and schedules its next retry, so this timer is done either way;
        # the outside calls run beside the tick, not inside it.
        for step in steps:
            self.background.spawn(self.retry_step(timer.incident_id, step, by=None), f"retry {timer.key} {step}")


def _describe(exc: BaseException) -> str:
    """A failure in words for the channel; vendor text is escaped because it is not ours."""
    if isinstance(exc, SlackApiError):
        text = f"Slack said `{exc.response.get('error')}`"
    elif isinstance(exc, OutsideServiceError):
        text = str(exc)
    else:
        text = f"{type(exc).__name__} ({str(exc)[:120]})" if str(exc) else type(exc).__name__
    return escape(text)

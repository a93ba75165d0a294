"""The ticket workflow: file once, announce once, watch the first-response SLA, change severity."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Protocol

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from blocks import ticket_card as cards
from bot.classification import classify, reclassify
from bot.clock import Clock
from bot.config import BotConfig
from bot.directory import Directory
from bot.domain import Impact, Severity, Ticket
from bot.errors import NotAllowed, TicketNotSaved, UnknownTicket
from bot.intake import TicketForm
from bot.redaction import redact
from bot.sla import first_response, next_update_due
from storage.repositories import audit, side_effects, timers
from storage.repositories import incidents as incident_repo
from storage.repositories import tickets as repo

log = logging.getLogger(__name__)

WARNING = "first_response_warning"
BREACH = "first_response_breach"
# Filing must finish inside Slack's 3-second window so the modal can still show an error.
SAVE_TIMEOUT_SECONDS = 2.0
_NOT_SAVED = ("The ticket was NOT saved: the database did not answer. Your input is still here: press "
              "File ticket again.")


class _SaveAbandoned(Exception):
    """Raised inside a save that outlived its timeout, so its transaction rolls back."""


class Sev2Paging(Protocol):
    async def page_for(self, ticket: Ticket) -> None: ...


class IncidentOpener(Protocol):
    async def open_for(self, ticket: Ticket, actor: str) -> object: ...

    async def prepare(self, session: AsyncSession, ticket: Ticket, actor: str, *, new_ticket: bool = False) -> Any: ...

    async def run_prepared(self, prepared: Any) -> object: ...

    async def card_posted(self, ticket_number: int) -> None: ...


@dataclass(frozen=True)
class FiledTicket:
    ticket: Ticket
    created: bool
    incident: Any = None  # a SEV1's incident, prepared in the filing transaction


def _audit_view(ticket: Ticket) -> dict[str, Any]:
    return {"severity": ticket.severity.value, "impact": ticket.impact.value, "plan_tier": ticket.plan_tier.value,
            "first_response_due": ticket.first_response_due.isoformat(), "status": ticket.status.value}


class TicketService:
    def __init__(self, *, config: BotConfig, sessions: async_sessionmaker[AsyncSession], slack: AsyncWebClient,
                 directory: Directory, clock: Clock) -> None:
        self.config = config
        self._sessions = sessions
        self._slack = slack
        self._directory = directory
        self._clock = clock
        self._abandoned_saves: set[asyncio.Future[FiledTicket]] = set()
        self._opening: dict[int, asyncio.Future[object]] = {}
        # Set at composition: a ticket that becomes SEV1 opens an incident at once.
        self.incidents: IncidentOpener | None = None
        self.pager: Sev2Paging | None = None

    async def drain(self) -> None:
        """Lets background work (SEV1 openings, abandoned saves) finish, 5 s at most, before the database closes."""
        pending: list[asyncio.Future[Any]] = [*self._opening.values(), *self._abandoned_saves]
        if pending:
            await asyncio.wait(pending, timeout=5.0)

    async def may_file(self, user_id: str) -> bool:
        return await self._directory.is_member(user_id, self.config.slack.support_agents)

    async def file(self, form: TicketForm, *, filed_by: str, submission_key: str,
                   origin_channel: str | None) -> FiledTicket:
        draft = self._draft(form, filed_by=filed_by, origin_channel=origin_channel)
        abandoned = asyncio.Event()
        saving = asyncio.ensure_future(self._store(draft, submission_key, abandoned))
        # asyncio.wait, not wait_for: a write stuck on a database lock cannot be cancelled promptly, and the
        # modal must hear back within Slack's 3 seconds. The abandoned save rolls back when the lock frees.
        done, _ = await asyncio.wait({saving}, timeout=SAVE_TIMEOUT_SECONDS)
        if not done:
            abandoned.set()
            self._abandoned_saves.add(saving)
            saving.add_done_callback(self._abandoned_saves.discard)
            saving.add_done_callback(lambda task: task.exception() if not task.cancelled() else None)
            log.error("ticket not saved: the database did not answer within %.1f s", SAVE_TIMEOUT_SECONDS)
            raise TicketNotSaved(_NOT_SAVED)
        try:
            filed = saving.result()
        except (SQLAlchemyError, OSError) as exc:
            log.error("ticket not saved: %s", type(exc).__name__)
            raise TicketNotSaved(_NOT_SAVED) from exc
        if filed.incident is not None and self.incidents is not None:
            # SEV1 moves at once: paging starts the moment the ticket is stored, not after Slack hears back.
            self._opening[filed.ticket.number] = asyncio.ensure_future(self.incidents.run_prepared(filed.incident))
        return filed

    def _draft(self, form: TicketForm, *, filed_by: str, origin_channel: str | None) -> repo.TicketDraft:
        assert form.impact is not None and form.plan_tier is not None, "parse() guarantees these"
        found: list[str] = []

        def clean(text: str | None, label: str) -> str | None:
            if text is None:
                return None
            result = redact(text)
            found.extend(f"{kind} in {label}" for kind in result.kinds)
            return result.text

        now = self._clock.now()
        env = form.environment
        classification = classify(form.impact)
        sla = first_response(self.config, plan=form.plan_tier, filed_at=now)
        return repo.TicketDraft(
            workspace_id=clean(form.workspace_id, "Customer workspace ID") or "",
            requester_email=form.requester_email,
            summary=clean(form.summary, "Summary") or "",
            what_happened=clean(form.what_happened, "What happened") or "",
            expected=clean(form.expected, "What was expected") or "",
            impact=form.impact, severity=classification.severity, severity_reason=classification.reason,
            plan_tier=form.plan_tier,
            environment=type(env)(browser=clean(env.browser, "Browser"), os=clean(env.os, "Operating system"),
                                  url=clean(env.url, "URL"), occurred_at=env.occurred_at,
                                  customer_timezone=env.customer_timezone,
                                  request_id=clean(env.request_id, "Request ID")),
            attachment_link=clean(form.attachment_link, "Screenshot link"),
            helpdesk_link=clean(form.helpdesk_link, "Help desk link"),
            category=form.category, filed_by=filed_by, filed_at=now, first_response_due=sla.due,
            redactions=tuple(found), origin_channel=origin_channel,
        )

    async def _store(self, draft: repo.TicketDraft, submission_key: str, abandoned: asyncio.Event) -> FiledTicket:
        async with self._sessions.begin() as session:
            ticket, created = await repo.insert_ticket_once(session, draft=draft, submission_key=submission_key)
            if created:
                policy = first_response(self.config, plan=ticket.plan_tier, filed_at=ticket.filed_at)
                await timers.schedule_timer(session, key=f"ticket:{ticket.number}:{WARNING}", kind=WARNING,
                                            due_at=policy.remind_at, ticket_number=ticket.number)
                await timers.schedule_timer(session, key=f"ticket:{ticket.number}:{BREACH}", kind=BREACH,
                                            due_at=policy.due, ticket_number=ticket.number)
                await audit.append_audit_event(session, ticket_number=ticket.number, action="ticket_filed",
                                               actor=ticket.filed_by, at=ticket.filed_at, before=None,
                                               after={**_audit_view(ticket), "redactions": list(ticket.redactions)})
            incident = None
            if created and ticket.severity is Severity.SEV1 and self.incidents is not None:
                incident = await self.incidents.prepare(session, ticket, ticket.filed_by, new_ticket=True)
            if abandoned.is_set():
                raise _SaveAbandoned  # the agent was told it was not saved: roll back rather than surprise them
        return FiledTicket(ticket=ticket, created=created, incident=incident)

    async def announce(self, ticket: Ticket) -> None:
        """Posts the card (and, for SEV1, opens the incident beside it), once per ticket however often called."""
        if ticket.severity is Severity.SEV1 and self.incidents is not None:
            # Paging does not wait for the card: the three SEV1 steps started when the ticket was stored.
            opening = self._opening.pop(ticket.number, None) or self.incidents.open_for(ticket, ticket.filed_by)
            outcomes = await asyncio.gather(self._post_card(ticket), opening, return_exceptions=True)
            # The card and the kickoff link to each other whatever else went wrong; then errors surface.
            await self.refresh_card(ticket.number)
            await self.incidents.card_posted(ticket.number)
            for outcome in outcomes:
                if isinstance(outcome, BaseException):
                    raise outcome
        else:
            await self._post_card(ticket)
            if ticket.severity is Severity.SEV2 and self.pager is not None:
                await self.pager.page_for(await self.get(ticket.number))  # after the card: it reports in its thread

    async def _post_card(self, ticket: Ticket) -> None:
        key = f"ticket:{ticket.number}:card"
        async with self._sessions.begin() as session:
            if not await side_effects.claim_side_effect(session, key=key, now=self._clock.now()):
                return
        channel = self.config.slack.triage_channel
        try:
            posted = await self._slack.chat_postMessage(
                channel=channel, text=cards.card_fallback_text(ticket),
                blocks=cards.ticket_card(ticket, now=self._clock.now()), unfurl_links=False)
        except SlackApiError as exc:
            async with self._sessions.begin() as session:
                await side_effects.release_side_effect(session, key=key)
            await self._tell_agent(ticket, f"Ticket #{ticket.number} is saved, but I could not post its card in "
                                           f"<#{channel}>: Slack said `{exc.response.get('error')}`.")
            return
        ts = str(posted["ts"])
        async with self._sessions.begin() as session:
            await repo.record_card_location(session, number=ticket.number, channel=channel, ts=ts)
            await side_effects.complete_side_effect(session, key=key, now=self._clock.now(), result={"ts": ts})
        zone = ticket.environment.customer_timezone or self.config.business_hours.timezone
        next_update = next_update_due(self.config, severity=ticket.severity, plan=ticket.plan_tier,
                                      now=self._clock.now())
        await self._post_in_thread(ticket, channel, ts, "Draft first reply",
                                   cards.draft_message(ticket, next_update=next_update, zone=zone))
        if ticket.redactions:
            await self._post_in_thread(ticket, channel, ts, "Credentials removed", cards.redaction_notice(ticket))

    async def _post_in_thread(self, ticket: Ticket, channel: str, ts: str, text: str, blocks: list[Any]) -> None:
        try:
            await self._slack.chat_postMessage(channel=channel, thread_ts=ts, text=text, blocks=blocks)
        except SlackApiError as exc:
            await self._tell_agent(ticket, f"I could not post “{text}” under ticket #{ticket.number}: "
                                           f"Slack said `{exc.response.get('error')}`.")

    async def _tell_agent(self, ticket: Ticket, text: str) -> None:
        async with self._sessions() as session:
            origin = await repo.origin_channel_of(session, number=ticket.number)
        for channel in dict.fromkeys(c for c in (origin, self.config.slack.triage_channel) if c):
            try:
                await self._slack.chat_postEphemeral(channel=channel, user=ticket.filed_by, text=text)
                return
            except SlackApiError as exc:
                log.warning("could not tell the agent in %s: %s", channel, exc.response.get("error"))

    async def get(self, number: int) -> Ticket:
        async with self._sessions() as session:
            ticket = await repo.get_ticket(session, number=number)
        if ticket is None:
            raise UnknownTicket(f"Ticket #{number} does not exist.")
        return ticket

    async def require_agent(self, user_id: str, action: str) -> None:
        if not await self.may_file(user_id):
            raise NotAllowed(f"Only members of <!subteam^{self.config.slack.support_agents}> can {action}.")

    async def record_first_response(self, number: int, *, by: str) -> Ticket:
        await self.require_agent(by, "mark a first response")
        now = self._clock.now()
        async with self._sessions.begin() as session:
            if await repo.record_first_response(session, number=number, by=by, at=now):
                await timers.cancel_timers(session, now=now, kinds=[WARNING, BREACH], ticket_number=number)
                await audit.append_audit_event(session, ticket_number=number, action="first_response_sent",
                                               actor=by, at=now, before={"first_response_at": None},
                                               after={"first_response_at": now.isoformat(),
                                                      "first_response_by": by})
        await self.refresh_card(number)
        return await self.get(number)

    async def change_severity(self, number: int, *, impact: Impact, reason: str, actor: str) -> Ticket:
        await self.require_agent(actor, "change a ticket's severity")
        classification = reclassify(impact, actor=actor, reason=redact(reason).text)
        now = self._clock.now()
        async with self._sessions.begin() as session:
            changed = await repo.record_severity_change(session, number=number, impact=impact,
                                                        severity=classification.severity,
                                                        reason=classification.reason)
            if changed is None:
                raise UnknownTicket(f"Ticket #{number} does not exist.")
            before, after = changed
            await audit.append_audit_event(session, ticket_number=number, action="severity_changed", actor=actor,
                                           at=now, before=_audit_view(before),
                                           after={**_audit_view(after), "reason": classification.reason})
        await self.refresh_card(number)
        if after.card_channel and after.card_ts:
            await self._post_in_thread(after, after.card_channel, after.card_ts, "Severity changed",
                                       cards.severity_changed_note(before, after, actor=actor))
        if after.severity is Severity.SEV1 and before.severity is not Severity.SEV1 and self.incidents:
            await self.incidents.open_for(after, actor)
        elif after.severity is Severity.SEV2 and before.severity.rank > 2 and self.pager:
            await self.pager.page_for(after)
        return after

    async def refresh_card(self, number: int) -> None:
        async with self._sessions() as session:
            ticket = await repo.get_ticket(session, number=number)
            badge = await incident_repo.incident_badge(session, ticket_number=number)
        if ticket is None or not ticket.card_channel or not ticket.card_ts:
            return
        blocks = cards.ticket_card(ticket, now=self._clock.now(),
                                   incident_channel=badge.channel_id if badge else None,
                                   incident_status=badge.status if badge else None)
        try:
            await self._slack.chat_update(channel=ticket.card_channel, ts=ticket.card_ts,
                                          text=cards.card_fallback_text(ticket), blocks=blocks)
        except SlackApiError as exc:
            log.warning("could not update the card of #%s: %s", number, exc.response.get("error"))

    async def open_tickets(self, user_id: str) -> list[Ticket]:
        async with self._sessions() as session:
            return await repo.open_tickets_filed_by(session, user_id=user_id)

    async def fire_first_response_timer(self, session: AsyncSession, timer: timers.DueTimer) -> None:
        """Called by the scheduler inside the timer's transaction."""
        assert timer.ticket_number is not None
        ticket = await repo.get_ticket(session, number=timer.ticket_number)
        if ticket is None or ticket.first_response_at is not None:
            return
        now = self._clock.now()
        channel = ticket.card_channel or self.config.slack.triage_channel
        if timer.kind == WARNING:
            await self._slack.chat_postMessage(
                channel=channel, thread_ts=ticket.card_ts, text=f"First response on #{ticket.number} is due soon",
                blocks=cards.first_response_reminder(ticket, now=now))
        else:
            await self._slack.chat_postMessage(
                channel=self.config.slack.triage_channel,
                text=f"First-response SLA breached on #{ticket.number}",
                blocks=cards.first_response_breach(ticket, leads_group=self.config.slack.support_leads, now=now))
        await audit.append_audit_event(session, ticket_number=ticket.number, action=f"{timer.kind}_fired",
                                       actor="supportbot", at=now, before=None,
                                       after={"due": ticket.first_response_due.isoformat()})

"""The ticket workflow: file once, announce once, watch the first-response SLA, change severity."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from blocks import message_ticket as message_cards
from blocks import ticket_card as cards
from blocks.refusals import agents_only
from bot.core import logs
from bot.core.clock import Clock
from bot.core.config import BotConfig
from bot.core.errors import NotAllowed, TicketNotSaved
from bot.core.redaction import redact
from bot.core.slack import Directory
from bot.core.timers import schedule
from bot.customers.filing_check import FilingCheck, check_at_filing
from bot.customers.service import CustomerService
from bot.domain import IMPACT_SEVERITY, Impact, MessageSource, Severity, Ticket
from bot.incidents.service import IncidentService, PreparedIncident
from bot.paging.service import Sev2Pager
from bot.ticket_card.service import TicketCard
from bot.tickets.announce import Announcer
from bot.tickets.classification import reclassify
from bot.tickets.customer_check import record_check
from bot.tickets.filing import ticket_draft
from bot.tickets.intake import TicketForm
from bot.tickets.sla import first_response
from bot.tickets.timers import FIRST_RESPONSE_KINDS, FirstResponseBreach, FirstResponseReminder
from storage.db import refusal_reason
from storage.repositories import audit, timers
from storage.repositories import tickets as repo

log = logging.getLogger(__name__)
IMPACT_FOR_SEVERITY = {severity: impact for impact, severity in IMPACT_SEVERITY.items()}
# Agents racing on one ticket settle in a round or two; past that, the latest state stands.
CHANGE_ATTEMPTS = 3

# Filing must finish inside Slack's 3-second window so the modal can still show an error.
SAVE_TIMEOUT_SECONDS = 2.0


class _SaveAbandoned(Exception):
    """Raised inside a save that outlived its timeout, so its transaction rolls back."""


@dataclass(frozen=True)
class FiledTicket:
    """A stored ticket; `created` is False for a duplicate submission. A SEV1's incident is prepared with it."""

    ticket: Ticket
    created: bool
    incident: PreparedIncident | None = None


def _audit_view(ticket: Ticket) -> dict[str, Any]:
    return {"severity": ticket.severity.value, "impact": ticket.impact.value, "plan_tier": ticket.plan_tier.value,
            "first_response_due": ticket.first_response_due.isoformat(), "status": ticket.status.value}


class TicketService:
    """Files tickets, announces them (card, draft reply, and the SEV1 incident or SEV2 page), and changes them."""

    def __init__(self, *, config: BotConfig, sessions: async_sessionmaker[AsyncSession], directory: Directory,
                 clock: Clock, card: TicketCard, incidents: IncidentService, pager: Sev2Pager,
                 announcer: Announcer, customers: CustomerService | None = None) -> None:
        self.config = config
        self._sessions = sessions
        self._directory = directory
        self._clock = clock
        self._card = card
        self._incidents = incidents
        self._pager = pager
        self._announcer = announcer
        self._customers = customers
        self._abandoned_saves: set[asyncio.Future[FiledTicket]] = set()
        self._opening: dict[int, asyncio.Future[object]] = {}

    async def drain(self, *, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Lets background work (SEV1 openings, abandoned saves) finish, `timeout` at most, before the database
        closes."""
        pending: list[asyncio.Future[Any]] = [*self._opening.values(), *self._abandoned_saves]
        if pending:
            await asyncio.wait(pending, timeout=timeout)

    async def cancel_unfinished(self, *, timeout: float) -> None:  # noqa: ASYNC109
        """Cancels SEV1 openings still running when stopping, and gives them `timeout` to record what finished;
        the steps they leave are taken up again when their lease ends."""
        openings = [future for future in self._opening.values() if not future.done()]
        for future in openings:
            future.cancel()
        if openings:
            await asyncio.wait(openings, timeout=timeout)

    async def may_file(self, user_id: str) -> bool:
        """True for members of `support_agents`."""
        return await self._directory.is_member(user_id, self.config.slack.support_agents)

    async def require_agent(self, user_id: str, action: str) -> None:
        """NotAllowed, naming the action, unless the user is a support agent."""
        if not await self.may_file(user_id):
            raise NotAllowed(agents_only(self.config.slack.support_agents, action))

    async def get(self, number: int) -> Ticket:
        """The ticket as stored now; UnknownTicket when there is none."""
        return await self._card.get(number)

    async def file(self, form: TicketForm, *, filed_by: str, submission_key: str,
                   origin_channel: str | None, source: MessageSource | None = None) -> FiledTicket:
        """Stores the ticket once per submission (and once per `source` message) within Slack's window;
        TicketNotSaved when the database fails or another submission already filed the source message."""
        draft = ticket_draft(form, self.config, filed_by=filed_by, origin_channel=origin_channel,
                             now=self._clock.now(), source=source)
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
            raise TicketNotSaved(cards.ticket_not_saved("the database did not answer"))
        try:
            filed = saving.result()
        except repo.MessageAlreadyFiled as exc:  # two modals raced for one message: the first one stands
            raise TicketNotSaved(message_cards.already_filed_inline(exc.ticket)) from exc
        except (SQLAlchemyError, OSError) as exc:
            why = refusal_reason(exc)
            log.error("ticket not saved: %s (%s)", why or "the database refused the write", type(exc).__name__)
            raise TicketNotSaved(cards.ticket_not_saved(
                f"the database refused the write: {why}" if why else "the database refused the write")) from exc
        logs.bind_ticket(filed.ticket.number)
        if filed.incident is not None:
            # SEV1 moves at once: paging starts the moment the ticket is stored, not after Slack hears back.
            self._opening[filed.ticket.number] = asyncio.ensure_future(self._incidents.run_prepared(filed.incident))
        return filed

    async def _store(self, draft: repo.TicketDraft, submission_key: str, abandoned: asyncio.Event) -> FiledTicket:
        async with self._sessions.begin() as session:
            ticket, created = await repo.insert_ticket_once(session, draft=draft, submission_key=submission_key)
            incident = None
            if created:
                policy = first_response(self.config, plan=ticket.plan_tier, filed_at=ticket.filed_at)
                await schedule(session, FirstResponseReminder(ticket.number), due_at=policy.remind_at)
                await schedule(session, FirstResponseBreach(ticket.number), due_at=policy.due)
                await audit.append_audit_event(session, ticket_number=ticket.number, action="ticket_filed",
                                               actor=ticket.filed_by, at=ticket.filed_at, before=None,
                                               after={**_audit_view(ticket), "redactions": list(ticket.redactions)})
                await self._announcer.plan(session, ticket)  # a stop after the acknowledgement loses nothing
                if ticket.severity is Severity.SEV1:
                    incident = await self._incidents.prepare(session, ticket, ticket.filed_by, new_ticket=True)
            if abandoned.is_set():
                raise _SaveAbandoned  # the agent was told it was not saved: roll back rather than surprise them
        return FiledTicket(ticket=ticket, created=created, incident=incident)

    async def announce(self, ticket: Ticket) -> None:
        """Checks the customer live (verification, automation rules), then posts the card (and, for SEV1,
        opens the incident beside it), once per ticket however often called."""
        ticket, check = await self._check_customer(ticket)
        await self._announce(ticket)
        if check is not None:
            await self._apply_automation(ticket, check)

    async def _check_customer(self, ticket: Ticket) -> tuple[Ticket, FilingCheck | None]:
        if self._customers is None or not self._customers.configured or ticket.requester_verification:
            return ticket, None
        check = await check_at_filing(self._customers, ticket)
        return await record_check(self._sessions, self.config, ticket, check, now=self._clock.now()), check

    async def _apply_automation(self, ticket: Ticket, check: FilingCheck) -> None:
        """After the card: the channels rules post to, then a severity floor (SEV1 opens the incident)."""
        automation = check.automation
        ticket = await self.get(ticket.number)
        for channel in automation.post_to:
            await self._card.post_elsewhere(ticket, channel, cards.automation_note(ticket, automation.labels))
        floor = automation.severity_floor
        if floor is not None and floor.rank < ticket.severity.rank:
            rules = ", ".join(str(i + 1) for i in automation.matched)
            await self._reclassify(ticket.number, impact=IMPACT_FOR_SEVERITY[floor], actor="supportbot",
                                   reason=f"Automation rule {rules}: severity floor {floor}")

    async def _announce(self, ticket: Ticket) -> None:
        if ticket.severity is Severity.SEV1:
            # Paging does not wait for the card: the three SEV1 steps started when the ticket was stored.
            opening = self._opening.pop(ticket.number, None) or self._incidents.open_for(ticket, ticket.filed_by)
            outcomes = await asyncio.gather(self._announcer.post_card(ticket), opening, return_exceptions=True)
            # The card and the kickoff link to each other whatever else went wrong; then errors surface.
            await self._card.refresh(ticket.number)
            await self._incidents.card_posted(ticket.number)
            for outcome in outcomes:
                if isinstance(outcome, BaseException):
                    raise outcome
        else:
            posted, ticket = await self._announcer.post_card(ticket)
            if ticket.severity is Severity.SEV2:  # after the card: it reports in its thread
                await self._pager.page_for(ticket if posted else await self.get(ticket.number))

    async def record_first_response(self, number: int, *, by: str) -> Ticket:
        """Records who sent the first response and when (once), and stops the SLA reminder and breach."""
        await self.require_agent(by, "mark a first response")
        now = self._clock.now()
        async with self._sessions.begin() as session:
            if await repo.record_first_response(session, number=number, by=by, at=now):
                await timers.cancel_timers(session, now=now, kinds=FIRST_RESPONSE_KINDS, ticket_number=number)
                await audit.append_audit_event(session, ticket_number=number, action="first_response_sent",
                                               actor=by, at=now, before={"first_response_at": None},
                                               after={"first_response_at": now.isoformat(),
                                                      "first_response_by": by})
        await self._card.refresh(number)
        return await self.get(number)

    async def severity_unchanged(self, number: int, impact: Impact) -> str | None:
        """The inline error for choosing the severity the ticket already has; None for a real change."""
        ticket = await self.get(number)
        return cards.severity_unchanged(ticket) if impact.severity is ticket.severity else None

    async def change_severity(self, number: int, *, impact: Impact, reason: str, actor: str) -> Ticket:
        """Re-classifies the ticket once however many agents submit it; becoming SEV1 opens the incident,
        becoming SEV2 pages. The severity it already has is no change."""
        await self.require_agent(actor, "change a ticket's severity")
        return await self._reclassify(number, impact=impact, reason=redact(reason).text, actor=actor)

    async def _reclassify(self, number: int, *, impact: Impact, reason: str, actor: str) -> Ticket:
        classification = reclassify(impact, actor=actor, reason=reason)
        for _ in range(CHANGE_ATTEMPTS):
            before = await self.get(number)
            if before.severity is classification.severity:
                return before
            async with self._sessions.begin() as session:
                after = await repo.record_severity_change(session, number=number, expected=before.severity,
                                                          impact=impact, severity=classification.severity,
                                                          reason=classification.reason)
                if after is None:
                    continue  # another agent changed it in between: look again
                await audit.append_audit_event(session, ticket_number=number, action="severity_changed",
                                               actor=actor, at=self._clock.now(), before=_audit_view(before),
                                               after={**_audit_view(after), "reason": classification.reason})
            await self._announce_severity(before, after, actor)
            return after
        return await self.get(number)

    async def _announce_severity(self, before: Ticket, after: Ticket, actor: str) -> None:
        await self._card.refresh(after.number)
        if after.card_ts:
            await self._card.say(after.number, "Severity changed",
                                 cards.severity_changed_note(before, after, actor=actor))
        if after.severity is Severity.SEV1 and before.severity is not Severity.SEV1:
            await self._incidents.open_for(after, actor)
        elif after.severity is Severity.SEV2 and before.severity.rank > 2:
            await self._pager.page_for(after)

    async def open_tickets(self, user_id: str) -> list[Ticket]:
        """The agent's open tickets, for App Home."""
        async with self._sessions() as session:
            return await repo.open_tickets_filed_by(session, user_id=user_id)

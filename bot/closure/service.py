"""Closure: Resolve opens the ticket's checklist (which items depend on the plan and its history), each item is
done once, reminders on a business-day schedule keep it honest, and the ticket closes when nothing is left."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from blocks import closure as words
from blocks.refusals import agents_only
from bot.closure.checklist import required_items
from bot.closure.timers import ClosureReminder
from bot.core.business_days import BusinessCalendar
from bot.core.clock import Clock
from bot.core.config import BotConfig
from bot.core.errors import NotAllowed, SupportbotError
from bot.core.slack import Directory
from bot.core.timers import cancel, schedule
from bot.domain import Category, Closure, ClosureItem, Ticket
from bot.escalation.timers import FixReminder
from bot.ticket_card.service import TicketCard
from storage.repositories import audit, timers
from storage.repositories import closure as repo
from storage.repositories import escalations as escalation_repo
from storage.repositories import incidents as incident_repo

SUMMARY_LEAD = timedelta(hours=1)
RunbookWriter = Callable[..., Awaitable[object]]
CANCELLED_BY = {ClosureItem.CUSTOMER_CONFIRMED: ("customer", (1, 2)), ClosureItem.CSM_CALL: ("csm", (1,)),
                ClosureItem.INCIDENT_SUMMARY: ("summary", (1,))}


class ClosureRefused(SupportbotError):
    """A checklist answer that cannot be taken (a call past one business day, unresponsive too early)."""


@dataclass(frozen=True)
class Resolution:
    """What the resolve modal says."""

    root_cause: Category
    customer_confirmed: bool
    novel_path: bool
    jira_key: str | None = None
    sentry_id: str | None = None
    note: str = ""


class ClosureService:
    """Opens, completes and closes checklists; the card shows them."""

    def __init__(self, *, config: BotConfig, sessions: async_sessionmaker[AsyncSession], directory: Directory,
                 clock: Clock, card: TicketCard) -> None:
        self.config = config
        self._sessions = sessions
        self._directory = directory
        self._clock = clock
        self._card = card
        self.calendar = BusinessCalendar(config.business_hours)
        # Adds an entry to the runbook (title, keywords, steps, source); set when the runbook is built.
        self.runbook: RunbookWriter | None = None

    async def require_agent(self, user_id: str) -> None:
        """NotAllowed unless the person is a support agent."""
        if not await self._directory.is_member(user_id, self.config.slack.support_agents):
            raise NotAllowed(agents_only(self.config.slack.support_agents, "resolve tickets"))

    async def ticket(self, number: int) -> Ticket:
        """The ticket as stored now."""
        return await self._card.get(number)

    async def escalation_ids(self, number: int) -> tuple[bool, str | None, str | None]:
        """Whether the ticket was escalated, and its Jira key and Sentry issue (to prefill the closing note)."""
        async with self._sessions() as session:
            escalation = await escalation_repo.latest_escalation(session, ticket_number=number)
        if escalation is None:
            return False, None, None
        return True, escalation.jira_key, escalation.sentry_issue

    async def closure(self, number: int) -> Closure | None:
        """The ticket's checklist, if it was resolved."""
        async with self._sessions() as session:
            return await repo.closure_of(session, number=number)

    async def resolve(self, number: int, resolution: Resolution, *, by: str) -> Closure | None:
        """Opens the checklist once, records what the modal already answers, schedules the reminders."""
        ticket = await self.ticket(number)
        escalated, _, _ = await self.escalation_ids(number)
        required = required_items(ticket, escalated=escalated, novel_path=resolution.novel_path)
        now = self._clock.now()
        async with self._sessions.begin() as session:
            if not await repo.start_closure(session, number=number, at=now, by=by, required=required):
                return await repo.closure_of(session, number=number)
            await repo.record_item(session, number=number, item=ClosureItem.ROOT_CAUSE, at=now, by=by,
                                   value=resolution.root_cause.value)
            if resolution.customer_confirmed:
                await repo.record_item(session, number=number, item=ClosureItem.CUSTOMER_CONFIRMED, at=now, by=by,
                                       value="confirmed")
            else:
                for count in (1, 2):
                    await schedule(session, ClosureReminder(number, "customer", count),
                                   due_at=self.calendar.add_business_days(now, count))
            if escalated:
                ids = " · ".join(v for v in (resolution.jira_key, resolution.sentry_id) if v)
                await repo.record_item(session, number=number, item=ClosureItem.ESCALATION_IDS, at=now, by=by,
                                       value=ids)
            if ClosureItem.CSM_CALL in required:
                await schedule(session, ClosureReminder(number, "csm"),
                               due_at=self.calendar.end_of_next_business_day(now))
            await audit.append_audit_event(session, ticket_number=number, action="ticket_resolved", actor=by,
                                           at=now, before=None,
                                           after={"root_cause": resolution.root_cause.value,
                                                  "required": [i.value for i in required],
                                                  "novel_path": resolution.novel_path})
        return await self._after_change(number)

    async def complete(self, number: int, item: ClosureItem, *, by: str, value: str = "") -> Closure | None:
        """Marks one item done once (cancelling its reminders) and closes the ticket when nothing is left."""
        now = self._clock.now()
        async with self._sessions.begin() as session:
            if await repo.record_item(session, number=number, item=item, at=now, by=by, value=value):
                which, counts = CANCELLED_BY.get(item, ("", ()))
                for count in counts:
                    await cancel(session, ClosureReminder(number, which, count), now=now)
                await audit.append_audit_event(session, ticket_number=number, action="closure_item_done", actor=by,
                                               at=now, before=None, after={"item": item.value, "value": value[:200]})
        return await self._after_change(number)

    async def customer_unresponsive(self, number: int, *, by: str) -> Closure | None:
        """Allowed after two reminders; recorded as such, not as a confirmation."""
        closure = await self.closure(number)
        if closure is None or closure.customer_reminders < 2:
            raise ClosureRefused(words.unresponsive_too_early(closure.customer_reminders if closure else 0))
        return await self.complete(number, ClosureItem.CUSTOMER_CONFIRMED, by=by, value=words.UNRESPONSIVE)

    def latest_call(self, closure: Closure) -> datetime:
        """The latest the CSM call may be: one business day after resolution."""
        return self.calendar.add_business_days(closure.resolved_at, 1)

    async def schedule_call(self, number: int, *, by: str, csm: str, call_at: datetime) -> Closure | None:
        """The CSM call (within one business day); the summary reminder comes an hour before it."""
        closure = await self.closure(number)
        if closure is None:
            return None
        latest = self.latest_call(closure)
        if call_at > latest:
            raise ClosureRefused(words.call_too_late(latest.astimezone(self.calendar.zone)))
        async with self._sessions.begin() as session:
            await repo.record_call(session, number=number, call_at=call_at)
            if ClosureItem.INCIDENT_SUMMARY in closure.remaining:
                await schedule(session, ClosureReminder(number, "summary"),
                               due_at=max(call_at - SUMMARY_LEAD, self._clock.now()))
        return await self.complete(number, ClosureItem.CSM_CALL, by=by, value=f"{csm} {call_at.isoformat()}")

    async def fix_deployed(self, number: int, *, by: str, tag: str | None, visible_at: datetime | None) -> None:
        """Records the fix in production (and its tag) and drafts the customer's reply under the card."""
        now = self._clock.now()
        async with self._sessions.begin() as session:
            await audit.append_audit_event(session, ticket_number=number, action="fix_deployed", actor=by, at=now,
                                           before=None, after={"release_tag": tag, "in_production": True,
                                                               "visible_at": visible_at.isoformat() if visible_at
                                                               else None})
            await timers.cancel_timers(session, now=now, kinds=[FixReminder.kind], ticket_number=number)
        ticket = await self.ticket(number)
        zone = ticket.environment.customer_timezone or self.config.business_hours.timezone
        reply = words.fix_reply(ticket, tag=tag, visible_at=visible_at, zone=zone)
        await self._card.say(number, "Fix deployed", words.fix_note(ticket, by=by, tag=tag, reply=reply))

    async def check_call(self, number: int, call_at: datetime) -> None:
        """Raises ClosureRefused when the call is later than one business day after resolution."""
        closure = await self.closure(number)
        if closure is not None and call_at > self.latest_call(closure):
            raise ClosureRefused(words.call_too_late(self.latest_call(closure).astimezone(self.calendar.zone)))

    async def item_modal(self, number: int, item: ClosureItem) -> dict[str, object]:
        """The modal that completes a checklist item."""
        ticket = await self.ticket(number)
        closure = await self.closure(number)
        if item is ClosureItem.CSM_CALL and closure is not None:
            return words.csm_modal(ticket, latest=self.latest_call(closure))
        if item is ClosureItem.INCIDENT_SUMMARY:
            return words.summary_modal(ticket, await self.draft_summary(number))
        if item is ClosureItem.RUNBOOK_ENTRY:
            return words.runbook_modal(ticket)
        escalated, jira, sentry = await self.escalation_ids(number)
        return words.resolve_modal(ticket, escalated=escalated, jira_key=jira, sentry_id=sentry)

    async def add_runbook_entry(self, number: int, *, by: str, title: str, keywords: str, steps: str) -> None:
        """The novel path written down: the entry joins the runbook (when one is set up) and the item is done."""
        if self.runbook is not None:
            await self.runbook(title=title, keywords=keywords, steps=steps, source=f"ticket #{number}")
        await self.complete(number, ClosureItem.RUNBOOK_ENTRY, by=by, value=f"{title} · {keywords}")

    async def draft_summary(self, number: int) -> str:
        """The incident summary drafted from the ticket and its incident's status updates."""
        ticket = await self.ticket(number)
        closure = await self.closure(number)
        async with self._sessions() as session:
            updates = await incident_repo.status_updates_of_ticket(session, ticket_number=number)
        cause = closure.done.get(ClosureItem.ROOT_CAUSE) if closure else None
        lines = [f"Impact: {ticket.impact.label.lower()} for workspace {ticket.workspace_id} "
                 f"({ticket.plan_tier.label}), reported {ticket.filed_at:%Y-%m-%d %H:%M} UTC: {ticket.summary}.",
                 f"Root cause: {Category(cause).label if cause else '(to be written)'}.",
                 "Timeline:"]
        lines += [f"- {u.posted_at:%H:%M} UTC {u.status.label}: {u.message}" for u in updates]
        lines.append("Remediation: (what was changed, and what prevents it happening again)")
        return "\n".join(lines)

    async def reminder_due(self, session: AsyncSession, key: ClosureReminder) -> bool:
        """In the timer's transaction: whether the reminder still applies (its item not done), counting it."""
        closure = await repo.closure_of(session, number=key.ticket)
        item = {"customer": ClosureItem.CUSTOMER_CONFIRMED, "csm": ClosureItem.CSM_CALL,
                "summary": ClosureItem.INCIDENT_SUMMARY}[key.which]
        if closure is None or closure.closed_at is not None or item in closure.done:
            return False
        if key.which == "customer":
            await repo.count_customer_reminder(session, number=key.ticket)
        return True

    async def remind(self, key: ClosureReminder) -> None:
        """Says the reminder in the card's thread and redraws the card (an unresponsive button may appear)."""
        ticket = await self.ticket(key.ticket)
        await self._card.say(key.ticket, words.reminder(key.which, ticket, count=key.count))
        await self._card.refresh(key.ticket)

    async def _after_change(self, number: int) -> Closure | None:
        closure = await self.closure(number)
        if closure is not None and not closure.remaining and closure.closed_at is None:
            async with self._sessions.begin() as session:
                closed = await repo.close(session, number=number, at=self._clock.now())
                if closed:
                    await audit.append_audit_event(session, ticket_number=number, action="ticket_closed",
                                                   actor="supportbot", at=self._clock.now(), before=None,
                                                   after={"items": [i.value for i in closure.required]})
            if closed:
                await self._card.say(number, words.closed_note(await self.ticket(number)))
            closure = await self.closure(number)
        await self._card.refresh(number)
        return closure

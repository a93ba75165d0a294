"""Paging on-call: the PagerDuty event every page is built from, and the SEV2 page (SEV1 pages as part
of its incident; SEV3 and SEV4 never page)."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from blocks.text import escape, section
from bot.clock import Clock
from bot.config import BotConfig
from bot.domain import Severity, Ticket
from bot.errors import OutsideServiceError
from bot.integrations.pagerduty import PagerDuty, PageRequest
from bot.scheduler import BackgroundWork, retry_delay
from storage.repositories import audit, side_effects, timers
from storage.repositories import tickets as ticket_repo

log = logging.getLogger(__name__)

PAGE_SEVERITY = {Severity.SEV1: "critical", Severity.SEV2: "error"}
SEV2_PAGE_RETRY = "sev2_page_retry"


def card_url(ticket: Ticket) -> str | None:
    if not ticket.card_channel or not ticket.card_ts:
        return None
    return f"https://slack.com/archives/{ticket.card_channel}/p{ticket.card_ts.replace('.', '')}"


def page_request(ticket: Ticket, *, dedup_key: str, triage_channel: str) -> PageRequest:
    """Everything on-call needs in the alert itself: ticket, customer, impact, and a way back to the card."""
    env = ticket.environment
    return PageRequest(
        summary=f"[{ticket.severity}] #{ticket.number} {ticket.summary} · {ticket.workspace_id} "
                f"({ticket.plan_tier.label}) · {ticket.impact.label}",
        severity=PAGE_SEVERITY.get(ticket.severity, "error"), dedup_key=dedup_key, source="supportbot",
        link_url=card_url(ticket) or f"https://slack.com/archives/{triage_channel}",
        link_text=f"Ticket #{ticket.number} in Slack",
        custom_details={"ticket": ticket.number, "workspace_id": ticket.workspace_id,
                        "plan_tier": ticket.plan_tier.label, "impact": ticket.impact.label,
                        "reported_time": env.occurred_at.isoformat() if env.occurred_at else None,
                        "request_id": env.request_id, "filed_at": ticket.filed_at.isoformat()})


class Sev2Pager:
    """One `error` page per SEV2 ticket, retried with backoff until PagerDuty takes it."""

    def __init__(self, *, config: BotConfig, sessions: async_sessionmaker[AsyncSession], slack: AsyncWebClient,
                 clock: Clock, pagerduty: PagerDuty | None, background: BackgroundWork) -> None:
        self._background = background
        self.config = config
        self._sessions = sessions
        self._slack = slack
        self._clock = clock
        self._pagerduty = pagerduty

    async def page_for(self, ticket: Ticket) -> None:
        key = f"ticket:{ticket.number}:sev2_page"
        async with self._sessions.begin() as session:
            if not await side_effects.claim_side_effect(session, key=key, now=self._clock.now()):
                return  # paged already, or being paged right now
        if self._pagerduty is None:
            async with self._sessions.begin() as session:
                await side_effects.complete_side_effect(session, key=key, now=self._clock.now())
            await self._say(ticket, "⏭️ SEV2: nobody was paged because PAGERDUTY_ROUTING_KEY is not set.")
            return
        dedup = f"supportbot-ticket-{ticket.number}-sev2"
        try:
            result = await self._pagerduty.trigger(page_request(ticket, dedup_key=dedup,
                                                                triage_channel=self.config.slack.triage_channel))
        except OutsideServiceError as exc:
            await self._failed(ticket, key, exc, retry=exc.retryable)
            return
        now = self._clock.now()
        async with self._sessions.begin() as session:
            await side_effects.complete_side_effect(session, key=key, now=now, result={"dedup_key": result.dedup_key})
            await audit.append_audit_event(session, ticket_number=ticket.number, action="sev2_paged",
                                           actor="supportbot", at=now, before=None,
                                           after={"dedup_key": result.dedup_key})
        await self._say(ticket, f"📟 Paged on-call through PagerDuty (error, alert key `{result.dedup_key}`).")

    async def _failed(self, ticket: Ticket, key: str, exc: OutsideServiceError, *, retry: bool) -> None:
        now = self._clock.now()
        async with self._sessions.begin() as session:
            await side_effects.release_side_effect(session, key=key)
            failures = 1 + len([e for e in await audit.audit_trail(session, ticket_number=ticket.number)
                                if e.action == "sev2_page_failed"])
            await audit.append_audit_event(session, ticket_number=ticket.number, action="sev2_page_failed",
                                           actor="supportbot", at=now, before=None, after={"error": str(exc)})
            due = now + retry_delay(failures)
            if retry:
                await timers.schedule_timer(session, key=f"ticket:{ticket.number}:sev2_page:retry:{failures}",
                                            kind=SEV2_PAGE_RETRY, due_at=due, ticket_number=ticket.number)
        if not retry:
            await self._say(ticket, f"⚠️ PagerDuty refused the page: {escape(str(exc))}. It is not retried "
                                    "automatically: page on-call by hand.")
            return
        await self._say(ticket, f"⚠️ Paging on-call failed: {escape(str(exc))}. The bot retries "
                                f"<!date^{int(due.timestamp())}^{{time}}|soon> and keeps trying until it works.")

    async def fire_retry(self, session: AsyncSession, timer: timers.DueTimer) -> None:
        assert timer.ticket_number is not None
        ticket = await ticket_repo.get_ticket(session, number=timer.ticket_number)
        if ticket is not None and ticket.severity is Severity.SEV2:  # a SEV1 pages through its incident
            self._background.spawn(self.page_for(ticket), f"sev2 page {timer.key}")  # beside the tick

    async def _say(self, ticket: Ticket, text: str) -> None:
        async with self._sessions() as session:
            current = await ticket_repo.get_ticket(session, number=ticket.number)
        channel = (current or ticket).card_channel or self.config.slack.triage_channel
        try:
            await self._slack.chat_postMessage(channel=channel, thread_ts=(current or ticket).card_ts, text=text,
                                               blocks=[section(text)])
        except SlackApiError as exc:
            log.warning("could not report the SEV2 page of #%s: %s", ticket.number, exc.response.get("error"))

"""The ticket card in triage, which every workflow shares: read the ticket, post its card once, refresh it,
say something under it, and tell the agent who filed it when Slack refuses."""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from blocks import ticket_card as cards
from blocks.runbook import card_match
from blocks.text import section
from bot.core import logs
from bot.core.clock import Clock
from bot.core.config import BotConfig
from bot.core.errors import UnknownTicket
from bot.core.once import OneTimeSteps
from bot.core.slack_lookup import Mark, SlackLookup
from bot.domain import Escalation, Ticket
from bot.ticket_card.links import diagnostic_links
from storage.repositories import closure as closure_repo
from storage.repositories import escalations as escalation_repo
from storage.repositories import incidents as incident_repo
from storage.repositories import runbook as runbook_repo
from storage.repositories import tickets as repo
from storage.repositories.side_effects import Claim

log = logging.getLogger(__name__)
# The card names the few entries most likely to help; `/runbook` shows their steps.
CARD_RUNBOOK = 3


def card_key(ticket_number: int) -> str:
    """The one-time side effect of posting the ticket's card."""
    return f"ticket:{ticket_number}:card"


def note_key(ticket_number: int, note: str) -> str:
    """The one-time side effect of posting one note under the card; under the card's key, so a refused card
    takes its planned notes along."""
    return f"{card_key(ticket_number)}:{note}"


def card_mark(ticket_number: int) -> Mark:
    """The metadata the card carries, by which an attempt that comes again finds it in triage."""
    return Mark("supportbot_ticket_card", {"ticket": ticket_number})


def note_mark(ticket_number: int, note: str) -> Mark:
    """The metadata a one-time note under the card carries."""
    return Mark("supportbot_ticket_note", {"ticket": ticket_number, "note": note})


class TicketCard:
    """Reads tickets and keeps their card in the triage channel current; knows nothing of incidents or paging."""

    def __init__(self, *, config: BotConfig, sessions: async_sessionmaker[AsyncSession], slack: AsyncWebClient,
                 clock: Clock, once: OneTimeSteps, lookup: SlackLookup) -> None:
        self._config = config
        self._sessions = sessions
        self._slack = slack
        self._clock = clock
        self._once = once
        self._lookup = lookup
        # One redraw of a card at a time: two listeners redrawing at once (an acknowledgement, then a hand-back)
        # could otherwise land out of order, the older state's chat.update last, and the card stay stale.
        self._redrawing: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()

    async def get(self, number: int) -> Ticket:
        """The ticket as stored now; UnknownTicket when there is none."""
        async with self._sessions() as session:
            ticket = await repo.get_ticket(session, number=number)
        if ticket is None:
            raise UnknownTicket(f"Ticket #{number} does not exist.")
        logs.bind_ticket(number)  # every workflow reads its ticket here: its log lines name it from now on
        return ticket

    async def post(self, ticket: Ticket, *, planned_only: bool = False) -> str | None:
        """Posts the card once however often called, also across a stop mid-way (an attempt that comes again
        looks for it in triage first). The card's ts when this call posted or found it; None when it was done
        already, another attempt holds it, the outcome is not known yet, or Slack refused (the filer is told)."""
        number, channel = ticket.number, self._config.slack.triage_channel

        async def send(claim: Claim) -> str:
            if claim.again and (found := await self._lookup.message(channel, card_mark(number))):
                return found
            posted = await self._slack.chat_postMessage(
                channel=channel, text=cards.card_fallback_text(ticket), unfurl_links=False,
                blocks=cards.ticket_card(ticket, now=self._clock.now(), diagnostic_links=self._links(ticket),
                                         runbook_matches=await self._runbook(ticket)),
                metadata=card_mark(number).metadata())
            return str(posted["ts"])

        async def record(session: AsyncSession, ts: str) -> dict[str, Any]:
            await repo.record_card_location(session, number=number, channel=channel, ts=ts)
            return {"ts": ts}

        try:
            return await self._once.perform(card_key(number), send, record=record, planned_only=planned_only)
        except SlackApiError as exc:
            await self._once.forget_under(f"{card_key(number)}:")  # no card, no thread for its notes
            await self.tell_agent(ticket, cards.card_not_posted(ticket, channel_id=channel,
                                                                error=str(exc.response.get("error"))))
            return None

    async def note(self, number: int, note: str, text: str, blocks: list[Any], *, planned_only: bool = False,
                   elsewhere: str | None = None, ticket: Ticket | None = None) -> None:
        """Posts a one-time note under the card (the draft reply, what was redacted, the page) once, also across a
        stop mid-way. While the card is still being posted the note waits for it; with no card to come, it goes
        to triage. `elsewhere`: a channel to post it in instead of the card's thread (a breach told in triage).
        `ticket`: the ticket as the caller just read it; used only once it has its card (whose place never
        changes), otherwise read again."""
        if ticket is None or ticket.number != number or not ticket.card_ts:
            ticket = await self.get(number)
        channel, thread = ticket.card_channel or self._config.slack.triage_channel, ticket.card_ts
        if elsewhere is not None:
            channel, thread = elsewhere, None
        elif thread is None and await self._once.pending(card_key(number)):
            return

        async def send(claim: Claim) -> str:
            mark = note_mark(number, note)
            if claim.again and (found := await self._lookup.message(channel, mark, thread_ts=thread)):
                return found
            posted = await self._slack.chat_postMessage(channel=channel, thread_ts=thread, text=text, blocks=blocks,
                                                        metadata=mark.metadata())
            return str(posted["ts"])

        async def record(_session: AsyncSession, ts: str) -> dict[str, Any]:
            return {"ts": ts}

        try:
            await self._once.perform(note_key(number, note), send, record=record, planned_only=planned_only)
        except SlackApiError as exc:
            await self.tell_agent(ticket, cards.thread_post_failed(ticket, what=text,
                                                                   error=str(exc.response.get("error"))))

    async def note_pending(self, number: int, note: str) -> bool:
        """True while a note is owed (planned or under way, not posted)."""
        return await self._once.pending(note_key(number, note))

    async def refresh(self, number: int) -> None:
        """Redraws the card in place with the ticket's current state and its incident's badge; redraws of one
        card wait for each other, so each reads the state after the one before it was drawn."""
        lock = self._redrawing.get(number)
        if lock is None:
            lock = self._redrawing[number] = asyncio.Lock()
        async with lock:
            await self._redraw(number)

    async def _redraw(self, number: int) -> None:
        async with self._sessions() as session:
            ticket = await repo.get_ticket(session, number=number)
            badge = await incident_repo.incident_badge(session, ticket_number=number)
            escalation = await escalation_repo.latest_escalation(session, ticket_number=number)
            closure = await closure_repo.closure_of(session, number=number)
            related = await escalation_repo.earlier_tickets_with_sentry_issue(
                session, sentry_issue=escalation.sentry_issue, ticket_number=number) \
                if escalation is not None and escalation.sentry_issue else []
        if ticket is None or not ticket.card_channel or not ticket.card_ts:
            return
        blocks = cards.ticket_card(ticket, now=self._clock.now(),
                                   incident_channel=badge.channel_id if badge else None,
                                   incident_status=badge.status if badge else None, escalation=escalation,
                                   diagnostic_links=self._links(ticket, escalation), related=related,
                                   closure=closure, runbook_matches=await self._runbook(ticket))
        try:
            await self._slack.chat_update(channel=ticket.card_channel, ts=ticket.card_ts,
                                          text=cards.card_fallback_text(ticket), blocks=blocks)
        except SlackApiError as exc:
            log.warning("could not update the card of #%s: %s", number, exc.response.get("error"))

    async def _runbook(self, ticket: Ticket) -> list[tuple[str, str]]:
        """The runbook entries best matching the ticket's summary and what happened, as (title, hint)."""
        async with self._sessions() as session:
            found = await runbook_repo.search(session, f"{ticket.summary} {ticket.what_happened}", CARD_RUNBOOK)
        return [card_match(match) for match in found]

    def _links(self, ticket: Ticket, escalation: Escalation | None = None) -> list[tuple[str, str]]:
        """The one-click diagnostics for the ticket's workspace, request and time (the escalation's, once
        the agent confirmed them there)."""
        facts = escalation.facts if escalation is not None else None
        found = diagnostic_links(
            self._config.links, workspace_id=facts.workspace_id if facts else ticket.workspace_id,
            request_id=facts.request_id if facts else ticket.environment.request_id,
            around=(facts.occurred_at if facts else None) or ticket.environment.occurred_at or ticket.filed_at)
        return [(d.name, d.url) for d in found]

    async def say(self, number: int, text: str, blocks: list[Any] | None = None) -> None:
        """Posts under the card (in triage while there is no card yet); the filer hears when Slack refuses."""
        ticket = await self.get(number)
        try:
            await self._slack.chat_postMessage(channel=ticket.card_channel or self._config.slack.triage_channel,
                                               thread_ts=ticket.card_ts, text=text,
                                               blocks=blocks if blocks is not None else [section(text)])
        except SlackApiError as exc:
            await self.tell_agent(ticket, cards.thread_post_failed(ticket, what=text,
                                                                   error=str(exc.response.get("error"))))

    async def post_elsewhere(self, ticket: Ticket, channel: str, text: str) -> None:
        """A note about the ticket in another channel (an automation rule's `post_to`); a refusal is logged
        and said under the card."""
        try:
            await self._slack.chat_postMessage(channel=channel, text=text, blocks=[section(text)], unfurl_links=False)
        except SlackApiError as exc:
            log.warning("could not post #%s in %s: %s", ticket.number, channel, exc.response.get("error"))
            await self.say(ticket.number, cards.thread_post_failed(ticket, what=f"the note in <#{channel}>",
                                                                   error=str(exc.response.get("error"))))

    async def tell_agent(self, ticket: Ticket, text: str, *, user: str | None = None) -> None:
        """An ephemeral note for the filer (or `user`, who acted on the ticket), where the ticket was filed or
        else in triage."""
        async with self._sessions() as session:
            origin = await repo.origin_channel_of(session, number=ticket.number)
        for channel in dict.fromkeys(c for c in (origin, self._config.slack.triage_channel) if c):
            try:
                await self._slack.chat_postEphemeral(channel=channel, user=user or ticket.filed_by, text=text)
                return
            except SlackApiError as exc:
                log.warning("could not tell the agent in %s: %s", channel, exc.response.get("error"))

"""Customer connections: the live customer card for `/customer`, the ticket card's "Customer" button and the
intake modal; requester verification; one-click support actions. Nothing fetched is stored: the audit log
keeps who ran which action for which workspace and whether it worked, never what the endpoint said."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from blocks import customer as words
from blocks.ids import TicketField
from blocks.refusals import agents_only
from blocks.text import Block, section
from blocks.ticket_modal import with_customer
from bot.core.clock import Clock
from bot.core.config import BotConfig
from bot.core.errors import NotAllowed
from bot.core.formats import is_email
from bot.core.once import OneTimeSteps
from bot.core.slack import Directory
from bot.core.views import text_value
from bot.customer_data import UNKNOWN, CustomerCard, Verification
from bot.customers.document import plan_tier_of, render_card, verify
from bot.domain import PlanTier
from bot.integrations.customer_connection import CustomerConnection, CustomerDataUnavailable, CustomerQuery, Why
from bot.ticket_card.service import TicketCard
from storage.repositories import audit

log = logging.getLogger(__name__)
NOT_CONFIGURED = "CUSTOMER_CONNECTION_URL is not set, so there is no customer endpoint to ask"


@dataclass(frozen=True)
class Lookup:
    """One live answer about a customer: the rendered card or why there is none, and what the paths found."""

    workspace_id: str
    card: CustomerCard | None = None
    reason: str | None = None
    verification: Verification = UNKNOWN
    plan_tier: PlanTier | None = None
    document: Mapping[str, Any] | None = None  # in memory for this request only, for the automation rules


class CustomerService:
    """Asks the customer endpoint whenever the bot needs to know, and shows what came back."""

    def __init__(self, *, config: BotConfig, connection: CustomerConnection | None, directory: Directory,
                 clock: Clock, sessions: async_sessionmaker[AsyncSession], slack: AsyncWebClient,
                 card: TicketCard, once: OneTimeSteps) -> None:
        self.config = config
        self._connection = connection
        self._directory = directory
        self._clock = clock
        self._sessions = sessions
        self._slack = slack
        self._card = card
        self._once = once

    @property
    def configured(self) -> bool:
        """True when CUSTOMER_CONNECTION_URL is set."""
        return self._connection is not None

    async def refusal_for(self, user_id: str) -> str | None:
        """Why this person may not see customer data (only support agents may), or None."""
        if await self._directory.is_member(user_id, self.config.slack.support_agents):
            return None
        return agents_only(self.config.slack.support_agents, "look up customers")

    async def look_up(self, who: str, *, why: Why, email: str | None = None, fresh: bool = False) -> Lookup:
        """The customer named by a workspace ID or an email; a failure is a Lookup with its reason. `fresh`:
        asked now, never the copy reused for up to 30 s (automation always asks now)."""
        who = who.strip()
        by_email = is_email(who)
        query = CustomerQuery(why=why, workspace_id=None if by_email else who,
                              email=who if by_email else email)
        if self._connection is None:
            return Lookup(who, reason=NOT_CONFIGURED)
        settings = self.config.customer_connection
        try:
            document = await self._connection.fetch(query, fresh=fresh or why == "automation")
            card = render_card(document)
        except CustomerDataUnavailable as exc:
            return Lookup(who, reason=exc.reason)
        requester = email or (who if by_email else None)
        verification = verify(document, email=requester, contacts_path=settings.authorized_contacts_path,
                              compliance_path=settings.compliance_path) if requester else UNKNOWN
        return Lookup(who, card=card, verification=verification, document=document,
                      plan_tier=plan_tier_of(document, settings.plan_path))

    async def intake_view(self, view: Mapping[str, Any]) -> dict[str, Any] | None:
        """The open intake modal with the live customer under the workspace ID, its plan tier preselected and
        the requester checked when their email is typed; None when no workspace ID is typed."""
        workspace_id = text_value(view, TicketField.WORKSPACE_ID.value)
        if not workspace_id:
            return None
        email = text_value(view, TicketField.REQUESTER_EMAIL.value) or None
        found = await self.look_up(workspace_id, why="ticket", email=email)
        lines = words.intake_lines(workspace_id=workspace_id, name=found.card.name if found.card else None,
                                   plan_label=found.plan_tier.label if found.plan_tier else None,
                                   verification=found.verification if found.card and email else None,
                                   reason=found.reason)
        return with_customer(dict(view), lines, plan=found.plan_tier)

    def card_blocks(self, found: Lookup, *, with_verification: bool = False) -> list[Block]:
        """The card, or "Customer data unavailable" with the reason and Try again."""
        if found.card is None:
            return words.unavailable_card(found.reason or "no answer", workspace_id=found.workspace_id)
        return words.customer_card(found.card, workspace_id=found.workspace_id, fetched_at=self._clock.now(),
                                   verification=found.verification if with_verification else None)

    async def show_for_ticket(self, number: int) -> None:
        """The ticket card's "Customer" button: the live card in the card's thread, fetched now."""
        ticket = await self._card.get(number)
        found = await self.look_up(ticket.workspace_id, why="lookup", email=ticket.requester_email, fresh=True)
        blocks = self.card_blocks(found, with_verification=True)
        await self._card.say(number, f"Customer {ticket.workspace_id}", blocks)

    async def run_action(self, *, workspace_id: str, action: str, title: str, user_id: str, channel: str | None,
                         thread_ts: str | None, card_ts: str) -> None:
        """A support action pressed on a card: agents only, run once per card (a double click runs it once),
        never retried by the bot; the answer goes to the thread, the outcome to the audit log."""
        if not await self._directory.is_member(user_id, self.config.slack.support_agents):
            raise NotAllowed(words.action_refused_text(self.config.slack.support_agents))
        if self._connection is None:
            raise NotAllowed(NOT_CONFIGURED)
        connection = self._connection

        async def run(_claim: object) -> dict[str, Any]:
            try:
                outcome = await connection.act(workspace_id=workspace_id, action=action, user_id=user_id)
                return {"ok": outcome.ok, "message": outcome.message}
            except CustomerDataUnavailable as exc:
                return {"ok": False, "message": exc.reason}

        async def record(session: AsyncSession, result: dict[str, Any]) -> dict[str, Any]:
            # Who, when, which customer and whether it worked; not what the endpoint said about the customer.
            await audit.append_audit_event(session, ticket_number=None, action="customer_action", actor=user_id,
                                           at=self._clock.now(), before=None,
                                           after={"workspace_id": workspace_id, "action": action,
                                                  "ok": result["ok"]})
            return {"ok": result["ok"]}

        result = await self._once.perform(f"customer_action:{card_ts}:{action}"[:200], run, record=record)
        if result is None:
            return  # the same card's button pressed again: it ran once
        text = words.action_outcome(title, ok=result["ok"], message=result["message"], by=user_id)
        await self._tell(channel, thread_ts, user_id, text)

    async def _tell(self, channel: str | None, thread_ts: str | None, user_id: str, text: str) -> None:
        if channel is None:
            return
        try:
            if thread_ts:
                await self._slack.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text,
                                                   blocks=[section(text)])
            else:
                await self._slack.chat_postEphemeral(channel=channel, user=user_id, text=text)
        except SlackApiError as exc:
            log.warning("could not show an action's outcome: %s", exc.response.get("error"))

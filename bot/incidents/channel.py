"""The incident channel once it exists: topic, invitations and the kickoff (once, also across a stop mid-way:
the kickoff carries our metadata and an attempt that comes again finds it), and posting there."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from blocks import incident as blocks
from blocks.ticket_card import card_url
from bot.core.clock import Clock
from bot.core.config import BotConfig
from bot.core.once import OneTimeSteps
from bot.core.slack import Directory
from bot.core.slack_lookup import Mark, SlackLookup
from bot.domain import Incident, StepState, Ticket
from bot.ticket_card.service import TicketCard
from storage.repositories import incidents as repo
from storage.repositories.side_effects import Claim

log = logging.getLogger(__name__)


def kickoff_key(incident_id: int) -> str:
    """The one-time side effect of setting up the channel and posting the kickoff of one incident round."""
    return f"incident:{incident_id}:kickoff"


def kickoff_mark(incident: Incident) -> Mark:
    """The metadata the kickoff carries, by which an attempt that comes again finds it in the channel."""
    return Mark("supportbot_kickoff", {"incident": incident.id, "ticket": incident.ticket_number})


class IncidentChannel:
    """Sets up and speaks in `#incident-<n>`; before the channel exists it speaks under the ticket card."""

    def __init__(self, *, config: BotConfig, sessions: async_sessionmaker[AsyncSession], slack: AsyncWebClient,
                 directory: Directory, clock: Clock, card: TicketCard, once: OneTimeSteps,
                 lookup: SlackLookup) -> None:
        self._config = config
        self._sessions = sessions
        self._slack = slack
        self._directory = directory
        self._clock = clock
        self._card = card
        self._once = once
        self._lookup = lookup

    async def plan_kickoff(self, session: AsyncSession, incident_id: int) -> None:
        """Writes down, with the channel's opening, that its kickoff must follow."""
        await self._once.plan(session, [kickoff_key(incident_id)])

    async def prepare(self, incident: Incident, ticket: Ticket, *, planned_only: bool = False) -> None:
        """Topic, invitations and the kickoff message, once; a failed invite never loses the channel.
        `planned_only`: a resume, doing only what is written down."""
        channel = incident.channel_id
        assert channel
        invite_note: list[str] = []

        async def send(claim: Claim) -> str:
            await self.set_topic(incident, ticket)
            if note := await self._invite(incident, ticket):
                invite_note.append(note)
            mark = kickoff_mark(incident)
            if claim.again and (found := await self._lookup.message(channel, mark)):
                return found
            posted = await self._slack.chat_postMessage(channel=channel, text=blocks.kickoff_fallback_text(ticket),
                                                        blocks=self._kickoff(incident, ticket),
                                                        metadata=mark.metadata())
            return str(posted["ts"])

        async def record(session: AsyncSession, ts: str) -> dict[str, Any]:
            await repo.record_kickoff(session, incident_id=incident.id, ts=ts)
            return {"ts": ts}

        posted = await self._once.perform(kickoff_key(incident.id), send, record=record, planned_only=planned_only)
        if posted and invite_note:
            await self._slack.chat_postMessage(channel=channel, text=invite_note[0])

    async def resume_kickoff(self, incident_id: int) -> None:
        """Finishes the kickoff a stopped attempt left (the recovery sweep calls this)."""
        async with self._sessions() as session:
            incident = await repo.get_incident(session, incident_id=incident_id)
        if incident is not None and incident.channel.state is StepState.DONE and incident.channel_id:
            await self.prepare(incident, await self._card.get(incident.ticket_number), planned_only=True)
            await self._card.refresh(incident.ticket_number)

    def _kickoff(self, incident: Incident, ticket: Ticket) -> list[dict[str, Any]]:
        return blocks.kickoff(ticket, incident, card_url=card_url(ticket),
                              commanders_group=self._config.slack.incident_commanders)

    async def set_topic(self, incident: Incident, ticket: Ticket) -> None:
        """The channel topic says the severity, the ticket and the public status."""
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
            commanders = await self._directory.members(self._config.slack.incident_commanders)
        except SlackApiError as exc:
            commanders = frozenset()
            log.warning("could not list incident commanders: %s", exc.response.get("error"))
        wanted = [ticket.filed_by, *sorted(commanders - {ticket.filed_by})]
        try:
            await self._slack.conversations_invite(channel=incident.channel_id, users=",".join(wanted))
            return None
        except SlackApiError as exc:
            # One bad user fails the whole batch: invite one by one to learn who.
            log.info("batch invite to %s failed (%s); inviting one by one", incident.channel_name,
                     exc.response.get("error"))
        failed: list[tuple[str, str]] = []
        for user_id in wanted:
            try:
                await self._slack.conversations_invite(channel=incident.channel_id, users=user_id)
            except SlackApiError as exc:
                if exc.response.get("error") != "already_in_channel":
                    failed.append((user_id, str(exc.response.get("error"))))
        return blocks.invite_failed(failed) if failed else None

    async def update_kickoff(self, incident: Incident, ticket: Ticket) -> None:
        """Redraws the kickoff in place (steps, commander, status, the card's link)."""
        if not incident.channel_id or not incident.kickoff_ts:
            return
        try:
            await self._slack.chat_update(channel=incident.channel_id, ts=incident.kickoff_ts,
                                          text=blocks.kickoff_fallback_text(ticket),
                                          blocks=self._kickoff(incident, ticket))
        except SlackApiError as exc:
            log.warning("could not update the kickoff: %s", exc.response.get("error"))

    async def say(self, incident: Incident, message: list[Any], text: str) -> None:
        """Posts in the incident channel, or under the ticket card when there is no channel yet."""
        if incident.channel.state is not StepState.DONE or not incident.channel_id:
            await self._card.say(incident.ticket_number, text, message)
            return
        try:
            await self._slack.chat_postMessage(channel=incident.channel_id, text=text, blocks=message)
        except SlackApiError as exc:
            log.warning("could not post %r: %s", text, exc.response.get("error"))

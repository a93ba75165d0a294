"""The incident channel once it exists: topic, invitations and the kickoff (each once), and posting there."""

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
from bot.core.slack import Directory
from bot.domain import Incident, StepState, Ticket
from bot.ticket_card.service import TicketCard
from storage.repositories import incidents as repo
from storage.repositories import side_effects

log = logging.getLogger(__name__)


class IncidentChannel:
    """Sets up and speaks in `#incident-<n>`; before the channel exists it speaks under the ticket card."""

    def __init__(self, *, config: BotConfig, sessions: async_sessionmaker[AsyncSession], slack: AsyncWebClient,
                 directory: Directory, clock: Clock, card: TicketCard) -> None:
        self._config = config
        self._sessions = sessions
        self._slack = slack
        self._directory = directory
        self._clock = clock
        self._card = card

    async def prepare(self, incident: Incident, ticket: Ticket) -> None:
        """Topic, invitations and the kickoff message, each once; a failed invite never loses the channel."""
        assert incident.channel_id
        key = f"incident:{incident.id}:kickoff"
        async with self._sessions.begin() as session:
            if not await side_effects.claim_side_effect(session, key=key, now=self._clock.now()):
                return
        await self.set_topic(incident, ticket)
        invite_note = await self._invite(incident, ticket)
        try:
            posted = await self._slack.chat_postMessage(channel=incident.channel_id,
                                                        text=blocks.kickoff_fallback_text(ticket),
                                                        blocks=self._kickoff(incident, ticket))
        except SlackApiError:
            async with self._sessions.begin() as session:
                await side_effects.release_side_effect(session, key=key)
            raise
        async with self._sessions.begin() as session:
            await repo.record_kickoff(session, incident_id=incident.id, ts=str(posted["ts"]))
            await side_effects.complete_side_effect(session, key=key, now=self._clock.now())
        if invite_note:
            await self._slack.chat_postMessage(channel=incident.channel_id, text=invite_note)

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

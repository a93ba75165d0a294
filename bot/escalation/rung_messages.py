"""The ladder's messages: the re-page and its note at the first rung, the manager at the second, the agent's
reminders after that; each a one-time step, found again by its mark when an attempt comes again."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from blocks import escalation as words
from blocks.text import section
from blocks.ticket_card import card_url
from bot.core.config import BotConfig
from bot.core.once import OneTimeSteps
from bot.core.slack_lookup import SlackLookup
from bot.escalation.page import TeamPagers, escalation_page, pages
from bot.escalation.steps import Round, message_mark, rung_step, step_key
from storage.repositories import escalations as repo
from storage.repositories.side_effects import Claim

log = logging.getLogger(__name__)


class RungMessages:
    """Says (and at the first rung, re-pages) what each rung of the ladder does, once."""

    def __init__(self, *, config: BotConfig, sessions: async_sessionmaker[AsyncSession], slack: AsyncWebClient,
                 once: OneTimeSteps, lookup: SlackLookup, pagers: TeamPagers) -> None:
        self._config = config
        self._sessions = sessions
        self._slack = slack
        self._once = once
        self._lookup = lookup
        self._pagers = pagers

    async def say(self, found: Round, rung: int) -> None:
        """Does rung `rung`'s part unless done already (planned when the rung was climbed)."""
        escalation, team, ticket = found.escalation, found.team, found.ticket
        waited = self._config.ack_within[ticket.severity] * rung

        async def send(claim: Claim) -> str:
            if rung == 1:
                await self._repage(found)
                text = words.repaged_note(escalation, severity=found.severity, oncall_usergroup=team.oncall_usergroup)
                return await self._say_in_team_thread(found, rung, text, again=claim.again)
            if rung == 2:
                text = words.manager_note(escalation, manager=team.manager, waited=waited)
                await self._say_in_team_thread(found, rung, text, again=claim.again)
                return await self._say_under_card(found, rung, text, again=claim.again)
            return await self._say_under_card(found, rung, words.agent_reminder(escalation, waited=waited),
                                              again=claim.again)

        try:
            await self._once.perform(step_key(escalation.id, rung_step(rung)), send, planned_only=True)
        except SlackApiError as exc:
            log.warning("escalation %s rung %s: Slack said %s", escalation.id, rung, exc.response.get("error"))

    async def _repage(self, found: Round) -> None:
        pager = self._pagers.for_team(found.team.name)
        if pager is None or not pages(found.severity):
            return
        request = escalation_page(found.escalation, found.ticket, card_url=card_url(found.ticket),
                                  links=found.links, repage=True)
        # A failure raises: the claim runs out and the recovery sweep tries the rung again.
        result = await pager.trigger(request)
        async with self._sessions.begin() as session:
            await repo.record_page(session, escalation_id=found.escalation.id, dedup_key=result.dedup_key)

    async def _say_in_team_thread(self, found: Round, rung: int, text: str, *, again: bool) -> str:
        escalation = found.escalation
        channel, thread = found.team.channel, escalation.post_ts
        mark = message_mark(escalation.id, f"team:{rung}")
        if again and (ts := await self._lookup.message(channel, mark, thread_ts=thread)):
            return ts
        # Broadcast to the channel as well: a mention deep in a thread is easy to miss.
        posted = await self._slack.chat_postMessage(channel=channel, thread_ts=thread, text=text,
                                                    blocks=[section(text)], reply_broadcast=bool(thread),
                                                    metadata=mark.metadata())
        return str(posted["ts"])

    async def _say_under_card(self, found: Round, rung: int, text: str, *, again: bool) -> str:
        ticket = found.ticket
        channel = ticket.card_channel or self._config.slack.triage_channel
        mark = message_mark(found.escalation.id, f"card:{rung}")
        if again and (ts := await self._lookup.message(channel, mark, thread_ts=ticket.card_ts)):
            return ts
        posted = await self._slack.chat_postMessage(channel=channel, thread_ts=ticket.card_ts, text=text,
                                                    blocks=[section(text)], metadata=mark.metadata())
        return str(posted["ts"])


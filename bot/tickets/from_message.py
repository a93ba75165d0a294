"""Filing a ticket from a Slack message: the "File a ticket" message shortcut and a support agent's :ticket:
reaction start the intake prefilled from the message, at most one ticket per message; once it is filed, the
message's thread hears which ticket it became."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from blocks import message_ticket as words
from blocks.text import section
from bot.core.config import BotConfig
from bot.core.errors import SupportbotError
from bot.core.once import OneTimeSteps
from bot.core.slack import Directory
from bot.core.slack_lookup import Mark, SlackLookup
from bot.domain import MessageSource, Ticket
from bot.tickets.message_prefill import MessagePrefill, prefill_from_message
from storage.repositories import tickets as repo
from storage.repositories.side_effects import Claim

log = logging.getLogger(__name__)

# The emoji whose reaction offers to file a ticket (`:ticket:`, 🎫), as reaction_added names it.
TICKET_REACTION = "ticket"


def source_reply_key(ticket_number: int) -> str:
    """The one-time side effect of replying under the message a ticket was filed from."""
    return f"ticket:{ticket_number}:source_reply"


def source_reply_mark(ticket_number: int) -> Mark:
    """The metadata that reply carries, by which an attempt that comes again finds it in the thread."""
    return Mark("supportbot_ticket_source", {"ticket": ticket_number})


def source_metadata(source: MessageSource) -> dict[str, Any]:
    """The intake modal's private_metadata for a ticket filed from `source` (the channel is where the agent
    acted, so failures are told there)."""
    return {"channel": source.channel, "source": {"channel": source.channel, "ts": source.ts, "link": source.link}}


def message_source(metadata: Mapping[str, Any]) -> MessageSource | None:
    """The source message our intake modal carries in its private_metadata; None for a `/ticket` modal."""
    source = metadata.get("source")
    if not isinstance(source, Mapping):
        return None
    channel, ts, link = source.get("channel"), source.get("ts"), source.get("link")
    if not (isinstance(channel, str) and channel and isinstance(ts, str) and ts and isinstance(link, str)):
        return None
    return MessageSource(channel=channel, ts=ts, link=link)


class MessageGone(SupportbotError):
    """The message to file from cannot be read any more (deleted, or the bot left the channel)."""


@dataclass(frozen=True)
class NotAnAgent:
    """The person may not file tickets: only members of `group_id` may."""

    group_id: str


@dataclass(frozen=True)
class FiledAlready:
    """The message already has its ticket."""

    ticket: Ticket


@dataclass(frozen=True)
class IntakeFromMessage:
    """Open the intake modal for this message, prefilled."""

    source: MessageSource
    prefill: MessagePrefill


MessageStart = NotAnAgent | FiledAlready | IntakeFromMessage


class MessageTickets:
    """Starts filing from a message (shortcut, offer button) and offers it to agents who react with :ticket:."""

    def __init__(self, *, config: BotConfig, sessions: async_sessionmaker[AsyncSession], slack: AsyncWebClient,
                 directory: Directory, once: OneTimeSteps) -> None:
        self._config = config
        self._sessions = sessions
        self._slack = slack
        self._directory = directory
        self._once = once

    async def start(self, user_id: str, *, channel: str, ts: str, text: str | None = None) -> MessageStart:
        """What to show `user_id` asking to file from the message `ts` in `channel`: a refusal, the ticket already
        filed from it, or the prefilled intake (its text read from Slack when `text` is None)."""
        agents = self._config.slack.support_agents
        if not await self._directory.is_member(user_id, agents):
            return NotAnAgent(agents)
        if (existing := await self.ticket_for(channel, ts)) is not None:
            return FiledAlready(existing)
        if text is None:
            text = await self._message_text(channel, ts)
        permalink = str((await self._slack.chat_getPermalink(channel=channel, message_ts=ts))["permalink"])
        return IntakeFromMessage(MessageSource(channel=channel, ts=ts, link=permalink), prefill_from_message(text))

    async def ticket_for(self, channel: str, ts: str) -> Ticket | None:
        """The ticket filed from this message, or None."""
        async with self._sessions() as session:
            return await repo.ticket_for_message(session, channel, ts)

    async def offer(self, event: Mapping[str, Any]) -> None:
        """A reaction_added event: a support agent's :ticket: on a message gets, privately, a button that opens
        the prefilled intake (a reaction carries no trigger_id, so it cannot open a form itself), or the ticket
        already filed from it. Anything else is ignored; one answer per reaction however often Slack delivers it."""
        item = event.get("item")
        if event.get("reaction") != TICKET_REACTION or not isinstance(item, Mapping) or item.get("type") != "message":
            return
        user, channel, ts = event.get("user"), item.get("channel"), item.get("ts")
        if not (isinstance(user, str) and isinstance(channel, str) and isinstance(ts, str)):
            return
        if not await self._directory.is_member(user, self._config.slack.support_agents):
            return

        async def answer(_claim: Claim) -> str:
            existing = await self.ticket_for(channel, ts)
            text = words.already_filed(existing) if existing else words.TICKET_OFFER_TEXT
            blocks = [section(text)] if existing else words.ticket_offer(channel, ts)
            posted = await self._slack.chat_postEphemeral(channel=channel, user=user, text=text, blocks=blocks)
            return str(posted.get("message_ts") or "")

        # The reaction itself is the key (its event_ts is the same in every retry of the event): a retried
        # delivery finds it done, while taking the reaction off and adding it again asks anew.
        await self._once.perform(f"reaction:{channel}:{ts}:{user}:{event.get('event_ts')}"[:200], answer)

    async def _message_text(self, channel: str, ts: str) -> str:
        """The message's text: from the channel's history, or from its thread when it is a reply."""
        page = await self._slack.conversations_history(channel=channel, latest=ts, oldest=ts, inclusive=True, limit=1)
        found = next((m for m in page.get("messages") or [] if m.get("ts") == ts), None)
        if found is None:
            thread = await self._slack.conversations_replies(channel=channel, ts=ts, limit=200)
            found = next((m for m in thread.get("messages") or [] if m.get("ts") == ts), None)
        if found is None:
            raise MessageGone(words.message_gone())
        return str(found.get("text") or "")


class SourceThread:
    """Replies once under the message a ticket was filed from, naming the ticket and linking its card."""

    def __init__(self, *, slack: AsyncWebClient, once: OneTimeSteps, lookup: SlackLookup) -> None:
        self._slack = slack
        self._once = once
        self._lookup = lookup

    async def reply(self, ticket: Ticket, *, planned_only: bool = False) -> None:
        """Posts "Ticket #N was filed from this message" in the source message's thread, once however often
        called, also across a stop mid-way (an attempt that comes again looks for it in the thread first)."""
        source = ticket.source
        if source is None:
            return
        mark = source_reply_mark(ticket.number)

        async def send(claim: Claim) -> str:
            if claim.again and (found := await self._lookup.message(source.channel, mark, thread_ts=source.ts)):
                return found
            posted = await self._slack.chat_postMessage(
                channel=source.channel, thread_ts=source.ts, text=words.filed_reply_text(ticket),
                blocks=words.filed_reply(ticket), unfurl_links=False, metadata=mark.metadata())
            return str(posted["ts"])

        try:
            await self._once.perform(source_reply_key(ticket.number), send, planned_only=planned_only)
        except SlackApiError as exc:
            # The ticket and its card stand, and the card links to the message: a missing reply loses no fact.
            log.warning("could not reply under the source message of #%s: %s", ticket.number,
                        exc.response.get("error"))

"""Jira's issue webhooks: an engineer moving the linked issue to an acknowledging status, or commenting on it
first, acknowledges the escalation as if they had pressed the button. Verified by its signature; a delivery
that comes twice is handled once."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from blocks import escalation as words
from blocks.text import escape, section
from bot.core.config import BotConfig
from bot.core.once import OneTimeSteps
from bot.domain import Escalation, EscalationState
from bot.escalation.delivery import EscalationDelivery
from bot.escalation.service import EscalationService
from bot.integrations.jira import JiraEvent, JiraPerson, parse_webhook, verify_webhook_signature
from storage.repositories import escalations as repo

log = logging.getLogger(__name__)
DELIVERY_HEADER = "X-Atlassian-Webhook-Identifier"
SIGNATURE_HEADER = "X-Hub-Signature"


class JiraSync:
    """Turns verified Jira webhooks into acknowledgements and status lines on the escalation."""

    def __init__(self, *, config: BotConfig, secret: str | None, sessions: async_sessionmaker[AsyncSession],
                 slack: AsyncWebClient, once: OneTimeSteps, escalations: EscalationService,
                 delivery: EscalationDelivery) -> None:
        self._config = config
        self._secret = secret
        self._sessions = sessions
        self._slack = slack
        self._once = once
        self._escalations = escalations
        self._delivery = delivery

    async def receive(self, body: bytes, headers: Mapping[str, str]) -> int:
        """Handles one delivery; the HTTP status to answer (401 unsigned or wrongly signed, nothing recorded)."""
        if not self._secret or not verify_webhook_signature(self._secret, body, headers.get(SIGNATURE_HEADER)):
            return 401
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser's stack, a 500
            return 400
        # Jira sends the same identifier on each retry of one delivery; without one, the body is the identity.
        delivery = headers.get(DELIVERY_HEADER) or hashlib.sha256(body).hexdigest()
        events = parse_webhook(payload, delivery_id=delivery)
        if events:
            async def apply(_claim: object) -> bool:
                for event in events:
                    await self._apply(event)
                return True

            await self._once.perform(f"jira_delivery:{delivery[:150]}", apply)
        return 200

    async def _apply(self, event: JiraEvent) -> None:
        async with self._sessions.begin() as session:
            escalation = await repo.open_escalation_by_jira_key(session, key=event.issue_key)
            if escalation is None:
                return
            if event.kind == "status" and event.status:
                await repo.record_jira_status(session, escalation_id=escalation.id, status=event.status)
        acknowledging = {s.casefold() for s in self._config.jira.acknowledge_statuses}
        starts_work = event.kind == "comment" or (event.status or "").casefold() in acknowledging
        if escalation.state is EscalationState.WAITING and starts_work:
            await self._acknowledge(escalation, event.person)
        else:
            await self._delivery.refresh(escalation.id)

    async def _acknowledge(self, escalation: Escalation, person: JiraPerson) -> None:
        slack_user = await self._slack_user(person)
        name = person.display_name or person.account_id or "a Jira user"
        if slack_user is not None and not await self._escalations.may_acknowledge(escalation, slack_user):
            team = self._delivery.team(escalation.team)
            text = words.jira_ack_refused(f"<@{slack_user}>", escalation.jira_key or "", team.name,
                                          team.oncall_usergroup)
            await self._say_on_post(escalation, text)
            await self._delivery.refresh(escalation.id)
            return
        # A person Jira shows no email for (their privacy setting) is named by their Jira name: Jira's own
        # project permissions let them move the issue.
        await self._escalations.record_acknowledgement(escalation, by=slack_user,
                                                       name=None if slack_user else escape(name), via="jira")

    async def _slack_user(self, person: JiraPerson) -> str | None:
        if not person.email:
            return None
        try:
            found = await self._slack.users_lookupByEmail(email=person.email)
        except SlackApiError as exc:
            if exc.response.get("error") != "users_not_found":
                log.warning("users.lookupByEmail failed: %s", exc.response.get("error"))
            return None
        return str((found.get("user") or {}).get("id")) or None

    async def _say_on_post(self, escalation: Escalation, text: str) -> None:
        if not escalation.post_channel or not escalation.post_ts:
            return
        try:
            await self._slack.chat_postMessage(channel=escalation.post_channel, thread_ts=escalation.post_ts,
                                               text=text, blocks=[section(text)])
        except SlackApiError as exc:
            log.warning("could not post in escalation %s: %s", escalation.id, exc.response.get("error"))

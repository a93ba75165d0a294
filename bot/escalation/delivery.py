"""Delivering an escalation round: the post in the team channel, the team's page, the Jira issue and the
ladder's messages, each a one-time step (planned with the round, so a stop mid-way is finished by the next
attempt), retried with backoff when the outside system fails, and never doubled."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from blocks import escalation as words
from blocks.ticket_card import card_url
from bot.core.clock import Clock
from bot.core.config import BotConfig, Team
from bot.core.errors import OutsideServiceError
from bot.core.once import OneTimeSteps
from bot.core.scheduler import retry_delay
from bot.core.slack_lookup import SlackLookup
from bot.core.timers import schedule
from bot.domain import Escalation, EscalationState, JiraState, Severity
from bot.escalation.jira_issue import issue_label, jira_issue
from bot.escalation.page import TeamPagers, escalation_page, pages
from bot.escalation.rung_messages import RungMessages
from bot.escalation.steps import Round, card_note, post_mark, step_key
from bot.escalation.timers import DeliveryRetry
from bot.integrations.jira import Jira, JiraIssue
from bot.ticket_card.links import diagnostic_links
from bot.ticket_card.service import TicketCard, note_key
from storage.repositories import audit
from storage.repositories import escalations as repo
from storage.repositories.side_effects import Claim, release_side_effect

log = logging.getLogger(__name__)


async def retry_later(session: AsyncSession, now: datetime, escalation: Escalation, step: str,
                      attempt: int) -> datetime:
    """Schedules the part's next attempt with backoff; when it is due."""
    due = now + retry_delay(attempt)
    await schedule(session, DeliveryRetry(escalation.ticket_number, escalation.round, step, attempt), due_at=due)
    return due


class EscalationDelivery:
    """Gets each round to the owning team once: post, page, Jira issue, then the ladder's messages."""

    def __init__(self, *, config: BotConfig, sessions: async_sessionmaker[AsyncSession], slack: AsyncWebClient,
                 clock: Clock, once: OneTimeSteps, lookup: SlackLookup, card: TicketCard, pagers: TeamPagers,
                 jira: Jira | None) -> None:
        self._config = config
        self._sessions = sessions
        self._slack = slack
        self._clock = clock
        self._once = once
        self._lookup = lookup
        self._card = card
        self._pagers = pagers
        self._jira = self.jira = jira  # set when JIRA_BASE_URL (and its credentials) are
        self._rungs = RungMessages(config=config, sessions=sessions, slack=slack, once=once, lookup=lookup,
                                   pagers=pagers)


    def team(self, name: str) -> Team:
        """The configured team by name."""
        return next(t for t in self._config.teams if t.name == name)

    async def load(self, escalation_id: int) -> Round | None:
        """The round as stored now, with its ticket, team, links and related tickets."""
        async with self._sessions() as session:
            escalation = await repo.get_escalation(session, escalation_id=escalation_id)
            if escalation is None:
                return None
            related = await repo.earlier_tickets_with_sentry_issue(
                session, sentry_issue=escalation.sentry_issue, ticket_number=escalation.ticket_number) \
                if escalation.sentry_issue else []
        ticket = await self._card.get(escalation.ticket_number)
        facts = escalation.facts
        links = diagnostic_links(self._config.links, workspace_id=facts.workspace_id, request_id=facts.request_id,
                                 around=facts.occurred_at or escalation.escalated_at)
        return Round(escalation, ticket, self.team(escalation.team), [(d.name, d.url) for d in links], related)

    async def plan(self, session: AsyncSession, escalation: Escalation, severity: Severity) -> None:
        """Writes down, with the round, every part that must follow it."""
        steps = ["post"]
        if pages(severity):
            steps.append("page")
        if escalation.jira_state is JiraState.PENDING:
            steps.append("jira")
        # The note under the card too: a process stopped before it leaves it to the sweep, not to nobody.
        await self._once.plan(session, [step_key(escalation.id, s) for s in steps]
                              + [note_key(escalation.ticket_number, card_note(escalation))])

    async def resume(self, escalation_id: int) -> None:
        """Does every planned part that is not done yet (the recovery sweep and each rung call this), then
        redraws the post and the card."""
        found = await self.load(escalation_id)
        if found is None:
            return
        await self._post(found)
        if found.escalation.state is EscalationState.WAITING:
            await self._page(found)
        await self._create_jira_issue(found)
        for rung in range(1, found.escalation.rung + 1):
            await self._rungs.say(found, rung)
        await self.refresh(escalation_id)

    async def retry(self, key: DeliveryRetry) -> None:
        """A retry timer fired: plans the part again (it was released when it failed) and delivers."""
        async with self._sessions.begin() as session:
            escalation = await repo.escalation_round(session, ticket_number=key.ticket, round_=key.round)
            if escalation is None:
                return
            if key.step == "page" and escalation.state is not EscalationState.WAITING:
                return  # acknowledged meanwhile: paging now would wake someone for nothing
            await self._once.plan(session, [step_key(escalation.id, key.step)])
        found = await self.load(escalation.id)
        if found is None:
            return
        run = {"post": self._post, "page": self._page, "jira": self._create_jira_issue}[key.step]
        await run(found, attempt=key.attempt)
        await self.refresh(escalation.id)

    async def refresh(self, escalation_id: int) -> None:
        """Redraws the post in place (and the ticket card) with where the round stands now."""
        found = await self.load(escalation_id)
        if found is None:
            return
        escalation = found.escalation
        if escalation.post_channel and escalation.post_ts:
            where = found.where(pagerduty=self._pagers.for_team(found.team.name) is not None)
            try:
                await self._slack.chat_update(channel=escalation.post_channel, ts=escalation.post_ts,
                                              text=words.post_text(escalation, where, found.severity),
                                              blocks=words.escalation_post(escalation, where, now=self._clock.now()))
            except SlackApiError as exc:
                log.warning("could not update escalation %s: %s", escalation_id, exc.response.get("error"))
        await self._card.refresh(escalation.ticket_number)

    # -- the parts ------------------------------------------------------------------------------------------
    async def _post(self, found: Round, *, attempt: int = 0) -> None:
        escalation, team = found.escalation, found.team
        where = found.where(pagerduty=self._pagers.for_team(team.name) is not None)

        async def send(claim: Claim) -> str:
            if claim.again and (ts := await self._lookup.message(team.channel, post_mark(escalation.id))):
                return ts
            posted = await self._slack.chat_postMessage(
                channel=team.channel, text=words.post_text(escalation, where, found.severity), unfurl_links=False,
                blocks=words.escalation_post(escalation, where, now=self._clock.now()),
                metadata=post_mark(escalation.id).metadata())
            return str(posted["ts"])

        async def record(session: AsyncSession, ts: str) -> dict[str, Any]:
            await repo.record_post(session, escalation_id=escalation.id, channel=team.channel, ts=ts)
            return {"ts": ts}

        try:
            await self._once.perform(step_key(escalation.id, "post"), send, record=record, planned_only=True)
        except SlackApiError as exc:
            error = str(exc.response.get("error"))
            async with self._sessions.begin() as session:
                await repo.record_post_problem(session, escalation_id=escalation.id, problem=error)
                await audit.append_audit_event(session, ticket_number=escalation.ticket_number,
                                               action="escalation_post_failed", actor="supportbot",
                                               at=self._clock.now(), before=None, after={"error": error})
                await retry_later(session, self._clock.now(), escalation, "post", attempt + 1)
            await self._card.tell_agent(found.ticket, words.post_not_delivered(team.name, team.channel, error),
                                        user=escalation.escalated_by)

    async def _page(self, found: Round, *, attempt: int = 0) -> None:
        escalation = found.escalation
        pager = self._pagers.for_team(found.team.name)
        request = escalation_page(escalation, found.ticket, card_url=card_url(found.ticket), links=found.links)

        async def send(_claim: Claim) -> str | None:
            return None if pager is None else (await pager.trigger(request)).dedup_key

        async def record(session: AsyncSession, dedup_key: str | None) -> dict[str, Any]:
            if dedup_key is None:
                await repo.record_page_problem(session, escalation_id=escalation.id,
                                               problem=f"Not paged: no PagerDuty routing key is set for "
                                                       f"{found.team.name}")
            else:
                await repo.record_page(session, escalation_id=escalation.id, dedup_key=dedup_key)
                await audit.append_audit_event(session, ticket_number=escalation.ticket_number,
                                               action="escalation_paged", actor="supportbot", at=self._clock.now(),
                                               before=None, after={"team": found.team.name, "dedup_key": dedup_key})
            return {"dedup_key": dedup_key}

        await self._outside(found, "page", send, record, attempt)

    async def _create_jira_issue(self, found: Round, *, attempt: int = 0) -> None:
        escalation, jira = found.escalation, self._jira
        if jira is None:
            return
        draft = jira_issue(escalation, found.ticket, self._config.jira, card_url=card_url(found.ticket),
                           links=found.links)

        async def send(claim: Claim) -> JiraIssue:
            label = issue_label(escalation.ticket_number, escalation.round)
            if claim.again and (issue := await jira.find_issue_by_label(label)):
                return issue
            return await jira.create_issue(draft)

        async def record(session: AsyncSession, issue: JiraIssue) -> dict[str, Any]:
            await repo.record_jira_issue(session, escalation_id=escalation.id, key=issue.key, url=issue.url,
                                         state=JiraState.CREATED)
            await audit.append_audit_event(session, ticket_number=escalation.ticket_number,
                                           action="jira_issue_created", actor="supportbot", at=self._clock.now(),
                                           before=None, after={"key": issue.key})
            return {"key": issue.key}

        await self._outside(found, "jira", send, record, attempt)

    async def _outside(self, found: Round, step: str, send: Callable[[Claim], Awaitable[Any]],
                       record: Callable[[AsyncSession, Any], Awaitable[dict[str, Any]]], attempt: int) -> None:
        """A part done by PagerDuty or Jira: on failure the post says so and a retry is scheduled with backoff;
        a refusal (a 4xx) is not retried."""
        escalation = found.escalation
        key = step_key(escalation.id, step)
        try:
            await self._once.perform(key, send, record=record, planned_only=True)
            return
        except OutsideServiceError as exc:
            failure = exc
        async with self._sessions.begin() as session:
            await release_side_effect(session, key=key)
            await audit.append_audit_event(session, ticket_number=escalation.ticket_number,
                                           action=f"escalation_{step}_failed", actor="supportbot",
                                           at=self._clock.now(), before=None,
                                           after={"error": str(failure), "attempt": attempt + 1})
            due = None if not failure.retryable else \
                await retry_later(session, self._clock.now(), escalation, step, attempt + 1)
            if step == "page":
                when = f"; trying again at {due:%H:%M:%S} UTC" if due else ""
                await repo.record_page_problem(session, escalation_id=escalation.id,
                                               problem=f"Paging the team failed ({failure}){when}")
            elif not failure.retryable:
                await repo.record_jira_issue(session, escalation_id=escalation.id, key=None, url=None,
                                             state=JiraState.REFUSED)
        if step == "jira" and not failure.retryable:
            await self._card.say(escalation.ticket_number, f"Jira refused to create the issue for "
                                 f"#{escalation.ticket_number}: {failure.detail}")

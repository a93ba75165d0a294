"""The escalation workflow: route a complete hand-off to its owning team once per round, record who
acknowledged it (by button or from Jira) and stop the ladder, and hand it back to support."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from blocks import escalation as words
from blocks.ids import EscalationField
from blocks.refusals import agents_only
from blocks.text import section
from bot.core.business_days import BusinessCalendar
from bot.core.clock import Clock
from bot.core.config import BotConfig, Team
from bot.core.errors import NotAllowed, SupportbotError
from bot.core.slack import Directory
from bot.core.timers import schedule
from bot.domain import Escalation, EscalationState, JiraState, Ticket
from bot.escalation.delivery import EscalationDelivery
from bot.escalation.intake import EscalationForm, sentry_issue_of
from bot.escalation.ladder import AcknowledgementLadder
from bot.escalation.page import TeamPagers
from bot.escalation.routing import Route, components, route
from bot.escalation.steps import card_note
from bot.escalation.timers import FixReminder, LadderRung
from bot.integrations.jira import issue_key_of
from bot.ticket_card.service import TicketCard
from storage.repositories import audit, timers
from storage.repositories import escalations as repo
from storage.repositories.escalations import EscalationDraft

log = logging.getLogger(__name__)


class EscalationRefused(SupportbotError):
    """The escalation cannot go out as submitted; `field` is the modal block to show the reason under."""

    def __init__(self, field: EscalationField, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class EscalationChoices:
    """What the modal offers: the ticket it is for, every component, every team."""

    ticket: Ticket
    components: list[str]
    teams: list[str]


def route_note(found: Route, team: Team, *, chosen_by: str | None) -> str | None:
    """The line the post carries about how the team was chosen, when it is worth saying."""
    if found.conflict and found.winner and found.overruled:
        return (f"Routed to {team.name} by component “{found.winner.pattern}”; the URL matched "
                f"“{found.overruled.pattern}” of {found.overruled.team.name}, and the component wins.")
    if found.team is None and chosen_by:
        return f"No component or URL names an owning team: the agent chose {team.name}."
    return None


class EscalationService:
    """Escalates tickets to the owning team and records acknowledgements; delivery does the outside calls."""

    def __init__(self, *, config: BotConfig, sessions: async_sessionmaker[AsyncSession], directory: Directory,
                 clock: Clock, card: TicketCard, delivery: EscalationDelivery, ladder: AcknowledgementLadder,
                 pagers: TeamPagers) -> None:
        self.config = config
        self._sessions = sessions
        self._directory = directory
        self._clock = clock
        self._card = card
        self._delivery = delivery
        self._ladder = ladder
        self._pagers = pagers
        self._calendar = BusinessCalendar(config.business_hours)

    async def require_agent(self, user_id: str) -> None:
        """Raises NotAllowed unless the person is a support agent."""
        if not await self._directory.is_member(user_id, self.config.slack.support_agents):
            raise NotAllowed(agents_only(self.config.slack.support_agents, "escalate tickets"))

    async def choices(self, number: int) -> EscalationChoices:
        """The ticket and what the modal lets the agent pick."""
        return EscalationChoices(ticket=await self._card.get(number),
                                 components=[name for name, _ in components(self.config.teams)],
                                 teams=[t.name for t in self.config.teams])

    def parse(self, view: Mapping[str, Any]) -> EscalationForm:
        """The submitted modal as facts, or inline errors."""
        return EscalationForm.parse(view, jira_key_of=issue_key_of)

    async def escalate(self, number: int, form: EscalationForm, *, by: str, submission_key: str) -> Escalation:
        """Stores the round once per submission (and plans its delivery and ladder); raises EscalationRefused
        when no team can be found or the ticket's last round is still open."""
        facts = form.facts
        if facts is None:
            raise ValueError("escalate() needs a form without errors")
        ticket = await self._card.get(number)
        found = route(self.config.teams, component=facts.component, url=ticket.environment.url)
        team = found.team or next((t for t in self.config.teams if t.name == form.team_choice), None)
        if team is None:
            raise EscalationRefused(EscalationField.TEAM if self.config.teams else EscalationField.COMPONENT,
                                    "No component or URL names an owning team: choose the team")
        facts_with_url = replace(facts, url=ticket.environment.url)
        jira_state = JiraState.LINKED if facts.jira_key else (
            JiraState.PENDING if self._delivery.jira is not None else None)
        jira_url = None
        if facts.jira_key:
            jira = self._delivery.jira
            jira_url = (jira.issue_url(facts.jira_key) if jira is not None else None) or (
                form.jira_text if form.jira_text and form.jira_text.startswith("https://") else None)
        draft = EscalationDraft(
            ticket_number=number, team=team.name, facts=facts_with_url, sentry_issue=sentry_issue_of(facts.sentry_url),
            routed_by=found.winner.by if found.winner else "agent",
            route_note=route_note(found, team, chosen_by=form.team_choice), escalated_by=by,
            escalated_at=self._clock.now(), jira_state=jira_state, jira_url=jira_url)
        async with self._sessions.begin() as session:
            if (again := await repo.escalation_by_submission(session, submission_key=submission_key)) is not None:
                return again  # the same submission pressed twice, or delivered twice: one round
            latest = await repo.latest_escalation(session, ticket_number=number)
            if latest is not None and latest.state is not EscalationState.HANDED_BACK:
                # The open round may be this very submission's, stored a moment ago by its twin delivery.
                if (again := await repo.escalation_by_submission(session, submission_key=submission_key)) is not None:
                    return again
                raise EscalationRefused(EscalationField.CUSTOMER_IMPACT, words.already_escalated(latest))
            escalation, created = await repo.insert_escalation_once(session, draft=draft,
                                                                     submission_key=submission_key)
            if created:
                await audit.append_audit_event(
                    session, ticket_number=number, action="escalated", actor=by, at=draft.escalated_at, before=None,
                    after={"round": escalation.round, "team": team.name, "routed_by": draft.routed_by,
                           "jira": facts.jira_key, "redacted": list(facts.redactions)})
                await self._delivery.plan(session, escalation, ticket.severity)
                await self._ladder.start(session, escalation, ticket.severity)
            elif await repo.escalation_by_submission(session, submission_key=submission_key) is None:
                # Another agent's submission took this round a moment earlier.
                raise EscalationRefused(EscalationField.CUSTOMER_IMPACT, words.already_escalated(escalation))
        return escalation

    async def deliver(self, escalation: Escalation) -> None:
        """Posts, pages and files the Jira issue for a stored round (what is done already is skipped)."""
        await self._delivery.resume(escalation.id)
        team = self._delivery.team(escalation.team)
        stored = await self.get(escalation.id)
        text = words.escalated_note(stored, team_channel=team.channel, paged=bool(stored.page_keys))
        await self._card.note(escalation.ticket_number, card_note(escalation), text, [section(text)])

    async def resume_note(self, number: int) -> None:
        """Finishes the latest round of the ticket when a stopped process left its card note owed (the recovery
        sweep calls this for the ticket: the note is the ticket's effect, the round's parts are the round's)."""
        async with self._sessions() as session:
            latest = await repo.latest_escalation(session, ticket_number=number)
        if latest is not None and await self._card.note_pending(number, card_note(latest)):
            await self.deliver(latest)

    async def get(self, escalation_id: int) -> Escalation:
        """The round as stored now."""
        async with self._sessions() as session:
            escalation = await repo.get_escalation(session, escalation_id=escalation_id)
        if escalation is None:
            raise SupportbotError(f"Escalation {escalation_id} does not exist.")
        return escalation

    async def may_acknowledge(self, escalation: Escalation, user_id: str) -> bool:
        """On call for the owning team, or its manager."""
        team = self._delivery.team(escalation.team)
        return user_id == team.manager or await self._directory.is_member(user_id, team.oncall_usergroup)

    async def acknowledge(self, escalation_id: int, *, by: str) -> Escalation:
        """The Acknowledge button; raises NotAllowed (and changes nothing) for anyone off the team."""
        escalation = await self.get(escalation_id)
        if not await self.may_acknowledge(escalation, by):
            team = self._delivery.team(escalation.team)
            raise NotAllowed(words.not_on_team(team.name, team.oncall_usergroup, team.manager))
        await self.record_acknowledgement(escalation, by=by, name=None, via="slack")
        return await self.get(escalation_id)

    async def record_acknowledgement(self, escalation: Escalation, *, by: str | None, name: str | None,
                                     via: str) -> bool:
        """Records who acknowledged once, stops the ladder, acknowledges the alerts and tells the agent; False
        when the round was acknowledged already (a second press, a webhook delivered twice)."""
        now = self._clock.now()
        async with self._sessions.begin() as session:
            if not await repo.record_acknowledgement(session, escalation_id=escalation.id, at=now, by=by,
                                                     name=name, via=via):
                return False
            await timers.cancel_timers(session, now=now, kinds=[LadderRung.kind],
                                       ticket_number=escalation.ticket_number)
            await schedule(session, FixReminder(escalation.ticket_number, escalation.round),
                           due_at=self._calendar.add_business_days(now, 1))
            await audit.append_audit_event(session, ticket_number=escalation.ticket_number,
                                           action="escalation_acknowledged", actor=by or f"jira:{name}", at=now,
                                           before=None, after={"round": escalation.round, "via": via,
                                                               "waited_seconds": int((now - escalation.escalated_at)
                                                                                     .total_seconds())})
        stored = await self.get(escalation.id)
        await self._pagers.acknowledge_round(stored)
        await self._delivery.refresh(stored.id)
        await self._card.say(stored.ticket_number, words.acknowledged_note(stored))
        return True

    async def hand_back(self, escalation_id: int, *, by: str) -> None:
        """The engineer hands the round back to support, which may then escalate again (a new round)."""
        escalation = await self.get(escalation_id)
        if not await self.may_acknowledge(escalation, by):
            team = self._delivery.team(escalation.team)
            raise NotAllowed(words.not_on_team(team.name, team.oncall_usergroup, team.manager))
        async with self._sessions.begin() as session:
            if not await repo.record_hand_back(session, escalation_id=escalation_id, at=self._clock.now()):
                return
            await audit.append_audit_event(session, ticket_number=escalation.ticket_number,
                                           action="escalation_handed_back", actor=by, at=self._clock.now(),
                                           before=None, after={"round": escalation.round})
        await self._delivery.refresh(escalation_id)
        await self._card.say(escalation.ticket_number, words.handed_back_note(escalation, by=by))

    async def waiting_for(self, user_id: str) -> list[tuple[Escalation, Ticket]]:
        """Escalations waiting on the teams this person is on call for (or manages), longest-waiting first."""
        teams = [t.name for t in self.config.teams
                 if user_id == t.manager or await self._directory.is_member(user_id, t.oncall_usergroup)]
        async with self._sessions() as session:
            waiting = await repo.waiting_escalations(session, teams=teams)
        return [(e, await self._card.get(e.ticket_number)) for e in waiting]


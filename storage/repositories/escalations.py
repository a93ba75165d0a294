"""Escalation rounds: one per submission and per (ticket, round); acknowledged once, by a conditional update."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import Escalation, EscalationFacts, EscalationState, JiraState, PlanTier, ReproResult
from storage.models import EscalationRow
from storage.repositories._upsert import dialect_insert, rows_affected


@dataclass(frozen=True)
class EscalationDraft:
    """A validated escalation with no round number yet."""

    ticket_number: int
    team: str
    facts: EscalationFacts
    sentry_issue: str | None
    routed_by: str
    route_note: str | None
    escalated_by: str
    escalated_at: datetime
    jira_state: JiraState | None
    jira_url: str | None


def _keys(text: str) -> tuple[str, ...]:
    return tuple(k for k in text.split("\n") if k)


def _to_escalation(row: EscalationRow) -> Escalation:
    facts = EscalationFacts(
        workspace_id=row.workspace_id, plan_tier=PlanTier(row.plan_tier), occurred_at=row.occurred_at,
        customer_timezone=row.customer_timezone, expected=row.expected, actual=row.actual,
        request_id=row.request_id, sentry_url=row.sentry_url, repro_steps=row.repro_steps,
        repro_result=ReproResult(row.repro_result), component=row.component, customer_impact=row.customer_impact,
        jira_key=row.jira_key if row.jira_state == JiraState.LINKED.value else None, url=row.url,
        redactions=_keys(row.redactions))
    return Escalation(
        id=row.id, ticket_number=row.ticket_number, round=row.round, team=row.team, facts=facts,
        routed_by=row.routed_by, route_note=row.route_note, escalated_by=row.escalated_by,
        escalated_at=row.escalated_at, state=EscalationState(row.state), sentry_issue=row.sentry_issue,
        acknowledged_by=row.acknowledged_by, acknowledged_name=row.acknowledged_name,
        acknowledged_via=row.acknowledged_via, acknowledged_at=row.acknowledged_at,
        post_channel=row.post_channel, post_ts=row.post_ts, post_problem=row.post_problem,
        jira_key=row.jira_key, jira_url=row.jira_url,
        jira_state=JiraState(row.jira_state) if row.jira_state else None, jira_status=row.jira_status,
        page_keys=_keys(row.page_keys), page_problem=row.page_problem, rung=row.rung,
        repaged_at=row.repaged_at, manager_called_at=row.manager_called_at)


async def insert_escalation_once(session: AsyncSession, *, draft: EscalationDraft,
                                 submission_key: str) -> tuple[Escalation, bool]:
    """Stores the next round unless this submission already did; returns (escalation, created).

    The unique keys on the submission and on (ticket, round) make a double press, or two agents escalating
    the same ticket at once, store one round.
    """
    existing = await session.scalar(select(EscalationRow).where(EscalationRow.submission_key == submission_key))
    if existing is not None:
        return _to_escalation(existing), False
    last = await session.scalar(select(func.max(EscalationRow.round))
                                .where(EscalationRow.ticket_number == draft.ticket_number))
    facts = draft.facts
    values = dict(
        ticket_number=draft.ticket_number, round=(last or 0) + 1, submission_key=submission_key, team=draft.team,
        component=facts.component, workspace_id=facts.workspace_id, plan_tier=facts.plan_tier.value,
        occurred_at=facts.occurred_at, customer_timezone=facts.customer_timezone, expected=facts.expected,
        actual=facts.actual, request_id=facts.request_id, sentry_url=facts.sentry_url,
        sentry_issue=draft.sentry_issue, repro_steps=facts.repro_steps, repro_result=facts.repro_result.value,
        customer_impact=facts.customer_impact, url=facts.url, redactions="\n".join(facts.redactions),
        routed_by=draft.routed_by, route_note=draft.route_note, escalated_by=draft.escalated_by,
        escalated_at=draft.escalated_at, state=EscalationState.WAITING.value,
        jira_key=facts.jira_key, jira_url=draft.jira_url,
        jira_state=draft.jira_state.value if draft.jira_state else None, page_keys="", rung=0)
    # No conflict target: a clash on the submission or on (ticket, round) both leave the other's row standing.
    statement = dialect_insert(session, EscalationRow.__table__).values(values)  # type: ignore[arg-type]
    statement = statement.on_conflict_do_nothing()
    created = bool(rows_affected(await session.execute(statement)))
    row = await session.scalar(select(EscalationRow).where(EscalationRow.submission_key == submission_key))
    if row is None:  # lost the (ticket, round) race to another submission: the caller re-reads the latest round
        return await _latest(session, draft.ticket_number), False
    return _to_escalation(row), created


async def _latest(session: AsyncSession, ticket_number: int) -> Escalation:
    row = await session.scalar(select(EscalationRow).where(EscalationRow.ticket_number == ticket_number)
                               .order_by(EscalationRow.round.desc()).limit(1))
    if row is None:
        raise LookupError(f"ticket {ticket_number} has no escalation")
    return _to_escalation(row)


async def latest_escalation(session: AsyncSession, *, ticket_number: int) -> Escalation | None:
    """The ticket's most recent round, or None when it was never escalated."""
    row = await session.scalar(select(EscalationRow).where(EscalationRow.ticket_number == ticket_number)
                               .order_by(EscalationRow.round.desc()).limit(1))
    return _to_escalation(row) if row is not None else None


async def get_escalation(session: AsyncSession, *, escalation_id: int) -> Escalation | None:
    """The round by its ID."""
    row = await session.get(EscalationRow, escalation_id, populate_existing=True)
    return _to_escalation(row) if row is not None else None


async def escalation_by_post(session: AsyncSession, *, channel: str, ts: str) -> Escalation | None:
    """The round whose post in a team channel is this message."""
    row = await session.scalar(select(EscalationRow).where(EscalationRow.post_channel == channel,
                                                           EscalationRow.post_ts == ts))
    return _to_escalation(row) if row is not None else None


async def open_escalation_by_jira_key(session: AsyncSession, *, key: str) -> Escalation | None:
    """The newest round linked to this Jira issue that is still waiting, else the newest linked at all."""
    rows = (await session.scalars(select(EscalationRow).where(func.upper(EscalationRow.jira_key) == key.upper())
                                  .order_by(EscalationRow.id.desc()))).all()
    waiting = [r for r in rows if r.state == EscalationState.WAITING.value]
    chosen = waiting or list(rows)
    return _to_escalation(chosen[0]) if chosen else None


async def record_post(session: AsyncSession, *, escalation_id: int, channel: str, ts: str) -> None:
    """Where the round's post is, so its buttons, thread and refreshes find it."""
    await session.execute(update(EscalationRow).where(EscalationRow.id == escalation_id)
                          .values(post_channel=channel, post_ts=ts, post_problem=None))


async def record_post_problem(session: AsyncSession, *, escalation_id: int, problem: str | None) -> None:
    """Why the post is not in the team channel yet (None once it is)."""
    await session.execute(update(EscalationRow).where(EscalationRow.id == escalation_id)
                          .values(post_problem=problem))


async def record_jira_issue(session: AsyncSession, *, escalation_id: int, key: str | None, url: str | None,
                            state: JiraState) -> None:
    """The Jira issue the bot created (or why it is still pending)."""
    values: dict[str, object] = {"jira_state": state.value}
    if key is not None:
        values.update(jira_key=key, jira_url=url)
    await session.execute(update(EscalationRow).where(EscalationRow.id == escalation_id).values(**values))


async def record_jira_status(session: AsyncSession, *, escalation_id: int, status: str) -> None:
    """The linked issue's status as Jira's webhook last said it."""
    await session.execute(update(EscalationRow).where(EscalationRow.id == escalation_id)
                          .values(jira_status=status[:64]))


async def record_page(session: AsyncSession, *, escalation_id: int, dedup_key: str) -> None:
    """Adds a PagerDuty alert this round opened (each is acknowledged with the round)."""
    row = await session.get(EscalationRow, escalation_id, with_for_update=True, populate_existing=True)
    if row is None or dedup_key in _keys(row.page_keys):
        return
    row.page_keys = "\n".join([*_keys(row.page_keys), dedup_key])
    row.page_problem = None


async def record_page_problem(session: AsyncSession, *, escalation_id: int, problem: str | None) -> None:
    """Why the team could not be paged yet (None once it was)."""
    await session.execute(update(EscalationRow).where(EscalationRow.id == escalation_id)
                          .values(page_problem=problem))


async def record_acknowledgement(session: AsyncSession, *, escalation_id: int, at: datetime, by: str | None,
                                 name: str | None, via: str) -> bool:
    """Marks the round acknowledged unless it already is; True for the one call that did."""
    result = await session.execute(
        update(EscalationRow).where(EscalationRow.id == escalation_id,
                                    EscalationRow.state == EscalationState.WAITING.value)
        .values(state=EscalationState.ACKNOWLEDGED.value, acknowledged_by=by, acknowledged_name=name,
                acknowledged_via=via, acknowledged_at=at))
    return bool(rows_affected(result))


async def record_hand_back(session: AsyncSession, *, escalation_id: int, at: datetime) -> bool:
    """The engineer handed the acknowledged round back to support; True for the one call that did."""
    result = await session.execute(
        update(EscalationRow).where(EscalationRow.id == escalation_id,
                                    EscalationRow.state == EscalationState.ACKNOWLEDGED.value)
        .values(state=EscalationState.HANDED_BACK.value, handed_back_at=at))
    return bool(rows_affected(result))


async def record_rung(session: AsyncSession, *, escalation_id: int, rung: int, at: datetime) -> bool:
    """Records that rung `rung` of the ladder fired, once, and only while the round still waits."""
    values: dict[str, object] = {"rung": rung}
    if rung == 1:
        values["repaged_at"] = at
    elif rung == 2:
        values["manager_called_at"] = at
    result = await session.execute(
        update(EscalationRow).where(EscalationRow.id == escalation_id, EscalationRow.rung < rung,
                                    EscalationRow.state == EscalationState.WAITING.value).values(**values))
    return bool(rows_affected(result))


async def earlier_tickets_with_sentry_issue(session: AsyncSession, *, sentry_issue: str,
                                            ticket_number: int) -> list[int]:
    """Earlier tickets whose escalations named the same Sentry issue, oldest first."""
    rows = await session.scalars(select(EscalationRow.ticket_number).distinct()
                                 .where(EscalationRow.sentry_issue == sentry_issue,
                                        EscalationRow.ticket_number < ticket_number)
                                 .order_by(EscalationRow.ticket_number))
    return list(rows)


async def waiting_escalations(session: AsyncSession, *, teams: Iterable[str]) -> list[Escalation]:
    """Rounds still waiting for an acknowledgement on these teams, longest-waiting first."""
    names = list(teams)
    if not names:
        return []
    rows = await session.scalars(select(EscalationRow).where(EscalationRow.team.in_(names),
                                                             EscalationRow.state == EscalationState.WAITING.value)
                                 .order_by(EscalationRow.escalated_at))
    return [_to_escalation(r) for r in rows]


async def escalation_round(session: AsyncSession, *, ticket_number: int, round_: int) -> Escalation | None:
    """Round `round_` of the ticket."""
    row = await session.scalar(select(EscalationRow).where(EscalationRow.ticket_number == ticket_number,
                                                           EscalationRow.round == round_))
    return _to_escalation(row) if row is not None else None


async def escalation_by_submission(session: AsyncSession, *, submission_key: str) -> Escalation | None:
    """The round this modal submission stored, if it did."""
    row = await session.scalar(select(EscalationRow).where(EscalationRow.submission_key == submission_key))
    return _to_escalation(row) if row is not None else None

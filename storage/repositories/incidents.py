"""Incidents opened for SEV1 tickets, their three opening steps, and the status-update record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import Incident, IncidentStatus, IncidentStep, StatusUpdate, StepOutcome, StepState
from storage.models import IncidentRow, StatusUpdateRow
from storage.repositories._upsert import insert_ignoring_conflicts, rows_affected


@dataclass(frozen=True)
class IncidentBadge:
    """What the ticket card shows of its incident."""

    channel_id: str | None
    status: str


def _to_incident(row: IncidentRow) -> Incident:
    return Incident(
        id=row.id, ticket_number=row.ticket_number, generation=row.generation, status=IncidentStatus(row.status),
        commander=row.commander, public_title=row.public_title, opened_at=row.opened_at,
        resolved_at=row.resolved_at, last_public_update_at=row.last_public_update_at,
        last_public_message=row.last_public_message, kickoff_ts=row.kickoff_ts,
        page=StepOutcome(StepState(row.page_state), row.page_detail), page_dedup_key=row.page_dedup_key,
        channel=StepOutcome(StepState(row.channel_state), row.channel_detail), channel_id=row.channel_id,
        channel_name=row.channel_name,
        statuspage=StepOutcome(StepState(row.statuspage_state), row.statuspage_detail),
        statuspage_incident_id=row.statuspage_incident_id, statuspage_url=row.statuspage_url,
    )


async def incident_badge(session: AsyncSession, *, ticket_number: int) -> IncidentBadge | None:
    row = await _latest_row(session, ticket_number)
    return IncidentBadge(channel_id=row.channel_id, status=row.status) if row else None


async def _latest_row(session: AsyncSession, ticket_number: int) -> IncidentRow | None:
    return await session.scalar(select(IncidentRow).where(IncidentRow.ticket_number == ticket_number)
                                .order_by(IncidentRow.generation.desc()).limit(1))


async def open_incident_once(session: AsyncSession, *, ticket_number: int, generation: int, public_title: str,
                             message: str, now: datetime, claim_for: timedelta | None = None) -> tuple[Incident, bool]:
    """The incident of this ticket and generation; created only by the first caller.

    With `claim_for`, a new incident is inserted with its three steps already claimed for that long:
    the same claim `claim_step` makes, written in one statement on the way to the page.
    """
    state = StepState.RUNNING.value if claim_for else StepState.PENDING.value
    until = now + claim_for if claim_for else None
    values = dict(ticket_number=ticket_number, generation=generation, status=IncidentStatus.INVESTIGATING.value,
                  public_title=public_title, opened_at=now, last_public_update_at=now, last_public_message=message,
                  page_state=state, channel_state=state, statuspage_state=state, page_claimed_until=until,
                  channel_claimed_until=until, statuspage_claimed_until=until)
    table = IncidentRow.__table__
    result = await session.execute(insert_ignoring_conflicts(
        session, table, values, ["ticket_number", "generation"]).returning(table.c.id))  # type: ignore[arg-type]
    new_id = result.scalar_one_or_none()
    if new_id is not None:
        return _to_incident(IncidentRow(id=new_id, **values)), True
    row = await session.scalar(select(IncidentRow).where(IncidentRow.ticket_number == ticket_number,
                                                         IncidentRow.generation == generation))
    assert row is not None
    return _to_incident(row), False


async def latest_incident(session: AsyncSession, *, ticket_number: int) -> Incident | None:
    row = await _latest_row(session, ticket_number)
    return _to_incident(row) if row else None


async def incident_of_generation(session: AsyncSession, *, ticket_number: int, generation: int) -> Incident | None:
    row = await session.scalar(select(IncidentRow).where(IncidentRow.ticket_number == ticket_number,
                                                         IncidentRow.generation == generation))
    return _to_incident(row) if row else None


async def get_incident(session: AsyncSession, *, incident_id: int) -> Incident | None:
    row = await session.get(IncidentRow, incident_id, populate_existing=True)
    return _to_incident(row) if row else None


async def incident_in_channel(session: AsyncSession, *, channel_id: str) -> Incident | None:
    row = await session.scalar(select(IncidentRow).where(IncidentRow.channel_id == channel_id)
                               .order_by(IncidentRow.generation.desc()).limit(1))
    return _to_incident(row) if row else None


def _step_columns(step: IncidentStep) -> tuple[Any, Any]:
    return (getattr(IncidentRow, f"{step.value}_state"), getattr(IncidentRow, f"{step.value}_claimed_until"))


async def claim_step(session: AsyncSession, *, incident_id: int, step: IncidentStep, now: datetime,
                     lease: timedelta) -> bool:
    """True for the one attempt allowed to run this step now; done, skipped or given-up steps never rerun."""
    state, claimed_until = _step_columns(step)
    result = await session.execute(
        update(IncidentRow)
        .where(IncidentRow.id == incident_id,
               or_(state.in_([StepState.PENDING.value, StepState.FAILED.value]),
                   (state == StepState.RUNNING.value) & (claimed_until < now)))
        .values({state: StepState.RUNNING.value, claimed_until: now + lease}))
    return bool(rows_affected(result))


async def record_step(session: AsyncSession, *, incident_id: int, step: IncidentStep, state: StepState,
                      detail: str | None, **values: Any) -> None:
    state_column, claimed_until = _step_columns(step)
    detail_column = getattr(IncidentRow, f"{step.value}_detail")
    await session.execute(update(IncidentRow).where(IncidentRow.id == incident_id).values(
        {state_column: state.value, detail_column: detail, claimed_until: None,
         **{getattr(IncidentRow, k): v for k, v in values.items()}}))


async def abandon_step(session: AsyncSession, *, incident_id: int, step: IncidentStep, detail: str) -> bool:
    state, _ = _step_columns(step)
    result = await session.execute(
        update(IncidentRow).where(IncidentRow.id == incident_id, state == StepState.FAILED.value)
        .values({state: StepState.ABANDONED.value, getattr(IncidentRow, f"{step.value}_detail"): detail}))
    return bool(rows_affected(result))


async def record_kickoff(session: AsyncSession, *, incident_id: int, ts: str) -> None:
    await session.execute(update(IncidentRow).where(IncidentRow.id == incident_id).values(kickoff_ts=ts))


async def take_command(session: AsyncSession, *, incident_id: int, user_id: str) -> str | None:
    """Returns the previous commander."""
    row = await session.get(IncidentRow, incident_id, with_for_update=True)
    if row is None:
        return None
    previous, row.commander = row.commander, user_id
    await session.flush()
    return previous


async def record_status_update(session: AsyncSession, *, update_: StatusUpdate, submission_key: str) -> bool:
    """Stores one status update per submission and moves the incident; False for a duplicate."""
    result = await session.execute(insert_ignoring_conflicts(session, StatusUpdateRow.__table__, dict(  # type: ignore[arg-type]
        incident_id=update_.incident_id, submission_key=submission_key, status=update_.status.value,
        message=update_.message, reason=update_.reason, posted_by=update_.posted_by, posted_at=update_.posted_at),
        ["submission_key"]))
    if not rows_affected(result):
        return False
    resolved_at = update_.posted_at if update_.status is IncidentStatus.RESOLVED else None
    await session.execute(update(IncidentRow).where(IncidentRow.id == update_.incident_id).values(
        status=update_.status.value, last_public_update_at=update_.posted_at, last_public_message=update_.message,
        resolved_at=resolved_at))
    return True


async def record_page_resolved(session: AsyncSession, *, incident_id: int, now: datetime) -> None:
    await session.execute(update(IncidentRow).where(IncidentRow.id == incident_id).values(page_resolved_at=now))


async def status_updates(session: AsyncSession, *, incident_id: int) -> list[StatusUpdate]:
    rows = await session.scalars(select(StatusUpdateRow).where(StatusUpdateRow.incident_id == incident_id)
                                 .order_by(StatusUpdateRow.id))
    return [StatusUpdate(incident_id=r.incident_id, status=IncidentStatus(r.status), message=r.message,
                         posted_by=r.posted_by, posted_at=r.posted_at, reason=r.reason) for r in rows]


async def channel_names_in_use(session: AsyncSession) -> set[str]:
    names = await session.scalars(select(IncidentRow.channel_name).where(IncidentRow.channel_name.is_not(None)))
    return {n for n in names if n}

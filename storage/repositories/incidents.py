"""Incidents opened for SEV1 tickets and their status-update record (their steps: `incident_steps`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import Incident, IncidentStatus, IncidentStep, StatusUpdate
from storage.models import IncidentRow, IncidentStepRow, StatusUpdateRow
from storage.repositories._upsert import insert_ignoring_conflicts, rows_affected
from storage.repositories.incident_steps import insert_steps, step_rows, to_outcome


@dataclass(frozen=True)
class IncidentBadge:
    """What the ticket card shows of its incident."""

    channel_id: str | None
    status: str


def _to_incident(row: IncidentRow, steps: list[IncidentStepRow]) -> Incident:
    return Incident(
        id=row.id, ticket_number=row.ticket_number, generation=row.generation, status=IncidentStatus(row.status),
        commander=row.commander, public_title=row.public_title, opened_at=row.opened_at,
        resolved_at=row.resolved_at, last_public_update_at=row.last_public_update_at,
        last_public_message=row.last_public_message, kickoff_ts=row.kickoff_ts,
        steps={IncidentStep(s.step): to_outcome(s) for s in steps if s.step in IncidentStep._value2member_map_},
    )


async def _with_steps(session: AsyncSession, row: IncidentRow | None) -> Incident | None:
    if row is None:
        return None
    return _to_incident(row, await step_rows(session, incident_id=row.id))


async def incident_badge(session: AsyncSession, *, ticket_number: int) -> IncidentBadge | None:
    """The latest round's status and channel, for the ticket card."""
    row = await _latest_row(session, ticket_number)
    if row is None:
        return None
    channel = await session.scalar(select(IncidentStepRow.external_id).where(
        IncidentStepRow.incident_id == row.id, IncidentStepRow.step == IncidentStep.CHANNEL.value))
    return IncidentBadge(channel_id=channel, status=row.status)


async def _latest_row(session: AsyncSession, ticket_number: int) -> IncidentRow | None:
    return await session.scalar(select(IncidentRow).where(IncidentRow.ticket_number == ticket_number)
                                .order_by(IncidentRow.generation.desc()).limit(1))


async def open_incident_once(session: AsyncSession, *, ticket_number: int, generation: int, public_title: str,
                             message: str, now: datetime, steps: list[IncidentStep],
                             claim_for: timedelta | None = None) -> tuple[Incident, bool]:
    """The incident of this ticket and generation; created only by the first caller, with a row per step.

    With `claim_for`, a new incident's steps are inserted already claimed for that long: the same claim
    `claim_step` makes, written with the incident on the way to the page.
    """
    values = dict(ticket_number=ticket_number, generation=generation, status=IncidentStatus.INVESTIGATING.value,
                  public_title=public_title, opened_at=now, last_public_update_at=now, last_public_message=message)
    table = IncidentRow.__table__
    result = await session.execute(insert_ignoring_conflicts(
        session, table, values, ["ticket_number", "generation"]).returning(table.c.id))  # type: ignore[arg-type]
    new_id = result.scalar_one_or_none()
    if new_id is not None:
        rows = await insert_steps(session, incident_id=new_id, steps=steps, now=now, claim_for=claim_for)
        return _to_incident(IncidentRow(id=new_id, **values), rows), True
    row = await session.scalar(select(IncidentRow).where(IncidentRow.ticket_number == ticket_number,
                                                         IncidentRow.generation == generation))
    incident = await _with_steps(session, row)
    assert incident is not None
    return incident, False


async def latest_incident(session: AsyncSession, *, ticket_number: int) -> Incident | None:
    """The ticket's most recent round, or None when it never had one."""
    return await _with_steps(session, await _latest_row(session, ticket_number))


async def incident_of_generation(session: AsyncSession, *, ticket_number: int, generation: int) -> Incident | None:
    """One round of the ticket's incident."""
    row = await session.scalar(select(IncidentRow).where(IncidentRow.ticket_number == ticket_number,
                                                         IncidentRow.generation == generation))
    return await _with_steps(session, row)


async def get_incident(session: AsyncSession, *, incident_id: int) -> Incident | None:
    """The incident as stored now (never a stale copy from the session)."""
    return await _with_steps(session, await session.get(IncidentRow, incident_id, populate_existing=True))


async def incident_in_channel(session: AsyncSession, *, channel_id: str) -> Incident | None:
    """The latest round whose channel step made this channel."""
    row = await session.scalar(
        select(IncidentRow).join(IncidentStepRow, IncidentStepRow.incident_id == IncidentRow.id)
        .where(IncidentStepRow.step == IncidentStep.CHANNEL.value, IncidentStepRow.external_id == channel_id)
        .order_by(IncidentRow.generation.desc()).limit(1))
    return await _with_steps(session, row)


async def record_kickoff(session: AsyncSession, *, incident_id: int, ts: str) -> None:
    """Where the kickoff message is, so it can be updated in place."""
    await session.execute(update(IncidentRow).where(IncidentRow.id == incident_id).values(kickoff_ts=ts))


async def hand_over_command(session: AsyncSession, *, incident_id: int, expected: str | None, to: str) -> bool:
    """Makes `to` the commander if the commander is still `expected` (compare-and-set); False if it moved.

    The UPDATE is the transaction's first statement, so two clicks queue on the write lock instead of both
    reading the old commander and both announcing the new one.
    """
    result = await session.execute(
        update(IncidentRow)
        .where(IncidentRow.id == incident_id, IncidentRow.commander.is_not_distinct_from(expected))
        .values(commander=to))
    return rows_affected(result) == 1


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


async def status_updates(session: AsyncSession, *, incident_id: int) -> list[StatusUpdate]:
    """Every update the incident published, oldest first."""
    rows = await session.scalars(select(StatusUpdateRow).where(StatusUpdateRow.incident_id == incident_id)
                                 .order_by(StatusUpdateRow.id))
    return [StatusUpdate(incident_id=r.incident_id, status=IncidentStatus(r.status), message=r.message,
                         posted_by=r.posted_by, posted_at=r.posted_at, reason=r.reason) for r in rows]


async def status_updates_of_ticket(session: AsyncSession, *, ticket_number: int) -> list[StatusUpdate]:
    """Every status update of every incident round of the ticket, oldest first (the summary's timeline)."""
    rounds = (await session.scalars(select(IncidentRow.id).where(IncidentRow.ticket_number == ticket_number)
                                    .order_by(IncidentRow.id))).all()
    found: list[StatusUpdate] = []
    for incident_id in rounds:
        found += await status_updates(session, incident_id=incident_id)
    return found

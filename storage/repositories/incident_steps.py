"""An incident's opening steps, one row each: claimed with a lease, recorded once, given up by a person."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import IncidentStep, StepOutcome, StepState
from storage.models import IncidentStepRow
from storage.repositories._upsert import rows_affected


@dataclass(frozen=True)
class MadeOutside:
    """What a step made in an outside system, as that system names it."""

    external_id: str | None = None
    external_name: str | None = None
    external_url: str | None = None


def to_outcome(row: IncidentStepRow) -> StepOutcome:
    """The row as a domain value."""
    return StepOutcome(state=StepState(row.state), detail=row.detail, external_id=row.external_id,
                       external_name=row.external_name, external_url=row.external_url, failures=row.failures,
                       closed_at=row.closed_at)


async def step_rows(session: AsyncSession, *, incident_id: int) -> list[IncidentStepRow]:
    """The incident's steps as stored now."""
    rows = await session.scalars(select(IncidentStepRow).where(IncidentStepRow.incident_id == incident_id)
                                 .execution_options(populate_existing=True))
    return list(rows)


async def insert_steps(session: AsyncSession, *, incident_id: int, steps: Iterable[IncidentStep], now: datetime,
                       claim_for: timedelta | None = None) -> list[IncidentStepRow]:
    """One row per step of a new incident, pending, or already claimed for `claim_for` (the opening runs them
    at once); one statement, because it stands between a SEV1 submission and its page."""
    state = (StepState.RUNNING if claim_for else StepState.PENDING).value
    until = now + claim_for if claim_for else None
    values = [{"incident_id": incident_id, "step": step.value, "state": state, "claimed_until": until, "failures": 0}
              for step in steps]
    await session.execute(insert(IncidentStepRow).values(values))
    return [IncidentStepRow(**v) for v in values]


async def claim_step(session: AsyncSession, *, incident_id: int, step: IncidentStep, now: datetime,
                     lease: timedelta) -> bool:
    """True for the one attempt allowed to run this step now; done, skipped or given-up steps never rerun."""
    row = IncidentStepRow
    result = await session.execute(
        update(row)
        .where(row.incident_id == incident_id, row.step == step.value,
               or_(row.state.in_([StepState.PENDING.value, StepState.FAILED.value]),
                   (row.state == StepState.RUNNING.value) & (row.claimed_until < now)))
        .values(state=StepState.RUNNING.value, claimed_until=now + lease))
    return bool(rows_affected(result))


async def record_step(session: AsyncSession, *, incident_id: int, step: IncidentStep, state: StepState,
                      detail: str | None, made: MadeOutside | None = None) -> int:
    """Records an attempt's outcome and releases its claim; returns the step's failures so far."""
    row = IncidentStepRow
    values: dict[str, object] = {"state": state.value, "detail": detail, "claimed_until": None}
    if state is StepState.FAILED:
        values["failures"] = row.failures + 1
    if made is not None:
        values.update(external_id=made.external_id, external_name=made.external_name,
                      external_url=made.external_url)
    result = await session.execute(update(row).where(row.incident_id == incident_id, row.step == step.value)
                                   .values(values).returning(row.failures))
    return int(result.scalar_one_or_none() or 0)


async def abandon_step(session: AsyncSession, *, incident_id: int, step: IncidentStep, detail: str) -> bool:
    """A person gave up on a failed step; False when it was not failed (done meanwhile, or given up already)."""
    row = IncidentStepRow
    result = await session.execute(
        update(row).where(row.incident_id == incident_id, row.step == step.value, row.state == StepState.FAILED.value)
        .values(state=StepState.ABANDONED.value, detail=detail))
    return bool(rows_affected(result))


async def record_step_closed(session: AsyncSession, *, incident_id: int, step: IncidentStep, now: datetime) -> None:
    """What the step made was closed again (the PagerDuty alert resolved)."""
    row = IncidentStepRow
    await session.execute(update(row).where(row.incident_id == incident_id, row.step == step.value)
                          .values(closed_at=now))


async def steps_past_lease(session: AsyncSession, *, now: datetime,
                           limit: int = 100) -> list[tuple[int, IncidentStep]]:
    """Steps still marked running whose lease has ended: their attempt stopped without reporting back."""
    row = IncidentStepRow
    rows = await session.execute(
        select(row.incident_id, row.step)
        .where(row.state == StepState.RUNNING.value, row.claimed_until.is_not(None), row.claimed_until <= now)
        .order_by(row.claimed_until).limit(limit))
    return [(incident_id, IncidentStep(step)) for incident_id, step in rows
            if step in IncidentStep._value2member_map_]

"""The built-in public status page: only words that were published to customers live here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import PublicIncidentRow, PublicUpdateRow
from storage.repositories._upsert import insert_ignoring_conflicts, rows_affected


@dataclass(frozen=True)
class PublicUpdate:
    """One published update on the built-in status page: status, public words and when."""

    status: str
    body: str
    at: datetime


@dataclass(frozen=True)
class PublicIncident:
    """An incident as the built-in status page shows it, with its updates newest first."""

    id: int
    title: str
    status: str
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    updates: tuple[PublicUpdate, ...]  # newest first, as status pages show them


async def publish_incident_once(session: AsyncSession, *, idempotency_key: str, title: str, status: str, body: str,
                                now: datetime) -> int:
    """The incident's ID for this key; only the first call creates it and its first update."""
    result = await session.execute(insert_ignoring_conflicts(session, PublicIncidentRow.__table__, dict(  # type: ignore[arg-type]
        idempotency_key=idempotency_key, title=title, status=status, created_at=now, updated_at=now),
        ["idempotency_key"]))
    incident_id = await session.scalar(select(PublicIncidentRow.id)
                                       .where(PublicIncidentRow.idempotency_key == idempotency_key))
    assert incident_id is not None
    if rows_affected(result):
        session.add(PublicUpdateRow(public_incident_id=incident_id, status=status, body=body, at=now))
        await session.flush()
    return incident_id


async def publish_update(session: AsyncSession, *, incident_id: int, status: str, body: str, now: datetime) -> bool:
    """Adds the update and moves the incident to its status (Resolved stamps it); False for an unknown incident."""
    result = await session.execute(update(PublicIncidentRow).where(PublicIncidentRow.id == incident_id).values(
        status=status, updated_at=now, resolved_at=now if status == "resolved" else None))
    if not rows_affected(result):
        return False
    session.add(PublicUpdateRow(public_incident_id=incident_id, status=status, body=body, at=now))
    await session.flush()
    return True


async def public_incidents_since(session: AsyncSession, *, since: datetime) -> list[PublicIncident]:
    """Incidents opened since the moment, plus any still unresolved, newest first, each with its updates."""
    incidents = (await session.scalars(select(PublicIncidentRow).where(
        (PublicIncidentRow.created_at >= since) | PublicIncidentRow.resolved_at.is_(None))
        .order_by(PublicIncidentRow.created_at.desc()))).all()
    ids = [i.id for i in incidents]
    updates: dict[int, list[PublicUpdate]] = {i: [] for i in ids}
    if ids:
        rows = await session.scalars(select(PublicUpdateRow).where(PublicUpdateRow.public_incident_id.in_(ids))
                                     .order_by(PublicUpdateRow.id.desc()))
        for row in rows:
            updates[row.public_incident_id].append(PublicUpdate(status=row.status, body=row.body, at=row.at))
    return [PublicIncident(id=i.id, title=i.title, status=i.status, created_at=i.created_at,
                           updated_at=i.updated_at, resolved_at=i.resolved_at, updates=tuple(updates[i.id]))
            for i in incidents]

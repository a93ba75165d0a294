"""The health check's write: one row, rewritten."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import HeartbeatRow
from storage.repositories._upsert import dialect_insert


async def record_heartbeat(session: AsyncSession, *, now: datetime) -> None:
    """Writes the heartbeat row (insert or overwrite); raises what the database raises when it refuses."""
    insert = dialect_insert(session, HeartbeatRow.__table__)  # type: ignore[arg-type]
    await session.execute(insert.values(id=1, beat_at=now)
                          .on_conflict_do_update(index_elements=["id"], set_={"beat_at": now}))

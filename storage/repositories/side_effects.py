"""One-time side effects (a card posted, a page sent), keyed by what they mean.

A duplicate delivery, a retried submission or a second replica finds the key taken and does nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import SideEffectRow
from storage.repositories._upsert import insert_ignoring_conflicts, rows_affected


async def claim_side_effect(session: AsyncSession, *, key: str, now: datetime) -> bool:
    """True for the one caller that may perform the effect."""
    result = await session.execute(insert_ignoring_conflicts(
        session, SideEffectRow.__table__, {"key": key, "claimed_at": now}, ["key"]))  # type: ignore[arg-type]
    return bool(rows_affected(result))


async def complete_side_effect(session: AsyncSession, *, key: str, now: datetime,
                               result: Mapping[str, Any] | None = None) -> None:
    """Marks the claimed effect done, keeping what it produced (a card's ts, a page's key) for later callers."""
    await session.execute(update(SideEffectRow).where(SideEffectRow.key == key)
                          .values(done_at=now, result=dict(result) if result is not None else None))


async def release_side_effect(session: AsyncSession, *, key: str) -> None:
    """The effect failed before it happened: let a later attempt claim it again."""
    await session.execute(delete(SideEffectRow).where(SideEffectRow.key == key, SideEffectRow.done_at.is_(None)))

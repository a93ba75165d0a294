"""One-time side effects (a card posted, a page sent), keyed by what they mean, as durable leased steps.

An effect is planned (written with what made it necessary, so a crash right after cannot lose it), claimed by
one attempt for a lease, and completed once. A duplicate delivery or a second replica finds the key taken and
does nothing; a claim whose lease ended (the process stopped mid-way) is taken over by the next attempt, which
is told it comes `again` and looks for what the earlier one may have done before doing it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import SideEffectRow
from storage.repositories._upsert import dialect_insert


@dataclass(frozen=True)
class Claim:
    """The right to perform one effect now, until its lease ends."""

    key: str
    attempt: int

    @property
    def again(self) -> bool:
        """An earlier attempt claimed it and never reported back: it may have happened unseen."""
        return self.attempt > 1


def _claimable(now: datetime) -> ColumnElement[bool]:
    row = SideEffectRow
    return and_(row.done_at.is_(None),
                or_(row.attempts == 0, row.claimed_until.is_(None), row.claimed_until <= now))


async def plan_side_effects(session: AsyncSession, *, keys: Iterable[str], now: datetime,
                            start_within: timedelta, claimed: bool = False) -> list[str]:
    """Writes down that these effects must happen, in the caller's transaction. Any caller may claim a planned
    effect at once; if nobody has within `start_within`, the recovery sweep does. Planned twice is planned once.

    `claimed`: planned as claimed by the caller (its first attempt, until `start_within` ends), and the keys it
    newly planned are returned: those, and only those, are the caller's to perform (see `renew_planned_claim`)."""
    rows = [{"key": key, "claimed_at": now, "claimed_until": now + start_within, "attempts": 1 if claimed else 0}
            for key in keys]
    if not rows:
        return []
    # One statement: filing a SEV1 plans its card on the way to the page.
    statement = dialect_insert(session, SideEffectRow.__table__).values(rows)  # type: ignore[arg-type]
    statement = statement.on_conflict_do_nothing(index_elements=["key"])
    if not claimed:
        await session.execute(statement)
        return []
    return list((await session.execute(statement.returning(SideEffectRow.__table__.c.key))).scalars())


async def renew_planned_claim(session: AsyncSession, *, key: str, claimed_at: datetime, now: datetime,
                              lease: timedelta) -> Claim | None:
    """Extends a claim taken when planning (`claimed_at`) and not attempted yet, for a new lease from `now`; None
    when it is done or someone else has taken it over since."""
    row = SideEffectRow
    attempt = (await session.execute(
        update(row).where(row.key == key, row.claimed_at == claimed_at, row.attempts == 1, row.done_at.is_(None))
        .values(claimed_at=now, claimed_until=now + lease).returning(row.attempts))).scalar_one_or_none()
    return None if attempt is None else Claim(key=key, attempt=int(attempt))


async def claim_side_effect(session: AsyncSession, *, key: str, now: datetime, lease: timedelta,
                            planned_only: bool = False) -> Claim | None:
    """The claim for the one caller that may perform the effect now; None when it is done, or held by an
    attempt whose lease has not ended. `planned_only`: claim it only if it was planned (a recovery does only
    what is written down), never create it."""
    row = SideEffectRow
    if planned_only:
        statement: Any = (update(row).where(row.key == key, _claimable(now))
                          .values(claimed_at=now, claimed_until=now + lease, attempts=row.attempts + 1)
                          .returning(row.attempts))
    else:
        table = SideEffectRow.__table__
        insert = dialect_insert(session, table).values(  # type: ignore[arg-type]
            key=key, claimed_at=now, claimed_until=now + lease, attempts=1)
        statement = insert.on_conflict_do_update(
            index_elements=["key"], where=_claimable(now),
            set_={"claimed_at": insert.excluded.claimed_at, "claimed_until": insert.excluded.claimed_until,
                  "attempts": table.c.attempts + 1}).returning(table.c.attempts)
    attempt = (await session.execute(statement)).scalar_one_or_none()
    return None if attempt is None else Claim(key=key, attempt=int(attempt))


async def complete_side_effect(session: AsyncSession, *, key: str, now: datetime,
                               result: Mapping[str, Any] | None = None) -> None:
    """Marks the effect done, keeping what it produced (a card's ts, a page's key) for later callers."""
    await session.execute(update(SideEffectRow).where(SideEffectRow.key == key, SideEffectRow.done_at.is_(None))
                          .values(done_at=now, claimed_until=None,
                                  result=dict(result) if result is not None else None))


async def release_side_effect(session: AsyncSession, *, key: str) -> None:
    """The effect was refused before it happened: forget it, so only a new request makes it again."""
    await release_side_effects(session, keys=[key])


async def release_side_effects(session: AsyncSession, *, keys: Iterable[str]) -> None:
    """Forgets these effects unless done."""
    await session.execute(delete(SideEffectRow).where(SideEffectRow.key.in_(list(keys)),
                                                      SideEffectRow.done_at.is_(None)))


async def release_side_effects_under(session: AsyncSession, *, prefix: str) -> None:
    """Forgets every effect not done whose key starts with `prefix` (the notes planned under a refused card)."""
    await session.execute(delete(SideEffectRow).where(SideEffectRow.key.startswith(prefix, autoescape=True),
                                                      SideEffectRow.done_at.is_(None)))


async def retry_side_effect_at(session: AsyncSession, *, key: str, due: datetime) -> None:
    """The attempt failed in a way that may pass: the recovery sweep tries again from `due`."""
    await session.execute(update(SideEffectRow).where(SideEffectRow.key == key, SideEffectRow.done_at.is_(None))
                          .values(claimed_until=due))


async def side_effect_done(session: AsyncSession, *, key: str) -> bool | None:
    """True once the effect has happened, False while it is planned or under way, None when there is no such
    effect (never planned, or forgotten after a refusal)."""
    row = (await session.execute(select(SideEffectRow.done_at).where(SideEffectRow.key == key))).first()
    return None if row is None else row[0] is not None


async def due_side_effects(session: AsyncSession, *, now: datetime, limit: int = 100) -> list[str]:
    """Effects not done whose lease (or planning grace) has ended: left by an attempt that stopped mid-way,
    or waiting for a retry. Longest waiting first."""
    row = SideEffectRow
    keys = await session.scalars(
        select(row.key).where(row.done_at.is_(None), or_(row.claimed_until.is_(None), row.claimed_until <= now))
        .order_by(row.claimed_until).limit(limit))
    return list(keys)

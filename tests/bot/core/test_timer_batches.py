"""The tick fires a batch of due timers in one transaction, each in its own savepoint (bot/core/scheduler.py), on
a real migrated database: a failing handler loses only its own writes and is retried; the work owed after
commit starts once the batch has committed, and never for a timer whose savepoint rolled back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Self

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.scheduler import BackgroundWork, TimerService
from bot.core.timers import TimerKey, cancel, fields, number, schedule
from bot.sandbox.clock import ManualClock
from storage.models import TimerRow
from storage.repositories.timers import DueTimer

NOW = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)
Sessions = async_sessionmaker[AsyncSession]


@dataclass(frozen=True)
class Nudge(TimerKey):
    """A test deadline: its handler schedules a follow-up (a write of its own) and owes a message after commit."""

    kind = "nudge"
    n: int

    def encode(self) -> str:
        return f"nudge:{self.n}"

    @classmethod
    def parse(cls, text: str) -> Self:
        (n,) = fields(text, "nudge", 1)
        return cls(number(n))


@dataclass(frozen=True)
class FollowUp(Nudge):
    kind = "follow_up"

    def encode(self) -> str:
        return f"follow_up:{self.n}"



class Nudges:
    """The handler under test, and what it saw: the messages sent, and whether each was sent after commit."""

    def __init__(self, sessions: Sessions, background: BackgroundWork, failing: set[int]) -> None:
        self.sessions, self.background, self.failing = sessions, background, failing
        self.sent: list[int] = []
        self.sent_after_commit: list[bool] = []

    async def fire(self, session: AsyncSession, key: Nudge, _timer: DueTimer) -> None:
        await schedule(session, FollowUp(key.n), due_at=NOW + timedelta(days=1))
        self.background.spawn_after_commit(session, lambda: self.send(key.n), f"nudge {key.n}")
        if key.n in self.failing:
            raise RuntimeError(f"nudge {key.n} failed")

    async def send(self, n: int) -> None:
        async with self.sessions() as session:  # another connection: sees only what was committed
            fired = await session.scalar(select(TimerRow.fired_at).where(TimerRow.key == Nudge(n).encode()))
        self.sent.append(n)
        self.sent_after_commit.append(fired is not None)


async def _rows(sessions: Sessions, kind: str) -> dict[str, TimerRow]:
    async with sessions() as session:
        return {r.key: r for r in (await session.scalars(select(TimerRow).where(TimerRow.kind == kind))).all()}


async def _service(sessions: Sessions, clock: ManualClock, failing: set[int], *, batch: int = 50
                   ) -> tuple[TimerService, Nudges]:
    background = BackgroundWork()
    service = TimerService(sessions=sessions, clock=clock, tick=timedelta(seconds=1), background=background,
                           batch=batch)
    nudges = Nudges(sessions, background, failing)
    service.on(Nudge, nudges.fire)
    async with sessions.begin() as session:
        for n in range(1, 8):
            await schedule(session, Nudge(n), due_at=NOW - timedelta(minutes=n))
    return service, nudges


async def test_a_failing_timer_in_a_batch_loses_only_its_own_writes_and_is_retried(sessions: Sessions) -> None:
    clock = ManualClock(NOW)
    service, nudges = await _service(sessions, clock, failing={3, 5})

    assert await service.fire_due() == 5

    assert sorted(nudges.sent) == [1, 2, 4, 6, 7]  # nothing sent for the two whose savepoint rolled back
    assert all(nudges.sent_after_commit)
    follow_ups = await _rows(sessions, "follow_up")
    assert sorted(follow_ups) == [f"follow_up:{n}" for n in (1, 2, 4, 6, 7)]
    nudged = await _rows(sessions, "nudge")
    for n in (3, 5):
        failed = nudged[f"nudge:{n}"]
        assert failed.fired_at is None and failed.claimed_until is None
        assert failed.due_at == NOW + timedelta(seconds=10) and failed.last_error == f"RuntimeError: nudge {n} failed"
    assert all(nudged[f"nudge:{n}"].fired_at == NOW for n in (1, 2, 4, 6, 7))

    nudges.failing.clear()
    clock.advance(timedelta(seconds=11))
    assert await service.fire_due() == 2
    assert sorted(nudges.sent) == [1, 2, 3, 4, 5, 6, 7]
    assert await service.fire_due() == 0  # each once


async def test_batches_smaller_than_what_is_due_fire_everything_in_one_tick(sessions: Sessions) -> None:
    clock = ManualClock(NOW)
    service, nudges = await _service(sessions, clock, failing=set(), batch=3)
    assert await service.fire_due() == 7
    assert sorted(nudges.sent) == list(range(1, 8)) and all(nudges.sent_after_commit)


async def test_a_timer_cancelled_before_its_batch_is_not_fired(sessions: Sessions) -> None:
    clock = ManualClock(NOW)
    service, nudges = await _service(sessions, clock, failing=set())
    async with sessions.begin() as session:
        assert await cancel(session, Nudge(4), now=NOW)
    assert await service.fire_due() == 6
    assert 4 not in nudges.sent and "follow_up:4" not in await _rows(sessions, "follow_up")

"""The tick: APScheduler only wakes us; due deadlines are claimed from the database and fired.

APScheduler 3's own job stores must not be shared between processes, so deadlines live in our
`timers` table and a claim (a conditional UPDATE with a lease) decides who fires each one.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core import logs, metrics
from bot.core.clock import Clock
from bot.core.timers import TimerKey
from storage.db import database_failure
from storage.repositories import timers

log = logging.getLogger(__name__)

K = TypeVar("K", bound=TimerKey)
# Called inside the timer's own transaction, with the key parsed back into what it means.
TimerHandler = Callable[[AsyncSession, K, timers.DueTimer], Awaitable[None]]
# A recovery pass run at every tick (the first at start): finds work a stopped process left, starts it in the
# background and says how much it started (not counted as timers fired).
Sweep = Callable[[], Awaitable[int]]
RETRY_BASE = timedelta(seconds=10)
RETRY_CAP = timedelta(minutes=10)
PRUNE_EVERY = timedelta(hours=1)
# session.info key: the after-commit work of the timers being fired in a batch (see TimerService._fire_batch).
AFTER_COMMIT = "supportbot_after_commit"
Owed = tuple[Callable[[], Awaitable[object]], str]


class _HandlerFailed(Exception):
    """A timer's handler raised inside a batch: the batch rolls back and fires again one timer at a time."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def claim_lease(tick: timedelta, lease: timedelta) -> timedelta:
    """How long a replica may hold claimed deadlines: the configured lease, and never under four ticks (a live
    replica never holds one that long)."""
    return max(tick * 4, lease)


def retry_delay(attempts: int, *, base: timedelta = RETRY_BASE, cap: timedelta = RETRY_CAP) -> timedelta:
    """Exponential backoff: 10 s after the first failure, doubling, at most 10 minutes."""
    return min(base * int(2 ** max(attempts - 1, 0)), cap)


class BackgroundWork:
    """Slow follow-up work (a vendor retry) that a timer starts but must not wait for: the tick stays short,
    so a reminder queued behind it is never late by more than a tick."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()
        self._named: dict[str, asyncio.Task[None]] = {}

    def spawn(self, work: Awaitable[object], name: str) -> None:
        """Runs the work beside the caller; a crash is logged, never lost silently."""
        async def run() -> None:
            try:
                await work
            except Exception:  # the work reports its own outcome; a crash here must not vanish
                log.exception("background work %s failed", name)

        task = asyncio.get_running_loop().create_task(run(), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self._named[name] = task
        task.add_done_callback(lambda done: self._named.pop(name, None) if self._named.get(name) is done else None)

    def spawn_after_commit(self, session: AsyncSession, work: Callable[[], Awaitable[object]], name: str) -> None:
        """Starts `work()` once the session's transaction has committed (never when it rolls back), so the work
        reads what the transaction wrote."""
        def committed(_session: object) -> None:
            self.spawn(work(), name)

        owed = session.info.get(AFTER_COMMIT)
        if isinstance(owed, list):  # a timer in a batch: the batch starts it once committed (never if rolled back)
            owed.append((work, name))
            return
        event.listen(session.sync_session, "after_commit", committed, once=True)

    def spawn_unless_running(self, name: str, work: Callable[[], Awaitable[object]]) -> bool:
        """Starts `work()` unless work of this name is still running (a sweep finding the same thing each tick);
        True when it started."""
        if name in self._named:
            return False
        self.spawn(work(), name)
        return True

    async def cancel(self, timeout: float) -> None:  # noqa: ASYNC109
        """Cancels whatever is still running and gives it `timeout` to unwind (and record what finished)."""
        pending = list(self._tasks)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=timeout)

    async def settle(self, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        """Waits until no spawned work is left (or nothing finished within `timeout`)."""
        while self._tasks:
            done, _ = await asyncio.wait(list(self._tasks), timeout=timeout)
            if not done:
                return


class TimerService:
    """Claims due deadlines in batches with a lease and fires each with its kind's handler, exactly once."""

    def __init__(self, *, sessions: async_sessionmaker[AsyncSession], clock: Clock, tick: timedelta,
                 background: BackgroundWork, batch: int = 50, lease: timedelta = timedelta(seconds=60),
                 keep_history: timedelta = timedelta(days=30)) -> None:
        self.background = background
        self._sessions = sessions
        self._clock = clock
        self.tick = tick
        self._batch = batch
        self._lease = claim_lease(tick, lease)
        self._keep_history = keep_history
        self._pruned_at: datetime | None = None
        self._claimant = f"{socket.gethostname()}:{os.getpid()}"
        self._handlers: dict[str, tuple[type[TimerKey], TimerHandler[Any]]] = {}
        self._sweeps: list[Sweep] = []
        self._scheduler: AsyncIOScheduler | None = None
        self._lock = asyncio.Lock()
        self._stopped = False

    def on(self, key_type: type[K], handler: TimerHandler[K]) -> None:
        """Fires timers of this key's kind with `handler`."""
        self._handlers[key_type.kind] = (key_type, handler)

    def sweep(self, recovery: Sweep) -> None:
        """Runs `recovery` at every tick, after the due timers: how work left by a stopped process is found."""
        self._sweeps.append(recovery)

    async def fire_due(self, *, settle: bool = True) -> int:
        """Fire every timer due now; returns how many fired.

        With `settle` (tests, the demo) it also waits for the background work those timers started;
        the scheduler's own tick does not, so one slow vendor never holds up the next deadline.
        """
        fired = await self._fire_due()
        if settle:
            await self.background.settle()
        return fired

    async def _fire_due(self) -> int:
        fired = 0
        async with self._lock:
            while not self._stopped:
                batch_fired, claimed = await self._fire_batch(self._clock.now())
                fired += batch_fired
                if claimed < self._batch:
                    break
            await self._prune_hourly()
            for recovery in self._sweeps if not self._stopped else ():
                try:
                    if started := await recovery():
                        log.info("recovery: took up %d step(s) left unfinished", started)
                except Exception:  # one failing recovery must not stop the timers or the other recoveries
                    log.exception("recovery sweep failed")
        return fired

    async def _fire_batch(self, now: datetime) -> tuple[int, int]:
        """Fires a batch of due timers in one transaction; returns (fired, claimed).

        One commit for the batch rather than one per timer: a hundred due reminders cost one fsync and a hundred
        and one statements, not a hundred transactions. The claim marks them fired in the same statement and
        the handlers write in the same transaction, so the firing and its records commit together, and a process
        that dies mid-batch leaves nothing fired. When a handler fails, the whole batch rolls back and is fired
        again one savepoint per timer, so only the failing one loses its writes and is retried. The work the
        handlers owe after commit (the Slack messages) starts only once the batch has committed.
        """
        owed: list[Owed] = []
        try:
            async with self._sessions.begin() as session:
                due = await timers.fire_due_timers(session, now=now, limit=self._batch, claimant=self._claimant)
                session.info[AFTER_COMMIT] = owed
                for timer in due:
                    with logs.ticket_context(timer.ticket_number):  # reset after: the tick keeps no stale ticket
                        await self._handle(session, timer)
        except _HandlerFailed as failed:
            log.info("timer %s failed in a batch: the batch fires again one timer at a time", failed.key)
            return await self._fire_batch_one_by_one(now)
        self._started(owed, due)
        return len(due), len(due)

    async def _handle(self, session: AsyncSession, timer: timers.DueTimer) -> None:
        registered = self._handlers.get(timer.kind)
        try:
            if registered is None:
                raise LookupError(f"no handler for timer kind {timer.kind!r}")
            key_type, handler = registered
            await handler(session, key_type.parse(timer.key), timer)
        except Exception as exc:
            raise _HandlerFailed(timer.key) from exc

    async def _fire_batch_one_by_one(self, now: datetime) -> tuple[int, int]:
        """The careful path: claims the batch, then fires each timer in its own savepoint."""
        owed: list[Owed] = []
        done: list[timers.DueTimer] = []
        async with self._sessions.begin() as session:
            due = await timers.claim_due_timers(session, now=now, limit=self._batch, lease=self._lease,
                                                claimant=self._claimant)
            for timer in due:
                with logs.ticket_context(timer.ticket_number):
                    if await self._fire_one(session, timer, now, owed):
                        done.append(timer)
        self._started(owed, done)
        return len(done), len(due)

    def _started(self, owed: list[Owed], fired: list[timers.DueTimer]) -> None:
        for work, name in owed:
            self.background.spawn(work(), name)
        for timer in fired:
            metrics.timer_fired(timer.kind, (self._clock.now() - timer.due_at).total_seconds())

    async def _fire_one(self, session: AsyncSession, timer: timers.DueTimer, now: datetime,
                        owed: list[Owed]) -> bool:
        registered = self._handlers.get(timer.kind)
        mine: list[Owed] = []
        session.info[AFTER_COMMIT] = mine
        try:
            if registered is None:
                raise LookupError(f"no handler for timer kind {timer.kind!r}")
            key_type, handler = registered
            key = key_type.parse(timer.key)
            async with session.begin_nested():
                if not await timers.mark_fired(session, timer_id=timer.id, claimant=self._claimant,
                                               now=self._clock.now()):
                    return False  # cancelled since it was claimed
                await handler(session, key, timer)
        except Exception as exc:  # one failing deadline must not stop the others; it is retried with backoff
            metrics.timer_failed(timer.kind)
            log.warning("timer %s failed (attempt %d): %s", timer.key, timer.attempts, type(exc).__name__)
            # When the database itself failed, this write fails too and the whole batch rolls back: nothing fired,
            # nothing claimed, all of it due again at the next tick.
            await timers.retry_timer_later(session, timer_id=timer.id, due_at=now + retry_delay(timer.attempts),
                                           error=f"{type(exc).__name__}: {exc}")
            return False
        finally:
            session.info.pop(AFTER_COMMIT, None)
        owed.extend(mine)
        return True

    async def _prune_hourly(self) -> None:
        """Deletes old fired and cancelled deadlines, at most once an hour and a batch at a time, so history
        neither grows without end nor costs a tick more than one short statement."""
        now = self._clock.now()
        if self._stopped or (self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY):
            return
        self._pruned_at = now
        try:
            async with self._sessions.begin() as session:
                if pruned := await timers.prune_history(session, before=now - self._keep_history):
                    log.info("pruned %d timer(s) of history", pruned)
        except Exception:  # pruning is housekeeping: it must never stop a deadline
            log.exception("pruning timer history failed")

    def start(self) -> None:
        """Starts ticking every `tick`, the first tick at once."""
        self._scheduler = AsyncIOScheduler()
        self._scheduler.add_job(self._tick, "interval", seconds=self.tick.total_seconds(), max_instances=1,
                                coalesce=True, next_run_time=datetime.now().astimezone())
        self._scheduler.start()

    async def _tick(self) -> None:
        try:
            await self.fire_due(settle=False)
        except asyncio.CancelledError:
            # Stopping cancels a tick mid-way: what it fired is committed, the rest falls due again.
            log.info("scheduler tick cancelled by the stop")
        except Exception as exc:
            if why := database_failure(exc):  # an outage: one line a tick, and the next tick tries again
                log.warning("scheduler tick skipped: %s (%s)", why, type(exc).__name__)
                return
            log.exception("scheduler tick failed")

    def stop(self) -> None:
        """Stops ticking; a tick in progress finishes on its own."""
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None

    async def stop_and_wait(self, timeout: float) -> None:  # noqa: ASYNC109
        """Stops ticking and waits (`timeout` at most) for a tick in progress, so it starts nothing after this."""
        self.stop()
        self._stopped = True
        try:
            await asyncio.wait_for(self._lock.acquire(), timeout)
        except TimeoutError:
            log.warning("a scheduler tick was still running when stopping")
            return
        self._lock.release()

"""SQLite's writers take turns in the order they came (storage/db.py `WriteTurns`), on a real SQLite file in WAL
mode. Without the turns, SQLite's busy handler lets waiting writers poll with growing sleeps, and in a burst a
writer that came first can lose every race until its filing window ends. These run on SQLite in both passes of
the suite: the turns exist only there (PostgreSQL has row locks)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import create_engine, refusal_reason

WRITERS = 12  # all hold a connection at once (the pool gives 15)
HOLD_SECONDS = 0.02


@pytest_asyncio.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'turns.db'}", sqlite_lock_wait=5.0)
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE written (n INTEGER NOT NULL)"))
    yield engine
    await engine.dispose()


async def _write(engine: AsyncEngine, n: int, committed: list[int], *, hold: float = HOLD_SECONDS) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO written (n) VALUES (:n)"), {"n": n})
        await asyncio.sleep(hold)  # the write lock is held over an await, as a filing holds it
    committed.append(n)


async def _rows(engine: AsyncEngine) -> list[int]:
    async with engine.connect() as conn:
        return [r[0] for r in await conn.execute(text("SELECT n FROM written ORDER BY rowid"))]


async def test_writers_waiting_for_the_lock_commit_in_the_order_they_came(engine: AsyncEngine) -> None:
    committed: list[int] = []
    first = asyncio.create_task(_write(engine, 0, committed, hold=0.5))
    tasks = [first]
    pool = engine.sync_engine.pool
    for n in range(1, WRITERS):
        tasks.append(asyncio.create_task(_write(engine, n, committed)))
        # Each has its connection and has asked to write before the next one starts.
        while pool.checkedout() < n + 1 and not first.done():  # type: ignore[attr-defined]  # noqa: ASYNC110 (the pool has no event)
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.03)
    assert not first.done(), "the machine is too slow for this test: the first writer finished while queuing"
    await asyncio.gather(*tasks)
    assert committed == list(range(WRITERS))
    assert await _rows(engine) == list(range(WRITERS))


async def test_a_reader_does_not_wait_for_the_writer(engine: AsyncEngine) -> None:
    holding = asyncio.create_task(_write(engine, 1, [], hold=1.0))
    await asyncio.sleep(0.2)
    started = time.monotonic()
    assert await _rows(engine) == []  # WAL: the reader sees the last commit, at once
    assert time.monotonic() - started < 0.5
    await holding
    assert await _rows(engine) == [1]


async def test_a_writer_kept_waiting_past_the_lock_wait_is_refused_as_sqlite_would(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'short.db'}", sqlite_lock_wait=0.3)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE written (n INTEGER NOT NULL)"))
        holding = asyncio.create_task(_write(engine, 1, [], hold=1.0))
        await asyncio.sleep(0.1)
        with pytest.raises(OperationalError) as refused:
            await _write(engine, 2, [])
        assert refusal_reason(refused.value) == "another writer holds the lock"
        await holding
        await _write(engine, 3, [], hold=0)  # the turn came back: the next writer goes at once
        assert await _rows(engine) == [1, 3]  # the refused write left nothing behind
    finally:
        await engine.dispose()


async def test_the_turn_comes_back_after_a_rollback_and_from_a_cancelled_waiter(engine: AsyncEngine) -> None:
    with pytest.raises(RuntimeError):
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO written (n) VALUES (1)"))
            raise RuntimeError("the handler failed mid-transaction")
    holding = asyncio.create_task(_write(engine, 2, [], hold=0.5))
    await asyncio.sleep(0.1)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.1):  # gives up while waiting for its turn
            await _write(engine, 3, [])
    await holding
    started = time.monotonic()
    await _write(engine, 4, [], hold=0)
    assert time.monotonic() - started < 1.0
    assert await _rows(engine) == [2, 4]

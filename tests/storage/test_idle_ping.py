"""PostgreSQL connections are checked before use only after sitting idle (storage/db.py `_ping_when_idle`), on
a throwaway cluster of the test's own that is restarted under the pool. It runs the same in both passes of the
suite (the check exists only for PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import create_engine, database_failure
from tests.postgres import PostgresCluster, postgres_cluster

IDLE = 0.5


@pytest.fixture
def cluster() -> Iterator[PostgresCluster]:
    with postgres_cluster() as started:
        yield started


def count_pings(engine: AsyncEngine) -> list[int]:
    """Counts the dialect's connection checks from now on (SQLAlchemy's, wrapped: nothing of ours is replaced)."""
    dialect: Any = engine.sync_engine.dialect
    pings = [0]
    original = dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        pings[0] += 1
        return bool(original(dbapi_connection))

    dialect.do_ping = counted
    return pings


async def select_one(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT 1"))).scalar_one())


async def test_a_connection_back_in_the_pool_moments_ago_is_used_without_a_check(cluster: PostgresCluster) -> None:
    engine = create_engine(cluster.url, ping_after_idle=IDLE)
    try:
        pings = count_pings(engine)
        for _ in range(10):
            assert await select_one(engine) == 1
        assert pings == [0]  # busy: every checkout found a connection used moments ago
        await asyncio.sleep(IDLE * 1.5)
        assert await select_one(engine) == 1
        assert pings == [1]  # idle: checked once before use
    finally:
        await engine.dispose()


async def test_an_idle_connection_to_a_restarted_server_is_replaced_before_use(cluster: PostgresCluster) -> None:
    engine = create_engine(cluster.url, ping_after_idle=IDLE)
    try:
        assert await select_one(engine) == 1
        cluster.stop()
        cluster.start()
        await asyncio.sleep(IDLE * 1.5)
        assert await select_one(engine) == 1  # the check failed, the pool reconnected: the request never knew
    finally:
        await engine.dispose()


async def test_a_busy_connection_to_a_restarted_server_fails_once_plainly_then_the_pool_reconnects(
        cluster: PostgresCluster) -> None:
    engine = create_engine(cluster.url, ping_after_idle=60.0)
    try:
        assert await select_one(engine) == 1
        cluster.stop()
        cluster.start()
        with pytest.raises((DBAPIError, OSError)) as failed:
            await select_one(engine)
        assert database_failure(failed.value) == "the database is unreachable"
        assert await select_one(engine) == 1
    finally:
        await engine.dispose()

"""The database every test runs on: a SQLite file (the default), or a fresh PostgreSQL database when the suite
runs with SUPPORTBOT_TEST_DATABASE=postgresql (scripts/test.sh runs it both ways).

On PostgreSQL one throwaway cluster serves the whole session (one per pytest-xdist worker): its schema is migrated
once into a template database, and each test gets a copy of it (CREATE DATABASE ... TEMPLATE), dropped afterwards.
A cluster that cannot start fails the run; nothing skips.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from itertools import count
from typing import Any, TypeVar

from sqlalchemy import text
from sqlalchemy.engine import make_url

from storage.db import create_engine
from storage.migrate import upgrade_to_head
from tests.postgres import postgres_server

T = TypeVar("T")
KIND = os.environ.get("SUPPORTBOT_TEST_DATABASE", "sqlite").strip().lower() or "sqlite"
if KIND not in ("sqlite", "postgresql"):
    raise RuntimeError(f"SUPPORTBOT_TEST_DATABASE must be sqlite or postgresql, not {KIND!r}")
ON_POSTGRES = KIND == "postgresql"
TEMPLATE = "supportbot_template"


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Runs a coroutine to its end on a loop of its own: fixtures may be set up while a test's loop runs."""
    result: list[T] = []
    failure: list[BaseException] = []

    def work() -> None:
        try:
            result.append(asyncio.run(coroutine))
        except BaseException as exc:  # handed back to the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return result[0]


async def _execute(url: str, *statements: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            for statement in statements:
                await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def _migrate(url: str) -> None:
    engine = create_engine(url)
    try:
        await upgrade_to_head(engine)
    finally:
        await engine.dispose()


class PostgresDatabases:
    """Hands out fresh migrated databases on one cluster."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self._names = count(1)
        _run(_execute(server_url, f"CREATE DATABASE {TEMPLATE}"))
        _run(_migrate(self.url_of(TEMPLATE)))

    def url_of(self, name: str) -> str:
        return make_url(self.server_url).set(database=name).render_as_string(hide_password=False)

    @contextmanager
    def fresh(self) -> Iterator[str]:
        name = f"test_{os.getpid()}_{next(self._names)}"
        _run(_execute(self.server_url, f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}"))
        try:
            yield self.url_of(name)
        finally:
            _run(_execute(self.server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@contextmanager
def postgres_databases() -> Iterator[PostgresDatabases]:
    with postgres_server() as url:
        yield PostgresDatabases(url)

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
from collections.abc import AsyncIterator, Coroutine, Iterator
from contextlib import asynccontextmanager, contextmanager
from itertools import count
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, MetaData, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

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


def run_coroutine(coroutine: Coroutine[Any, Any, T]) -> T:
    """Runs a coroutine to its end on a loop of its own, from synchronous code (even inside a running loop)."""
    return _run(coroutine)


def database_name(url: str) -> str:
    """The database a URL names: the PostgreSQL database's name, or the SQLite file's path."""
    name = make_url(url).database
    assert name, url
    return name


@asynccontextmanager
async def autocommit(url: str) -> AsyncIterator[AsyncConnection]:
    """A connection of the test's own (as the cluster's superuser on PostgreSQL), each statement its own
    transaction: what another process or an operator does to the bot's database."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            yield await connection.execution_options(isolation_level="AUTOCOMMIT")
    finally:
        await engine.dispose()


async def execute(url: str, *statements: str) -> None:
    """Runs statements on the database at url, each committed at once."""
    await _execute(url, *statements)


async def stored_text(url: str) -> bytes:
    """Everything the database holds, for a search for a value that must never be stored: every row of every
    table as text, and on SQLite also the file's raw bytes (with its WAL), which hold freed pages too."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            rows = await connection.run_sync(_every_row)
    finally:
        await engine.dispose()
    raw = b""
    if make_url(url).get_backend_name() == "sqlite":
        path = Path(database_name(url))
        raw = b"".join(p.read_bytes() for p in sorted(path.parent.glob(path.name + "*")))
    return rows.encode() + raw


def _every_row(connection: Connection) -> str:
    metadata = MetaData()
    metadata.reflect(connection)
    return "\n".join(f"{table.name}: " + " | ".join(str(value) for value in row)
                     for table in metadata.sorted_tables for row in connection.execute(table.select()))

"""Engine and session factory: one `async_sessionmaker` per process, one session per request or job."""

from __future__ import annotations

import asyncio
import sqlite3
import time
import weakref
from datetime import timedelta
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.util.concurrency import await_, in_greenlet


def is_sqlite(database_url: str) -> bool:
    """True when the database URL names SQLite, which the bot migrates itself."""
    return make_url(database_url).get_backend_name() == "sqlite"


def create_engine(database_url: str, *, idle_in_transaction: timedelta | None = None,
                  sqlite_lock_wait: float | None = None, ping_after_idle: float = 5.0) -> AsyncEngine:
    """An async engine for the URL; SQLite gets WAL, foreign keys, and writers that take turns in the order they
    came for up to `sqlite_lock_wait` seconds (15) instead of failing.

    `idle_in_transaction` (PostgreSQL): the server ends a session left idle inside a transaction this long. A
    replica that hangs or loses its network mid-tick holds the rows its batch locked (the claimed timers) until
    then, not until TCP notices hours later: this is the claims' lease. `ping_after_idle` (PostgreSQL): a pooled
    connection idle this many seconds is checked before use (see `_ping_when_idle`)."""
    kwargs: dict[str, Any] = {}
    lock_wait = SQLITE_LOCK_WAIT_SECONDS if sqlite_lock_wait is None else sqlite_lock_wait
    if is_sqlite(database_url):
        # Writers queue on SQLite's lock rather than failing at once; WAL lets readers go on meanwhile.
        kwargs["connect_args"] = {"timeout": lock_wait}
    else:
        if idle_in_transaction is not None:
            milliseconds = str(int(idle_in_transaction.total_seconds() * 1000))
            kwargs["connect_args"] = {"server_settings": {"idle_in_transaction_session_timeout": milliseconds}}
    engine = create_async_engine(database_url, **kwargs)
    if is_sqlite(database_url):
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        WriteTurns(lock_wait).attach(engine)
    else:
        _ping_when_idle(engine, ping_after_idle)
    return engine


_IDLE_SINCE = "supportbot_idle_since"


def _ping_when_idle(engine: AsyncEngine, idle_seconds: float) -> None:
    """Checks a pooled connection before use when it has sat idle `idle_seconds` or more, and replaces the pool's
    connections when the check fails (PostgreSQL restarted, a proxy dropped them).

    SQLAlchemy's `pool_pre_ping` checks every checkout, and the asyncpg dialect's check is three round trips
    (BEGIN, an empty query, ROLLBACK): half of a busy bot's transactions were these checks. A connection back
    in the pool moments ago was working moments ago; if the server went away in between, the request fails
    with "the database is unreachable", that error replaces the pool, and the next request connects anew."""
    pool, dialect = engine.sync_engine.pool, engine.sync_engine.dialect

    def idle_from_now(_dbapi_connection: Any, record: Any, *_: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    def check_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is not None and time.monotonic() - since < idle_seconds:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise InvalidatePoolError(f"idle connection failed its check: {type(exc).__name__}") from exc

    event.listen(pool, "connect", idle_from_now)
    event.listen(pool, "checkin", idle_from_now)
    event.listen(pool, "checkout", check_if_idle)


SQLITE_LOCK_WAIT_SECONDS = 15.0
_READS = ("SELECT", "PRAGMA", "SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "EXPLAIN")


class WriteTurns:
    """SQLite's writers take turns within the process, in the order they asked.

    SQLite lets one connection write at a time and makes the others poll with growing sleeps (up to 100 ms), so
    in a burst a writer that arrived early can lose every race to later ones until its 2 s filing window ends
    and the agent is told "not saved". Here a connection waits in a first-come queue at its first write, the
    moment SQLite would take its write lock, and gives its turn back when it returns to the pool, after its
    commit or rollback. A connection that would wait longer than SQLite's own lock wait is refused as SQLite
    would refuse it ("database is locked"). One process per SQLite file is enforced elsewhere, so no other
    writer competes."""

    HOLDS = "supportbot_write_turn"

    def __init__(self, wait_seconds: float) -> None:
        self._wait_seconds = wait_seconds
        # One lock per event loop: tests and the CLI may run several loops over one engine's lifetime.
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()

    def attach(self, engine: AsyncEngine) -> None:
        """Queues the engine's writers from now on."""
        event.listen(engine.sync_engine, "before_cursor_execute", self._before_execute)
        event.listen(engine.sync_engine.pool, "checkin", self._give_back)
        event.listen(engine.sync_engine.pool, "invalidate", self._give_back)

    def _lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        return lock

    def _before_execute(self, conn: Any, _cursor: Any, statement: str, _parameters: Any, _context: Any,
                        _executemany: bool) -> None:
        info = conn.info  # the pooled connection's: kept from its first write until it is checked in
        if self.HOLDS in info or not in_greenlet() or statement.lstrip().upper().startswith(_READS):
            return
        lock = self._lock()
        await_(self._wait(lock))
        info[self.HOLDS] = lock

    async def _wait(self, lock: asyncio.Lock) -> None:
        try:
            async with asyncio.timeout(self._wait_seconds):
                await lock.acquire()
        except TimeoutError:
            raise sqlite3.OperationalError("database is locked") from None

    def _give_back(self, _dbapi_connection: Any, record: Any, *_: Any) -> None:
        lock = record.info.pop(self.HOLDS, None) if record is not None else None
        if lock is not None and lock.locked():
            lock.release()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """The process's session factory; loaded rows stay readable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


# What SQLite and PostgreSQL say when they refuse a write, in the words an agent or operator can act on.
_REFUSALS = (
    ("database or disk is full", "disk full"),
    ("could not extend file", "disk full"),
    ("no space left on device", "disk full"),
    ("attempt to write a readonly database", "the database is read-only"),
    ("read-only transaction", "the database is read-only"),
    ("readonly database", "the database is read-only"),
    ("unable to open database file", "the database file cannot be opened"),
    ("database is locked", "another writer holds the lock"),
    ("permission denied", "permission denied"),
    # PostgreSQL stopped, restarting or failing over: nothing was written, and trying again later may succeed.
    ("connect call failed", "the database is unreachable"),
    ("connection refused", "the database is unreachable"),
    ("the database system is shutting down", "the database is unreachable"),
    ("the database system is starting up", "the database is unreachable"),
    ("terminating connection due to administrator command", "the database is unreachable"),
    ("connection was closed in the middle of operation", "the database is unreachable"),
    ("connection is closed", "the database is unreachable"),
    ("is not currently accepting connections", "the database is unreachable"),  # ALLOW_CONNECTIONS false
)


def refusal_reason(exc: BaseException) -> str | None:
    """Why the database refused, in a few words ("disk full", "the database is read-only"); None if unknown.

    Matches the driver's message, because SQLite reports these only as OperationalError text and asyncpg's
    classes differ from psycopg's; the message is never shown raw (it can hold paths or SQL).
    """
    text = " ".join(str(e).lower() for e in (exc, getattr(exc, "orig", None), exc.__cause__) if e is not None)
    return next((words for needle, words in _REFUSALS if needle in text), None)


def database_failure(exc: BaseException) -> str | None:
    """Why a request failed, in a few words, when the database is what failed (refused, unreachable); None for
    any other error. asyncpg lets a refused connection out as a bare OSError, so OSError counts (a caller that
    also makes HTTP calls tells its HTTP client's errors apart first)."""
    from sqlalchemy.exc import SQLAlchemyError

    if isinstance(exc, SQLAlchemyError):
        return refusal_reason(exc) or "the database did not answer"
    return refusal_reason(exc) if isinstance(exc, OSError) else None

"""SQLite is the embedded database of one process: a second `supportbot run` on the same file is refused.

Two processes on one SQLite file would each fire every due deadline they claim between the other's writes, and
queue on one writer lock; several replicas belong on PostgreSQL. The guard is an exclusive `flock` on a file
beside the database, so it ends with the process, however it ends (a SIGKILL included): no stale lock to clear.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from sqlalchemy.engine import make_url


class AnotherProcessRuns(Exception):
    """Another supportbot process holds this SQLite file; the message says which and what to do instead."""


def sqlite_file(database_url: str) -> Path | None:
    """The database file a SQLite URL names; None for PostgreSQL and for an in-memory database."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    name = url.database.removeprefix("file:").split("?", 1)[0]
    return Path(name).resolve()


class SingleProcess:
    """Holds the SQLite file for this process until `release()` (or the process ends)."""

    def __init__(self, database_url: str) -> None:
        self._file: IO[str] | None = None
        self.path = sqlite_file(database_url)

    def acquire(self) -> None:
        """Takes the file, or raises AnotherProcessRuns naming the process that holds it."""
        if self.path is None:
            return
        lock_path = self.path.with_name(self.path.name + ".lock")
        lock = open(lock_path, "a+")  # noqa: SIM115 - held open for the life of the process
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "unknown"
            lock.close()
            raise AnotherProcessRuns(
                f"another supportbot process (pid {holder}) is running on {self.path}; SQLite serves one process. "
                "Stop it first, or run several replicas on PostgreSQL (DATABASE_URL=postgresql+asyncpg://...)"
            ) from None
        lock.seek(0)
        lock.truncate()
        lock.write(str(os.getpid()))
        lock.flush()
        self._file = lock

    def release(self) -> None:
        """Lets the file go (a stopped process's lock also ends with it)."""
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None

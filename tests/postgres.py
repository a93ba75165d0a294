"""A throwaway PostgreSQL server for the tests that check storage on PostgreSQL (asyncpg).

`postgres_server()` yields the URL of a fresh cluster; `postgres_cluster()` yields the cluster itself, which a
fault test can stop (as an outage) and start again on the same port and data.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.ports import free_port


def _pg_bin(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)),
                                       None)
    assert found, f"PostgreSQL's {name} is needed (Debian package postgresql; .ci/run installs it)"
    return found


def _as_postgres(command: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; CI runs as root, a developer usually does not.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


class PostgresCluster:
    """One initdb'd cluster on a loopback port: `url` for asyncpg, `stop()` and `start()` for an outage."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="supportbot-pg-"))
        self.data = self.folder / "data"
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
        self.port = free_port()
        self.url = f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"
        subprocess.run(_as_postgres([_pg_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                                     "--no-sync"]), check=True, capture_output=True)

    def _pg_ctl(self, *args: str, check: bool = True) -> None:
        subprocess.run(_as_postgres([_pg_bin("pg_ctl"), "-D", str(self.data), *args]), check=check,
                       capture_output=True)

    def start(self) -> None:
        """Starts the server and waits until it takes connections."""
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._pg_ctl("-o", options, "-w", "-l", str(self.folder / "log"), "start")

    def stop(self, mode: str = "fast") -> None:
        """Stops the server (`fast`: open sessions are ended, as a failover or a restart does) and waits."""
        self._pg_ctl("-m", mode, "-w", "stop")

    def remove(self) -> None:
        self._pg_ctl("-m", "immediate", "stop", check=False)
        shutil.rmtree(self.folder, ignore_errors=True)


@contextmanager
def postgres_cluster() -> Iterator[PostgresCluster]:
    """Yields a fresh, started cluster on a free loopback port; removes it afterwards."""
    cluster = PostgresCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yields an asyncpg URL of a fresh cluster on a free loopback port; removes it afterwards."""
    with postgres_cluster() as cluster:
        yield cluster.url

"""SQLite serves one process: a second `supportbot run` on the same file is refused with a clear message, and the
file is free again once the first process is gone (however it ended)."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from bot.sandbox.slack import SlackSandbox
from storage.single_process import AnotherProcessRuns, SingleProcess, sqlite_file
from tests.conftest import ROOT
from tests.processes import BotProcess, bot_env, free_port, write_config


def test_only_a_sqlite_file_is_guarded(tmp_path: Path) -> None:
    assert sqlite_file(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}") == (tmp_path / "bot.db").resolve()
    assert sqlite_file(f"sqlite+aiosqlite:///file:{tmp_path / 'bot.db'}?mode=ro&uri=true") == \
        (tmp_path / "bot.db").resolve()
    assert sqlite_file("sqlite+aiosqlite:///:memory:") is None
    assert sqlite_file("postgresql+asyncpg://bot@127.0.0.1/supportbot") is None


def test_a_second_holder_in_the_same_process_is_refused_until_the_first_lets_go(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    first, second = SingleProcess(url), SingleProcess(url)
    first.acquire()
    try:
        try:
            second.acquire()
            raise AssertionError("a second holder was let in")
        except AnotherProcessRuns as exc:
            assert str(tmp_path / "bot.db") in str(exc) and "PostgreSQL" in str(exc)
    finally:
        first.release()
    second.acquire()
    second.release()


async def test_a_second_supportbot_run_on_the_same_sqlite_file_is_refused(sandbox: SlackSandbox,
                                                                          tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    config = write_config(tmp_path, tick="1s", lease="5s")
    first = BotProcess(bot_env(sandbox=sandbox, database_url=url, port=free_port(), config=config),
                       tmp_path / "first.log")
    await first.start()
    try:
        assert first.process is not None
        second = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run", cwd=ROOT,
            env=bot_env(sandbox=sandbox, database_url=url, port=free_port(), config=config),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        _, err = await asyncio.wait_for(second.communicate(), 30)
        assert second.returncode == 1
        lines = [line for line in err.decode().splitlines() if line.strip()]
        assert lines[-1] == (f"supportbot: another supportbot process (pid {first.process.pid}) is running on "
                             f"{(tmp_path / 'bot.db').resolve()}; SQLite serves one process. Stop it first, or run "
                             "several replicas on PostgreSQL (DATABASE_URL=postgresql+asyncpg://...)"), lines
        assert (await first.healthz())[0] == 200  # the first goes on undisturbed
        await first.end(signal.SIGKILL, within=5)
        # A SIGKILL leaves no stale lock: the next process starts.
        again = BotProcess(bot_env(sandbox=sandbox, database_url=url, port=free_port(), config=config),
                           tmp_path / "again.log")
        await again.start()
        await again.end(signal.SIGTERM, within=15)
    finally:
        await first.kill()

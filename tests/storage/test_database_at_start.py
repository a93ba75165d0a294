"""`supportbot migrate` and `run` against awkward databases: a `%` in the URL, a read-only file, a refusal
said in one line rather than a traceback, and no chatter from the migrations themselves."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from storage.db import create_engine
from storage.migrate import upgrade_to_head

REPO = Path(__file__).parents[2]
SUPPORTBOT = REPO / ".venv" / "bin" / "supportbot"
CONTRACT = REPO.parent / "shared" / "contract" / "supportbot.toml"


def supportbot(*args: str, database_url: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STATUSPAGE_", "SLACK_", "PAGERDUTY_"))}
    env.update(DATABASE_URL=database_url, SUPPORTBOT_CONFIG=str(CONTRACT), SLACK_BOT_TOKEN="xoxb-test",
               SLACK_SIGNING_SECRET="s3cret", SLACK_API_URL="http://127.0.0.1:9/api/", PORT="0")
    command = [str(SUPPORTBOT)] if SUPPORTBOT.exists() else [sys.executable, "-m", "bot.cli"]
    return subprocess.run([*command, *args], capture_output=True, text=True, env=env, cwd=REPO, timeout=timeout,
                          check=False)


def test_a_percent_encoded_database_url_migrates(tmp_path: Path) -> None:
    # A percent-encoded character (here in the file name; in real life usually a password) once broke
    # Alembic's ConfigParser, which reads `%` as the start of an interpolation.
    url = f"sqlite+aiosqlite:///{tmp_path}/support%25bot.db"
    result = supportbot("migrate", database_url=url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "database is at the newest schema"
    assert "Running upgrade" not in result.stderr  # migrations do not chatter
    with sqlite3.connect(tmp_path / "support%bot.db") as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchone() is not None


async def test_run_migrates_a_percent_encoded_url_in_process(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/p%40ss.db")
    try:
        await upgrade_to_head(engine)  # what `supportbot run` does for SQLite before it serves
    finally:
        await engine.dispose()
    assert (tmp_path / "p@ss.db").exists()


def test_a_read_only_database_at_start_is_one_clear_line(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    sqlite3.connect(path).close()  # an empty file, opened read-only: the first migration must write
    url = f"sqlite+aiosqlite:///file:{path}?mode=ro&uri=true"
    for command in ("migrate", "run"):
        result = supportbot(command, database_url=url)
        assert result.returncode == 1, (command, result.stderr)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert lines[-1].startswith("supportbot: the database at sqlite+aiosqlite:///file"), lines
        assert lines[-1].endswith("refused: the database is read-only"), lines
        assert "Traceback" not in result.stderr


def test_an_unreachable_database_at_migrate_is_one_line_without_the_password() -> None:
    url = "postgresql+asyncpg://bot:hunter2-secret@127.0.0.1:9/supportbot"
    result = supportbot("migrate", database_url=url, timeout=90)
    assert result.returncode == 1, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == ["supportbot: the database at postgresql+asyncpg://bot:***@127.0.0.1:9/supportbot refused: "
                     "the database is unreachable"], lines

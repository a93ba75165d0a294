"""Alembic (with mako and pygments, most of a second) is imported only when a database needs migrating: not by
importing the app, not by a bot starting on a database already at the newest schema."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from storage.db import create_engine
from storage.migrate import alembic_config, head_revision, is_at_head, upgrade_to_head

REPO = Path(__file__).parents[2]
CONTRACT = REPO.parent / "shared" / "contract" / "supportbot.toml"

START_BOT = """
import asyncio, sys
from bot.app import SupportBot
from bot.core.config import EnvSettings, Settings, load_config

async def main():
    env = EnvSettings(slack_bot_token="xoxb-test", slack_signing_secret="s3cret",
                      slack_api_url="http://127.0.0.1:9/api/", database_url=sys.argv[1], config_path=sys.argv[2])
    bot = await SupportBot.create(Settings(config=load_config(sys.argv[2]), env=env), migrate=True)
    await bot.start(host="127.0.0.1", port=0, scheduler=False)
    await bot.stop()
    print("alembic" in sys.modules)

asyncio.run(main())
"""


def _python(*args: str) -> str:
    result = subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=REPO, timeout=60,
                            env=dict(os.environ), check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_importing_the_app_does_not_import_alembic() -> None:
    assert _python("-c", "import bot.app, bot.cli, sys; print('alembic' in sys.modules)") == "False"


def test_the_head_read_from_the_files_is_alembics_head() -> None:
    from alembic.script import ScriptDirectory

    assert head_revision() is not None
    assert head_revision() == ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


async def test_a_bot_started_on_a_migrated_database_does_not_import_alembic(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        assert not await is_at_head(engine) or database_url.startswith("postgresql")  # a fresh SQLite file is not
        await upgrade_to_head(engine)
        assert await is_at_head(engine)
    finally:
        await engine.dispose()
    assert _python("-c", START_BOT, database_url, str(CONTRACT)) == "False"


async def test_a_database_behind_is_still_migrated(tmp_path: Path) -> None:
    import asyncio

    from alembic import command

    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    await asyncio.to_thread(command.upgrade, alembic_config(url), "0001")
    engine = create_engine(url)
    try:
        assert not await is_at_head(engine)
        await upgrade_to_head(engine)
        assert await is_at_head(engine)
    finally:
        await engine.dispose()

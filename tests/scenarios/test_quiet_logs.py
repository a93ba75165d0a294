"""A real `supportbot run` keeps a quiet, honest log: no migration narration at start, nothing per scheduler
tick while nothing happens, and no ERROR or traceback for an ordinary day."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

from bot.core.config import EnvSettings
from bot.sandbox.driver import SlackDriver
from bot.sandbox.slack import SlackSandbox
from bot.sandbox.workspace import file_ticket
from tests.conftest import BOT_TOKEN, SIGNING_SECRET
from tests.ports import free_port
from tests.scenarios.test_process_restart import TICK, BotProcess, _short_cadence_config

# Today's human-readable line (LOG_FORMAT unset): time, level, logger, message, then the context if any.
TEXT_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+: .*")


async def test_an_idle_bot_says_nothing_per_tick_and_migrations_say_nothing(
        sandbox: SlackSandbox, env_settings: EnvSettings, tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
           "SLACK_API_URL": sandbox.api_url, "DATABASE_URL": env_settings.database_url,
           "PORT": str(port), "SUPPORTBOT_CONFIG": str(_short_cadence_config(tmp_path)),
           "SUPPORTBOT_PUBLIC_URL": "https://bot.acme.example"}
    for name in ("SLACK_APP_TOKEN", "PAGERDUTY_ROUTING_KEY", "STATUSPAGE_API_KEY", "LOG_FORMAT", "LOG_LEVEL"):
        env.pop(name, None)
    log = tmp_path / "supportbot.log"
    bot = BotProcess(env, port, log)
    await bot.start()
    try:
        started = log.read_text()
        await asyncio.sleep(TICK * 12)  # a dozen ticks with nothing due
        idle = log.read_text()[len(started):]
        async with SlackDriver(events_url=f"http://127.0.0.1:{port}/slack/events", signing_secret=SIGNING_SECRET,
                               sandbox=sandbox) as slack:
            await file_ticket(slack, sandbox)
        await sandbox.wait_for(lambda: sandbox.history("C0TRIAGE01"), timeout=10)
        await asyncio.sleep(TICK * 4)
    finally:
        await bot.stop()
    whole = log.read_text()
    # At start, one line: where it listens (no migration narration, no library warning that is not news).
    assert [re.sub(r"^\S+ \S+ ", "", line) for line in started.splitlines()] == [
        f"INFO bot.app: supportbot listening on 0.0.0.0:{port}"], started
    assert all(TEXT_LINE.match(line) for line in whole.splitlines()), whole
    assert "alembic" not in whole and "Running upgrade" not in whole, whole
    assert [line for line in idle.splitlines() if "/healthz" not in line] == [], idle
    for noise in ("Running job", "executed successfully", "Traceback", " ERROR "):
        assert noise not in whole, whole

"""`supportbot run` as a real process: reminders keep the cadence across a restart, never later than a tick."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import re
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest_asyncio
from sqlalchemy import select

from bot.sandbox.driver import SlackDriver
from bot.sandbox.pagerduty import PagerDutyStandIn
from bot.sandbox.slack import SlackSandbox
from bot.sandbox.statuspage import StatuspageStandIn
from bot.sandbox.workspace import file_ticket, ticket_values
from storage.models import IncidentRow
from tests.conftest import BOT_TOKEN, CONTRACT, ROOT, SIGNING_SECRET, without_webhooks
from tests.databases import autocommit
from tests.ports import free_port
from tests.scenarios.conftest import ROUTING_KEY

CADENCE = 3.0
TICK = 0.25
SEV1 = ticket_values(**{"Impact": "Production down or data loss", "Summary": "Checkout returns 500"})



def _short_cadence_config(folder: Path) -> Path:
    text = without_webhooks(CONTRACT.read_text())
    text = re.sub(r'status_update_every = "[^"]+"', f'status_update_every = "{int(CADENCE)}s"', text)
    text = re.sub(r'tick = "[^"]+"', f'tick = "{int(TICK * 1000)}ms"', text)
    path = folder / "supportbot.toml"
    path.write_text(text)
    return path


class BotProcess:
    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.env = env
        self.port = port
        self.log = log
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log.open("ab") as log:  # the process's own log, shown when it misbehaves
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot.cli", "run", cwd=ROOT, env=self.env,
                stdout=asyncio.subprocess.DEVNULL, stderr=log)
        deadline = time.monotonic() + 20
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                with contextlib.suppress(aiohttp.ClientError):  # not listening yet
                    async with http.get(f"http://127.0.0.1:{self.port}/healthz") as response:
                        if response.status == 200:
                            return
                await asyncio.sleep(0.05)
        raise AssertionError("supportbot run did not answer /healthz within 20 s")

    async def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 15)
        except TimeoutError:
            process.kill()
            await process.wait()
            tail = self.log.read_text(errors="replace")[-3000:]
            raise AssertionError(f"supportbot run did not stop within 15 s of SIGTERM; its log ends:\n{tail}") from None


@pytest_asyncio.fixture
async def stand_ins() -> AsyncIterator[tuple[PagerDutyStandIn, StatuspageStandIn]]:
    async with PagerDutyStandIn(routing_keys=[ROUTING_KEY]) as pagerduty, StatuspageStandIn() as statuspage:
        yield pagerduty, statuspage


async def test_reminders_keep_their_cadence_across_a_restart_of_the_process(
        sandbox: SlackSandbox, stand_ins: tuple[PagerDutyStandIn, StatuspageStandIn], tmp_path: Path,
        database_url: str) -> None:
    pagerduty, statuspage = stand_ins
    port = free_port()
    database = database_url
    env = {**os.environ, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
           "SLACK_API_URL": sandbox.api_url, "DATABASE_URL": database, "PORT": str(port),
           "SUPPORTBOT_CONFIG": str(_short_cadence_config(tmp_path)), "PAGERDUTY_ROUTING_KEY": ROUTING_KEY,
           "PAGERDUTY_EVENTS_URL": pagerduty.url, "STATUSPAGE_API_KEY": statuspage.api_key,
           "STATUSPAGE_PAGE_ID": statuspage.page_id, "STATUSPAGE_API_URL": statuspage.api_url}
    env.pop("SLACK_APP_TOKEN", None)
    bot = BotProcess(env, port, tmp_path / "supportbot.log")
    await bot.start()
    try:
        async with SlackDriver(events_url=f"http://127.0.0.1:{port}/slack/events", signing_secret=SIGNING_SECRET,
                               sandbox=sandbox) as slack:
            await file_ticket(slack, sandbox, values=SEV1)
        channel = await sandbox.wait_for(lambda: sandbox.channel_by_name("incident-1"), timeout=10)
        await sandbox.wait_for(lambda: any("What the bot did" in str(m.blocks) for m in sandbox.history(channel.id)),
                               timeout=10)
        opened_at = await _opened_at(database)

        await bot.stop()  # the first reminder falls due while the bot is down
        await asyncio.sleep(max(0.0, opened_at + CADENCE + 0.5 - time.time()))
        assert _reminders(sandbox, channel.id) == []
        await bot.start()
        first = await sandbox.wait_for(lambda: next(iter(_reminders(sandbox, channel.id)), None), timeout=10)
        assert "has been silent" in str(first.blocks)

        # Running again, the next one keeps the rhythm: due at the first slot (opened + k * cadence) after the
        # catch-up reminder, late by one tick at most. A slow start on a loaded machine skips slots, not the rhythm.
        second = await sandbox.wait_for(lambda: next(iter(_reminders(sandbox, channel.id)[1:]), None),
                                        timeout=CADENCE * 4)
        slots = math.floor((float(first.ts) - opened_at) / CADENCE) + 1
        due = opened_at + max(2, slots) * CADENCE
        assert due <= float(second.ts) <= due + TICK + 0.3, (float(second.ts) - due, slots)
    finally:
        await bot.stop()
    assert len(pagerduty.accepted_events("trigger")) == 1
    assert len(statuspage.incidents) == 1


def _reminders(sandbox: SlackSandbox, channel_id: str) -> list[Any]:
    return [m for m in sandbox.history(channel_id) if "has been silent" in str(m.blocks)]


async def _opened_at(database: str) -> float:
    async with autocommit(database) as db:  # read as the models read it: SQLite and PostgreSQL alike
        value = (await db.execute(select(IncidentRow.opened_at))).scalar_one()
    return value.timestamp()

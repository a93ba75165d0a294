"""Activity webhooks across a SIGKILL: a real `supportbot run` queues a ticket's events while the receiver is
failing, is killed with them undelivered, and the next process delivers every one, in order per ticket."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest_asyncio

from bot.sandbox.slack import SlackSandbox
from bot.sandbox.webhook_receiver import WebhookReceiver
from bot.sandbox.workspace import file_ticket, ticket_card_message, ticket_values
from tests.conftest import BOT_TOKEN, CONTRACT, ROOT, SIGNING_SECRET, WEBHOOK_SECRET_ENV, without_webhooks
from tests.ports import free_port
from tests.scenarios.test_escalation_restart import Process

SECRET = "receiver-signing-secret"
TRIAGE = "C0TRIAGE01"


def _config(folder: Path, url: str) -> Path:
    text, ticks = re.subn(r'tick = "[^"]+"', 'tick = "1s"\nlease = "3s"', without_webhooks(CONTRACT.read_text()))
    assert ticks == 1, "the contract's [scheduler] section moved"
    path = folder / "supportbot.toml"
    path.write_text(f'{text}\n[[webhooks]]\nurl = "{url}"\nsecret_env = "{WEBHOOK_SECRET_ENV}"\n')
    return path


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async with WebhookReceiver(secret=SECRET) as standin:
        yield standin


@pytest_asyncio.fixture
async def bot_process(sandbox: SlackSandbox, receiver: WebhookReceiver, tmp_path: Path,
                      database_url: str) -> AsyncIterator[Process]:
    port = free_port()
    database = database_url
    env = {**os.environ, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
           "SLACK_API_URL": sandbox.api_url, "DATABASE_URL": database, "PORT": str(port),
           "SUPPORTBOT_CONFIG": str(_config(tmp_path, receiver.url)), WEBHOOK_SECRET_ENV: SECRET}
    for unwanted in ("SLACK_APP_TOKEN", "STATUSPAGE_API_KEY", "STATUSPAGE_PAGE_ID", "STATUSPAGE_API_URL",
                     "CUSTOMER_CONNECTION_URL", "CUSTOMER_CONNECTION_SECRET", "PAGERDUTY_ROUTING_KEY",
                     "JIRA_BASE_URL"):
        env.pop(unwanted, None)
    bot = Process(env, port, tmp_path / "supportbot.log", database)
    try:
        yield bot
    finally:
        if bot.process is not None and bot.process.returncode is None:
            bot.process.kill()
            await bot.process.wait()


async def _until(check: Callable[[], bool], what: str, bot: Process, within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what} within {within} s; the bot's log ends:\n{bot.tail()}")


async def _status(bot: Process) -> list[str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "webhooks", "status", cwd=ROOT, env=bot.env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode().splitlines()


async def test_undelivered_events_survive_a_sigkill_and_are_delivered_by_the_next_process(
        sandbox: SlackSandbox, receiver: WebhookReceiver, bot_process: Process) -> None:
    bot = bot_process
    receiver.fail_next(500, times=10_000)
    await bot.start()
    async with bot.driver(sandbox) as slack:
        _, filed = await file_ticket(slack, sandbox, values=ticket_values())
        assert filed.status == 200 and not (filed.json or {}).get("errors"), filed.json
    await sandbox.wait_for(lambda: ticket_card_message(sandbox, 1, TRIAGE))
    await _until(lambda: bot.query("SELECT COUNT(*) FROM webhook_outbox WHERE last_error IS NOT NULL")[0][0] > 0,
                 "no failed attempt", bot, within=10)

    await bot.end(signal.SIGKILL)
    assert receiver.accepted == []
    waiting = bot.query("SELECT COUNT(*) FROM webhook_outbox WHERE delivered_at IS NULL")[0][0]
    events = bot.query("SELECT COUNT(*) FROM audit_log")[0][0]
    assert waiting == events > 0
    lines = await _status(bot)
    assert lines[0] == receiver.url
    assert lines[1].startswith(f"  backlog: {waiting} undelivered, oldest "), lines
    assert lines[2].endswith(": HTTP 500 Internal Server Error"), lines

    receiver.clear_faults()
    await bot.start()
    await _until(lambda: bot.query("SELECT COUNT(*) FROM webhook_outbox WHERE delivered_at IS NULL")[0][0] == 0,
                 "the backlog was not delivered", bot, within=45)
    await bot.end(signal.SIGTERM)

    queued = bot.query("SELECT event_id, ticket_number, audit_id FROM webhook_outbox ORDER BY id")
    kept = receiver.accepted_events()
    assert set(kept) == {event_id for event_id, _, _ in queued}  # none missing; duplicates only by ID
    seen = [body["audit_id"] for body in kept.values() if body["ticket_number"] == 1]
    assert seen == sorted(seen) and len(seen) == sum(1 for _, ticket, _ in queued if ticket == 1)
    assert (await _status(bot))[1].startswith(f"  backlog: none; {len(queued)} delivered")

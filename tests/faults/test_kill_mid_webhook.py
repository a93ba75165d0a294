"""A real `supportbot run` SIGKILLed while a webhook delivery is in the receiver's hands (the receiver takes it
after the process is gone, unrecorded), then started again: every event reaches the receiver, in order, the one
in flight again under the same event ID (at least once: what a deduplicating receiver keeps is each event once),
no other event twice, nothing missing, and the backlog empty."""

from __future__ import annotations

import signal
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot.sandbox.slack import SlackSandbox
from bot.sandbox.webhook_receiver import WebhookReceiver
from bot.sandbox.workspace import file_ticket, ticket_card_message, ticket_values
from storage.db import create_engine, create_sessionmaker
from storage.repositories import audit, outbox
from tests.conftest import WEBHOOK_SECRET_ENV
from tests.processes import BotProcess, bot_env, bot_process, free_port, until, write_config

SECRET = "receiver-signing-secret"
TRIAGE = "C0TRIAGE01"
LEASE = 3.0
HELD = 1.5


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async with WebhookReceiver(secret=SECRET) as standin:
        yield standin


@pytest_asyncio.fixture
async def bot(sandbox: SlackSandbox, receiver: WebhookReceiver, database_url: str,
              tmp_path: Path) -> AsyncIterator[BotProcess]:
    hook = f'[[webhooks]]\nurl = "{receiver.url}"\nsecret_env = "{WEBHOOK_SECRET_ENV}"\n'
    env = bot_env(sandbox=sandbox, database_url=database_url, port=free_port(),
                  config=write_config(tmp_path, tick="250ms", lease=f"{int(LEASE)}s", extra=hook),
                  **{WEBHOOK_SECRET_ENV: SECRET})
    async with bot_process(env, tmp_path / "supportbot.log") as process:
        yield process


async def _stored(database_url: str) -> tuple[list[int], list[outbox.Backlog]]:
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            trail = await audit.audit_trail(session, ticket_number=1)
            return [e.id for e in trail], await outbox.backlog(session)
    finally:
        await engine.dispose()


@pytest.mark.timeout(90)
async def test_a_sigkill_mid_delivery_delivers_every_event_once_by_id_and_in_order(
        sandbox: SlackSandbox, receiver: WebhookReceiver, bot: BotProcess, database_url: str) -> None:
    receiver.set_latency(HELD)
    await bot.start()
    async with bot.driver(sandbox) as slack:
        _, filed = await file_ticket(slack, sandbox, values=ticket_values())
        assert filed.status == 200 and not (filed.json or {}).get("errors"), filed.json
    await sandbox.wait_for(lambda: ticket_card_message(sandbox, 1, TRIAGE))
    await until(lambda: receiver.arrived >= 1, "no delivery reached the receiver", within=10, process=bot)

    await bot.end(signal.SIGKILL)  # the first event is in the receiver's hands, its answer 1.5 s away
    await until(lambda: receiver.answering == 0, "the receiver never took the delivery in flight", within=5)
    (in_flight,) = receiver.accepted
    receiver.set_latency(0)
    _, queued = await _stored(database_url)
    assert queued[0].delivered == 0  # the receiver has it, the bot never heard so

    await bot.start()
    await until(lambda: _drained(database_url), "the backlog was not delivered", within=LEASE + 10, process=bot)
    await bot.end(signal.SIGTERM)

    events, (backlog,) = await _stored(database_url)
    assert (backlog.undelivered, backlog.delivered) == (0, len(events)) and events
    kept = receiver.accepted_events()
    assert [body["audit_id"] for body in kept.values()] == events  # every event, in the order it happened
    times = Counter(d.event_id for d in receiver.accepted)
    assert {event: n for event, n in times.items() if n > 1} == {in_flight.event_id: 2}  # only it came again
    again = [d for d in receiver.accepted if d.event_id == in_flight.event_id]
    assert again[0].body == again[1].body  # the same event, so the receiver's deduplication holds


async def _drained(database_url: str) -> bool:
    _, queued = await _stored(database_url)
    return bool(queued) and queued[0].undelivered == 0

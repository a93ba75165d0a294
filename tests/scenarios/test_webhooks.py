"""Activity webhooks end to end: a ticket's audit events reach a receiver that fails twice first, each event
exactly once after deduplication by event ID, in order, signed; nothing the customer endpoint said is in any
delivery; `supportbot webhooks status` shows the backlog and the last error."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import sys
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select

from bot.app import SupportBot
from bot.core.config import BotConfig, Webhook, load_config
from bot.sandbox.clock import ManualClock
from bot.sandbox.customer_endpoint import CustomerEndpointStandIn, example_document
from bot.sandbox.driver import SlackDriver
from bot.sandbox.slack import SlackSandbox
from bot.sandbox.webhook_receiver import WebhookReceiver
from bot.sandbox.workspace import file_ticket, ticket_card_message
from bot.webhooks.status import status_lines
from storage.models import AuditEventRow, WebhookOutboxRow
from storage.repositories import audit, outbox
from tests.conftest import CONTRACT, ROOT, WEBHOOK_SECRET_ENV

TRIAGE = "C0TRIAGE01"
SECRET = "receiver-signing-secret"
# Values only the customer endpoint knows: none may reach a webhook.
SENTINELS = ("Qwertz Holdings", "SENTINEL-4410", "contact-qz@holdings.example", "9931 seats-qz")


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async with WebhookReceiver(secret=SECRET) as standin:
        yield standin


@pytest.fixture
def config(receiver: WebhookReceiver) -> BotConfig:
    """The contract, its webhook pointed at the local receiver (overrides the suite's `config`)."""
    return replace(load_config(CONTRACT), webhooks=(Webhook(url=receiver.url, secret_env=WEBHOOK_SECRET_ENV),))


@pytest_asyncio.fixture
async def bot(start_bot: Callable[..., Any], vendor_env: dict[str, Any]) -> AsyncIterator[SupportBot]:
    started: SupportBot = await start_bot(**vendor_env, webhook_secrets={WEBHOOK_SECRET_ENV: SECRET})
    yield started
    await started.stop()


def _document() -> dict[str, Any]:
    document = example_document("ws_4f2a9c", name="Qwertz Holdings", plan="Enterprise",
                                contacts=("dana@customer.example", "contact-qz@holdings.example"))
    document["customer"]["internal_note"] = "SENTINEL-4410"
    document["customer"]["organization"]["seats"] = "9931 seats-qz"
    return document


async def _pending(bot: SupportBot, url: str) -> list[outbox.Delivery]:
    async with bot.sessions() as session:
        return await outbox.pending_events(session, url=url)


async def _deliver_everything(bot: SupportBot, clock: ManualClock, url: str) -> None:
    """Ticks (each tick runs the webhook sweep and waits for its senders), moving time past each backoff."""
    for _ in range(12):
        await bot.timers.fire_due()
        if not await _pending(bot, url):
            return
        clock.advance(timedelta(seconds=30))
    raise AssertionError(f"still undelivered: {await _pending(bot, url)}")


async def test_each_event_arrives_once_by_id_in_order_signed_and_without_customer_data(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, clock: ManualClock,
        receiver: WebhookReceiver, customer_endpoint: CustomerEndpointStandIn, tmp_path: Path) -> None:
    customer_endpoint.add(_document(), workspace_id="ws_4f2a9c")
    receiver.fail_next(500, times=2)
    await file_ticket(slack, sandbox)  # SEV2, raised by nothing; the customer check runs at filing
    await file_ticket(slack, sandbox)
    await sandbox.wait_for(lambda: ticket_card_message(sandbox, 2, TRIAGE))
    await bot.background.settle(timeout=5)
    await bot.tickets.drain(timeout=5)

    await bot.timers.fire_due()  # the first attempt: answered 500
    database_url = bot.settings.env.database_url
    failing = await status_lines(database_url, now=clock.now())
    assert failing[0] == receiver.url
    assert "undelivered" in failing[1]
    assert failing[2].startswith("  last error: ") and failing[2].endswith("HTTP 500 Internal Server Error")

    await _deliver_everything(bot, clock, receiver.url)
    async with bot.sessions() as session:
        queued = list(await session.scalars(select(WebhookOutboxRow).order_by(WebhookOutboxRow.id)))
        audited = list(await session.scalars(select(AuditEventRow).order_by(AuditEventRow.id)))
    assert [r.audit_id for r in queued] == [a.id for a in audited]  # every audit event, once per URL
    assert {r.ticket_number for r in queued} >= {1, 2}

    # Retried until taken: two 500s, then every event; nothing refused for its signature.
    statuses = Counter(r.status for r in receiver.requests)
    assert statuses[500] == 2 and set(statuses) == {200, 500}, statuses
    kept = receiver.accepted_events()
    assert set(kept) == {r.event_id for r in queued}  # no event missing
    by_id: dict[str, bytes] = {}
    for delivery in receiver.accepted:  # a duplicate is only ever the same event again
        assert by_id.setdefault(delivery.event_id, delivery.raw) == delivery.raw
        assert json.loads(delivery.raw)["event_id"] == delivery.event_id

    # In order per ticket: the audit IDs of a ticket's events, as first received, only ever go up.
    for ticket in (1, 2):
        seen = [body["audit_id"] for body in kept.values() if body["ticket_number"] == ticket]
        assert seen == sorted(seen) and len(seen) >= 2, (ticket, seen)

    # The payload is the audit event as the audit log keeps it.
    first = audited[0]
    body = kept[queued[0].event_id]
    assert (body["audit_id"], body["action"], body["actor"], body["ticket_number"], body["before"],
            body["after"]) == (first.id, first.action, first.actor, first.ticket_number, first.before, first.after)

    # Signed as the README says: v1=<hex HMAC-SHA256 of "<timestamp>.<raw body>">.
    one = receiver.accepted[0]
    expected = hmac.new(SECRET.encode(), f"{one.timestamp}.".encode() + one.raw, hashlib.sha256).hexdigest()
    assert one.signature == f"v1={expected}"

    # Nothing the customer endpoint said, nor where it is or its secret, is in any webhook.
    assert customer_endpoint.requests, "the customer endpoint was asked at filing"
    sent = b"".join(r.raw for r in receiver.requests).decode()
    for value in (*SENTINELS, customer_endpoint.url, customer_endpoint.secret):
        assert value not in sent, f"{value!r} reached a webhook"

    # `supportbot webhooks status`, as an operator runs it: nothing waiting, the last error kept.
    env = {**os.environ, "DATABASE_URL": database_url}
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", "webhooks", "status", cwd=ROOT,
                                                   env=env, stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    lines = out.decode().splitlines()
    assert lines[0] == receiver.url
    assert lines[1] == f"  backlog: none; {len(queued)} delivered"
    assert lines[2].startswith("  last error: ") and lines[2].endswith(": HTTP 500 Internal Server Error")


async def test_a_bot_given_no_secret_keeps_the_events_queued_and_sends_nothing(
        start_bot: Callable[..., Any], receiver: WebhookReceiver) -> None:
    started: SupportBot = await start_bot()  # no webhook_secrets: as an in-process bot of the suite is
    async with started.sessions.begin() as session:
        await audit.append_audit_event(session, ticket_number=None, action="customer_action", actor="U1",
                                       at=started.clock.now())
    await started.timers.fire_due()
    assert receiver.requests == []
    assert len(await _pending(started, receiver.url)) == 1


"""Delivers the webhook outbox: a sweep at every scheduler tick starts one sender per (URL, ticket) stream.

Each sender claims its stream's oldest undelivered event with a lease, POSTs it, and only then moves on to the
next, so a ticket's events reach each URL in the order they happened; a failure releases the event for a
retry with backoff and stops the stream there, so nothing overtakes it. An event whose sender died (SIGKILL)
falls due again when its lease ends: delivery is at least once, and receivers deduplicate by event ID.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.clock import Clock
from bot.core.config import Settings
from bot.core.metrics import counted
from bot.core.scheduler import BackgroundWork, retry_delay
from bot.integrations.customer_connection import sign
from storage.repositories import outbox

log = logging.getLogger(__name__)

EVENT_ID_HEADER = "X-Supportbot-Event-Id"
TIMESTAMP_HEADER = "X-Supportbot-Timestamp"
SIGNATURE_HEADER = "X-Supportbot-Signature"
TIMEOUT_SECONDS = 10.0
# At most this many streams send at once: a backlog of many tickets must not open hundreds of connections.
CONCURRENT_STREAMS = 8


@dataclass(frozen=True)
class Destination:
    """A `[[webhooks]]` URL and the secret its deliveries are signed with."""

    url: str
    secret: str

    def __repr__(self) -> str:  # the secret must never reach a log line through repr()
        return f"Destination({host_of(self.url)!r}, <secret redacted>)"


def host_of(url: str) -> str:
    """The URL's host, which is what log lines name (a webhook URL's path or query may carry a token)."""
    return urlsplit(url).hostname or "?"


def encode(payload: Mapping[str, Any]) -> bytes:
    """The exact bytes sent, and signed: compact JSON, keys sorted, UTF-8."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def signed_headers(*, secret: str, event_id: str, body: bytes, timestamp: int) -> dict[str, str]:
    """The headers of one delivery: the event ID to deduplicate by, the Unix timestamp and the signature of
    "<timestamp>.<raw body>" (HMAC-SHA256, as the customer connection signs)."""
    return {"Content-Type": "application/json", "User-Agent": "supportbot-webhooks", EVENT_ID_HEADER: event_id,
            TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign(secret, timestamp, body)}


class WebhookDelivery:
    """Sends the outbox to every destination; `sweep` is registered with the scheduler and runs at every tick."""

    @classmethod
    def from_settings(cls, settings: Settings, *, sessions: async_sessionmaker[AsyncSession], clock: Clock,
                      background: BackgroundWork) -> WebhookDelivery:
        """The `[[webhooks]]` destinations with the secrets their `secret_env` variables hold."""
        config, env = settings.config, settings.env
        return cls(sessions=sessions, clock=clock, background=background, urls=[h.url for h in config.webhooks],
                   secrets={h.url: env.webhook_secrets[h.secret_env] for h in config.webhooks
                            if h.secret_env and h.secret_env in env.webhook_secrets},
                   lease=config.scheduler_lease)

    def __init__(self, *, sessions: async_sessionmaker[AsyncSession], clock: Clock, background: BackgroundWork,
                 urls: Sequence[str], secrets: Mapping[str, str], lease: timedelta,
                 http: httpx.AsyncClient | None = None, batch: int = 100,
                 wall_clock: Callable[[], float] = time.time) -> None:
        """`urls`: every configured webhook, in file order; `secrets`: the signing secret by URL. Audit events
        written through `sessions` are queued for every URL from here on; a URL without a secret (refused at
        `supportbot run`, so only in-process tests) keeps its events queued but is never sent to."""
        self._sessions = sessions
        self._clock = clock
        self._background = background
        self._lease = lease
        # An attempt gives up well inside its lease, so no second claimant sends while the first still waits.
        self._timeout = min(TIMEOUT_SECONDS, lease.total_seconds() * 0.75)
        self._batch = batch
        self._wall_clock = wall_clock  # signatures carry real time: receivers refuse stale timestamps
        self._claimant = f"{socket.gethostname()}:{os.getpid()}"
        self.destinations = [Destination(url, secrets[url]) for url in urls if url in secrets]
        self._index = {d.url: i for i, d in enumerate(self.destinations)}
        self._http = http
        self._streams = asyncio.Semaphore(CONCURRENT_STREAMS)
        outbox.deliver_to(sessions, list(urls))
        if held := [url for url in urls if url not in secrets]:
            log.warning("webhooks without a signing secret keep their events queued, unsent: %s",
                        ", ".join(host_of(url) for url in held))

    async def close(self) -> None:
        """Releases the HTTP connections."""
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def sweep(self) -> int:
        """Starts a sender for every stream with a due event (unless one is already at work on it).

        Returns 0: these are routine deliveries, not work a stopped process left, which is what the scheduler
        counts and logs for a sweep.
        """
        if not self.destinations:
            return 0
        now = self._clock.now()
        async with self._sessions.begin() as session:
            streams = await outbox.due_streams(session, urls=[d.url for d in self.destinations], now=now,
                                               limit=self._batch)
        for stream in streams:
            name = f"webhook:{self._index[stream.url]}:{stream.ticket_number if stream.ticket_number else '-'}"
            self._background.spawn_unless_running(name, functools.partial(self._drain, stream))
        return 0

    async def _drain(self, stream: outbox.Stream) -> None:
        """Sends the stream's due events oldest first, stopping at the first one that fails (it is retried later
        and nothing of this stream overtakes it)."""
        destination = self.destinations[self._index[stream.url]]
        async with self._streams:
            while True:
                now = self._clock.now()
                async with self._sessions.begin() as session:
                    delivery = await outbox.claim_next(session, stream=stream, now=now, lease=self._lease,
                                                       claimant=self._claimant)
                if delivery is None:
                    return
                problem = await self._send(destination, delivery)
                async with self._sessions.begin() as session:
                    if problem is None:
                        await outbox.mark_delivered(session, delivery_id=delivery.id, now=self._clock.now())
                        continue
                    log.warning("webhook to %s: event %s not delivered (attempt %d): %s", host_of(stream.url),
                                delivery.event_id, delivery.attempts, problem)
                    await outbox.retry_later(session, delivery_id=delivery.id,
                                             at=now + retry_delay(delivery.attempts), error=problem,
                                             now=self._clock.now())
                return

    async def _send(self, destination: Destination, delivery: outbox.Delivery) -> str | None:
        """POSTs one event; None when the receiver took it (2xx), else what went wrong, in words."""
        body = encode(delivery.payload)
        headers = signed_headers(secret=destination.secret, event_id=delivery.event_id, body=body,
                                 timestamp=int(self._wall_clock()))
        if self._http is None:
            self._http = httpx.AsyncClient(follow_redirects=False)
        try:
            response = await counted("webhook", self._http.post(destination.url, content=body, headers=headers,
                                                                timeout=self._timeout))
        except httpx.TimeoutException:
            return f"no answer within {self._timeout:g} s"
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"[:500]
        if 200 <= response.status_code < 300:
            return None
        return f"HTTP {response.status_code} {response.reason_phrase}".strip()

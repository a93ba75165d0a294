"""A local webhook receiver, as strict as the README asks a real one to be: it verifies
`X-Supportbot-Signature` (`v1=<hex HMAC-SHA256 of "<timestamp>.<raw body>">`) in constant time, refuses a
timestamp more than five minutes off, and records every delivery it took. It can be told to answer the next N
deliveries with 500 (or drop the connection), so retries, ordering and deduplication can be exercised."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.sandbox.faults import Failure, FaultInjection
from bot.sandbox.local_server import LocalServer

TOLERANCE_SECONDS = 300


@dataclass
class ReceivedDelivery:
    """One request as it arrived and what it was answered."""

    event_id: str
    timestamp: str
    signature: str
    raw: bytes
    status: int
    body: dict[str, Any] | None = field(default=None)


def expected_signature(secret: str, timestamp: str, raw: bytes) -> str:
    """What a correctly signed delivery carries in X-Supportbot-Signature."""
    return "v1=" + hmac.new(secret.encode(), timestamp.encode() + b"." + raw, hashlib.sha256).hexdigest()


class WebhookReceiver(FaultInjection, LocalServer):
    """Takes signed deliveries at `url`; `accepted` holds those answered 200, `requests` every one."""

    def __init__(self, *, secret: str = "webhook-receiver-secret", path: str = "/hooks/supportbot") -> None:
        super().__init__()
        self.secret = secret
        self.path = path
        self.requests: list[ReceivedDelivery] = []

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_post(self.path, self._receive)
        return app

    @property
    def url(self) -> str:
        """Where a `[[webhooks]]` entry points."""
        return f"{self.base_url}{self.path}"

    @property
    def accepted(self) -> list[ReceivedDelivery]:
        """Deliveries answered 200, in arrival order (duplicates included: at least once)."""
        return [r for r in self.requests if r.status == 200]

    def accepted_events(self) -> dict[str, dict[str, Any]]:
        """Each accepted event once, by event ID, in the order first seen: what a deduplicating receiver keeps."""
        kept: dict[str, dict[str, Any]] = {}
        for delivery in self.accepted:
            if delivery.body is not None:
                kept.setdefault(delivery.event_id, delivery.body)
        return kept

    async def _receive(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        stamp = request.headers.get("X-Supportbot-Timestamp", "")
        signature = request.headers.get("X-Supportbot-Signature", "")
        event_id = request.headers.get("X-Supportbot-Event-Id", "")

        async def record(status: int) -> None:
            body: dict[str, Any] | None = None
            if status == 200:
                body = json.loads(raw)
            self.requests.append(ReceivedDelivery(event_id, stamp, signature, raw, status, body))

        async def answer() -> web.StreamResponse:
            fresh = stamp.isdigit() and abs(time.time() - int(stamp)) <= TOLERANCE_SECONDS
            if not fresh or not hmac.compare_digest(expected_signature(self.secret, stamp, raw), signature):
                return web.json_response({"error": "bad signature"}, status=401)
            try:
                document = json.loads(raw)
            except ValueError:
                return web.json_response({"error": "not JSON"}, status=400)
            if not isinstance(document, dict) or document.get("event_id") != event_id:
                return web.json_response({"error": "event ID header and body disagree"}, status=400)
            return web.json_response({"ok": True})

        def refuse(failure: Failure) -> web.StreamResponse:
            return web.json_response({"error": "injected failure"}, status=failure.status)

        return await self._with_faults(request, answer=answer, refuse=refuse, record=record)

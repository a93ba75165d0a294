"""A local stand-in for the PagerDuty Events API v2 (``POST /v2/enqueue``).

It answers with PagerDuty's own status codes and bodies (202 / 400 / 429 / 5xx), keeps alerts keyed by
routing key and dedup key the way PagerDuty deduplicates them, and can be told to fail, slow down or throttle
so the bot's retry behaviour can be exercised without a PagerDuty account.

The real ``pagerduty.EventsApiV2Client`` refuses any base URL that is not ``https://``; pointing it at this
plain-HTTP loopback server needs a client whose ``url`` setter allows ``http://`` (see the tests).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.sandbox.faults import Failure, FaultInjection, SlidingWindowLimit, status_phrase
from bot.sandbox.local_server import WAIT_SECONDS, LocalServer
from bot.sandbox.pagerduty_rules import (
    MAX_EVENT_BYTES,
    UNRECOGNIZED_BODY,
    decode_event,
    event_error,
    invalid_event,
    size_error,
)

# PagerDuty's own throttle body, double space included, as its Events API sends it.
THROTTLE_BODY: dict[str, Any] = {
    "status": "throttle exceeded",
    "message": "Requests for this service are arriving too quickly.  Please retry later.",
}


@dataclass
class ReceivedEvent:
    """One request as it arrived, whatever the answer was (status 0: the connection was dropped)."""

    body: dict[str, Any]
    at: float
    status: int


@dataclass
class Alert:
    dedup_key: str
    status: str  # "triggered" | "acknowledged" | "resolved"
    summary: str
    severity: str
    events: list[dict[str, Any]]
    opened_at: float
    number: int
    routing_key: str = ""
    source: str = ""
    acknowledged_at: float | None = None
    resolved_at: float | None = None

    @property
    def is_open(self) -> bool:
        return self.status != "resolved"


class PagerDutyStandIn(FaultInjection, LocalServer):
    """An aiohttp server that behaves like ``https://events.pagerduty.com`` for alert events.

    PagerDuty itself sends no Retry-After header; ``fail_next(retry_after=...)`` adds one.
    """

    def __init__(self, *, routing_keys: Iterable[str] | None = None) -> None:
        super().__init__()
        self._routing_keys: frozenset[str] | None = None if routing_keys is None else frozenset(routing_keys)
        self.events: list[ReceivedEvent] = []
        self.alerts: list[Alert] = []
        self._throttle: SlidingWindowLimit | None = None
        self._changed = asyncio.Condition()

    # -- lifecycle ---------------------------------------------------------------------------------------

    def build_app(self) -> web.Application:
        # aiohttp refuses bodies over 1 MiB with its own 413; PagerDuty answers an oversized event with its
        # 400 body, so the app reads well past the 512 KB limit and lets ``size_error`` answer.
        app = web.Application(client_max_size=8 * MAX_EVENT_BYTES)
        app.router.add_post("/v2/enqueue", self._enqueue)
        return app

    @property
    def url(self) -> str:
        """Base URL; clients POST to ``{url}/v2/enqueue`` as they would to events.pagerduty.com."""
        return self.base_url

    @property
    def enqueue_url(self) -> str:
        return f"{self.url}/v2/enqueue"

    # -- inspection --------------------------------------------------------------------------------------

    def accepted_events(self, action: str | None = None) -> list[dict[str, Any]]:
        return [
            e.body for e in self.events
            if e.status == 202 and (action is None or e.body.get("event_action") == action)
        ]

    def open_alerts(self) -> list[Alert]:
        return [a for a in self.alerts if a.is_open]

    def alert_for(self, dedup_key: str) -> Alert | None:
        """The newest alert with this dedup key, open or not."""
        for alert in reversed(self.alerts):
            if alert.dedup_key == dedup_key:
                return alert
        return None

    # The timeout keyword is part of the stand-in's test-facing API, hence the ASYNC109 waivers.
    async def wait_for(
        self, predicate: Callable[[PagerDutyStandIn], bool], *, timeout: float = WAIT_SECONDS  # noqa: ASYNC109
    ) -> None:
        """Wait until ``predicate(self)`` holds; it is re-checked after every request is recorded."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: predicate(self))

    async def wait_for_events(
        self, n: int, *, timeout: float = WAIT_SECONDS  # noqa: ASYNC109
    ) -> list[dict[str, Any]]:
        """Wait until at least ``n`` events have been accepted (202) and return all accepted bodies."""
        try:
            await self.wait_for(lambda s: len(s.accepted_events()) >= n, timeout=timeout)
        except TimeoutError:
            got = len(self.accepted_events())
            raise TimeoutError(f"expected {n} accepted PagerDuty events in {timeout}s, got {got}") from None
        return self.accepted_events()

    # -- fault injection (set_latency, fail_next and clear_faults come from FaultInjection) --------------

    def rate_limit(self, per_minute: int | None) -> None:
        """Throttle each routing key to ``per_minute`` accepted events in any 60 s window (None: off).

        PagerDuty's documented limit is about 120 events a minute per integration key.
        """
        if per_minute is not None and per_minute < 1:
            raise ValueError("per_minute must be positive or None")
        self._throttle = None if per_minute is None else SlidingWindowLimit(per_minute, 60.0)

    def reset(self) -> None:
        """Forget events, alerts and pending faults, keeping the server and its settings."""
        self.events.clear()
        self.alerts.clear()
        self.clear_faults()
        if self._throttle is not None:
            self._throttle.clear()

    # -- request handling --------------------------------------------------------------------------------

    async def _enqueue(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        body = decode_event(raw)
        # An unparseable body stays inspectable in ``events`` without pretending it was an event object.
        seen = body if body is not None else {"_raw": raw.decode("utf-8", "replace")}
        return await self._with_faults(
            request,
            answer=lambda: self._process(raw, body),
            refuse=_refusal,
            record=lambda status: self._record(seen, status),
        )

    async def _process(self, raw: bytes, body: dict[str, Any] | None) -> web.Response:
        # The size limit applies to the request as sent, before PagerDuty looks inside it.
        oversized = size_error(raw)
        if oversized is not None:
            return web.json_response(oversized, status=400)
        if body is None:
            return web.json_response(UNRECOGNIZED_BODY, status=400)
        error = event_error(body, routing_keys=self._routing_keys)
        if error is not None:
            return web.json_response(error, status=400)
        routing_key: str = body["routing_key"]
        if self._throttle is not None and self._throttle.retry_after(routing_key) is not None:
            return web.json_response(THROTTLE_BODY, status=429)
        dedup_key = body.get("dedup_key") or uuid.uuid4().hex
        self._apply(routing_key, dedup_key, body)
        return web.json_response(
            {"status": "success", "message": "Event processed", "dedup_key": dedup_key}, status=202
        )

    def _apply(self, routing_key: str, dedup_key: str, body: dict[str, Any]) -> None:
        action = body["event_action"]
        alert = self._open_alert(routing_key, dedup_key)
        now = time.time()
        if action == "trigger":
            if alert is None:
                payload = body["payload"]
                self.alerts.append(
                    Alert(
                        dedup_key=dedup_key,
                        status="triggered",
                        summary=payload["summary"],
                        severity=payload["severity"],
                        events=[body],
                        opened_at=now,
                        number=len(self.alerts) + 1,
                        routing_key=routing_key,
                        source=payload["source"],
                    )
                )
            else:
                # Deduplicated into the open alert; PagerDuty keeps the alert's state and first summary.
                alert.events.append(body)
            return
        # acknowledge/resolve for a key without an open alert: accepted and ignored, as PagerDuty does.
        if alert is None:
            return
        alert.events.append(body)
        if action == "acknowledge":
            if alert.status == "triggered":
                alert.status = "acknowledged"
                alert.acknowledged_at = now
        else:
            alert.status = "resolved"
            alert.resolved_at = now

    def _open_alert(self, routing_key: str, dedup_key: str) -> Alert | None:
        for alert in self.alerts:
            if alert.is_open and alert.routing_key == routing_key and alert.dedup_key == dedup_key:
                return alert
        return None

    async def _record(self, body: dict[str, Any], status: int) -> None:
        async with self._changed:
            self.events.append(ReceivedEvent(body=body, at=time.time(), status=status))
            self._changed.notify_all()


def _refusal(failure: Failure) -> web.Response:
    if failure.status == 429:
        payload = THROTTLE_BODY
    elif failure.status == 400:
        payload = invalid_event([])
    else:
        payload = {"status": "error", "message": status_phrase(failure.status)}
    return web.json_response(payload, status=failure.status, headers=failure.headers)

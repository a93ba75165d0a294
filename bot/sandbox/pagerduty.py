"""A local stand-in for the PagerDuty Events API v2 (``POST /v2/enqueue``).

It answers with PagerDuty's own status codes and bodies (202 / 400 / 429 / 5xx), keeps alerts keyed by
routing key and dedup key the way PagerDuty deduplicates them, and can be told to fail, slow down or throttle
so the bot's retry behaviour can be exercised without a PagerDuty account.

The real ``pagerduty.EventsApiV2Client`` refuses any base URL that is not ``https://``; pointing it at this
plain-HTTP loopback server needs a client whose ``url`` setter allows ``http://`` (see the tests).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from aiohttp import web

from bot.sandbox.local_server import LocalServer, take_fault

EVENT_ACTIONS = ("trigger", "acknowledge", "resolve")
SEVERITIES = ("critical", "error", "warning", "info")
MAX_SUMMARY_LEN = 1024
MAX_DEDUP_KEY_LEN = 255

INVALID_EVENT_STATUS = "invalid event"
INVALID_EVENT_MESSAGE = "Event object is invalid"
# PagerDuty's own throttle body, double space included, as its Events API sends it.
THROTTLE_BODY: dict[str, Any] = {
    "status": "throttle exceeded",
    "message": "Requests for this service are arriving too quickly.  Please retry later.",
}
_UNRECOGNIZED_BODY: dict[str, Any] = {
    "status": "Unrecognized object",
    "message": "Event object format is unrecognized",
    "errors": ["JSON parse error"],
}
DROP_CONNECTION = 0


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


@dataclass
class _Failure:
    status: int
    remaining: int
    retry_after: int | None
    body: dict[str, Any] | None


@dataclass
class _Throttle:
    per_minute: int
    accepted: dict[str, deque[float]] = field(default_factory=dict)


class PagerDutyStandIn(LocalServer):
    """An aiohttp server that behaves like ``https://events.pagerduty.com`` for alert events."""

    def __init__(self, *, routing_keys: Iterable[str] | None = None) -> None:
        self._routing_keys: frozenset[str] | None = None if routing_keys is None else frozenset(routing_keys)
        self.events: list[ReceivedEvent] = []
        self.alerts: list[Alert] = []
        self._latency = 0.0
        self._failures: deque[_Failure] = deque()
        self._throttle: _Throttle | None = None
        self._changed = asyncio.Condition()

    # -- lifecycle ---------------------------------------------------------------------------------------

    def build_app(self) -> web.Application:
        app = web.Application()
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
        self, predicate: Callable[[PagerDutyStandIn], bool], *, timeout: float = 5.0  # noqa: ASYNC109
    ) -> None:
        """Wait until ``predicate(self)`` holds; it is re-checked after every request is recorded."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: predicate(self))

    async def wait_for_events(
        self, n: int, *, timeout: float = 5.0  # noqa: ASYNC109
    ) -> list[dict[str, Any]]:
        """Wait until at least ``n`` events have been accepted (202) and return all accepted bodies."""
        try:
            await self.wait_for(lambda s: len(s.accepted_events()) >= n, timeout=timeout)
        except TimeoutError:
            got = len(self.accepted_events())
            raise TimeoutError(f"expected {n} accepted PagerDuty events in {timeout}s, got {got}") from None
        return self.accepted_events()

    # -- fault injection ---------------------------------------------------------------------------------

    def set_latency(self, seconds: float) -> None:
        self._latency = max(0.0, seconds)

    def fail_next(
        self,
        status: int,
        *,
        times: int = 1,
        retry_after: int | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:
        """Answer the next ``times`` requests with ``status`` without processing them.

        ``status=0`` drops the connection without answering, as a network failure would; the event is not
        processed, so a client that retries it lands it exactly once. ``retry_after`` adds a Retry-After
        header (PagerDuty itself sends none); ``body`` replaces the default error body.
        """
        if status != DROP_CONNECTION and not 400 <= status <= 599:
            raise ValueError(f"fail_next needs an error status or 0, got {status}")
        if times < 1:
            raise ValueError("times must be at least 1")
        self._failures.append(_Failure(status, times, retry_after, body))

    def rate_limit(self, per_minute: int | None) -> None:
        """Throttle each routing key to ``per_minute`` accepted events in any 60 s window (None: off).

        PagerDuty's documented limit is about 120 events a minute per integration key.
        """
        if per_minute is not None and per_minute < 1:
            raise ValueError("per_minute must be positive or None")
        self._throttle = None if per_minute is None else _Throttle(per_minute)

    def reset(self) -> None:
        """Forget events, alerts and pending faults, keeping the server and its settings."""
        self.events.clear()
        self.alerts.clear()
        self._failures.clear()
        if self._throttle is not None:
            self._throttle.accepted.clear()

    # -- request handling --------------------------------------------------------------------------------

    async def _enqueue(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        if self._latency:
            await asyncio.sleep(self._latency)
        body = _decode(raw)

        failure = take_fault(self._failures)
        if failure is not None:
            if failure.status == DROP_CONNECTION:
                await self._record(body if body is not None else _raw_body(raw), 0)
                if request.transport is not None:
                    request.transport.abort()
                # Nothing reaches the client: the transport is gone.
                return web.Response(status=500)
            return await self._respond_failure(body, raw, failure)

        if body is None:
            await self._record(_raw_body(raw), 400)
            return web.json_response(_UNRECOGNIZED_BODY, status=400)

        errors = self._validate(body)
        if errors:
            await self._record(body, 400)
            return web.json_response(_invalid(errors), status=400)

        routing_key: str = body["routing_key"]
        if self._throttled(routing_key):
            await self._record(body, 429)
            return web.json_response(THROTTLE_BODY, status=429)

        dedup_key = body.get("dedup_key") or uuid.uuid4().hex
        self._apply(routing_key, dedup_key, body)
        await self._record(body, 202)
        return web.json_response(
            {"status": "success", "message": "Event processed", "dedup_key": dedup_key}, status=202
        )

    async def _respond_failure(
        self, body: dict[str, Any] | None, raw: bytes, failure: _Failure
    ) -> web.Response:
        await self._record(body if body is not None else _raw_body(raw), failure.status)
        headers = {} if failure.retry_after is None else {"Retry-After": str(failure.retry_after)}
        payload = failure.body
        if payload is None:
            if failure.status == 429:
                payload = THROTTLE_BODY
            elif failure.status == 400:
                payload = _invalid([])
            else:
                payload = {"status": "error", "message": _reason(failure.status)}
        return web.json_response(payload, status=failure.status, headers=headers)

    def _validate(self, body: dict[str, Any]) -> list[str]:
        errors: list[str] = []
        routing_key = body.get("routing_key")
        if not isinstance(routing_key, str) or not routing_key.strip():
            errors.append("'routing_key' is missing or blank")
        elif self._routing_keys is not None and routing_key not in self._routing_keys:
            errors.append("Invalid routing key")

        action = body.get("event_action")
        if not isinstance(action, str) or not action.strip():
            errors.append("'event_action' is missing or blank")
        elif action not in EVENT_ACTIONS:
            errors.append(
                "'event_action' is invalid "
                "(must be one of the following: 'trigger', 'acknowledge' or 'resolve')"
            )

        dedup_key = body.get("dedup_key")
        if dedup_key is not None:
            if not isinstance(dedup_key, str):
                errors.append("'dedup_key' must be a string")
            elif len(dedup_key) > MAX_DEDUP_KEY_LEN:
                errors.append(f"'dedup_key' is too long (maximum is {MAX_DEDUP_KEY_LEN} characters)")
        if action in ("acknowledge", "resolve") and not (isinstance(dedup_key, str) and dedup_key.strip()):
            errors.append("'dedup_key' is missing or blank")

        if action == "trigger":
            errors.extend(_validate_payload(body.get("payload")))
        return errors

    def _throttled(self, routing_key: str) -> bool:
        if self._throttle is None:
            return False
        now = time.monotonic()
        window = self._throttle.accepted.setdefault(routing_key, deque())
        while window and now - window[0] >= 60.0:
            window.popleft()
        if len(window) >= self._throttle.per_minute:
            return True
        window.append(now)
        return False

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


def _validate_payload(payload: Any) -> list[str]:
    if not isinstance(payload, dict):
        return ["'payload' is missing or blank"]
    errors: list[str] = []
    summary = payload.get("summary")
    if not isinstance(summary, str) or not summary.strip():
        errors.append("'payload.summary' is missing or blank")
    elif len(summary) > MAX_SUMMARY_LEN:
        errors.append(f"'payload.summary' is too long (maximum is {MAX_SUMMARY_LEN} characters)")
    source = payload.get("source")
    if not isinstance(source, str) or not source.strip():
        errors.append("'payload.source' is missing or blank")
    severity = payload.get("severity")
    if not isinstance(severity, str) or not severity.strip():
        errors.append("'payload.severity' is missing or blank")
    elif severity not in SEVERITIES:
        errors.append(
            "'payload.severity' is invalid "
            "(must be one of the following: 'critical', 'warning', 'error' or 'info')"
        )
    return errors


def _invalid(errors: list[str]) -> dict[str, Any]:
    return {"status": INVALID_EVENT_STATUS, "message": INVALID_EVENT_MESSAGE, "errors": errors}


def _raw_body(raw: bytes) -> dict[str, Any]:
    # Keeps an unparseable body inspectable in ``events`` without pretending it was an event object.
    return {"_raw": raw.decode("utf-8", "replace")}


def _decode(raw: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"

"""Fault injection shared by the HTTP stand-ins: added latency, queued failures and per-key rate limits."""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from aiohttp import web

DROP_CONNECTION = 0


@dataclass
class Failure:
    """An injected answer, given to the next ``remaining`` requests instead of processing them."""

    status: int
    remaining: int
    retry_after: int | None = None
    body: dict[str, Any] | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}


class FaultInjection:
    """The latency and failure controls of a stand-in; mixed in ahead of ``LocalServer``."""

    def __init__(self) -> None:
        super().__init__()
        self._latency = 0.0
        self._failures: deque[Failure] = deque()
        # Requests that reached the stand-in, and those of them still waiting for their answer: a test kills
        # the bot between a call and its record by waiting for `arrived` while the latency holds the answer.
        self.arrived = 0
        self.answering = 0

    def set_latency(self, seconds: float) -> None:
        """Delay every answer by ``seconds`` once the request has arrived."""
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

        ``status=0`` drops the connection without answering, as a network failure would; the request is not
        processed, so a client that retries it lands it exactly once. ``retry_after`` adds a Retry-After
        header; ``body`` replaces the service's usual error body.
        """
        if status != DROP_CONNECTION and not 400 <= status <= 599:
            raise ValueError(f"fail_next needs an error status or 0, got {status}")
        if times < 1:
            raise ValueError("times must be at least 1")
        self._failures.append(Failure(status, times, retry_after, body))

    def clear_faults(self) -> None:
        """Drop the injected failures still pending: the service is healthy again, its state kept."""
        self._failures.clear()

    async def _with_faults(
        self,
        request: web.Request,
        *,
        answer: Callable[[], Awaitable[web.StreamResponse]],
        refuse: Callable[[Failure], web.StreamResponse],
        record: Callable[[int], Awaitable[None]],
    ) -> web.StreamResponse:
        """``answer()`` unless an injected failure is due (``refuse`` shapes it); ``record`` the status sent.

        The request is carried out after the latency even if the client has gone meanwhile, as a real service
        carries out a request whose caller stopped waiting."""
        self.arrived += 1
        self.answering += 1
        try:
            return await self._answer_with_faults(request, answer=answer, refuse=refuse, record=record)
        finally:
            self.answering -= 1

    async def _answer_with_faults(
        self,
        request: web.Request,
        *,
        answer: Callable[[], Awaitable[web.StreamResponse]],
        refuse: Callable[[Failure], web.StreamResponse],
        record: Callable[[int], Awaitable[None]],
    ) -> web.StreamResponse:
        if self._latency:
            await asyncio.sleep(self._latency)
        failure = self._take_failure()
        if failure is None:
            response = await answer()
        elif failure.status == DROP_CONNECTION:
            await record(DROP_CONNECTION)
            if request.transport is not None:
                request.transport.abort()
            # Nothing reaches the client: the transport is gone.
            return web.Response(status=500)
        elif failure.body is not None:
            response = web.json_response(failure.body, status=failure.status, headers=failure.headers)
        else:
            response = refuse(failure)
        await record(response.status)
        return response

    def _take_failure(self) -> Failure | None:
        if not self._failures:
            return None
        failure = self._failures[0]
        failure.remaining -= 1
        if failure.remaining <= 0:
            self._failures.popleft()
        return failure


class SlidingWindowLimit:
    """At most ``capacity`` requests per key in any ``window`` seconds; only requests let through count."""

    def __init__(self, capacity: int, window: float) -> None:
        self.capacity = capacity
        self.window = window
        self._seen: dict[str, deque[float]] = {}

    @classmethod
    def per_second(cls, requests_per_second: float, window: float) -> SlidingWindowLimit:
        if requests_per_second <= 0 or window <= 0:
            raise ValueError("requests_per_second and window must be positive")
        capacity = requests_per_second * window
        if capacity < 1:
            # A sub-1 rate cannot be expressed in the window; widen it until one request fits.
            window, capacity = 1 / requests_per_second, 1
        return cls(int(capacity), window)

    def retry_after(self, key: str) -> int | None:
        """None if the request may go ahead (and counts it), else the whole seconds to wait."""
        now = time.monotonic()
        seen = self._seen.setdefault(key, deque())
        while seen and now - seen[0] >= self.window:
            seen.popleft()
        if len(seen) >= self.capacity:
            return max(1, math.ceil(seen[0] + self.window - now))
        seen.append(now)
        return None

    def clear(self) -> None:
        self._seen.clear()


def status_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"

"""Pages on-call through PagerDuty's Events API v2, using PagerDuty's own client (`pagerduty`).

`pagerduty` is the maintained successor of `pdpyras` (deprecated 2025-06-20). Its client is
synchronous, so every call runs in a worker thread. It retries 429, 5xx and network errors with
backoff; a 400 is a bug in the event and is never retried.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pagerduty

from bot.core.errors import OutsideServiceError
from bot.core.metrics import counted

SERVICE = "PagerDuty"
_LOOPBACK = ("http://127.0.0.1:", "http://localhost:", "http://[::1]:")


class _EventsClient(pagerduty.EventsApiV2Client):
    """PagerDuty's client insists on https. Plain http is allowed to loopback only, where the local
    stand-in used by the tests and `supportbot demo` listens; every other URL keeps the https rule."""

    @property
    def url(self) -> str:
        return str(self._url)

    @url.setter
    def url(self, new_base_url: str) -> None:
        if not new_base_url.startswith(("https://", *_LOOPBACK)):
            raise pagerduty.UrlError("API base URL must use scheme https:// (http:// only to loopback)")
        self._url = new_base_url


@dataclass(frozen=True)
class PageRequest:
    """One PagerDuty alert to raise: what on-call reads, how urgent, and the key that keeps it to one alert."""

    summary: str
    severity: str  # critical | error | warning | info
    dedup_key: str
    source: str
    link_url: str | None = None
    link_text: str | None = None
    custom_details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PageResult:
    """The alert PagerDuty accepted, by its dedup key."""

    dedup_key: str


class PagerDuty:
    """Pages on-call through PagerDuty's Events API v2; failures raise OutsideServiceError."""

    def __init__(self, *, routing_key: str, events_url: str = "https://events.pagerduty.com",
                 timeout: int = 10, sleep_seconds: float = 0.25) -> None:
        self._routing_key = routing_key
        self._events_url = events_url.rstrip("/")
        self._timeout = timeout
        self._sleep_seconds = sleep_seconds
        self._shared: _EventsClient | None = None

    def __repr__(self) -> str:
        return f"PagerDuty(events_url={self._events_url!r})"

    def close(self) -> None:
        """Releases the connection pool; the next call opens a new one."""
        if self._shared is not None:
            self._shared.close()
            self._shared = None

    def _client(self) -> _EventsClient:
        # One client, reused: its connection pool is thread-safe, and worker threads share it.
        if self._shared is not None:
            return self._shared
        client = _EventsClient(self._routing_key, base_url=self._events_url)
        # PagerDuty answers 429 past ~120 events a minute per key; 5xx are transient by its documentation.
        # A few quick tries here; the scheduler keeps retrying with longer backoff after that.
        client.retry.update({429: 2, 500: 1, 502: 1, 503: 1, 504: 1})
        client.max_http_attempts = 6
        client.max_network_attempts = 2
        client.sleep_timer = self._sleep_seconds
        client.timeout = self._timeout
        self._shared = client
        return client

    async def trigger(self, page: PageRequest) -> PageResult:
        """Raises (or repeats) the alert for its dedup key; OutsideServiceError, retryable for 429, 5xx, network."""
        def send() -> str:
            links = [{"href": page.link_url, "text": page.link_text or page.link_url}] if page.link_url else None
            return str(self._client().trigger(summary=page.summary[:1024], source=page.source,
                                              dedup_key=page.dedup_key, severity=page.severity,
                                              custom_details=page.custom_details, links=links))

        return PageResult(dedup_key=await self._call(send, "trigger"))

    async def acknowledge(self, dedup_key: str) -> None:
        """Acknowledges the alert with this dedup key (it stops notifying); raises OutsideServiceError."""
        await self._call(lambda: str(self._client().acknowledge(dedup_key)), "acknowledge")

    async def resolve(self, dedup_key: str) -> None:
        """Resolves the alert with this dedup key; raises OutsideServiceError, retryable for 429, 5xx, network."""
        await self._call(lambda: str(self._client().resolve(dedup_key)), "resolve")

    async def _call(self, send: Any, what: str) -> str:
        try:
            return str(await counted("pagerduty", asyncio.to_thread(send)))
        except pagerduty.HttpError as exc:
            status = exc.response.status_code if exc.response is not None else None
            retryable = status is None or status == 429 or status >= 500
            raise OutsideServiceError(SERVICE, f"{what} failed with HTTP {status}", status=status,
                                      retryable=retryable) from None
        except pagerduty.Error as exc:
            raise OutsideServiceError(SERVICE, f"{what} failed: {str(exc)[:200]}", retryable=True) from None

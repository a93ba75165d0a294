"""The public status page: Atlassian Statuspage (REST v1) when configured, otherwise our own built-in page.

Both take only customer-facing words; internal details are refused before they get here.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

import httpx
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.clock import Clock
from bot.core.errors import OutsideServiceError
from bot.core.metrics import counted
from bot.integrations.retries import retry_after_seconds, with_retries
from storage.repositories import pace, public_status

log = logging.getLogger(__name__)
SERVICE = "Statuspage"


@dataclass(frozen=True)
class PublicIncidentDraft:
    """A status page incident as customers will read it: title, status and first public message."""

    name: str
    status: str
    body: str


@dataclass(frozen=True)
class PublishedIncident:
    """The incident as the status page knows it: its ID, and its public link when it has one."""

    id: str
    url: str | None


class StatusPublisher(Protocol):
    """A public status page the bot posts incidents and their updates to; failures raise OutsideServiceError."""

    name: str

    async def open_incident(self, draft: PublicIncidentDraft, *, idempotency_key: str,
                            maybe_exists: bool = False) -> PublishedIncident:
        """Creates the public incident once per idempotency key; `maybe_exists`: an earlier try may have made it."""
        ...

    async def update_incident(self, incident_id: str, *, status: str, body: str) -> None:
        """Posts a new status and public message on the incident."""
        ...


class Pacer(Protocol):
    """Spaces the requests under one API key, known only by a hash of it."""

    async def wait_turn(self, key_hash: str, spacing: float) -> None:
        """Returns when a request under the key may go out: at least `spacing` seconds after the one before."""
        ...


class LocalPace:
    """The pace within this process alone: right for one replica, and the fallback while the database is away."""

    def __init__(self) -> None:
        self._next_at: dict[str, float] = {}

    async def wait_turn(self, key_hash: str, spacing: float) -> None:
        """Takes the next free slot for the key (no await in between, so no two callers get one slot) and
        waits for it."""
        now = time.monotonic()
        start = max(now, self._next_at.get(key_hash, now))
        self._next_at[key_hash] = start + spacing
        if start > now:
            await asyncio.sleep(start - now)


class SharedPace:
    """The pace across every replica on one database: each request reserves its slot in the key's row, in a
    short transaction of its own, then waits for it holding nothing. Slots are read off the database's clock,
    so the replicas' own clocks need not agree."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._local = LocalPace()

    async def wait_turn(self, key_hash: str, spacing: float) -> None:
        """Reserves the key's next slot in the database and sleeps until it; without the database, paces
        this process alone rather than holding the status page back."""
        try:
            async with self._sessions.begin() as session:
                wait = await pace.reserve_slot(session, key_hash=key_hash, spacing=timedelta(seconds=spacing))
        except (SQLAlchemyError, OSError) as exc:
            log.warning("Statuspage pace: the database did not answer (%s); pacing this process alone",
                        type(exc).__name__)
            await self._local.wait_turn(key_hash, spacing)
            return
        if wait:
            await asyncio.sleep(wait.total_seconds())


def pace_key(api_key: str) -> str:
    """What the pace knows an API key by: a hash, so the secret itself is never stored."""
    return hashlib.sha256(f"statuspage:{api_key}".encode()).hexdigest()


class Statuspage:
    """Atlassian Statuspage over REST v1, about one request a second; 420/429/5xx retried after Retry-After."""

    name = "Statuspage"

    def __init__(self, *, api_url: str, api_key: str, page_id: str, http: httpx.AsyncClient | None = None,
                 attempts: int = 4, min_interval: float = 1.05, timeout: float = 10.0,
                 pacer: Pacer | None = None) -> None:
        self._base = f"{api_url.rstrip('/')}/pages/{page_id}"
        self._http = http or httpx.AsyncClient(timeout=timeout)
        self._headers = {"Authorization": f"OAuth {api_key}"}
        self._attempts = attempts
        # Statuspage allows about one request a second per key: pace ourselves (with a little room for clock
        # jitter at its end) instead of collecting 429s. Several replicas share the pace through `pacer`.
        self._min_interval = min_interval
        self._pacer: Pacer = pacer or LocalPace()
        self._pace_key = pace_key(api_key)

    def __repr__(self) -> str:
        return f"Statuspage(base={self._base!r})"

    async def close(self) -> None:
        """Closes the HTTP client, one passed in too; make no calls after this."""
        await self._http.aclose()

    async def open_incident(self, draft: PublicIncidentDraft, *, idempotency_key: str,
                            maybe_exists: bool = False) -> PublishedIncident:
        """Creates the incident once. Statuspage has no idempotency key, so ours rides in the incident's
        metadata, and any attempt after one whose answer was lost looks for it before creating again."""
        body = {"incident": {"name": draft.name, "status": draft.status, "body": draft.body,
                             "impact_override": "major", "deliver_notifications": True,
                             "metadata": {"supportbot": {"key": idempotency_key}}}}
        look_first = maybe_exists

        async def attempt() -> PublishedIncident:
            nonlocal look_first
            if look_first:
                found = await self._find_unresolved(idempotency_key)
                if found is not None:
                    return found
            look_first = True
            data = await self._once("POST", "/incidents", body)
            return PublishedIncident(id=str(data["id"]), url=data.get("shortlink"))

        return await with_retries(attempt, attempts=self._attempts, base=0.5, cap=5.0, hint_statuses=(420, 429))

    async def _find_unresolved(self, idempotency_key: str) -> PublishedIncident | None:
        listed = await self._once("GET", "/incidents/unresolved", None)
        for incident in listed if isinstance(listed, list) else []:
            metadata = incident.get("metadata") if isinstance(incident, dict) else None
            if isinstance(metadata, dict) and (metadata.get("supportbot") or {}).get("key") == idempotency_key:
                return PublishedIncident(id=str(incident["id"]), url=incident.get("shortlink"))
        return None

    async def update_incident(self, incident_id: str, *, status: str, body: str) -> None:
        """Posts a new status and public message; raises OutsideServiceError once retries run out or on a 4xx."""
        await self._request("PATCH", f"/incidents/{incident_id}", {"incident": {"status": status, "body": body}})

    async def _request(self, method: str, path: str, body: dict[str, Any]) -> Any:
        return await with_retries(lambda: self._once(method, path, body), attempts=self._attempts, base=0.5,
                                  cap=5.0, hint_statuses=(420, 429))

    async def _once(self, method: str, path: str, body: dict[str, Any] | None) -> Any:
        await self._pacer.wait_turn(self._pace_key, self._min_interval)
        try:
            response = await counted("statuspage", self._http.request(method, self._base + path, json=body,
                                                                      headers=self._headers))
        except httpx.HTTPError as exc:
            raise OutsideServiceError(SERVICE, f"{method} {path} failed: {type(exc).__name__}",
                                      retryable=True) from None
        if response.status_code in (420, 429) or response.status_code >= 500:
            error = OutsideServiceError(SERVICE, f"{method} {path} answered HTTP {response.status_code}",
                                        status=response.status_code, retryable=True)
            error.retry_after = retry_after_seconds(response.headers.get("Retry-After"))  # type: ignore[attr-defined]
            raise error
        if response.status_code >= 400:
            raise OutsideServiceError(SERVICE, f"{method} {path} answered HTTP {response.status_code}: "
                                      f"{response.text[:200]}", status=response.status_code, retryable=False)
        data = response.json()
        if method != "GET" and (not isinstance(data, dict) or "id" not in data):
            raise OutsideServiceError(SERVICE, f"{method} {path} answered without an incident", retryable=True)
        return data


class BuiltinStatusPage:
    """Our own page at `/status`, used when no Statuspage key is set; same interface, same cadence."""

    def __init__(self, *, sessions: async_sessionmaker[AsyncSession], clock: Clock, public_url: str | None) -> None:
        self._sessions = sessions
        self._clock = clock
        # Slack links must be absolute: without a public address the page is named in words, never linked.
        self._url = f"{public_url}/status" if public_url else None
        self.name = "the built-in status page" if public_url else "the built-in status page (/status on this bot)"

    async def open_incident(self, draft: PublicIncidentDraft, *, idempotency_key: str,
                            maybe_exists: bool = False) -> PublishedIncident:
        """Publishes the incident on the built-in page once per idempotency key; returns its ID and anchor link."""
        async with self._sessions.begin() as session:  # idempotent by key in our own table
            incident_id = await public_status.publish_incident_once(
                session, idempotency_key=idempotency_key, title=draft.name, status=draft.status, body=draft.body,
                now=self._clock.now())
        return PublishedIncident(id=str(incident_id), url=f"{self._url}#incident-{incident_id}" if self._url else None)

    async def update_incident(self, incident_id: str, *, status: str, body: str) -> None:
        """Adds the update to the incident; raises a non-retryable OutsideServiceError when it is not on the page."""
        async with self._sessions.begin() as session:
            if not await public_status.publish_update(session, incident_id=int(incident_id), status=status,
                                                      body=body, now=self._clock.now()):
                raise OutsideServiceError(self.name, f"incident {incident_id} is not on the page", retryable=False)

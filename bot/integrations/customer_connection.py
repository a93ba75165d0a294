"""The company's own customer endpoint (`CUSTOMER_CONNECTION_URL`): asked live, signed, never stored.

Request: `POST` a JSON body naming the workspace ID, the requester's email when known and why it asks, with
`X-Supportbot-Timestamp` (Unix seconds) and `X-Supportbot-Signature: v1=<hex HMAC-SHA256 of
"<timestamp>.<raw body>">`, so the endpoint can refuse anyone else and refuse replays (each body carries a
fresh `nonce`, so no two requests share a signature). A document may be
reused for 30 seconds in memory, and concurrent lookups of one customer share one request (single-flight);
a failure is never reused, so "Try again" asks again.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from bot.core.metrics import calling

MAX_BODY_BYTES = 1_000_000
REUSE_SECONDS = 30.0
Why = Literal["ticket", "lookup", "automation", "action"]


class CustomerDataUnavailable(Exception):
    """The endpoint could not answer usefully; `reason` is the plain words the card shows."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class CustomerQuery:
    """Who is asked about, and why (the endpoint may answer differently for an automation than for a person)."""

    why: Why
    workspace_id: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class ActionOutcome:
    """What the endpoint said about a one-click action."""

    ok: bool
    message: str


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The `X-Supportbot-Signature` value for a body sent at `timestamp`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"v1={digest}"


class CustomerConnection:
    """Asks the customer endpoint, with a timeout, a 1 MB cap, a 30-second in-memory reuse and single-flight."""

    def __init__(self, *, url: str, secret: str, timeout: float, http: httpx.AsyncClient | None = None,
                 reuse_seconds: float = REUSE_SECONDS, now: Callable[[], float] = time.monotonic) -> None:
        self._url = url
        self._secret = secret
        self._timeout = timeout
        self._http = http or httpx.AsyncClient()
        self._reuse = reuse_seconds
        self._now = now
        self._recent: dict[tuple[str | None, str | None], tuple[float, dict[str, Any]]] = {}
        self._in_flight: dict[tuple[str | None, str | None], asyncio.Future[dict[str, Any]]] = {}
        self.upstream_requests = 0  # how many requests reached the endpoint (the benchmark reads it)

    def __repr__(self) -> str:
        return "CustomerConnection(<url and secret redacted>)"

    async def close(self) -> None:
        """Releases the HTTP connections."""
        await self._http.aclose()

    async def fetch(self, query: CustomerQuery, *, fresh: bool = False) -> dict[str, Any]:
        """The customer-connection document (a JSON object, not yet checked for shape); raises
        CustomerDataUnavailable with the plain reason. `fresh`: never the reused copy (automation decides on
        data as it is now)."""
        key = (query.workspace_id, (query.email or "").casefold() or None)
        recent = self._recent.get(key)
        if not fresh and recent is not None and self._now() - recent[0] < self._reuse:
            return recent[1]
        flight = self._in_flight.get(key)
        if flight is not None:
            return await asyncio.shield(flight)
        flight = asyncio.get_running_loop().create_future()
        self._in_flight[key] = flight
        try:
            document = await self._ask(query)
        except BaseException as exc:
            # Whoever else waits on this request hears how it ended, also when its starter was cancelled.
            failure = exc if isinstance(exc, CustomerDataUnavailable) else CustomerDataUnavailable(
                "the lookup was interrupted; try again")
            flight.set_exception(failure)
            flight.exception()  # retrieved here, so a flight nobody else waited for is not "never retrieved"
            raise
        finally:
            self._in_flight.pop(key, None)
        flight.set_result(document)
        self._recent = {k: v for k, v in self._recent.items() if self._now() - v[0] < self._reuse}
        self._recent[key] = (self._now(), document)
        return document

    async def act(self, *, workspace_id: str, action: str, user_id: str) -> ActionOutcome:
        """Runs a one-click action at the endpoint, once: never retried, never reused."""
        answer = await self._post({"why": "action", "workspace_id": workspace_id, "action": action,
                                   "slack_user": user_id})
        if not isinstance(answer, Mapping):
            raise CustomerDataUnavailable("the customer endpoint's answer is not a JSON object")
        message = answer.get("message") if isinstance(answer.get("message"), str) else None
        if answer.get("ok") is True:
            return ActionOutcome(True, message or "Done.")
        error = answer.get("error") if isinstance(answer.get("error"), str) else None
        return ActionOutcome(False, message or error or "The endpoint said it did not do it.")

    async def _ask(self, query: CustomerQuery) -> dict[str, Any]:
        body: dict[str, Any] = {"why": query.why, "workspace_id": query.workspace_id}
        if query.email:
            body["email"] = query.email
        answer = await self._post(body)
        if not isinstance(answer, dict):
            raise CustomerDataUnavailable("the customer endpoint's answer is not a JSON object")
        return answer

    async def _post(self, payload: Mapping[str, Any]) -> Any:
        # A fresh nonce makes every request's signature unique, so the endpoint can refuse any it has seen
        # (a replay) without refusing two honest lookups in the same second.
        raw = json.dumps({**payload, "nonce": uuid.uuid4().hex}, separators=(",", ":")).encode()
        stamp = int(time.time())
        headers = {"Content-Type": "application/json", "X-Supportbot-Timestamp": str(stamp),
                   "X-Supportbot-Signature": sign(self._secret, stamp, raw)}
        self.upstream_requests += 1
        try:
            with calling("customer_connection") as call:  # outside the timeout, which raises as it ends
                async with asyncio.timeout(self._timeout):
                    async with self._http.stream("POST", self._url, content=raw, headers=headers) as response:
                        call.status = status = response.status_code
                        body = await self._read_capped(response)
        except TimeoutError:
            raise CustomerDataUnavailable(f"the customer endpoint did not answer within {self._timeout:g} s") \
                from None
        except httpx.ConnectError:
            raise CustomerDataUnavailable("the customer endpoint refused the connection") from None
        except httpx.HTTPError as exc:
            raise CustomerDataUnavailable(f"the customer endpoint could not be reached ({type(exc).__name__})") \
                from None
        if not 200 <= status < 300:
            raise CustomerDataUnavailable(f"the customer endpoint answered HTTP {status}")
        try:
            return json.loads(body)
        except (ValueError, RecursionError):  # nested past what the parser allows is not JSON we can use
            raise CustomerDataUnavailable("the customer endpoint's answer is not JSON") from None

    @staticmethod
    async def _read_capped(response: httpx.Response) -> bytes:
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > MAX_BODY_BYTES:  # stop reading there: a runaway answer must not fill memory
                raise CustomerDataUnavailable("the customer endpoint's answer is over 1 MB")
            chunks.append(chunk)
        return b"".join(chunks)

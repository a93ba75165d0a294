"""A local stand-in for the Atlassian Statuspage REST API v1, incidents only.

It serves the same paths under ``/v1`` as ``https://api.statuspage.io/v1`` and answers with Statuspage's
status codes and bodies: 201/200 with the incident object (``incident_updates`` newest first), 401 for a bad
``Authorization: OAuth <key>``, 404 for another page or an unknown incident, 422 for an ``incident`` field
Statuspage refuses (``statuspage_rules``: a blank name, an invalid status, a non-boolean flag, a read-only field
such as ``impact``, components on a backfilled incident...), and 429 with ``Retry-After`` past the per-key
request rate. Faults (5xx, 420/429, dropped
connections) and latency can be injected to exercise the bot's retry logic.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.sandbox.faults import FaultInjection, SlidingWindowLimit
from bot.sandbox.local_server import WAIT_SECONDS, LocalServer
from bot.sandbox.statuspage_rules import incident_error
from bot.sandbox.statuspage_wire import (
    _BODY,
    AUTH_ERROR,
    NOT_FOUND_ERROR,
    RATE_LIMIT_ERROR,
    PublicIncident,
    ReceivedRequest,
    _error,
    _failure_response,
    _incident_fields,
    _paginate,
    _parse_body,
    _searchable,
)


class StatuspageStandIn(FaultInjection, LocalServer):
    """An aiohttp server that behaves like ``https://api.statuspage.io/v1`` for one page's incidents."""

    def __init__(
        self,
        *,
        api_key: str = "sp-sandbox-key",
        page_id: str = "pg0sandbox",
        requests_per_second: float | None = 1.0,
        rate_window: float = 1.0,
    ) -> None:
        """``rate_window`` is the span the rate is measured over; Statuspage measures 1 request/second on a
        60-second rolling window, so pass 60 to allow its bursts, or keep 1 to catch any burst at all."""
        super().__init__()
        self.api_key = api_key
        self.page_id = page_id
        self.incidents: dict[str, PublicIncident] = {}
        self.requests: list[ReceivedRequest] = []
        self._limiter: SlidingWindowLimit | None = None
        self.rate_limit(requests_per_second, window=rate_window)
        self._changed = asyncio.Condition()

    # -- lifecycle ---------------------------------------------------------------------------------------

    def build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        incidents = "/v1/pages/{page_id}/incidents"
        # "unresolved" comes before "{incident_id}": aiohttp matches in registration order.
        app.router.add_get(incidents + "/unresolved", self._list_unresolved)
        app.router.add_get(incidents + "/unresolved.json", self._list_unresolved)
        for suffix in ("", ".json"):
            app.router.add_get(incidents + suffix, self._list)
            app.router.add_post(incidents + suffix, self._create)
        one = incidents + "/{incident_id}"
        app.router.add_get(one, self._get)
        app.router.add_patch(one, self._update)
        app.router.add_put(one, self._update)
        app.router.add_delete(one, self._delete)
        return app

    @property
    def api_url(self) -> str:
        """The API base, the stand-in's ``https://api.statuspage.io/v1``."""
        return f"{self.base_url}/v1"

    # -- inspection --------------------------------------------------------------------------------------

    def unresolved(self) -> list[PublicIncident]:
        return [i for i in self.incidents.values() if i.status != "resolved"]

    def find(self, name: str) -> PublicIncident | None:
        """The newest incident with this exact name."""
        matches = [i for i in self.incidents.values() if i.name == name]
        return matches[-1] if matches else None

    # The timeout keyword is part of the stand-in's test-facing API, hence the ASYNC109 waiver.
    async def wait_for(
        self, predicate: Callable[[StatuspageStandIn], bool], *, timeout: float = WAIT_SECONDS  # noqa: ASYNC109
    ) -> None:
        """Wait until ``predicate(self)`` holds; it is re-checked after every request is answered."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: predicate(self))

    # -- fault injection (set_latency, fail_next and clear_faults come from FaultInjection) --------------

    def rate_limit(self, requests_per_second: float | None, *, window: float = 1.0) -> None:
        """Change the per-key request rate (None: unlimited); the window starts afresh.

        The built-in limiter always sends Retry-After, as Statuspage does.
        """
        self._limiter = (
            None if requests_per_second is None else SlidingWindowLimit.per_second(requests_per_second, window)
        )

    def reset(self) -> None:
        """Forget incidents, requests and pending faults, keeping the server and its settings."""
        self.incidents.clear()
        self.requests.clear()
        self.clear_faults()
        if self._limiter is not None:
            self._limiter.clear()

    # -- plumbing ----------------------------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        raw = await request.read()
        try:
            body = _parse_body(raw, request.content_type)
        except ValueError:
            body = None
            parse_failed = True
        else:
            parse_failed = False
        request[_BODY] = body
        return await self._with_faults(
            request,
            answer=lambda: self._answer(request, handler, parse_failed),
            refuse=_failure_response,
            record=lambda status: self._record(request, body, status),
        )

    async def _answer(self, request: web.Request, handler: Handler, parse_failed: bool) -> web.StreamResponse:
        key = self._presented_key(request)
        if key != self.api_key:
            return _error(401, AUTH_ERROR)
        if self._limiter is not None:
            wait = self._limiter.retry_after(key)
            if wait is not None:
                return _error(429, RATE_LIMIT_ERROR, headers={"Retry-After": str(wait)})
        page_id = request.match_info.get("page_id")
        if page_id is not None and page_id != self.page_id:
            return _error(404, NOT_FOUND_ERROR)
        if parse_failed:
            return _error(400, "Request body could not be parsed")
        try:
            return await handler(request)
        except web.HTTPException as exc:
            # aiohttp's own 404/405 for unknown routes, reshaped into Statuspage's JSON error body.
            return _error(exc.status, NOT_FOUND_ERROR if exc.status == 404 else exc.reason)

    def _presented_key(self, request: web.Request) -> str | None:
        header = request.headers.get("Authorization", "")
        if header.startswith("OAuth "):
            return header[len("OAuth "):].strip()
        return request.query.get("api_key")

    async def _record(self, request: web.Request, body: dict[str, Any] | None, status: int) -> None:
        async with self._changed:
            self.requests.append(ReceivedRequest(request.method, request.path, body, time.time(), status))
            self._changed.notify_all()

    # -- routes ------------------------------------------------------------------------------------------

    async def _list(self, request: web.Request) -> web.Response:
        found = self._newest_first(self.incidents.values())
        query = request.query.get("q")
        if query:
            needle = query.lower()
            found = [i for i in found if needle in _searchable(i)]
        return web.json_response(_paginate(found, request, "limit"))

    async def _list_unresolved(self, request: web.Request) -> web.Response:
        found = self._newest_first(self.unresolved())
        return web.json_response(_paginate(found, request, "per_page"))

    @staticmethod
    def _newest_first(incidents: Iterable[PublicIncident]) -> list[PublicIncident]:
        # Insertion order, not created_at: two incidents can share a millisecond.
        return list(reversed(list(incidents)))

    async def _get(self, request: web.Request) -> web.Response:
        incident = self.incidents.get(request.match_info["incident_id"])
        if incident is None:
            return _error(404, NOT_FOUND_ERROR)
        return web.json_response(incident.to_json())

    async def _delete(self, request: web.Request) -> web.Response:
        incident = self.incidents.pop(request.match_info["incident_id"], None)
        if incident is None:
            return _error(404, NOT_FOUND_ERROR)
        return web.json_response(incident.to_json())

    async def _create(self, request: web.Request) -> web.Response:
        fields = _incident_fields(request[_BODY])
        if fields is None:
            return _error(400, "param is missing or the value is empty: incident")
        problem = incident_error(fields, creating=True)
        if problem:
            return _error(422, problem)
        incident = PublicIncident.open(fields, self.page_id)
        self.incidents[incident.id] = incident
        return web.json_response(incident.to_json(), status=201)

    async def _update(self, request: web.Request) -> web.Response:
        incident = self.incidents.get(request.match_info["incident_id"])
        if incident is None:
            return _error(404, NOT_FOUND_ERROR)
        fields = _incident_fields(request[_BODY])
        if fields is None:
            return _error(400, "param is missing or the value is empty: incident")
        problem = incident_error(fields, creating=False)
        if problem:
            return _error(422, problem)
        incident.apply(fields)
        return web.json_response(incident.to_json())

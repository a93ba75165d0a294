"""A local stand-in for the Atlassian Statuspage REST API v1, incidents only.

It serves the same paths under ``/v1`` as ``https://api.statuspage.io/v1`` and answers with Statuspage's
status codes and bodies: 201/200 with the incident object (``incident_updates`` newest first), 401 for a bad
``Authorization: OAuth <key>``, 404 for another page or an unknown incident, 422 for an invalid status or a
blank name, and 429 with ``Retry-After`` past the per-key request rate. Faults (5xx, 420/429, dropped
connections) and latency can be injected to exercise the bot's retry logic.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.sandbox.local_server import LocalServer, take_fault
from bot.sandbox.statuspage_wire import (
    _BODY,
    AUTH_ERROR,
    DROP_CONNECTION,
    NOT_FOUND_ERROR,
    RATE_LIMIT_ERROR,
    PublicIncident,
    ReceivedRequest,
    _as_bool,
    _components,
    _error,
    _Failure,
    _failure_response,
    _impact,
    _incident_fields,
    _new_id,
    _now,
    _paginate,
    _parse_body,
    _RateLimiter,
    _searchable,
    _stamp_status,
    _validate,
)


class StatuspageStandIn(LocalServer):
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
        self.api_key = api_key
        self.page_id = page_id
        self.incidents: dict[str, PublicIncident] = {}
        self.requests: list[ReceivedRequest] = []
        self._limiter: _RateLimiter | None = None
        self.rate_limit(requests_per_second, window=rate_window)
        self._latency = 0.0
        self._failures: deque[_Failure] = deque()
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
        self, predicate: Callable[[StatuspageStandIn], bool], *, timeout: float = 5.0  # noqa: ASYNC109
    ) -> None:
        """Wait until ``predicate(self)`` holds; it is re-checked after every request is answered."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: predicate(self))

    # -- fault injection ---------------------------------------------------------------------------------

    def set_latency(self, seconds: float) -> None:
        self._latency = max(0.0, seconds)

    def fail_next(self, status: int, *, times: int = 1, retry_after: int | None = None) -> None:
        """Answer the next ``times`` requests with ``status`` (e.g. 500/502/503, 420/429) unprocessed.

        ``status=0`` drops the connection without answering. ``retry_after`` adds a Retry-After header; the
        built-in rate limiter always sends one, as Statuspage does.
        """
        if status != DROP_CONNECTION and not 400 <= status <= 599:
            raise ValueError(f"fail_next needs an error status or 0, got {status}")
        if times < 1:
            raise ValueError("times must be at least 1")
        self._failures.append(_Failure(status, times, retry_after))

    def rate_limit(self, requests_per_second: float | None, *, window: float = 1.0) -> None:
        """Change the per-key request rate (None: unlimited); the window starts afresh."""
        self._limiter = None if requests_per_second is None else _RateLimiter(requests_per_second, window)

    def clear_faults(self) -> None:
        """Drop the injected faults still pending: the service is healthy again, its incidents kept."""
        self._failures.clear()

    def reset(self) -> None:
        """Forget incidents, requests and pending faults, keeping the server and its settings."""
        self.incidents.clear()
        self.requests.clear()
        self._failures.clear()
        if self._limiter is not None:
            self._limiter = _RateLimiter(self._limiter.capacity / self._limiter.window, self._limiter.window)

    # -- plumbing ----------------------------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        raw = await request.read()
        if self._latency:
            await asyncio.sleep(self._latency)
        try:
            body = _parse_body(raw, request.content_type)
        except ValueError:
            body = None
            parse_failed = True
        else:
            parse_failed = False
        request[_BODY] = body

        failure = take_fault(self._failures)
        if failure is not None and failure.status == DROP_CONNECTION:
            await self._record(request, body, 0)
            if request.transport is not None:
                request.transport.abort()
            # Nothing reaches the client: the transport is gone.
            return web.Response(status=500)

        response: web.StreamResponse
        if failure is not None:
            response = _failure_response(failure)
        else:
            response = await self._answer(request, handler, parse_failed)
        await self._record(request, body, response.status)
        return response

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
        status = fields.get("status", "investigating")
        problem = _validate(fields, creating=True)
        if problem:
            return _error(422, problem)
        components = _components(fields)
        now = _now()
        incident = PublicIncident(
            id=_new_id(),
            name=fields["name"].strip(),
            status=status,
            impact="none",
            body_history=[],
            created_at=now,
            updated_at=now,
            resolved_at=None,
            shortlink=f"https://stspg.io/{secrets.token_hex(5)[:9]}",
            page_id=self.page_id,
            impact_override=fields.get("impact_override"),
            deliver_notifications=_as_bool(fields.get("deliver_notifications", True)),
            metadata=dict(fields.get("metadata") or {}),
        )
        incident.impact = _impact(incident.impact_override, components)
        self._add_update(incident, status, str(fields.get("body") or ""), components, fields, now)
        incident.components.update(components)
        _stamp_status(incident, status, now)
        self.incidents[incident.id] = incident
        return web.json_response(incident.to_json(), status=201)

    async def _update(self, request: web.Request) -> web.Response:
        incident = self.incidents.get(request.match_info["incident_id"])
        if incident is None:
            return _error(404, NOT_FOUND_ERROR)
        fields = _incident_fields(request[_BODY])
        if fields is None:
            return _error(400, "param is missing or the value is empty: incident")
        problem = _validate(fields, creating=False)
        if problem:
            return _error(422, problem)
        now = _now()
        if "name" in fields:
            incident.name = fields["name"].strip()
        if "impact_override" in fields:
            incident.impact_override = fields["impact_override"]
        if "metadata" in fields:
            incident.metadata = dict(fields["metadata"] or {})
        components = _components(fields)
        status = fields.get("status", incident.status)
        # A new incident update is posted when the status or message changes, as in Statuspage's UI.
        if "status" in fields or "body" in fields or components:
            self._add_update(incident, status, str(fields.get("body") or ""), components, fields, now)
        incident.components.update(components)
        incident.impact = _impact(incident.impact_override, incident.components)
        incident.status = status
        _stamp_status(incident, status, now)
        incident.updated_at = now
        return web.json_response(incident.to_json())

    def _add_update(
        self,
        incident: PublicIncident,
        status: str,
        body: str,
        components: dict[str, str],
        fields: dict[str, Any],
        now: str,
    ) -> None:
        affected = [
            {"code": cid, "name": cid, "old_status": incident.components.get(cid, "operational"),
             "new_status": new}
            for cid, new in components.items()
        ]
        incident.updates.append(
            {
                "id": _new_id(),
                "incident_id": incident.id,
                "status": status,
                "body": body,
                "created_at": now,
                "updated_at": now,
                "display_at": now,
                "affected_components": affected or None,
                "deliver_notifications": _as_bool(fields.get("deliver_notifications", True)),
                "custom_tweet": None,
                "tweet_id": None,
                "twitter_updated_at": None,
                "wants_twitter_update": False,
            }
        )
        incident.body_history.append({"status": status, "body": body, "at": now})

"""The HTTP face: `POST /slack/events`, `GET /healthz`, and later the public status page.

Signatures are checked here, before Bolt, so that an unsigned request (401) and a signed but
malformed one (400) are told apart and neither reaches a listener.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.core import logs, metrics
from bot.core.payload_shape import is_ssl_check, malformed_reason

log = logging.getLogger(__name__)

HealthCheck = Callable[[], Awaitable[str | None]]  # None when healthy, else the problem in words
RESPONDED = "supportbot_responded"  # context key: set once Slack's HTTP request has its answer
ANSWERS = "supportbot_answers"  # context key: the AnswerGate of the endpoint
KIND = web.RequestKey("supportbot_kind", str)  # aiohttp request key: what the Slack request is, for the metrics
# Requests other than Slack's, counted by route (Slack's are counted by SlackEndpoint, by payload kind).
COUNTED_ROUTES = {"/jira/webhook": "jira_webhook", "/helpscout/sidebar": "helpscout"}


class AnswerGate:
    """Acknowledgements first: follow-up work waits while other Slack requests still wait for their answer.

    Slack gives every request 3 seconds; the work after an ack (opening a modal, posting a card) has no such
    deadline. Under a burst, letting the acks out first keeps them near a bare app's, and the follow-up
    work starts a few milliseconds later. The wait is capped so a steady stream cannot starve it.
    """

    def __init__(self) -> None:
        self._waiting = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def enter(self) -> None:
        """Counts one more Slack request still waiting for its answer."""
        self._waiting += 1
        self._idle.clear()

    def leave(self) -> None:
        """Counts a request answered; follow-up work may go once none are waiting."""
        self._waiting -= 1
        if self._waiting == 0:
            self._idle.set()

    async def until_answered(self, limit: float) -> None:
        """Returns once no Slack request waits for its answer, or after `limit` seconds at the latest."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._settled(), limit)

    async def _settled(self) -> None:
        while True:
            await self._idle.wait()
            # Requests already read from their sockets start their handlers within a loop turn or two.
            for _ in range(2):
                await asyncio.sleep(0)
            if self._idle.is_set():
                return


class SlackEndpoint:
    """`POST /slack/events`: checks Slack's signature and payload shape before any listener sees the request."""

    def __init__(self, app: AsyncApp, *, signing_secret: str, services: Mapping[str, Any]) -> None:
        self._app = app
        # Socket Mode needs no signing secret; then nothing arriving over HTTP can be verified, so all is 401.
        self._secret = signing_secret.encode()
        # Handed to listeners through Bolt's context on every request (cheaper than a middleware).
        self._services = dict(services)
        self.answers = AnswerGate()

    async def handle(self, request: web.Request) -> web.Response:
        """Slack's answer to one request: 401 unsigned or stale, 400 malformed, otherwise what Bolt replies."""
        self.answers.enter()
        started = time.perf_counter()
        # One ID per request at once, replaced by Slack's own once the body is read; reset after, since
        # aiohttp serves a keep-alive connection's requests in one task.
        token = logs.bind_request(logs.new_request_id())
        status = 500
        try:
            response = await self._answer(request)
            status = response.status
            return response
        finally:
            self.answers.leave()
            metrics.request_answered(request.get(KIND, "unknown"), status, time.perf_counter() - started)
            logs.REQUEST_ID.reset(token)

    async def _answer(self, request: web.Request) -> web.Response:
        raw = await request.read()
        if not self._signed(raw, request.headers.get("X-Slack-Request-Timestamp", ""),
                            request.headers.get("X-Slack-Signature", "")):
            return web.json_response({"error": "invalid signature"}, status=401)
        try:  # signed by Slack but not text: a malformed request, not a forged one
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            log.warning("rejected a signed but malformed Slack request: the body is not UTF-8")
            return web.json_response({"error": "malformed payload", "detail": "the body is not UTF-8"}, status=400)
        # Listeners wait on this after ack(), so the answer leaves before they spend time on the work.
        responded = asyncio.Event()
        try:  # Bolt parses the body once, here; its result is what gets checked
            bolt_request = AsyncBoltRequest(body=body, query=request.query_string,
                                            headers=request.headers,  # type: ignore[arg-type]
                                            context={**self._services, RESPONDED: responded,
                                                     ANSWERS: self.answers})
            if is_ssl_check(bolt_request.body):
                return web.Response(status=200)
            request[KIND] = metrics.slack_request_kind(bolt_request.body)
            logs.bind_request(logs.slack_request_id(bolt_request.body) or logs.REQUEST_ID.get() or "")
            reason = malformed_reason(bolt_request.body)
        except (ValueError, TypeError, AttributeError) as exc:
            reason = f"unparseable body ({type(exc).__name__})"
        if reason:
            log.warning("rejected a signed but malformed Slack request: %s", reason)
            return web.json_response({"error": "malformed payload", "detail": reason}, status=400)
        try:
            bolt_response = await self._app.async_dispatch(bolt_request)
        finally:
            responded.set()
        return await to_aiohttp_response(bolt_response)

    def _signed(self, raw: bytes, timestamp: str, signature: str) -> bool:
        """Slack's v0 signature over the raw bytes, from the last five minutes (Slack's replay window)."""
        if not self._secret or not timestamp.isdigit() or abs(time.time() - int(timestamp)) > 5 * 60:
            return False
        base = b"v0:" + timestamp.encode() + b":" + raw
        expected = "v0=" + hmac.new(self._secret, base, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, signature)


@web.middleware
async def _client_gone_is_one_line(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                                   ) -> web.StreamResponse:
    """A client that hangs up mid-request is ordinary on the internet: one INFO line, not an ERROR traceback."""
    try:
        return await handler(request)
    except ConnectionResetError:
        log.info("client %s went away during %s %s", request.remote, request.method, request.path)
        # Nobody is left to read it; aiohttp needs a response to finish the request cleanly.
        return web.Response(status=400, text="connection lost")


@web.middleware
async def _counted(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                   ) -> web.StreamResponse:
    """Counts the answers of the non-Slack routes that outside systems call (Jira, Help Scout)."""
    kind = COUNTED_ROUTES.get(request.path)
    if kind is None:
        return await handler(request)
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        metrics.request_answered(kind, status)


def build_web_app(endpoint: SlackEndpoint, *, health_problem: HealthCheck,
                  extra_routes: list[web.RouteDef] | None = None) -> web.Application:
    """The HTTP app: Slack events, `GET /healthz` (503 while the database refuses a write) and any extra routes."""
    async def healthz(_request: web.Request) -> web.Response:
        problem = await health_problem()
        body = {"ok": problem is None, "database": "up" if problem is None else "down"}
        return web.json_response(body if problem is None else {**body, "problem": problem},
                                 status=200 if problem is None else 503)

    web_app = web.Application(client_max_size=2 * 1024 * 1024, middlewares=[_client_gone_is_one_line, _counted])
    web_app.add_routes([web.post("/slack/events", endpoint.handle), web.get("/healthz", healthz),
                        *(extra_routes or [])])
    return web_app

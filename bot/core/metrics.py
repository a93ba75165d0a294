"""Prometheus metrics and `GET /metrics`.

Counters and histograms are module-level: one process is one bot in production (tests read deltas). Labels
name kinds of things only (a request kind, an outside system, an outcome, a timer kind, a severity), never a
URL, a person, a workspace or a secret. What the database knows (timers due, retries pending, the webhook
backlog, open tickets) is counted at scrape time, so it is right on every replica and costs nothing between
scrapes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Iterator, Mapping
from typing import Any, TypeVar

import aiohttp
import httpx
from aiohttp import web
from prometheus_client import REGISTRY, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.clock import Clock
from storage.repositories import metrics as repo

log = logging.getLogger(__name__)
T = TypeVar("T")
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
SCRAPE_QUERY_SECONDS = 5.0

REQUESTS = Counter("supportbot_requests", "Requests answered, by kind and outcome", ["kind", "outcome"])
ACK_SECONDS = Histogram("supportbot_ack_seconds", "Seconds from a Slack request's arrival to its answer",
                        ["kind"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0))
OUTSIDE_CALLS = Counter("supportbot_outside_calls", "Requests to outside systems, by system and outcome",
                        ["system", "outcome"])
TIMERS_FIRED = Counter("supportbot_timers_fired", "Deadlines fired, by timer kind", ["kind"])
TIMER_FAILURES = Counter("supportbot_timer_failures", "Deadlines whose handler failed (retried later), by kind",
                         ["kind"])
TIMER_LATENESS = Histogram("supportbot_timer_lateness_seconds", "Seconds past its due time a deadline fired",
                           buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600))

# Slack's payload `type` as a request kind; a slash command has no `type`, only `command`.
_SLACK_KINDS = {"event_callback": "event", "app_rate_limited": "event", "url_verification": "event",
                "block_actions": "block_actions", "interactive_message": "block_actions",
                "view_submission": "view_submission", "view_closed": "view_closed", "shortcut": "shortcut",
                "message_action": "shortcut", "block_suggestion": "options", "dialog_suggestion": "options"}


def slack_request_kind(body: Mapping[str, Any]) -> str:
    """What a parsed Slack body is: command, event, block_actions, view_submission, view_closed, shortcut,
    options, or other."""
    if "command" in body:
        return "command"
    return _SLACK_KINDS.get(str(body.get("type", "")), "other")


def request_outcome(status: int) -> str:
    """The outcome of an HTTP answer we gave: ok, bad_request, unauthorized, refused (other 4xx) or error."""
    if status < 400:
        return "ok"
    if status in (400, 413):
        return "bad_request"
    if status in (401, 403):
        return "unauthorized"
    return "refused" if status < 500 else "error"


def request_answered(kind: str, status: int, seconds: float | None = None) -> None:
    """Counts one request we answered with `status`; `seconds` (Slack requests): the time it took to answer."""
    REQUESTS.labels(kind=kind, outcome=request_outcome(status)).inc()
    if seconds is not None:
        ACK_SECONDS.labels(kind=kind).observe(seconds)


def call_outcome(status: int) -> str:
    """The outcome of an outside system's HTTP answer: ok, ratelimited, refused (other 4xx) or error (5xx)."""
    if status < 400:
        return "ok"
    if status in (420, 429):
        return "ratelimited"
    return "refused" if status < 500 else "error"


def error_outcome(exc: BaseException) -> str:
    """The outcome of a call that raised: timeout, unreachable (the network), cancelled, or what the HTTP status
    the error carries says. Looks through the exceptions it was raised from, as the clients wrap them."""
    seen: BaseException | None = exc
    for _ in range(4):
        if seen is None:
            break
        if isinstance(seen, asyncio.CancelledError):
            return "cancelled"
        if isinstance(seen, TimeoutError | httpx.TimeoutException | aiohttp.ServerTimeoutError):
            return "timeout"
        status = getattr(seen, "status", None)
        response = getattr(seen, "response", None)
        status = status if isinstance(status, int) else getattr(response, "status_code", None)
        if isinstance(status, int):
            return call_outcome(status)
        if isinstance(seen, httpx.TransportError | aiohttp.ClientConnectionError | OSError):
            return "unreachable"
        seen = seen.__cause__ or seen.__context__
    return "unreachable" if getattr(exc, "retryable", False) else "error"


def outside_call(system: str, outcome: str) -> None:
    """Counts one request to an outside system (slack, pagerduty, statuspage, jira, customer_connection,
    webhook)."""
    OUTSIDE_CALLS.labels(system=system, outcome=outcome).inc()


async def counted(system: str, call: Awaitable[T]) -> T:
    """Awaits one outside request and counts how it ended; an answer with a `status_code` (httpx) counts by it."""
    try:
        result = await call
    except BaseException as exc:
        outside_call(system, error_outcome(exc))
        raise
    status = getattr(result, "status_code", None)
    outside_call(system, call_outcome(status) if isinstance(status, int) else "ok")
    return result


class _Call:
    status: int | None = None


@contextlib.contextmanager
def calling(system: str) -> Iterator[_Call]:
    """Counts the outside request made inside the block: set `.status` to the answer's HTTP status."""
    call = _Call()
    try:
        yield call
    except BaseException as exc:
        outside_call(system, call_outcome(call.status) if call.status and call.status >= 400 else error_outcome(exc))
        raise
    outside_call(system, call_outcome(call.status) if call.status is not None else "ok")


def slack_calls_trace() -> aiohttp.TraceConfig:
    """Counts every Slack Web API request made through the aiohttp session it is given to (the bot's client
    and the per-request clients Bolt makes from it). Slack answers most refusals with HTTP 200 and
    `"ok": false`: those count as refused, so the body of a JSON answer is read here (the client reads the
    same bytes afterwards)."""
    async def ended(_session: Any, _context: Any, params: aiohttp.TraceRequestEndParams) -> None:
        response = params.response
        outcome = call_outcome(response.status)
        if outcome == "ok" and response.content_type == "application/json":
            try:
                answer = await response.json()
            except Exception:  # the client reads it again and reports the failure itself
                answer = None
            if isinstance(answer, dict) and answer.get("ok") is False:
                outcome = "ratelimited" if answer.get("error") == "ratelimited" else "refused"
        outside_call("slack", outcome)

    async def failed(_session: Any, _context: Any, params: aiohttp.TraceRequestExceptionParams) -> None:
        outside_call("slack", error_outcome(params.exception))

    trace = aiohttp.TraceConfig()
    trace.on_request_end.append(ended)
    trace.on_request_exception.append(failed)
    return trace


def timer_fired(kind: str, late_seconds: float) -> None:
    """Counts a deadline fired `late_seconds` past its due time (negative counts as on time)."""
    TIMERS_FIRED.labels(kind=kind).inc()
    TIMER_LATENESS.observe(max(late_seconds, 0.0))


def timer_failed(kind: str) -> None:
    """Counts a deadline whose handler failed (it is retried with backoff)."""
    TIMER_FAILURES.labels(kind=kind).inc()


class _DatabaseGauges(Collector):
    """The gauges read from the database, as of the scrape in progress (nothing when it did not answer)."""

    def __init__(self) -> None:
        self.snapshot: repo.Snapshot | None = None
        self.up: bool | None = None

    def collect(self) -> Iterator[Metric]:
        if self.up is None:
            return
        yield GaugeMetricFamily("supportbot_database_up", "1 when the database answered this scrape's queries",
                                value=1 if self.up else 0)
        snapshot = self.snapshot
        if snapshot is None:
            return
        yield GaugeMetricFamily("supportbot_timers_due", "Pending deadlines whose due time has come",
                                value=snapshot.timers_due)
        retries = GaugeMetricFamily("supportbot_retries_pending", "Work that failed and waits for its retry, by "
                                    "what it is", labels=["what"])
        for what, count in sorted(snapshot.retries_pending.items()):
            retries.add_metric([what], count)
        yield retries
        yield GaugeMetricFamily("supportbot_webhook_backlog", "Webhook deliveries not made yet",
                                value=snapshot.webhook_backlog)
        tickets = GaugeMetricFamily("supportbot_open_tickets", "Open tickets, by severity", labels=["severity"])
        for severity, count in sorted(snapshot.open_tickets.items()):
            tickets.add_metric([severity], count)
        yield tickets


_DATABASE = _DatabaseGauges()
REGISTRY.register(_DATABASE)


def routes(sessions: async_sessionmaker[AsyncSession], clock: Clock) -> list[web.RouteDef]:
    """`GET /metrics` in Prometheus' text format, the database's counts read as it is scraped."""
    async def scrape(_request: web.Request) -> web.Response:
        try:
            async with asyncio.timeout(SCRAPE_QUERY_SECONDS), sessions() as session:
                snapshot: repo.Snapshot | None = await repo.snapshot(session, now=clock.now())
        except Exception as exc:  # an outage shows as supportbot_database_up 0, the rest still answers
            log.debug("metrics: the database did not answer (%s)", type(exc).__name__)
            snapshot = None
        # Set and read with no await between: two bots in one test process cannot mix their snapshots.
        _DATABASE.snapshot, _DATABASE.up = snapshot, snapshot is not None
        body = generate_latest(REGISTRY)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})

    return [web.get("/metrics", scrape)]

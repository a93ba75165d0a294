"""The app factory: wires configuration, storage, Slack, the services and the listeners together."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.directory import Directory
from bot.incidents import STATUS_REMINDER, STEP_RETRY, IncidentService
from bot.integrations.pagerduty import PagerDuty
from bot.integrations.statuspage import BuiltinStatusPage, Statuspage, StatusPublisher
from bot.paging import SEV2_PAGE_RETRY, Sev2Pager
from bot.scheduler import BackgroundWork, TimerService
from bot.status_site import StatusSite
from bot.status_updates import PAGE_RESOLVE_RETRY, PUBLISH_RETRY, StatusCadence
from bot.tickets import BREACH, WARNING, TicketService
from bot.web import SlackEndpoint, build_web_app
from handlers import errors as error_handlers
from handlers import home, incidents, tickets
from handlers.errors import IN_FLIGHT
from storage.db import create_engine, create_sessionmaker, is_sqlite
from storage.migrate import upgrade_to_head

log = logging.getLogger(__name__)


def slack_client(settings: Settings, session: aiohttp.ClientSession | None = None) -> AsyncWebClient:
    # One HTTP session for every Web API call: without it slack_sdk opens and closes a connection per call.
    return AsyncWebClient(
        token=settings.env.slack_bot_token, base_url=settings.env.slack_api_url, session=session,
        # Slack's `ratelimited` is waited out (Retry-After) rather than shown to anyone.
        retry_handlers=[AsyncConnectionErrorRetryHandler(max_retry_count=2),
                        AsyncRateLimitErrorRetryHandler(max_retry_count=5)],
    )


class SupportBot:
    """One running bot: build with `create()`, serve with `start()`, end with `stop()`."""

    def __init__(self, settings: Settings, *, clock: Clock, engine: AsyncEngine,
                 http: aiohttp.ClientSession | None = None) -> None:
        self.settings = settings
        self.clock = clock
        self.engine = engine
        self.sessions = create_sessionmaker(engine)
        self._http = http
        self._in_flight: set[asyncio.Task[Any]] = set()
        self.slack = slack_client(settings, http)
        self.directory = Directory(self.slack)
        self.tickets = TicketService(config=settings.config, sessions=self.sessions, slack=self.slack,
                                     directory=self.directory, clock=clock)
        env = settings.env
        pagerduty = PagerDuty(routing_key=env.pagerduty_routing_key, events_url=env.pagerduty_events_url) \
            if env.pagerduty_routing_key else None
        self.background = BackgroundWork()
        self.incidents = IncidentService(config=settings.config, sessions=self.sessions, slack=self.slack,
                                         directory=self.directory, clock=clock, tickets=self.tickets,
                                         pagerduty=pagerduty, status_page=self._status_page(),
                                         background=self.background)
        self.tickets.incidents = self.incidents
        self.pager = Sev2Pager(config=settings.config, sessions=self.sessions, slack=self.slack, clock=clock,
                               pagerduty=pagerduty, background=self.background)
        self.tickets.pager = self.pager
        self.cadence = StatusCadence(config=settings.config, sessions=self.sessions, slack=self.slack,
                                     directory=self.directory, clock=clock, incidents=self.incidents,
                                     tickets=self.tickets)
        self.status_site = StatusSite(sessions=self.sessions, clock=clock)
        self.timers = TimerService(sessions=self.sessions, clock=clock, tick=settings.config.scheduler_tick,
                                   background=self.background)
        self.timers.on(WARNING, self.tickets.fire_first_response_timer)
        self.timers.on(BREACH, self.tickets.fire_first_response_timer)
        self.timers.on(STEP_RETRY, self.incidents.fire_step_retry)
        self.timers.on(SEV2_PAGE_RETRY, self.pager.fire_retry)
        self.timers.on(STATUS_REMINDER, self.cadence.fire_reminder)
        self.timers.on(PUBLISH_RETRY, self.cadence.fire_publish_retry)
        self.timers.on(PAGE_RESOLVE_RETRY, self.cadence.fire_resolve_retry)
        self.bolt = self._build_bolt()
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    @classmethod
    async def create(cls, settings: Settings, *, clock: Clock | None = None, migrate: bool | None = None) -> SupportBot:
        settings.env.require_slack_credentials()
        engine = create_engine(settings.env.database_url)
        # SQLite is embedded, so the bot keeps its own schema current; PostgreSQL is migrated by an operator.
        if migrate if migrate is not None else is_sqlite(settings.env.database_url):
            await upgrade_to_head(engine)
        return cls(settings, clock=clock or SystemClock(), engine=engine, http=aiohttp.ClientSession())

    def _status_page(self) -> StatusPublisher:
        env = self.settings.env
        if env.statuspage_api_key and env.statuspage_page_id:
            return Statuspage(api_url=env.statuspage_api_url, api_key=env.statuspage_api_key,
                              page_id=env.statuspage_page_id)
        return BuiltinStatusPage(sessions=self.sessions, clock=self.clock, public_url=env.public_url)

    def services(self) -> dict[str, Any]:
        return {"tickets": self.tickets, "incidents": self.incidents, "cadence": self.cadence, "clock": self.clock,
                IN_FLIGHT: self._in_flight}

    def _build_bolt(self) -> AsyncApp:
        app = AsyncApp(client=self.slack, signing_secret=self.settings.env.slack_signing_secret or "unused",
                       request_verification_enabled=False,
                       process_before_response=False)
        if self.settings.env.slack_app_token:
            # Socket Mode requests do not pass through SlackEndpoint, which hands HTTP requests their services.
            services = self.services()

            async def provide_services(context: dict[str, Any], next: Callable[[], Awaitable[None]]) -> None:
                context.update(services)
                await next()

            app.use(provide_services)
        app.error(error_handlers.show_error)
        for surface in (tickets, home, incidents):
            surface.register(app)
        return app

    async def connect_socket_mode(self) -> Any:
        """Connects to Slack over Socket Mode (SLACK_APP_TOKEN); returns the handler, for `close_async()`."""
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        handler = AsyncSocketModeHandler(self.bolt, self.settings.env.slack_app_token)
        await handler.connect_async()  # type: ignore[no-untyped-call]
        return handler

    async def healthy(self) -> bool:
        try:
            async with self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    def web_app(self) -> web.Application:
        endpoint = SlackEndpoint(self.bolt, signing_secret=self.settings.env.slack_signing_secret or "",
                                 services=self.services())
        return build_web_app(endpoint, healthy=self.healthy, extra_routes=self.status_site.routes())

    async def start(self, *, host: str = "0.0.0.0", port: int | None = None, scheduler: bool = True) -> int:
        self._runner = web.AppRunner(self.web_app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, self.settings.env.port if port is None else port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])  # the real port when asked for port 0
        if scheduler:
            self.timers.start()
        # Everything built so far lives as long as the process: keep the collector from rescanning it
        # during a burst of requests.
        gc.freeze()
        log.info("supportbot listening on %s:%s", host, self.port)
        return int(self.port or 0)

    async def stop(self) -> None:
        """Stops taking requests, lets work already acknowledged finish (5 s at most), then closes."""
        self.timers.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._in_flight:
            await asyncio.wait(list(self._in_flight), timeout=5)
        await self.tickets.drain()
        await self.background.settle(timeout=5)
        if self.incidents.pagerduty is not None:
            self.incidents.pagerduty.close()
        if isinstance(self.incidents.status_page, Statuspage):
            await self.incidents.status_page.close()
        if self._http is not None:
            await self._http.close()
            self._http = None
        await self.engine.dispose()

"""The composition root: configuration, storage, Slack, the workflows, their timers and the listeners,
built once, leaf-first. The only module that imports `handlers`."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.closure.service import ClosureService
from bot.closure.timers import ClosureTimers
from bot.core import metrics
from bot.core.clock import Clock, SystemClock
from bot.core.config import Settings
from bot.core.log_policy import keep_payloads_out_of_logs
from bot.core.once import EffectRecovery, OneTimeSteps
from bot.core.scheduler import BackgroundWork, TimerService, claim_lease
from bot.core.slack import Directory, slack_client
from bot.core.slack_lookup import SlackLookup
from bot.core.web import SlackEndpoint, build_web_app
from bot.customers.helpscout import HelpScoutSidebar
from bot.customers.service import CustomerService
from bot.escalation.delivery import EscalationDelivery
from bot.escalation.jira_sync import JiraSync
from bot.escalation.ladder import AcknowledgementLadder
from bot.escalation.page import TeamPagers
from bot.escalation.relay import ThreadRelay
from bot.escalation.service import EscalationService
from bot.escalation.timers import EscalationTimers
from bot.incidents.channel import IncidentChannel
from bot.incidents.service import IncidentService
from bot.incidents.status_page_sync import StatusPageSync
from bot.incidents.status_site import StatusSite
from bot.incidents.status_updates import StatusCadence
from bot.incidents.steps import OpeningSteps
from bot.incidents.timers import IncidentTimers
from bot.integrations.customer_connection import CustomerConnection
from bot.integrations.jira import Jira
from bot.integrations.pagerduty import PagerDuty
from bot.integrations.statuspage import BuiltinStatusPage, SharedPace, Statuspage, StatusPublisher
from bot.paging.service import Sev2Pager
from bot.paging.timers import PagingTimers
from bot.runbook.service import RunbookService
from bot.ticket_card.service import TicketCard
from bot.tickets.announce import Announcer
from bot.tickets.from_message import MessageTickets, SourceThread
from bot.tickets.service import TicketService
from bot.tickets.timers import FirstResponseTimers
from bot.trends.service import ReportService
from bot.trends.spikes import SpikeWatch
from bot.webhooks.delivery import WebhookDelivery
from handlers import closure as closure_handlers
from handlers import customers, escalation, home, incidents, message_tickets, tickets
from handlers import errors as error_handlers
from handlers import helpscout as helpscout_sidebar
from handlers import jira as jira_webhook
from handlers import runbook as runbook_handlers
from handlers import trends as trends_handlers
from handlers.errors import IN_FLIGHT
from storage.db import create_engine, create_sessionmaker, is_sqlite, refusal_reason
from storage.migrate import upgrade_to_head
from storage.repositories import health

log = logging.getLogger(__name__)

# A deploy's SIGTERM ends the process within 10 s: 3 s for HTTP requests in flight, the rest shared by
# acknowledged work and outside calls; what is still running a second before the end is cancelled (what came
# back is recorded, the rest is taken up by the next process when its lease ends), then the database closes.
STOP_HTTP_SECONDS = 3.0
STOP_SECONDS = 8.0
STOP_UNWIND_SECONDS = 1.0


@dataclass(frozen=True)
class EscalationParts:
    """The escalation workflow's parts, built together."""

    pagers: TeamPagers
    jira: Jira | None
    delivery: EscalationDelivery
    ladder: AcknowledgementLadder
    service: EscalationService
    jira_sync: JiraSync


def build_escalation(settings: Settings, *, sessions: async_sessionmaker[AsyncSession], slack: AsyncWebClient,
                     clock: Clock, once: OneTimeSteps, lookup: SlackLookup, card: TicketCard,
                     directory: Directory) -> EscalationParts:
    """Team pagers, Jira, delivery, the ladder, the service and Jira's webhook, leaf-first."""
    env, config = settings.env, settings.config
    pagers = TeamPagers(routing_keys={t.name: env.routing_key_for(t.name) for t in config.teams},
                        events_url=env.pagerduty_events_url)
    jira = Jira(base_url=env.jira_base_url, email=env.jira_email or "", api_token=env.jira_api_token or "") \
        if env.jira_base_url else None
    delivery = EscalationDelivery(config=config, sessions=sessions, slack=slack, clock=clock, once=once,
                                  lookup=lookup, card=card, pagers=pagers, jira=jira)
    ladder = AcknowledgementLadder(config=config, clock=clock, once=once)
    service = EscalationService(config=config, sessions=sessions, directory=directory, clock=clock, card=card,
                                delivery=delivery, ladder=ladder, pagers=pagers)
    jira_sync = JiraSync(config=config, secret=env.jira_webhook_secret, sessions=sessions, slack=slack, once=once,
                         escalations=service, delivery=delivery)
    return EscalationParts(pagers, jira, delivery, ladder, service, jira_sync)


def status_page_for(settings: Settings, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> StatusPublisher:
    """Atlassian Statuspage when its key and page are set, else the built-in page."""
    env = settings.env
    if env.statuspage_api_key and env.statuspage_page_id:
        # The pace lives in the database, so replicas sharing one key keep to its rate together.
        return Statuspage(api_url=env.statuspage_api_url, api_key=env.statuspage_api_key,
                          page_id=env.statuspage_page_id, pacer=SharedPace(sessions))
    return BuiltinStatusPage(sessions=sessions, clock=clock, public_url=env.public_url)


async def connect_socket_mode(bolt: AsyncApp, app_token: str | None) -> Any:
    """Connects the Bolt app to Slack over Socket Mode; the handler, for `close_async()`."""
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    handler = AsyncSocketModeHandler(bolt, app_token)
    await handler.connect_async()  # type: ignore[no-untyped-call]
    return handler


async def database_problem(sessions: async_sessionmaker[AsyncSession], clock: Clock) -> str | None:
    """None while the database takes a write; otherwise what is wrong, in words ("disk full")."""
    try:
        async with sessions.begin() as session:
            await health.record_heartbeat(session, now=clock.now())
        return None
    except Exception as exc:  # any failure means unhealthy; the reason is said, never raised
        return refusal_reason(exc) or f"the database did not answer ({type(exc).__name__})"


class SupportBot:
    """The composition root: builds every part leaf-first, once. Build with `create()`, serve with `start()`,
    end with `stop()`."""

    def __init__(self, settings: Settings, *, clock: Clock, engine: AsyncEngine,
                 http: aiohttp.ClientSession | None = None) -> None:
        env, config = settings.env, settings.config
        keep_payloads_out_of_logs()
        self.settings = settings
        self.clock = clock
        self.engine = engine
        self.sessions = sessions = create_sessionmaker(engine)
        self._http = http
        self._in_flight: set[asyncio.Task[Any]] = set()
        self.slack = slack = slack_client(token=env.slack_bot_token, base_url=env.slack_api_url, session=http)
        directory = Directory(slack)
        self.background = background = BackgroundWork()
        self.pagerduty = pagerduty = PagerDuty(routing_key=env.pagerduty_routing_key,
                                               events_url=env.pagerduty_events_url) \
            if env.pagerduty_routing_key else None
        self.status_page = status_page = status_page_for(settings, sessions, clock)

        once = OneTimeSteps(sessions=sessions, clock=clock, lease=config.scheduler_lease)
        lookup = SlackLookup(slack)
        card = TicketCard(config=config, sessions=sessions, slack=slack, clock=clock, once=once, lookup=lookup)
        pager = Sev2Pager(config=config, sessions=sessions, clock=clock, pagerduty=pagerduty, card=card, once=once)
        channel = IncidentChannel(config=config, sessions=sessions, slack=slack, directory=directory, clock=clock,
                                  card=card, once=once, lookup=lookup)
        steps = OpeningSteps(config=config, sessions=sessions, slack=slack, pagerduty=pagerduty,
                             status_page=status_page, lookup=lookup)
        self.incidents = IncidentService(config=config, sessions=sessions, clock=clock, card=card, channel=channel,
                                         steps=steps)
        sync = StatusPageSync(sessions=sessions, clock=clock, channel=channel, status_page=status_page,
                              pagerduty=pagerduty)
        self.cadence = StatusCadence(config=config, sessions=sessions, directory=directory, clock=clock,
                                     incidents=self.incidents, channel=channel, card=card, sync=sync)
        self.customer_connection = CustomerConnection(
            url=env.customer_connection_url, secret=env.customer_connection_secret or "",
            timeout=config.customer_connection.timeout.total_seconds()) if env.customer_connection_url else None
        self.customers = CustomerService(config=config, connection=self.customer_connection, directory=directory,
                                         clock=clock, sessions=sessions, slack=slack, card=card, once=once)
        announcer = Announcer(config=config, clock=clock, card=card, pager=pager, incidents=self.incidents, once=once,
                              source=SourceThread(slack=slack, once=once, lookup=lookup))
        self.message_tickets = MessageTickets(config=config, sessions=sessions, slack=slack, directory=directory,
                                              once=once)
        self.tickets = TicketService(config=config, sessions=sessions, directory=directory, clock=clock, card=card,
                                     incidents=self.incidents, pager=pager, announcer=announcer,
                                     customers=self.customers)
        self.status_site = StatusSite(sessions=sessions, clock=clock)
        self.runbook = RunbookService(sessions=sessions, clock=clock, directory=directory,
                                      agents_group=config.slack.support_agents)
        self.closure = ClosureService(config=config, sessions=sessions, directory=directory, clock=clock, card=card)
        self.closure.runbook = self.runbook.add_entry  # a novel path at closure becomes a runbook entry
        escalation = build_escalation(settings, sessions=sessions, slack=slack, clock=clock, once=once,
                                      lookup=lookup, card=card, directory=directory)
        self.team_pagers, self.jira, self.escalations = escalation.pagers, escalation.jira, escalation.service
        self.jira_sync, delivery, ladder = escalation.jira_sync, escalation.delivery, escalation.ladder
        self.relay = ThreadRelay(sessions=sessions, slack=slack, once=once)
        self.helpscout = HelpScoutSidebar(secret=env.helpscout_secret, customers=self.customers)

        self.timers = TimerService(sessions=sessions, clock=clock, tick=config.scheduler_tick, background=background,
                                   lease=claim_lease(config.scheduler_tick, config.scheduler_lease),
                                   keep_history=config.scheduler_keep_history)
        first_response = FirstResponseTimers(config=config, clock=clock, card=card, once=once, background=background)
        first_response.register(self.timers)
        PagingTimers(pager=pager, background=background).register(self.timers)
        IncidentTimers(incidents=self.incidents, cadence=self.cadence, sync=sync,
                       background=background).register(self.timers)
        EscalationTimers(ladder=ladder, delivery=delivery, card=card, background=background).register(self.timers)
        ClosureTimers(closure=self.closure, background=background).register(self.timers)
        # One-time effects a stopped process left (the card, its notes, the SEV2 page, the kickoff): at every tick.
        recovery = EffectRecovery(sessions=sessions, clock=clock, background=background)
        recovery.on("ticket", announcer.resume)
        recovery.on("ticket", first_response.resume)
        recovery.on("incident", channel.resume_kickoff)
        recovery.on("escalation", delivery.resume)
        recovery.on("ticket", self.escalations.resume_note)
        self.timers.sweep(recovery.sweep)
        # Trends: the monthly report, and a spike check at every tick (each spike alerted once, via `once`).
        self.reports = ReportService(config=config, sessions=sessions, slack=slack, directory=directory, clock=clock)
        self.spikes = SpikeWatch(config=config, sessions=sessions, slack=slack, clock=clock, once=once)
        self.timers.sweep(self.spikes.check)
        # Activity webhooks: every audit event from here on is queued in its own transaction; each tick sends.
        self.webhooks = WebhookDelivery.from_settings(settings, sessions=sessions, clock=clock, background=background)
        self.timers.sweep(self.webhooks.sweep)
        self.bolt = self._build_bolt()
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    @classmethod
    async def create(cls, settings: Settings, *, clock: Clock | None = None, migrate: bool | None = None) -> SupportBot:
        """Builds the bot from settings, migrating SQLite first; raises ConfigError without Slack credentials."""
        settings.env.require_slack_credentials()
        config = settings.config
        engine = create_engine(settings.env.database_url,
                               idle_in_transaction=claim_lease(config.scheduler_tick, config.scheduler_lease))
        # SQLite is embedded, so the bot keeps its own schema current; PostgreSQL is migrated by an operator.
        if migrate if migrate is not None else is_sqlite(settings.env.database_url):
            await upgrade_to_head(engine)
        return cls(settings, clock=clock or SystemClock(), engine=engine,
                   http=aiohttp.ClientSession(trace_configs=[metrics.slack_calls_trace()]))

    def services(self) -> dict[str, Any]:
        """What listeners receive by name in Bolt's context."""
        return {"tickets": self.tickets, "incidents": self.incidents, "cadence": self.cadence, "clock": self.clock,
                "escalations": self.escalations, "relay": self.relay, "customers": self.customers,
                "closure": self.closure,
                "runbook": self.runbook,
                "reports": self.reports,
                "message_tickets": self.message_tickets, IN_FLIGHT: self._in_flight}

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
        for surface in (tickets, home, incidents, escalation, customers, closure_handlers):
            surface.register(app)
        message_tickets.register(app)
        trends_handlers.register(app)
        runbook_handlers.register(app)
        return app

    async def connect_socket_mode(self) -> Any:
        """Connects to Slack over Socket Mode (SLACK_APP_TOKEN); returns the handler, for `close_async()`."""
        return await connect_socket_mode(self.bolt, self.settings.env.slack_app_token)

    async def health_problem(self) -> str | None:
        """None while the database takes a write; otherwise what is wrong, in words ("disk full")."""
        return await database_problem(self.sessions, self.clock)

    def web_app(self) -> web.Application:
        """The HTTP app: signed Slack events, the health check and the built-in status page."""
        endpoint = SlackEndpoint(self.bolt, signing_secret=self.settings.env.slack_signing_secret or "",
                                 services=self.services())
        return build_web_app(endpoint, health_problem=self.health_problem,
                             extra_routes=[*self.status_site.routes(), *jira_webhook.routes(self.jira_sync),
                                           *helpscout_sidebar.routes(self.helpscout),
                                           *metrics.routes(self.sessions, self.clock)])

    async def start(self, *, host: str = "0.0.0.0", port: int | None = None, scheduler: bool = True) -> int:
        """Serves HTTP and, unless told not to, starts firing due timers; returns the port it listens on."""
        # A client holding a connection open must not hold up a deploy: requests in flight get 3 s.
        self._runner = web.AppRunner(self.web_app(), access_log=None, shutdown_timeout=STOP_HTTP_SECONDS)
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
        """Stops taking requests, gives work already acknowledged and its outside calls until shortly before
        STOP_SECONDS, cancels what is left (recording what came back), then closes."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STOP_SECONDS

        def left(margin: float = 0.0) -> float:
            return max(deadline - margin - loop.time(), 0.1)

        await self.timers.stop_and_wait(timeout=1.0)  # no new tick, no recovery started from here on
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._in_flight:
            await asyncio.wait(list(self._in_flight), timeout=left(STOP_UNWIND_SECONDS))
        await self.tickets.drain(timeout=left(STOP_UNWIND_SECONDS))
        await self.background.settle(timeout=left(STOP_UNWIND_SECONDS))
        await self._cancel_unfinished(timeout=left())
        if self.pagerduty is not None:
            self.pagerduty.close()
        self.team_pagers.close()
        if self.jira is not None:
            await self.jira.close()
        if self.customer_connection is not None:
            await self.customer_connection.close()
        await self.webhooks.close()
        if isinstance(self.status_page, Statuspage):
            await self.status_page.close()
        if self._http is not None:
            await self._http.close()
            self._http = None
        await self.engine.dispose()

    async def _cancel_unfinished(self, *, timeout: float) -> None:  # noqa: ASYNC109
        listeners = [task for task in self._in_flight if not task.done()]
        for task in listeners:
            task.cancel()
        if listeners:
            log.warning("stopping: %d acknowledged request(s) still at work, cancelled; the rest is taken up "
                        "again after their lease", len(listeners))
            await asyncio.wait(listeners, timeout=timeout)
        await self.tickets.cancel_unfinished(timeout=timeout)
        await self.background.cancel(timeout=timeout)

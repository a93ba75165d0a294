"""The App Home tab: the agent's open tickets, and the escalations waiting on an on-call engineer's teams."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from blocks.ticket_card import home_view
from bot.core.clock import Clock
from bot.escalation.service import EscalationService
from bot.tickets.service import TicketService
from handlers.errors import guarded


def register(app: AsyncApp) -> None:
    """Answers Slack's `app_home_opened` event with the agent's App Home."""
    app.event("app_home_opened")(guarded(publish_home))


async def publish_home(event: dict[str, Any], client: AsyncWebClient, tickets: TicketService,
                       escalations: EscalationService, clock: Clock) -> None:
    """`app_home_opened`: the agent's open tickets with first-response countdowns and, for an on-call engineer,
    the escalations waiting on their teams."""
    if event.get("tab", "home") != "home":
        return
    open_tickets = await tickets.open_tickets(event["user"])
    waiting = await escalations.waiting_for(event["user"])
    await client.views_publish(user_id=event["user"], view=home_view(open_tickets, now=clock.now(), waiting=waiting))

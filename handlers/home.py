"""The App Home tab: the agent's open tickets with their first-response countdowns."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from blocks.ticket_card import home_view
from bot.core.clock import Clock
from bot.tickets.service import TicketService
from handlers.errors import guarded


def register(app: AsyncApp) -> None:
    """Answers Slack's `app_home_opened` event with the agent's App Home."""
    app.event("app_home_opened")(guarded(publish_home))


async def publish_home(event: dict[str, Any], client: AsyncWebClient, tickets: TicketService, clock: Clock) -> None:
    """`app_home_opened`: publishes the agent's open tickets with first-response countdowns on the Home tab."""
    if event.get("tab", "home") != "home":
        return
    open_tickets = await tickets.open_tickets(event["user"])
    await client.views_publish(user_id=event["user"], view=home_view(open_tickets, now=clock.now()))

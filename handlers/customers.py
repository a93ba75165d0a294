"""`/customer`, the ticket card's "Customer" button, "Try again" and the customer card's support actions."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from blocks.customer import customer_usage
from blocks.ids import Action, Command, TicketField
from bot.customers.service import CustomerService
from handlers.errors import guarded


def register(app: AsyncApp) -> None:
    """Attaches the customer card's command and buttons to the Bolt app."""
    app.command(Command.CUSTOMER.value)(guarded(customer_command))
    app.action(Action.CUSTOMER_SHOW.value)(guarded(show_customer))
    app.action(Action.CUSTOMER_RETRY.value)(guarded(try_again))
    app.action(Action.CUSTOMER_ACTION.value)(guarded(run_action))
    app.action(TicketField.WORKSPACE_ID.value)(guarded(workspace_entered))


async def workspace_entered(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient,
                            customers: CustomerService) -> None:
    """Enter in the intake modal's workspace ID: the open modal gains the live customer, nothing typed is lost.
    The hash makes an update that raced a newer one fail rather than overwrite it."""
    await ack()
    view = body["view"]
    updated = await customers.intake_view(view)
    if updated is None:
        return
    try:
        await client.views_update(view_id=view["id"], hash=view["hash"], view=updated)
    except SlackApiError as exc:
        if exc.response.get("error") not in ("hash_conflict", "not_found"):  # a newer view, or closed: fine
            raise


async def customer_command(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond,
                           customers: CustomerService) -> None:
    """`/customer <workspace ID or email>`: the live card, only for the agent who asked."""
    who = command.get("text", "").strip()
    if refusal := await customers.refusal_for(command["user_id"]):
        await ack(refusal)
        return
    if not who:
        await ack(customer_usage())
        return
    await ack()
    found = await customers.look_up(who, why="lookup")
    await respond(text=f"Customer {who}", blocks=customers.card_blocks(found), response_type="ephemeral")


async def show_customer(ack: AsyncAck, action: dict[str, Any], customers: CustomerService) -> None:
    """"Customer" on the ticket card: the live card in the card's thread, fetched at that moment."""
    await ack()
    await customers.show_for_ticket(int(action["value"]))


async def try_again(ack: AsyncAck, action: dict[str, Any], respond: AsyncRespond,
                    customers: CustomerService) -> None:
    """"Try again" on an unavailable card: asks the endpoint again and replaces the card."""
    await ack()
    found = await customers.look_up(action["value"], why="lookup")
    await respond(text=f"Customer {action['value']}", blocks=customers.card_blocks(found), replace_original=True)


async def run_action(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                     customers: CustomerService) -> None:
    """A support action's button (after Slack's confirmation dialog): runs it once at the endpoint."""
    await ack()
    chosen = json.loads(action["value"])
    container, message = body.get("container") or {}, body.get("message") or {}
    await customers.run_action(workspace_id=str(chosen["w"]), action=str(chosen["a"]),
                               title=action.get("text", {}).get("text", chosen["a"]), user_id=body["user"]["id"],
                               channel=(body.get("channel") or {}).get("id"),
                               thread_ts=message.get("thread_ts") or container.get("thread_ts"),
                               card_ts=str(container.get("message_ts") or message.get("ts")))

""""Escalate to engineering", the escalation modal, "Acknowledge", "Hand back", and the thread relay."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from blocks.escalation import escalation_modal
from blocks.ids import Action, Callback, EscalationField
from bot.core.views import view_metadata
from bot.escalation.relay import ThreadRelay
from bot.escalation.service import EscalationRefused, EscalationService
from handlers.errors import guarded, refused_inline


def register(app: AsyncApp) -> None:
    """Attaches the escalation button, modal, the post's buttons and the message relay to the Bolt app."""
    app.action(Action.ESCALATE.value)(guarded(open_escalation_modal))
    app.view(Callback.ESCALATION_SUBMIT.value)(guarded(escalate))
    app.action(Action.ACKNOWLEDGE.value)(guarded(acknowledge))
    app.action(Action.HAND_BACK.value)(guarded(hand_back))
    app.event("message")(guarded(relay_reply))


async def open_escalation_modal(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                                client: AsyncWebClient, escalations: EscalationService) -> None:
    """"Escalate to engineering": opens the hand-off modal, prefilled from the ticket, for a support agent."""
    await ack()
    await escalations.require_agent(body["user"]["id"])
    choices = await escalations.choices(int(action["value"]))
    await client.views_open(trigger_id=body["trigger_id"], view=escalation_modal(
        choices.ticket, components=choices.components, teams=choices.teams,
        channel_id=(body.get("channel") or {}).get("id")))


async def escalate(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any],
                   escalations: EscalationService) -> None:
    """Escalation modal submission: inline errors for an incomplete hand-off, or one round, then delivery."""
    user = body["user"]["id"]
    if await refused_inline(ack, EscalationField.CUSTOMER_IMPACT.value, escalations.require_agent(user)):
        return
    form = escalations.parse(view)
    if form.errors:
        await ack(response_action="errors", errors=dict(form.errors))
        return
    try:
        escalation = await escalations.escalate(int(view_metadata(view)["ticket"]), form, by=user,
                                                submission_key=view["id"])
    except EscalationRefused as refusal:
        await ack(response_action="errors", errors={refusal.field.value: refusal.user_message})
        return
    await ack()
    await escalations.deliver(escalation)


async def acknowledge(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                      escalations: EscalationService) -> None:
    """"Acknowledge" on the escalation post: the on-call engineer (or manager) takes it; anyone else is told."""
    await ack()
    await escalations.acknowledge(int(action["value"]), by=body["user"]["id"])


async def hand_back(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                    escalations: EscalationService) -> None:
    """"Hand back to support": the round is done on engineering's side; support may escalate again."""
    await ack()
    await escalations.hand_back(int(action["value"]), by=body["user"]["id"])


async def relay_reply(event: dict[str, Any], relay: ThreadRelay) -> None:
    """A message event: a reply under an escalation post or an escalated card crosses to the other thread."""
    await relay.relay(event)

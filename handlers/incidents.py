"""The incident channel: `/incident-status`, "Take command", "Post status update", Retry and Give up on a step."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from blocks.ids import Action, Callback, Command, StatusField
from blocks.incident import status_modal
from blocks.refusals import CommanderAction, incident_channel_only
from bot.core.errors import UnknownTicket
from bot.core.views import state_value, text_value, view_metadata
from bot.domain import IncidentStatus, IncidentStep
from bot.incidents.service import IncidentService
from bot.incidents.status_updates import StatusCadence, StatusDraft
from handlers.errors import guarded, refused_inline


def register(app: AsyncApp) -> None:
    """Attaches the incident channel's command, buttons and status modal to the Bolt app."""
    app.command(Command.INCIDENT_STATUS.value)(guarded(status_command))
    app.action(Action.POST_STATUS.value)(guarded(open_status_modal))
    app.view(Callback.STATUS_SUBMIT.value)(guarded(publish_status))
    app.action(Action.TAKE_COMMAND.value)(guarded(take_command))
    app.action(Action.RETRY_STEP.value)(guarded(retry_step))
    app.action(Action.GIVE_UP_STEP.value)(guarded(give_up_step))


async def status_command(ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient,
                         incidents: IncidentService, cadence: StatusCadence) -> None:
    """`/incident-status`: opens the status update modal for the commander; elsewhere, says where it works."""
    incident = await incidents.in_channel(command["channel_id"])
    if incident is None:
        await ack(incident_channel_only(Command.INCIDENT_STATUS.value))
        return
    await ack()
    await cadence.require_commander(incident, command["user_id"], CommanderAction.POST_STATUS)
    await client.views_open(trigger_id=command["trigger_id"],
                            view=status_modal(incident, channel_id=command["channel_id"]))


async def open_status_modal(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient,
                            incidents: IncidentService, cadence: StatusCadence) -> None:
    """"Post status update" button: opens the status update modal for the commander or an incident commander."""
    await ack()
    incident = await incidents.get(int(action["value"]))
    await cadence.require_commander(incident, body["user"]["id"], CommanderAction.POST_STATUS)
    await client.views_open(trigger_id=body["trigger_id"],
                            view=status_modal(incident, channel_id=(body.get("channel") or {}).get("id")))


async def publish_status(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], incidents: IncidentService,
                         cadence: StatusCadence) -> None:
    """Status modal submission: inline errors (not a commander, leaks, backwards without reason), or publishes."""
    incident_id = int(view_metadata(view)["incident"])
    incident = await incidents.get(incident_id)
    if await refused_inline(ack, StatusField.MESSAGE.value,
                            cadence.require_commander(incident, body["user"]["id"], CommanderAction.POST_STATUS)):
        return
    status = state_value(view, StatusField.STATUS.value)
    draft = StatusDraft(status=IncidentStatus(status) if status in IncidentStatus._value2member_map_ else None,
                        message=text_value(view, StatusField.MESSAGE.value),
                        reason=text_value(view, StatusField.REASON.value) or None)
    errors = await cadence.check(incident_id, draft)
    if errors:
        await ack(response_action="errors", errors=errors)
        return
    recorded = await cadence.record(incident_id, draft, by=body["user"]["id"], submission_key=view["id"])
    await ack()
    await cadence.announce(recorded)


async def take_command(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], incidents: IncidentService,
                       cadence: StatusCadence) -> None:
    """"Take command" button: makes an incident commander the incident's commander, said in the channel."""
    await ack()
    incident = await incidents.get(int(action["value"]))
    await cadence.require_commander(incident, body["user"]["id"], CommanderAction.TAKE_COMMAND)
    await cadence.take_command(incident.id, body["user"]["id"])


def _step(action: dict[str, Any]) -> tuple[int, IncidentStep]:
    incident_id, _, step = str(action["value"]).partition(":")
    if step not in IncidentStep._value2member_map_:
        raise UnknownTicket(f"Unknown incident step {step!r}.")
    return int(incident_id), IncidentStep(step)


async def retry_step(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], incidents: IncidentService) -> None:
    """"Retry" button on a failed step: runs the paging, channel or status page step again."""
    await ack()
    incident_id, step = _step(action)
    await incidents.retry_step(incident_id, step)


async def give_up_step(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], incidents: IncidentService,
                       cadence: StatusCadence) -> None:
    """"Give up" button on a failed step: for the commander only; the bot stops retrying that step."""
    await ack()
    incident_id, step = _step(action)
    await cadence.require_commander(await incidents.get(incident_id), body["user"]["id"], CommanderAction.GIVE_UP)
    await incidents.give_up(incident_id, step, by=body["user"]["id"])

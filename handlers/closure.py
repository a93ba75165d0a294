""""Resolve", the resolve modal, and the closure checklist's buttons and modals."""

from __future__ import annotations

import json
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from blocks import closure as views
from blocks.ids import Action, Callback, ClosureField
from bot.closure.service import ClosureRefused, ClosureService, Resolution
from bot.core.views import is_slack_user, moment, state_value, view_metadata
from bot.domain import Category, ClosureItem
from bot.tickets.intake import FieldReader
from handlers.errors import guarded, refused_inline

C = ClosureField


def register(app: AsyncApp) -> None:
    """Attaches Resolve, the checklist's buttons and their modals to the Bolt app."""
    app.action(Action.RESOLVE.value)(guarded(open_resolve_modal))
    app.view(Callback.RESOLVE_SUBMIT.value)(guarded(resolve))
    app.action(re.compile(rf"^{Action.CLOSURE_ITEM.value}_"))(guarded(checklist_item))
    app.view(Callback.CSM_CALL_SUBMIT.value)(guarded(csm_call))
    app.view(Callback.SUMMARY_SUBMIT.value)(guarded(incident_summary))
    app.view(Callback.RUNBOOK_ENTRY_SUBMIT.value)(guarded(runbook_entry))
    app.action(Action.FIX_DEPLOYED.value)(guarded(open_fix_modal))
    app.view(Callback.FIX_DEPLOYED_SUBMIT.value)(guarded(fix_deployed))


async def open_fix_modal(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient,
                         closure: ClosureService) -> None:
    """"Fix deployed" on the card: the release tag and the production confirmation."""
    await ack()
    await closure.require_agent(body["user"]["id"])
    await client.views_open(trigger_id=body["trigger_id"],
                            view=views.fix_deployed_modal(await closure.ticket(int(action["value"]))))


async def fix_deployed(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], closure: ClosureService) -> None:
    """Fix modal submission: production must be confirmed; then the reply is drafted under the card."""
    user = body["user"]["id"]
    if await refused_inline(ack, C.IN_PRODUCTION.value, closure.require_agent(user)):
        return
    reader = FieldReader(view, views.LIMITS)
    tag = reader.checked(C.RELEASE_TAG.value)
    if not _ticked(view, C.IN_PRODUCTION):
        reader.errors[C.IN_PRODUCTION.value] = views.not_in_production()
    picked = state_value(view, C.VISIBLE_AT.value)
    if picked is not None and moment(picked) is None:
        reader.errors[C.VISIBLE_AT.value] = views.PICK_A_TIME
    if reader.errors:
        await ack(response_action="errors", errors=reader.errors)
        return
    await ack()
    await closure.fix_deployed(_ticket(view), by=user, tag=tag or None, visible_at=moment(picked))


async def open_resolve_modal(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient,
                             closure: ClosureService) -> None:
    """"Resolve" on the card: the resolve modal, its Jira and Sentry IDs prefilled from the escalation."""
    await ack()
    await closure.require_agent(body["user"]["id"])
    ticket = await closure.ticket(int(action["value"]))
    escalated, jira, sentry = await closure.escalation_ids(ticket.number)
    await client.views_open(trigger_id=body["trigger_id"], view=views.resolve_modal(
        ticket, escalated=escalated, jira_key=jira, sentry_id=sentry))


def _ticked(view: dict[str, Any], block: ClosureField) -> bool:
    chosen = view.get("state", {}).get("values", {}).get(block.value, {}).get(block.value, {})
    return bool((chosen or {}).get("selected_options"))


async def resolve(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], closure: ClosureService) -> None:
    """Resolve modal submission: the root cause is required; then the checklist opens on the card."""
    user = body["user"]["id"]
    if await refused_inline(ack, C.ROOT_CAUSE.value, closure.require_agent(user)):
        return
    cause = state_value(view, C.ROOT_CAUSE.value)
    if cause not in Category._value2member_map_:
        await ack(response_action="errors", errors={C.ROOT_CAUSE.value: "Choose the root-cause category"})
        return
    reader = FieldReader(view, views.LIMITS)
    jira, sentry, note = (reader.checked(block.value) for block in (C.JIRA_KEY, C.SENTRY_ID, C.NOTE))
    if reader.errors:  # past max_length or NUL: a forged submission, refused before anything is stored
        await ack(response_action="errors", errors=reader.errors)
        return
    await ack()
    await closure.resolve(_ticket(view), Resolution(
        root_cause=Category(cause), customer_confirmed=_ticked(view, C.CONFIRMED),
        novel_path=_ticked(view, C.NOVEL_PATH), jira_key=jira or None, sentry_id=sentry or None, note=note), by=user)


async def checklist_item(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient,
                         closure: ClosureService) -> None:
    """A checklist button: the customer's confirmation at once; the other items through their modal."""
    await ack()
    user = body["user"]["id"]
    await closure.require_agent(user)
    chosen = json.loads(action["value"])
    number, item = int(chosen["t"]), ClosureItem(chosen["i"])
    if item is ClosureItem.CUSTOMER_CONFIRMED:
        await (closure.customer_unresponsive(number, by=user) if chosen.get("u")
               else closure.complete(number, item, by=user, value="confirmed"))
        return
    view = await closure.item_modal(number, item)
    await client.views_open(trigger_id=body["trigger_id"], view=view)


async def csm_call(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], closure: ClosureService) -> None:
    """CSM call modal: who and when, within one business day (an inline error otherwise)."""
    user = body["user"]["id"]
    if await refused_inline(ack, C.CALL_AT.value, closure.require_agent(user)):
        return
    csm, call_at = state_value(view, C.CSM.value), moment(state_value(view, C.CALL_AT.value))
    errors = {} if is_slack_user(csm) else {C.CSM.value: views.PICK_THE_CSM}
    if call_at is None:
        errors[C.CALL_AT.value] = views.PICK_A_TIME
    else:
        try:
            await closure.check_call(_ticket(view), call_at)
        except ClosureRefused as refusal:
            errors[C.CALL_AT.value] = refusal.user_message
    if errors or call_at is None:
        await ack(response_action="errors", errors=errors)
        return
    await ack()
    await closure.schedule_call(_ticket(view), by=user, csm=csm, call_at=call_at)


async def incident_summary(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any],
                           closure: ClosureService) -> None:
    """Incident summary modal: the edited summary completes the item."""
    user = body["user"]["id"]
    if await refused_inline(ack, C.SUMMARY.value, closure.require_agent(user)):
        return
    reader = FieldReader(view, views.LIMITS)
    summary = reader.required(C.SUMMARY.value, "Write the summary: impact, root cause, remediation")
    if reader.errors:
        await ack(response_action="errors", errors=reader.errors)
        return
    await ack()
    await closure.complete(_ticket(view), ClosureItem.INCIDENT_SUMMARY, by=user, value=summary)


async def runbook_entry(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], closure: ClosureService) -> None:
    """Runbook entry modal: the entry is added to the runbook and completes the item."""
    user = body["user"]["id"]
    if await refused_inline(ack, C.RUNBOOK_TITLE.value, closure.require_agent(user)):
        return
    reader = FieldReader(view, views.LIMITS)
    title = reader.required(C.RUNBOOK_TITLE.value, "Enter the entry's title")
    keywords = reader.required(C.RUNBOOK_KEYWORDS.value, "Enter the words the next agent will search for")
    steps = reader.required(C.RUNBOOK_STEPS.value, "Enter the steps that fixed it")
    if reader.errors:
        await ack(response_action="errors", errors=reader.errors)
        return
    await ack()
    await closure.add_runbook_entry(_ticket(view), by=user, title=title, keywords=keywords, steps=steps)


def _ticket(view: dict[str, Any]) -> int:
    return int(view_metadata(view)["ticket"])

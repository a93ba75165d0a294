"""Every view submission re-checks who may do it, as the buttons do; a refusal is inline and changes nothing.

A submission is forged by handing a view the sandbox opened for an allowed person to someone else: the
bot sees a signed submission from a person who may not take the action, as it would from a replayed or
crafted payload, or from an agent removed from the group while the modal was open.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.app import SupportBot
from bot.core.errors import UnknownTicket
from bot.sandbox.driver import SlackDriver
from bot.sandbox.pagerduty import PagerDutyStandIn
from bot.sandbox.slack import SlackSandbox
from bot.sandbox.statuspage import StatuspageStandIn
from bot.sandbox.workspace import AGENT, COMMANDER, GENERAL, OUTSIDER, file_ticket, ticket_values

SEV1 = ticket_values(**{"Impact": "Production down or data loss", "Summary": "Checkout returns 500",
                        "Plan tier": "Enterprise"})
SEV3 = ticket_values(**{"Impact": "Minor feature broken, or a workaround exists"})


def _hand_to(sandbox: SlackSandbox, view_id: str, user_id: str) -> None:
    sandbox.views[view_id].user = user_id


async def _open_view(slack: SlackDriver, sandbox: SlackSandbox, *, user: str, callback: str,
                     action_id: str | None = None, message: Any = None) -> Any:
    before = set(sandbox.views)
    if action_id is None:
        await slack.slash_command(user_id=user, command="/ticket", channel_id=GENERAL)
    else:
        await slack.click(user_id=user, action_id=action_id, message=message)
    return await sandbox.wait_for(lambda: next((v for v in sandbox.views.values() if v.id not in before
                                                and v.view.get("callback_id") == callback), None))


async def test_an_intake_submission_from_a_non_agent_files_nothing_and_pages_nobody(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, pagerduty: PagerDutyStandIn) -> None:
    view = await _open_view(slack, sandbox, user=AGENT.user_id, callback="ticket_submit")
    _hand_to(sandbox, view.id, OUTSIDER.user_id)

    response = await slack.submit_view(user_id=OUTSIDER.user_id, view_id=view.id, values=SEV1)

    assert response.json and response.json["response_action"] == "errors"
    assert "Only members of <!subteam^S0AGENTS01> can file tickets" in response.json["errors"]["summary"]
    assert not sandbox.views[view.id].closed  # the modal stays open with what was typed
    with pytest.raises(UnknownTicket):
        await bot.tickets.get(1)
    assert sandbox.channel_by_name("incident-1") is None
    assert pagerduty.accepted_events() == []
    assert sandbox.history("C0TRIAGE01") == []


async def test_a_status_submission_from_outside_the_commanders_changes_nothing(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, pagerduty: PagerDutyStandIn,
        statuspage: StatuspageStandIn) -> None:
    await file_ticket(slack, sandbox, values=SEV1)
    channel = await sandbox.wait_for(lambda: sandbox.channel_by_name("incident-1"))
    kickoff = await sandbox.wait_for(lambda: next((m for m in sandbox.history(channel.id)
                                                   if "What the bot did" in str(m.blocks)), None))
    view = await _open_view(slack, sandbox, user=COMMANDER.user_id, callback="status_submit",
                            action_id="incident_post_status", message=kickoff)
    _hand_to(sandbox, view.id, OUTSIDER.user_id)

    response = await slack.submit_view(user_id=OUTSIDER.user_id, view_id=view.id,
                                       values={"Status": "Resolved", "Message to customers": "All fixed."})

    assert response.json and response.json["response_action"] == "errors"
    assert "can post status updates" in response.json["errors"]["status_message"]
    incident = await bot.incidents.in_channel(channel.id)
    assert incident is not None and incident.status.value == "investigating"
    assert [e["event_action"] for e in pagerduty.accepted_events()] == ["trigger"]
    public = next(iter(statuspage.incidents.values()))
    assert [h["status"] for h in public.body_history] == ["investigating"]


async def test_a_severity_submission_from_a_non_agent_changes_nothing(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, pagerduty: PagerDutyStandIn) -> None:
    await file_ticket(slack, sandbox, values=SEV3)
    card = await sandbox.wait_for(lambda: next(iter(sandbox.history("C0TRIAGE01")), None))
    view = await _open_view(slack, sandbox, user=AGENT.user_id, callback="severity_submit",
                            action_id="ticket_change_severity", message=card)
    _hand_to(sandbox, view.id, OUTSIDER.user_id)

    response = await slack.submit_view(user_id=OUTSIDER.user_id, view_id=view.id, values={
        "Impact": "Production down or data loss", "Reason for the change": "It is worse than we thought."})

    assert response.json and response.json["response_action"] == "errors"
    assert "can change a ticket's severity" in response.json["errors"]["severity_reason"]
    assert (await bot.tickets.get(1)).severity.value == "SEV3"
    assert sandbox.channel_by_name("incident-1") is None
    assert pagerduty.accepted_events() == []


@pytest.mark.parametrize(("action_id", "named"), [("incident_take_command", "take command of this incident"),
                                                   ("incident_post_status", "post status updates")])
async def test_a_refusal_names_the_action_and_reaches_someone_outside_the_channel(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, action_id: str, named: str) -> None:
    await file_ticket(slack, sandbox, values=SEV1)
    channel = await sandbox.wait_for(lambda: sandbox.channel_by_name("incident-1"))
    kickoff = await sandbox.wait_for(lambda: next((m for m in sandbox.history(channel.id)
                                                   if "What the bot did" in str(m.blocks)), None))
    assert OUTSIDER.user_id not in channel.members

    await slack.click(user_id=OUTSIDER.user_id, action_id=action_id, message=kickoff)

    told = await sandbox.wait_for(lambda: next((e for e in sandbox.ephemerals if e.user == OUTSIDER.user_id), None))
    assert f"can {named}" in told.text

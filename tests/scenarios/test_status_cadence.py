"""The status cadence: updates, reminders on time and repeating, Resolved, permissions, restarts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.app import SupportBot
from bot.sandbox.clock import ManualClock
from bot.sandbox.driver import SlackDriver
from bot.sandbox.pagerduty import PagerDutyStandIn
from bot.sandbox.slack import SlackSandbox
from bot.sandbox.statuspage import StatuspageStandIn
from bot.sandbox.workspace import AGENT, COMMANDER, OUTSIDER, file_ticket, ticket_values
from tests.conftest import SIGNING_SECRET

SEV1 = ticket_values(**{"Impact": "Production down or data loss", "Summary": "Checkout returns 500",
                        "Request ID": "req_8c1d2e3f"})
CADENCE = timedelta(minutes=30)


async def _open_incident(slack: SlackDriver, sandbox: SlackSandbox) -> tuple[Any, Any]:
    await file_ticket(slack, sandbox, values=SEV1)
    channel = await sandbox.wait_for(lambda: sandbox.channel_by_name("incident-1"))
    kickoff = await sandbox.wait_for(lambda: next((m for m in sandbox.history(channel.id)
                                                   if "What the bot did" in str(m.blocks)), None))
    return channel, kickoff


def _reminders(sandbox: SlackSandbox, channel_id: str) -> list[Any]:
    return [m for m in sandbox.history(channel_id) if "has been silent" in str(m.blocks)]


async def _post_update(slack: SlackDriver, sandbox: SlackSandbox, message: Any, *, user: str, status: str,
                       text: str, reason: str | None = None) -> Any:
    await slack.click(user_id=user, action_id="incident_post_status", message=message)
    view = await sandbox.wait_for(lambda: next((v for v in sandbox.views.values() if v.user == user
                                                and v.view.get("callback_id") == "status_submit"
                                                and not v.closed), None))
    values = {"Status": status, "Message to customers": text}
    if reason:
        values["Reason, if the status moves backwards"] = reason
    return await slack.submit_view(user_id=user, view_id=view.id, values=values)


async def test_reminders_arrive_on_time_repeat_and_stop_after_an_update(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, clock: ManualClock) -> None:
    channel, kickoff = await _open_incident(slack, sandbox)
    clock.advance(CADENCE - timedelta(seconds=1))
    await bot.timers.fire_due()
    assert _reminders(sandbox, channel.id) == []
    clock.advance(timedelta(seconds=1))
    await bot.timers.fire_due()
    first = _reminders(sandbox, channel.id)
    assert len(first) == 1
    text = str(first[0].blocks)
    assert "<!subteam^S0COMMAND1>" in text and "30 min" in text and "We are investigating" in text
    assert "Post status update" in text

    clock.advance(CADENCE)
    await bot.timers.fire_due()
    assert len(_reminders(sandbox, channel.id)) == 2

    response = await _post_update(slack, sandbox, kickoff, user=COMMANDER.user_id, status="Identified",
                                  text="We found the cause and are rolling out a fix.")
    assert response.status == 200 and not response.body
    await sandbox.wait_for(lambda: any("posted a status update" in str(m.blocks) for m in sandbox.history(channel.id)))
    clock.advance(CADENCE - timedelta(seconds=1))
    await bot.timers.fire_due()
    assert len(_reminders(sandbox, channel.id)) == 2  # the update restarted the clock
    clock.advance(timedelta(seconds=1))
    await bot.timers.fire_due()
    assert len(_reminders(sandbox, channel.id)) == 3
    assert "Identified" in sandbox.channels[channel.id].topic


async def test_status_updates_reach_the_status_page_and_resolved_stops_everything(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, clock: ManualClock,
        statuspage: StatuspageStandIn, pagerduty: PagerDutyStandIn) -> None:
    channel, kickoff = await _open_incident(slack, sandbox)
    await slack.click(user_id=COMMANDER.user_id, action_id="incident_take_command", message=kickoff)
    await sandbox.wait_for(lambda: any("is now the incident commander" in str(m.blocks)
                                       for m in sandbox.history(channel.id)))
    for status, text in (("Identified", "A faulty deploy is the cause."),
                         ("Monitoring", "A fix is live; we are watching error rates."),
                         ("Resolved", "Checkout works again for everyone.")):
        await _post_update(slack, sandbox, kickoff, user=COMMANDER.user_id, status=status, text=text)
        wanted = status.lower()
        await statuspage.wait_for(lambda page, w=wanted: next(iter(page.incidents.values())).status == w,
                                  timeout=10)
    public = next(iter(statuspage.incidents.values()))
    assert [h["status"] for h in public.body_history] == ["investigating", "identified", "monitoring", "resolved"]
    await sandbox.wait_for(lambda: any("Resolved" in str(m.blocks) and "reminders have stopped" in str(m.blocks)
                                       for m in sandbox.history(channel.id)))
    assert [e["event_action"] for e in pagerduty.accepted_events()] == ["trigger", "resolve"]
    assert pagerduty.open_alerts() == []
    # Resolved hands the ticket on: the card's thread offers its closure checklist.
    card = sandbox.history("C0TRIAGE01")[0]
    await sandbox.wait_for(lambda: any("ticket_resolve" in str(m.blocks)
                                       for m in sandbox.history("C0TRIAGE01", thread_ts=card.ts)))
    before = len(_reminders(sandbox, channel.id))
    clock.advance(CADENCE * 3)
    await bot.timers.fire_due()
    assert len(_reminders(sandbox, channel.id)) == before


async def test_only_commanders_may_post_and_leaks_are_refused_inline(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot) -> None:
    channel, kickoff = await _open_incident(slack, sandbox)
    sandbox.channels[channel.id].members.append(OUTSIDER.user_id)  # anyone may join a public incident channel
    await slack.click(user_id=OUTSIDER.user_id, action_id="incident_post_status", message=kickoff)
    note = await sandbox.wait_for(lambda: next((e for e in sandbox.ephemerals if e.user == OUTSIDER.user_id), None))
    assert "Only" in note.text and "status updates" in note.text

    for leak, expected in (("Contact dana@customer.example for details", "email"),
                           ("Workspace ws_4f2a9c is affected", "workspace ID"),
                           ("See request req_8c1d2e3f", "request ID"),
                           ("token xoxb-1234-5678-abcdefgh", "Slack token")):
        response = await _post_update(slack, sandbox, kickoff, user=COMMANDER.user_id, status="Identified",
                                      text=leak)
        assert response.json and response.json["response_action"] == "errors"
        assert expected in response.json["errors"]["status_message"]
        await slack.close_view(user_id=COMMANDER.user_id, view_id=sandbox.latest_view_for(COMMANDER.user_id).id)

    response = await _post_update(slack, sandbox, kickoff, user=COMMANDER.user_id, status="Monitoring",
                                  text="A fix is live.")
    assert not response.body
    backwards = await _post_update(slack, sandbox, kickoff, user=COMMANDER.user_id, status="Investigating",
                                   text="The fix did not hold.")
    assert backwards.json and "status_backwards_reason" in backwards.json["errors"]


async def test_status_command_outside_an_incident_channel_explains_itself(slack: SlackDriver) -> None:
    response = await slack.slash_command(user_id=COMMANDER.user_id, command="/incident-status", channel_id="C0GENERAL1")
    assert response.status == 200 and "incident channel" in response.body


async def test_the_cadence_survives_a_restart(slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot,
                                              clock: ManualClock, start_bot: Any, vendor_env: dict[str, Any]) -> None:
    channel, _ = await _open_incident(slack, sandbox)
    await bot.stop()
    restarted = await start_bot(**vendor_env)
    clock.advance(CADENCE + timedelta(seconds=5))
    await restarted.timers.fire_due()
    assert len(_reminders(sandbox, channel.id)) == 1


async def test_channel_name_taken_moves_to_the_next_free_name(
        start_bot: Any, vendor_env: dict[str, Any], sandbox: SlackSandbox) -> None:
    sandbox.add_channel("C0SOMEONE1", "incident-1", members=["U0LEAD0001"], bot_member=False)
    bot = await start_bot(**vendor_env)
    driver = SlackDriver(events_url=f"http://127.0.0.1:{bot.port}/slack/events", signing_secret=SIGNING_SECRET,
                         sandbox=sandbox)
    try:
        await file_ticket(driver, sandbox, values=SEV1)
        channel = await sandbox.wait_for(lambda: sandbox.channel_by_name("incident-1-2"))
    finally:
        await driver.close()
    await sandbox.wait_for(lambda: any("What the bot did" in str(m.blocks) for m in sandbox.history(channel.id)))
    assert not any(m.channel == "C0SOMEONE1" for m in sandbox.messages)
    assert AGENT.user_id in channel.members


async def test_status_command_in_the_incident_channel_opens_the_status_modal(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot) -> None:
    channel, _ = await _open_incident(slack, sandbox)
    response = await slack.slash_command(user_id=COMMANDER.user_id, command="/incident-status", channel_id=channel.id,
                                         channel_name=channel.name)
    assert response.status == 200 and not response.body
    view = await sandbox.wait_for(lambda: next((v for v in sandbox.views.values() if v.user == COMMANDER.user_id
                                                and v.view.get("callback_id") == "status_submit"), None))
    labels = [b["label"]["text"] for b in view.view["blocks"] if b["type"] == "input"]
    assert labels[:2] == ["Status", "Message to customers"]


async def test_a_status_update_the_status_page_refused_is_published_by_the_scheduler(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, clock: ManualClock,
        statuspage: StatuspageStandIn) -> None:
    channel, kickoff = await _open_incident(slack, sandbox)
    await statuspage.wait_for(lambda page: len(page.incidents) == 1, timeout=10)
    statuspage.fail_next(503, times=4)  # every quick retry inside the call fails too
    await _post_update(slack, sandbox, kickoff, user=COMMANDER.user_id, status="Identified",
                       text="A faulty deploy is the cause.")
    await sandbox.wait_for(lambda: any("did not take this update" in str(m.blocks)
                                       for m in sandbox.history(channel.id)), timeout=15)
    assert next(iter(statuspage.incidents.values())).status == "investigating"
    statuspage.clear_faults()  # the status page is back
    clock.advance(timedelta(seconds=1))
    await bot.timers.fire_due()
    public = next(iter(statuspage.incidents.values()))
    assert public.status == "identified"
    assert public.body_history[-1]["body"] == "A faulty deploy is the cause."


async def test_reopening_from_the_status_modal_pages_again_with_a_new_dedup_key(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, statuspage: StatuspageStandIn,
        pagerduty: PagerDutyStandIn) -> None:
    _, kickoff = await _open_incident(slack, sandbox)
    await _post_update(slack, sandbox, kickoff, user=COMMANDER.user_id, status="Resolved", text="All good again.")
    await pagerduty.wait_for(lambda standin: standin.accepted_events("resolve"), timeout=10)
    refused = await _post_update(slack, sandbox, kickoff, user=COMMANDER.user_id, status="Investigating",
                                 text="Errors are back.")
    assert refused.json and "status_backwards_reason" in refused.json["errors"]
    await slack.close_view(user_id=COMMANDER.user_id, view_id=sandbox.latest_view_for(COMMANDER.user_id).id)
    await _post_update(slack, sandbox, kickoff, user=COMMANDER.user_id, status="Investigating",
                       text="Errors are back for some customers.", reason="the fix did not hold")
    await pagerduty.wait_for(lambda standin: len(standin.accepted_events("trigger")) == 2, timeout=10)
    keys = [e["dedup_key"] for e in pagerduty.accepted_events("trigger")]
    assert keys == ["supportbot-ticket-1-1", "supportbot-ticket-1-2"]
    assert [a.status for a in pagerduty.alerts] == ["resolved", "triggered"]
    await statuspage.wait_for(lambda page: len(page.incidents) == 2, timeout=10)
    assert sorted(i.status for i in statuspage.incidents.values()) == ["investigating", "resolved"]
    assert sandbox.channel_by_name("incident-1-2") is None  # the same channel carries the new round


async def test_a_failed_pagerduty_resolve_is_retried_until_the_alert_is_resolved(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, clock: ManualClock,
        pagerduty: PagerDutyStandIn) -> None:
    channel, kickoff = await _open_incident(slack, sandbox)
    pagerduty.fail_next(503, times=10)
    await _post_update(slack, sandbox, kickoff, user=COMMANDER.user_id, status="Resolved", text="All good again.")
    await sandbox.wait_for(lambda: any("keeps trying" in str(m.blocks) for m in sandbox.history(channel.id)),
                           timeout=15)
    assert pagerduty.open_alerts()
    pagerduty.reset()
    clock.advance(timedelta(minutes=1))
    await bot.timers.fire_due()
    assert pagerduty.open_alerts() == []
    assert any("resolved. (on retry)" in str(m.blocks) for m in sandbox.history(channel.id))

"""SEV1 steps that fail: the others still happen, the failure is visible, and the retry succeeds exactly once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.app import SupportBot
from bot.domain import StepState
from bot.sandbox.clock import ManualClock
from bot.sandbox.driver import SlackDriver
from bot.sandbox.pagerduty import PagerDutyStandIn
from bot.sandbox.slack import SlackSandbox
from bot.sandbox.statuspage import StatuspageStandIn
from bot.sandbox.workspace import COMMANDER, file_ticket, ticket_values
from storage.repositories import incident_steps
from storage.repositories import incidents as incident_repo

SEV1 = ticket_values(**{"Impact": "Production down or data loss", "Summary": "Login fails for everyone"})


async def _incident(bot: SupportBot) -> Any:
    async with bot.sessions() as session:
        return await incident_repo.latest_incident(session, ticket_number=1)


async def _failure_notice(sandbox: SlackSandbox, channel_id: str, label: str) -> Any:
    return await sandbox.wait_for(lambda: next((m for m in sandbox.history(channel_id)
                                                if f"{label} failed" in str(m.blocks)), None), timeout=15)


async def test_pagerduty_down_leaves_the_rest_done_and_the_retry_pages_once(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, pagerduty: PagerDutyStandIn,
        statuspage: StatuspageStandIn, clock: ManualClock) -> None:
    pagerduty.fail_next(503, times=10)
    await file_ticket(slack, sandbox, values=SEV1)
    channel = await sandbox.wait_for(lambda: sandbox.channel_by_name("incident-1"), timeout=15)
    notice = await _failure_notice(sandbox, channel.id, "Page on-call")
    assert "HTTP 503" in str(notice.blocks) and "Retry" in str(notice.blocks)
    incident = await _incident(bot)
    assert incident.page.state is StepState.FAILED
    assert incident.channel.state is StepState.DONE and incident.statuspage.state is StepState.DONE
    assert len(statuspage.incidents) == 1

    pagerduty.reset()
    # The person presses Retry and the scheduler's retry falls due at the same time: one page only.
    clock.advance(timedelta(minutes=5))
    await slack.click(user_id=COMMANDER.user_id, action_id="incident_retry_step", message=notice)
    await bot.timers.fire_due()
    await sandbox.wait_for(lambda: any("done on retry" in str(m.blocks) for m in sandbox.history(channel.id)),
                           timeout=15)
    assert len(pagerduty.accepted_events("trigger")) == 1
    assert (await _incident(bot)).page.state is StepState.DONE
    clock.advance(timedelta(hours=1))
    await bot.timers.fire_due()
    assert len(pagerduty.accepted_events("trigger")) == 1


async def test_statuspage_rate_limiting_is_waited_out(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, statuspage: StatuspageStandIn) -> None:
    statuspage.fail_next(429, times=1, retry_after=1)
    statuspage.fail_next(420, times=1, retry_after=1)
    await file_ticket(slack, sandbox, values=SEV1)
    await statuspage.wait_for(lambda page: len(page.incidents) == 1, timeout=15)
    await sandbox.wait_for(lambda: sandbox.channel_by_name("incident-1"))
    assert len(statuspage.incidents) == 1
    assert [r.status for r in statuspage.requests if r.method == "POST"][-1] == 201


async def test_statuspage_down_is_retried_by_the_scheduler_exactly_once(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, statuspage: StatuspageStandIn,
        clock: ManualClock) -> None:
    statuspage.fail_next(503, times=4)
    await file_ticket(slack, sandbox, values=SEV1)
    channel = await sandbox.wait_for(lambda: sandbox.channel_by_name("incident-1"), timeout=15)
    await _failure_notice(sandbox, channel.id, "Status page")
    assert statuspage.incidents == {}
    clock.advance(timedelta(minutes=1))
    await bot.timers.fire_due()
    await statuspage.wait_for(lambda page: len(page.incidents) == 1, timeout=15)
    clock.advance(timedelta(minutes=10))
    await bot.timers.fire_due()
    assert len(statuspage.incidents) == 1
    assert (await _incident(bot)).statuspage.state is StepState.DONE


async def test_slack_rate_limit_on_channel_creation_is_survived(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, pagerduty: PagerDutyStandIn) -> None:
    sandbox.fail_next("conversations.create", "ratelimited", retry_after=1)
    await file_ticket(slack, sandbox, values=SEV1)
    channel = await sandbox.wait_for(lambda: sandbox.channel_by_name("incident-1"), timeout=15)
    await sandbox.wait_for(lambda: any("What the bot did" in str(m.blocks) for m in sandbox.history(channel.id)))
    assert len([c for c in sandbox.calls_to("conversations.create") if c.ok]) == 1
    assert len(pagerduty.accepted_events("trigger")) == 1


async def test_a_failed_invite_never_loses_the_channel(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot) -> None:
    sandbox.fail_next("conversations.invite", "user_not_found", times=2)
    await file_ticket(slack, sandbox, values=SEV1)
    channel = await sandbox.wait_for(lambda: sandbox.channel_by_name("incident-1"))
    await sandbox.wait_for(lambda: any("What the bot did" in str(m.blocks) for m in sandbox.history(channel.id)))
    # The note follows the kickoff, once the invitations have been tried one by one.
    await sandbox.wait_for(lambda: any("Could not invite" in (m.text or "") for m in sandbox.history(channel.id)))
    assert (await _incident(bot)).channel.state is StepState.DONE


async def test_reopened_incident_pages_again_with_a_new_dedup_key(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, pagerduty: PagerDutyStandIn) -> None:
    await file_ticket(slack, sandbox, values=SEV1)
    channel = await sandbox.wait_for(lambda: sandbox.channel_by_name("incident-1"))
    kickoff = await sandbox.wait_for(lambda: next((m for m in sandbox.history(channel.id)
                                                   if "What the bot did" in str(m.blocks)), None))
    incident = await _incident(bot)
    from bot.domain import IncidentStatus
    from bot.incidents.status_updates import StatusDraft

    resolved = StatusDraft(IncidentStatus.RESOLVED, "All good again.", None)
    await bot.cadence.announce(await bot.cadence.record(incident.id, resolved, by=COMMANDER.user_id,
                                                        submission_key="resolve-1"))
    ticket = await bot.tickets.get(1)
    reopened = await bot.incidents.open_for(ticket, COMMANDER.user_id)
    assert reopened.generation == 2 and reopened.channel_id == channel.id
    keys = [e["dedup_key"] for e in pagerduty.accepted_events("trigger")]
    assert keys == ["supportbot-ticket-1-1", "supportbot-ticket-1-2"]
    assert [e["dedup_key"] for e in pagerduty.accepted_events("resolve")] == ["supportbot-ticket-1-1"]
    assert kickoff is not None


async def test_two_failed_steps_are_both_retried_by_the_scheduler(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, pagerduty: PagerDutyStandIn,
        statuspage: StatuspageStandIn, clock: ManualClock) -> None:
    pagerduty.fail_next(503, times=10)
    statuspage.fail_next(503, times=4)
    await file_ticket(slack, sandbox, values=SEV1)
    channel = await sandbox.wait_for(lambda: sandbox.channel_by_name("incident-1"), timeout=15)
    await _failure_notice(sandbox, channel.id, "Page on-call")
    await _failure_notice(sandbox, channel.id, "Status page")
    pagerduty.reset()
    statuspage.reset()
    for _ in range(3):  # the first retry of one step must not cancel the other's
        clock.advance(timedelta(minutes=1))
        await bot.timers.fire_due()
    incident = await _incident(bot)
    assert incident.page.state is StepState.DONE and incident.statuspage.state is StepState.DONE
    assert len(pagerduty.accepted_events("trigger")) == 1 and len(statuspage.incidents) == 1


async def test_a_rejected_page_is_not_retried_automatically(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, pagerduty: PagerDutyStandIn,
        clock: ManualClock) -> None:
    pagerduty.fail_next(400, times=1, body={"status": "invalid event", "message": "Event object is invalid",
                                            "errors": ["'payload.summary' is missing"]})
    await file_ticket(slack, sandbox, values=SEV1)
    channel = await sandbox.wait_for(lambda: sandbox.channel_by_name("incident-1"), timeout=15)
    notice = await _failure_notice(sandbox, channel.id, "Page on-call")
    assert "not retried automatically" in str(notice.blocks) and "Retry" in str(notice.blocks)
    clock.advance(timedelta(hours=2))
    await bot.timers.fire_due()
    assert pagerduty.accepted_events("trigger") == []
    assert [e.status for e in pagerduty.events] == [400]  # one request: a 400 is never re-sent by itself
    await slack.click(user_id=COMMANDER.user_id, action_id="incident_retry_step", message=notice)
    await sandbox.wait_for(lambda: any("done on retry" in str(m.blocks) for m in sandbox.history(channel.id)),
                           timeout=15)
    assert len(pagerduty.accepted_events("trigger")) == 1


async def test_a_step_whose_attempt_never_reported_back_is_retried_when_its_lease_ends(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, pagerduty: PagerDutyStandIn,
        clock: ManualClock) -> None:
    from bot.domain import IncidentStep
    from bot.incidents.service import STEP_LEASE

    await file_ticket(slack, sandbox, values=SEV1)
    channel = await sandbox.wait_for(lambda: sandbox.channel_by_name("incident-1"), timeout=15)
    await sandbox.wait_for(lambda: any("What the bot did" in str(m.blocks) for m in sandbox.history(channel.id)))
    incident = await _incident(bot)
    # A crash mid-page: the step was claimed (as opening does), then the process died before the outcome.
    async with bot.sessions.begin() as session:
        await incident_steps.record_step(session, incident_id=incident.id, step=IncidentStep.PAGE,
                                        state=StepState.PENDING, detail=None)
        assert await bot.incidents._claim(session, incident.id, [IncidentStep.PAGE]) == [IncidentStep.PAGE]
    clock.advance(STEP_LEASE / 2)
    await bot.timers.fire_due()
    assert (await _incident(bot)).page.state is StepState.RUNNING  # still within its lease: left alone
    clock.advance(STEP_LEASE)
    await bot.timers.fire_due()
    assert (await _incident(bot)).page.state is StepState.DONE
    # The crashed attempt may have reached PagerDuty: the same dedup_key keeps it one alert.
    assert {e["dedup_key"] for e in pagerduty.accepted_events("trigger")} == {"supportbot-ticket-1-1"}
    assert len(pagerduty.alerts) == 1


async def test_a_slow_vendor_retry_does_not_hold_up_a_reminder_due_in_the_same_tick(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, pagerduty: PagerDutyStandIn,
        clock: ManualClock) -> None:
    import time

    pagerduty.fail_next(503, times=10)
    await file_ticket(slack, sandbox, values=SEV1)
    channel = await sandbox.wait_for(lambda: sandbox.channel_by_name("incident-1"), timeout=15)
    await _failure_notice(sandbox, channel.id, "Page on-call")
    pagerduty.reset()
    pagerduty.set_latency(3.0)  # PagerDuty answers, slowly
    clock.advance(timedelta(minutes=30))  # the page retry and the first status reminder are both due
    started = time.monotonic()
    assert await bot.timers.fire_due(settle=False) >= 2
    assert time.monotonic() - started < 2.0  # the tick did not wait for PagerDuty
    assert any("has been silent" in str(m.blocks) for m in sandbox.history(channel.id))
    await bot.background.settle()
    assert len(pagerduty.accepted_events("trigger")) == 1


async def test_an_update_posted_while_the_status_page_was_down_reaches_it_when_the_retry_opens_it(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, statuspage: StatuspageStandIn,
        clock: ManualClock) -> None:
    from bot.domain import IncidentStatus
    from bot.incidents.status_updates import StatusDraft

    statuspage.fail_next(503, times=4)
    await file_ticket(slack, sandbox, values=SEV1)
    channel = await sandbox.wait_for(lambda: sandbox.channel_by_name("incident-1"), timeout=15)
    await _failure_notice(sandbox, channel.id, "Status page")
    incident = await _incident(bot)
    identified = StatusDraft(IncidentStatus.IDENTIFIED, "We found the cause.", None)
    await bot.cadence.announce(await bot.cadence.record(incident.id, identified, by=COMMANDER.user_id,
                                                        submission_key="while-down"))
    clock.advance(timedelta(minutes=1))
    await bot.timers.fire_due()
    public = next(iter(statuspage.incidents.values()))
    assert (public.status, public.body_history[-1]["body"]) == ("identified", "We found the cause.")

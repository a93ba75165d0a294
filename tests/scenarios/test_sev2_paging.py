"""SEV2 pages on-call too (severity `error`), once; SEV3 and SEV4 never page."""

from __future__ import annotations

from datetime import timedelta

from bot.app import SupportBot
from bot.sandbox.clock import ManualClock
from bot.sandbox.driver import SlackDriver
from bot.sandbox.pagerduty import PagerDutyStandIn
from bot.sandbox.slack import SlackSandbox
from bot.sandbox.workspace import AGENT, file_ticket, ticket_values

TRIAGE = "C0TRIAGE01"


async def _card(sandbox: SlackSandbox) -> object:
    return await sandbox.wait_for(lambda: next(iter(sandbox.history(TRIAGE)), None))


async def test_a_sev2_ticket_pages_once_with_severity_error(
        slack: SlackDriver, sandbox: SlackSandbox, pagerduty: PagerDutyStandIn, bot: SupportBot) -> None:
    await file_ticket(slack, sandbox)  # the default form is "Major feature broken, no workaround"
    card = await _card(sandbox)
    note = await sandbox.wait_for(lambda: next((m for m in sandbox.history(TRIAGE, thread_ts=card.ts)  # type: ignore[attr-defined]
                                                if "Paged on-call" in m.text), None))
    events = pagerduty.accepted_events("trigger")
    assert len(events) == 1
    assert events[0]["payload"]["severity"] == "error"
    assert events[0]["dedup_key"] == "supportbot-ticket-1-sev2"
    assert events[0]["payload"]["custom_details"]["workspace_id"] == "ws_4f2a9c"
    assert "supportbot-ticket-1-sev2" in note.text
    assert sandbox.channel_by_name("incident-1") is None  # SEV2 opens no incident channel
    await bot.tickets.announce(await bot.tickets.get(1))  # a duplicate delivery
    assert len(pagerduty.accepted_events("trigger")) == 1


async def test_sev3_and_sev4_never_page(slack: SlackDriver, sandbox: SlackSandbox,
                                        pagerduty: PagerDutyStandIn) -> None:
    await file_ticket(slack, sandbox, values=ticket_values(Impact="Minor feature broken, or a workaround exists"))
    await file_ticket(slack, sandbox, values=ticket_values(Impact="Cosmetic or how-to question"))
    await sandbox.wait_for(lambda: len(sandbox.history(TRIAGE)) == 2)
    assert pagerduty.events == []


async def test_a_failed_sev2_page_is_retried_until_it_lands_once(
        slack: SlackDriver, sandbox: SlackSandbox, pagerduty: PagerDutyStandIn, bot: SupportBot,
        clock: ManualClock) -> None:
    pagerduty.fail_next(503, times=10)
    await file_ticket(slack, sandbox)
    card = await _card(sandbox)
    await sandbox.wait_for(lambda: any("Paging on-call failed" in m.text
                                       for m in sandbox.history(TRIAGE, thread_ts=card.ts)), timeout=10)  # type: ignore[attr-defined]
    assert pagerduty.accepted_events("trigger") == []
    pagerduty.reset()
    clock.advance(timedelta(minutes=1))
    await bot.timers.fire_due()
    assert len(pagerduty.accepted_events("trigger")) == 1
    clock.advance(timedelta(hours=1))
    await bot.timers.fire_due()
    assert len(pagerduty.accepted_events("trigger")) == 1


async def test_raising_a_ticket_to_sev2_pages(slack: SlackDriver, sandbox: SlackSandbox,
                                              pagerduty: PagerDutyStandIn, bot: SupportBot) -> None:
    await file_ticket(slack, sandbox, values=ticket_values(Impact="Cosmetic or how-to question"))
    await _card(sandbox)
    from bot.domain import Impact

    await bot.tickets.change_severity(1, impact=Impact.MAJOR_BROKEN, reason="Exports fail for all users",
                                      actor=AGENT.user_id)
    assert [e["payload"]["severity"] for e in pagerduty.accepted_events("trigger")] == ["error"]

"""Resolve opens the checklist; the ticket closes only when every required item is done; reminders come on
the business-day schedule (around a weekend and Thanksgiving) and stop when their item is done."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from bot.app import SupportBot
from bot.domain import TicketStatus
from bot.sandbox.clock import ManualClock
from bot.sandbox.driver import SlackDriver
from bot.sandbox.slack import SlackSandbox
from bot.sandbox.workspace import AGENT, button_action_id, file_ticket, ticket_card_message, ticket_values
from storage.models import TimerRow
from storage.repositories import audit

TRIAGE = "C0TRIAGE01"


async def _card(slack: SlackDriver, sandbox: SlackSandbox, **values: str) -> Any:
    await file_ticket(slack, sandbox, values=ticket_values(**values))
    return await sandbox.wait_for(lambda: ticket_card_message(sandbox, 1, TRIAGE))


async def _modal(slack: SlackDriver, sandbox: SlackSandbox, action_id: str, message: Any,
                 value: str | None = None) -> Any:
    before = {v.id for v in sandbox.views.values()}
    await slack.click(user_id=AGENT.user_id, action_id=action_id, message=message, value=value)
    return await sandbox.wait_for(lambda: next((v for v in sandbox.views.values() if v.id not in before), None))



async def _resolve(slack: SlackDriver, sandbox: SlackSandbox, card: Any, **values: Any) -> Any:
    view = await _modal(slack, sandbox, "ticket_resolve", card)
    response = await slack.submit_view(user_id=AGENT.user_id, view_id=view.id,
                                       values={"Root-cause category": "Billing", **values})
    assert not (response.json or {}).get("errors"), response.json
    await sandbox.wait_for(lambda: "Resolved, checklist open" in str(card.blocks) or "Closed" in str(card.blocks))
    return card


async def _actions(bot: SupportBot) -> list[str]:
    async with bot.sessions() as session:
        return [e.action for e in await audit.audit_trail(session, ticket_number=1)]


async def test_a_business_ticket_closes_after_the_csm_call_within_one_business_day(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, clock: ManualClock) -> None:
    card = await _card(slack, sandbox)  # Business: confirmation, root cause, CSM call
    await _resolve(slack, sandbox, card, **{"Customer confirmation": ["The customer retried the original steps "
                                                                       "and confirmed the fix"]})
    assert (await bot.tickets.get(1)).status is TicketStatus.RESOLVED
    text = str(card.blocks)
    assert "✅ Root-cause category" in text and "⬜ CSM looped in" in text and "Schedule CSM call" in text
    view = await _modal(slack, sandbox, button_action_id(card, "Schedule CSM call"), card)
    # Filed and resolved Monday 14:00 in New York: the call must be by Tuesday 14:00.
    too_late = int(datetime(2026, 11, 25, 20, 0, tzinfo=UTC).timestamp())
    refused = await slack.submit_view(user_id=AGENT.user_id, view_id=view.id,
                                      values={"CSM": "U0LEAD0001", "Call time": too_late})
    assert "one business day" in refused.json["errors"]["close_call_at"]  # type: ignore[index]
    assert (await bot.tickets.get(1)).status is TicketStatus.RESOLVED
    in_time = int(datetime(2026, 11, 24, 16, 0, tzinfo=UTC).timestamp())
    await slack.submit_view(user_id=AGENT.user_id, view_id=view.id, values={"CSM": "U0LEAD0001",
                                                                          "Call time": in_time})
    await sandbox.wait_for(lambda: "Closed" in str(card.blocks))
    assert (await bot.tickets.get(1)).status is TicketStatus.CLOSED
    assert "ticket_closed" in await _actions(bot)
    clock.advance(timedelta(days=3))
    await bot.timers.fire_due()  # the CSM reminder was cancelled by the call: nothing comes
    assert not [m for m in sandbox.history(TRIAGE, thread_ts=card.ts) if "CSM call" in m.text]


async def test_customer_reminders_skip_the_holiday_and_allow_unresponsive_after_two(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, clock: ManualClock) -> None:
    clock.set(datetime(2026, 11, 25, 15, 0, tzinfo=UTC))  # Wednesday 10:00 in New York, before Thanksgiving
    card = await _card(slack, sandbox, **{"Plan tier": "Pro"})  # Pro: confirmation and root cause only
    await _resolve(slack, sandbox, card)
    async with bot.sessions() as session:
        due = {r.key: r.due_at for r in (await session.scalars(select(TimerRow).where(
            TimerRow.kind == "closure_reminder"))).all()}
    # One business day: Friday (Thursday is Thanksgiving); two: Monday (the weekend skipped); 10:00 New York.
    assert due == {"ticket:1:closure:customer:1": datetime(2026, 11, 27, 15, 0, tzinfo=UTC),
                   "ticket:1:closure:customer:2": datetime(2026, 11, 30, 15, 0, tzinfo=UTC)}
    assert "Customer unresponsive" not in str(card.blocks)
    clock.set(datetime(2026, 11, 27, 15, 1, tzinfo=UTC))
    await bot.timers.fire_due()
    await sandbox.wait_for(lambda: any("reminder 1" in m.text for m in sandbox.history(TRIAGE, thread_ts=card.ts)))
    clock.set(datetime(2026, 11, 30, 15, 1, tzinfo=UTC))
    await bot.timers.fire_due()
    await sandbox.wait_for(lambda: "Customer unresponsive" in str(card.blocks))
    await slack.click(user_id=AGENT.user_id, action_id=button_action_id(card, "Customer unresponsive"), message=card)
    await sandbox.wait_for(lambda: "Closed" in str(card.blocks))
    actions = await _actions(bot)
    assert actions.count("closure_item_done") == 1 and "ticket_closed" in actions
    async with bot.sessions() as session:
        from storage.repositories import closure as closure_repo
        closure = await closure_repo.closure_of(session, number=1)
    assert closure is not None and closure.done[next(iter(closure.required))] == "unresponsive"


async def test_an_enterprise_ticket_needs_the_summary_drafted_from_the_timeline(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot) -> None:
    card = await _card(slack, sandbox, **{"Plan tier": "Enterprise"})
    await _resolve(slack, sandbox, card, **{"Customer confirmation": ["The customer retried the original steps "
                                                                       "and confirmed the fix"],
                                            "Troubleshooting path": ["Novel path: add a runbook entry for the "
                                                                     "next agent"]})
    text = str(card.blocks)
    assert "Write incident summary" in text and "Add runbook entry" in text and "Schedule CSM call" in text
    view = await _modal(slack, sandbox, button_action_id(card, "Write incident summary"), card)
    draft = str(view.view["blocks"])
    assert "Root cause: Billing" in draft and "ws_4f2a9c" in draft
    await slack.submit_view(user_id=AGENT.user_id, view_id=view.id, values={})
    await sandbox.wait_for(lambda: "✅ Written incident summary" in str(card.blocks))
    view = await _modal(slack, sandbox, button_action_id(card, "Add runbook entry"), card)
    await slack.submit_view(user_id=AGENT.user_id, view_id=view.id, values={
        "Symptom keywords": "invoices blank, spinner", "Steps": "1. Clear the plan cache"})
    await sandbox.wait_for(lambda: "✅ Runbook entry" in str(card.blocks))
    assert (await bot.tickets.get(1)).status is TicketStatus.RESOLVED  # the CSM call is still open
    found = await bot.runbook.search("invoices blank spinner")  # the novel path is in the runbook now
    assert found and found[0].entry.title == "Invoices page shows a blank screen"


async def test_fix_deployed_needs_production_and_promises_a_time_only_for_a_tagged_release(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot) -> None:
    card = await _card(slack, sandbox)
    view = await _modal(slack, sandbox, "ticket_fix_deployed", card)
    refused = await slack.submit_view(user_id=AGENT.user_id, view_id=view.id, values={"Release tag": "v2026.12.3"},
                                      validate=False)
    assert "merged is not shipped" in refused.json["errors"]["fix_in_production"]  # type: ignore[index]
    visible = int(datetime(2026, 11, 24, 15, 0, tzinfo=UTC).timestamp())
    await slack.submit_view(user_id=AGENT.user_id, view_id=view.id, values={
        "Release tag": "v2026.12.3", "Production": ["The deploy reached production (not only merged)"],
        "Customers see it from": visible})
    tagged = await sandbox.wait_for(lambda: next((m for m in sandbox.history(TRIAGE, thread_ts=card.ts)
                                                  if "v2026.12.3" in str(m.blocks)), None))
    assert "reaches every account by" in str(tagged.blocks) and "Tuesday 24 November" in str(tagged.blocks)
    view = await _modal(slack, sandbox, "ticket_fix_deployed", card)
    await slack.submit_view(user_id=AGENT.user_id, view_id=view.id, values={
        "Production": ["The deploy reached production (not only merged)"]})
    untagged = await sandbox.wait_for(lambda: next((m for m in sandbox.history(TRIAGE, thread_ts=card.ts)
                                                    if "untagged release" in str(m.blocks)), None))
    assert "reaches every account by" not in str(untagged.blocks) and "will confirm" in str(untagged.blocks)
    assert (await _actions(bot)).count("fix_deployed") == 2

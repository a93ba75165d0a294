"""The other reminders: the enterprise summary an hour before the CSM call (cancelled by writing it), the CSM
call at the end of the next business day, and "no fix recorded" one business day after an acknowledgement;
each fires once, also across a restart of the bot on the same database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.app import SupportBot
from bot.sandbox.clock import ManualClock
from bot.sandbox.driver import SlackDriver
from bot.sandbox.slack import SlackSandbox
from bot.sandbox.workspace import ENGINEER, button_action_id, escalate, ticket_card_message
from tests.scenarios.test_closure import _card, _modal, _resolve

TRIAGE = "C0TRIAGE01"


def _thread(sandbox: SlackSandbox, card: Any, needle: str) -> list[Any]:
    return [m for m in sandbox.history(TRIAGE, thread_ts=card.ts) if needle in m.text]


async def test_summary_reminder_before_the_call_and_csm_reminder_fire_once_across_a_restart(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, start_bot: Any, vendor_env: dict[str, Any],
        clock: ManualClock) -> None:
    card = await _card(slack, sandbox, **{"Plan tier": "Enterprise"})  # Monday 14:00 in New York
    await _resolve(slack, sandbox, card, **{"Customer confirmation": ["The customer retried the original steps "
                                                                       "and confirmed the fix"]})
    await bot.stop()
    again = await start_bot(**vendor_env)  # the reminders live in the database, not in the process
    # The CSM reminder: the end of the next business day, Tuesday 17:00 New York (22:00 UTC).
    clock.set(datetime(2026, 11, 24, 21, 59, tzinfo=UTC))
    await again.timers.fire_due()
    assert not _thread(sandbox, card, "CSM call for #1 is not scheduled")
    clock.set(datetime(2026, 11, 24, 22, 1, tzinfo=UTC))
    await again.timers.fire_due()
    await again.timers.fire_due()
    await sandbox.wait_for(lambda: _thread(sandbox, card, "CSM call for #1 is not scheduled"))
    assert len(_thread(sandbox, card, "CSM call for #1 is not scheduled")) == 1


async def test_the_summary_reminder_comes_an_hour_before_the_call_unless_written(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, clock: ManualClock) -> None:
    card = await _card(slack, sandbox, **{"Plan tier": "Enterprise"})
    await _resolve(slack, sandbox, card, **{"Customer confirmation": ["The customer retried the original steps "
                                                                       "and confirmed the fix"]})
    view = await _modal(slack, sandbox, button_action_id(card, "Schedule CSM call"), card)
    call = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)  # Tuesday 12:00 New York, within one business day
    await slack.submit_view(user_id="U0AGENT001", view_id=view.id, values={"CSM": "U0LEAD0001",
                                                                         "Call time": int(call.timestamp())})
    await sandbox.wait_for(lambda: "✅ CSM looped in" in str(card.blocks))
    clock.set(call - timedelta(hours=1, minutes=1))
    await bot.timers.fire_due()
    assert not _thread(sandbox, card, "incident summary for #1 is missing")
    clock.set(call - timedelta(minutes=59))
    await bot.timers.fire_due()
    await sandbox.wait_for(lambda: _thread(sandbox, card, "incident summary for #1 is missing"))
    view = await _modal(slack, sandbox, button_action_id(card, "Write incident summary"), card)
    await slack.submit_view(user_id="U0AGENT001", view_id=view.id, values={})
    await sandbox.wait_for(lambda: "Closed" in str(card.blocks))
    clock.advance(timedelta(days=2))
    await bot.timers.fire_due()
    assert len(_thread(sandbox, card, "incident summary for #1 is missing")) == 1


async def test_no_fix_recorded_a_business_day_after_the_acknowledgement_reminds_the_agent_once(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, clock: ManualClock) -> None:
    card = await _card(slack, sandbox)
    await escalate(slack, sandbox, number=1, triage=TRIAGE)
    post = await sandbox.wait_for(lambda: next((m for m in sandbox.history("C0PAYMENT1") if (m.metadata or {})
                                                .get("event_type") == "supportbot_escalation"), None))
    await slack.click(user_id=ENGINEER.user_id, action_id="escalation_acknowledge", message=post)
    await sandbox.wait_for(lambda: "Acknowledged by" in str(sandbox.find_message("C0PAYMENT1", post.ts).blocks))
    # Acknowledged Monday 14:00 New York: one business day is Tuesday 14:00 (19:00 UTC).
    clock.set(datetime(2026, 11, 24, 18, 59, tzinfo=UTC))
    await bot.timers.fire_due()
    assert not _thread(sandbox, card, "no fix or answer is recorded")
    clock.set(datetime(2026, 11, 24, 19, 1, tzinfo=UTC))
    await bot.timers.fire_due()
    await sandbox.wait_for(lambda: _thread(sandbox, card, "no fix or answer is recorded"))
    clock.advance(timedelta(days=3))
    await bot.timers.fire_due()
    assert len(_thread(sandbox, card, "no fix or answer is recorded")) == 1
    assert ticket_card_message(sandbox, 1, TRIAGE) is not None

"""Spike alerts end to end: tickets filed over signed HTTP, the scheduler's tick noticing `[spikes] threshold`
(5) billing tickets within `[spikes] window` (60m), the payments team's channel told once per spike with the
tickets, the alert's thread told when it is over, and a new spike alerted anew; also across a restart."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from bot.app import SupportBot
from bot.sandbox.clock import ManualClock
from bot.sandbox.driver import SlackDriver
from bot.sandbox.slack import SlackSandbox
from bot.sandbox.workspace import file_ticket, ticket_card_message, ticket_values

TRIAGE = "C0TRIAGE01"
PAYMENTS = "C0PAYMENT1"  # [teams.payments] owns the "billing" component
PLATFORM = "C0PLATFRM1"  # [teams.platform] owns "auth"


def _alerts(sandbox: SlackSandbox, channel: str = PAYMENTS) -> list[Any]:
    return [m for m in sandbox.history(channel) if "Ticket spike" in m.text]


def _cleared(sandbox: SlackSandbox, alert: Any, channel: str = PAYMENTS) -> list[Any]:
    return [m for m in sandbox.history(channel, thread_ts=alert.ts) if "spike is over" in m.text]


async def _file(slack: SlackDriver, sandbox: SlackSandbox, numbers: range, category: str = "Billing") -> None:
    for number in numbers:
        await file_ticket(slack, sandbox, values=ticket_values(Summary=f"Spike ticket {number}", Category=category))
        await sandbox.wait_for(lambda n=number: ticket_card_message(sandbox, n, TRIAGE))  # type: ignore[misc]


async def test_one_alert_per_spike_cleared_when_it_falls_back_and_again_for_a_new_one(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, clock: ManualClock,
        start_bot: Callable[..., Any], vendor_env: dict[str, Any]) -> None:
    await _file(slack, sandbox, range(1, 5))
    await bot.timers.fire_due()
    assert not _alerts(sandbox)  # four billing tickets: under the threshold
    clock.advance(timedelta(minutes=5))
    await _file(slack, sandbox, range(5, 6))
    await bot.timers.fire_due()
    [alert] = _alerts(sandbox)
    listed = str(alert.blocks)
    assert all(f"#{n}" in listed for n in range(1, 6)) and "Spike ticket 5" in listed
    assert alert.text == "Ticket spike: billing, 5 tickets in 1 h 00 min"
    # Still the same spike: a sixth ticket, more ticks, and a restarted process alert nobody again.
    await _file(slack, sandbox, range(6, 7))
    await bot.timers.fire_due()
    restarted: SupportBot = await start_bot(**vendor_env)
    await restarted.timers.fire_due()
    await bot.timers.fire_due()
    assert len(_alerts(sandbox)) == 1
    # An hour after the fifth ticket only the sixth is inside the window: the spike is over, said once.
    clock.advance(timedelta(minutes=61))
    await bot.timers.fire_due()
    await restarted.timers.fire_due()
    assert len(_cleared(sandbox, alert)) == 1
    # A new burst is a new spike: a second alert, listing the new tickets (#6 has left the window).
    await _file(slack, sandbox, range(7, 12))
    await bot.timers.fire_due()
    alerts = _alerts(sandbox)
    assert len(alerts) == 2 and "#11" in str(alerts[1].blocks) and "#1>" not in str(alerts[1].blocks)
    await restarted.timers.fire_due()
    assert len(_alerts(sandbox)) == 2 and not _alerts(sandbox, TRIAGE) and not _alerts(sandbox, PLATFORM)


async def test_each_category_goes_to_its_own_team(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot) -> None:
    await _file(slack, sandbox, range(1, 6), category="Auth")
    await bot.timers.fire_due()
    assert len(_alerts(sandbox, PLATFORM)) == 1 and not _alerts(sandbox, PAYMENTS)

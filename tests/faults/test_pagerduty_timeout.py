"""PagerDuty not answering at all (500s: tests/scenarios/test_sev1_faults.py, test_escalation_faults.py): the
SEV1 page step gives up inside its attempt's share of the lease, the incident channel says the page failed with
a Retry, and the scheduler's retry pages once; the hung request landing late merges into the same alert."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from bot.app import SupportBot
from bot.core.config import BotConfig, load_config
from bot.domain import StepState
from bot.sandbox.clock import ManualClock
from bot.sandbox.driver import SlackDriver
from bot.sandbox.pagerduty import PagerDutyStandIn
from bot.sandbox.slack import SlackSandbox
from bot.sandbox.workspace import file_ticket, ticket_values
from storage.repositories import incidents
from tests.conftest import CONTRACT
from tests.processes import until

LEASE = timedelta(seconds=2)  # [scheduler] lease: an attempt gives up after 1.5 s
SEV1 = ticket_values(**{"Impact": "Production down or data loss", "Summary": "Login fails for everyone"})


@pytest.fixture
def config() -> BotConfig:
    return replace(load_config(CONTRACT), scheduler_lease=LEASE)


async def test_a_pagerduty_that_never_answers_is_said_and_the_retry_pages_once(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, pagerduty: PagerDutyStandIn,
        clock: ManualClock) -> None:
    pagerduty.set_latency(3.0)
    await file_ticket(slack, sandbox, values=SEV1)
    channel = await sandbox.wait_for(lambda: sandbox.channel_by_name("incident-1"), timeout=10)
    notice = await sandbox.wait_for(lambda: next((m for m in sandbox.history(channel.id)
                                                  if "Page on-call failed" in str(m.blocks)), None), timeout=10)
    assert "Retry" in str(notice.blocks)
    async with bot.sessions() as session:
        incident = await incidents.latest_incident(session, ticket_number=1)
    assert incident is not None
    assert incident.page.state is StepState.FAILED and incident.channel.state is StepState.DONE

    pagerduty.set_latency(0)
    clock.advance(timedelta(minutes=5))
    await bot.timers.fire_due()
    await until(lambda: pagerduty.answering == 0, "the hung request never landed", within=5)
    async with bot.sessions() as session:
        incident = await incidents.latest_incident(session, ticket_number=1)
    assert incident is not None and incident.page.state is StepState.DONE
    assert [a.dedup_key for a in pagerduty.alerts] == ["supportbot-ticket-1-1"]  # one alert: the late one merged
    clock.advance(timedelta(hours=1))
    await bot.timers.fire_due()
    assert len(pagerduty.alerts) == 1

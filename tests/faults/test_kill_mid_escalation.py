"""A real `supportbot run` SIGKILLed in the middle of an escalation, between an outside call and its record,
then started again: the team's post, its page and its Jira issue each exist once, and the next process
finishes the steps the killed one never started.

Two points, one SEV2 ticket each, one process after another on one database:
  1. the team's page is in flight (PagerDuty has the trigger and answers after the process is gone); the Jira
     issue was never asked for;
  2. the Jira issue's create is in flight (Jira creates it after the process is gone, unrecorded).
The stand-ins carry a request out after its caller has gone (tests/sandbox/test_fault_injection.py).
"""

from __future__ import annotations

import signal
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.domain import Escalation
from bot.sandbox.jira import JiraStandIn
from bot.sandbox.pagerduty import PagerDutyStandIn
from bot.sandbox.slack import SlackSandbox
from bot.sandbox.workspace import escalate, file_ticket, ticket_card_message, ticket_values
from storage.db import create_engine, create_sessionmaker
from storage.repositories import escalations
from tests.processes import BotProcess, bot_env, bot_process, free_port, until, write_config
from tests.scenarios.conftest import JIRA_WEBHOOK_SECRET, PAYMENTS_KEY

LEASE = 3.0
TRIAGE = "C0TRIAGE01"
PAYMENTS = "C0PAYMENT1"
HELD = 1.5  # how long the stand-in holds its answer: the process is killed meanwhile


@dataclass
class World:
    sandbox: SlackSandbox
    pagerduty: PagerDutyStandIn
    jira: JiraStandIn
    bot: BotProcess
    database_url: str

    async def round_of(self, ticket: int) -> Escalation | None:
        engine = create_engine(self.database_url)
        try:
            async with create_sessionmaker(engine)() as session:
                return await escalations.escalation_round(session, ticket_number=ticket, round_=1)
        finally:
            await engine.dispose()

    async def escalate(self, ticket: int) -> None:
        async with self.bot.driver(self.sandbox) as slack:
            _, filed = await file_ticket(slack, self.sandbox, values=ticket_values())
            assert filed.status == 200 and not (filed.json or {}).get("errors"), filed.json
            await self.sandbox.wait_for(lambda: ticket_card_message(self.sandbox, ticket, TRIAGE))
            _, handed = await escalate(slack, self.sandbox, number=ticket, triage=TRIAGE)
            assert handed.status == 200 and not (handed.json or {}).get("errors"), handed.json

    def posts(self, escalation_id: int) -> list[Any]:
        return [m for m in self.sandbox.history(PAYMENTS)
                if (m.metadata or {}).get("event_type") == "supportbot_escalation"
                and ((m.metadata or {}).get("event_payload") or {}).get("escalation") == escalation_id]

    def alerts(self, ticket: int) -> list[Any]:
        return [a for a in self.pagerduty.alerts if a.dedup_key == f"supportbot-escalation-{ticket}-1"]

    def issues(self, ticket: int) -> list[Any]:
        return [i for i in self.jira.issues if f"supportbot-escalation-{ticket}-1" in i["fields"].get("labels", [])]


@pytest_asyncio.fixture
async def world(sandbox: SlackSandbox, database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    async with PagerDutyStandIn(routing_keys=[PAYMENTS_KEY]) as pagerduty, JiraStandIn() as jira:
        # Only the payments team has a routing key, so the only PagerDuty calls are the escalation's pages.
        env = bot_env(sandbox=sandbox, database_url=database_url, port=free_port(),
                      config=write_config(tmp_path, tick="250ms", lease=f"{int(LEASE)}s"),
                      PAGERDUTY_ROUTING_KEY_PAYMENTS=PAYMENTS_KEY, PAGERDUTY_EVENTS_URL=pagerduty.url,
                      JIRA_BASE_URL=jira.base_url, JIRA_EMAIL=jira.email, JIRA_API_TOKEN=jira.api_token,
                      JIRA_WEBHOOK_SECRET=JIRA_WEBHOOK_SECRET)
        async with bot_process(env, tmp_path / "supportbot.log") as bot:
            jira.register_webhook(f"{bot.url}/jira/webhook", JIRA_WEBHOOK_SECRET)
            yield World(sandbox, pagerduty, jira, bot, database_url)


async def _finished(world: World, ticket: int) -> bool:
    found = await world.round_of(ticket)
    return bool(found and found.post_ts and found.page_keys and found.jira_key)


async def _once_each(world: World, ticket: int) -> Escalation:
    found = await world.round_of(ticket)
    assert found is not None
    assert len(world.posts(found.id)) == 1, [m.text for m in world.posts(found.id)]
    assert len(world.alerts(ticket)) == 1
    assert len(world.issues(ticket)) == 1
    assert found.jira_key == world.issues(ticket)[0]["key"]
    assert found.post_ts == world.posts(found.id)[0].ts
    return found


@pytest.mark.timeout(120)
async def test_a_sigkill_mid_escalation_leaves_one_post_one_page_one_issue_and_the_rest_is_finished(
        world: World) -> None:
    sandbox, pagerduty, jira, bot = world.sandbox, world.pagerduty, world.jira, world.bot
    await bot.start()

    # 1. The page is in PagerDuty's hands when the process dies; Jira has not been asked.
    pagerduty.set_latency(HELD)
    await world.escalate(1)
    await until(lambda: pagerduty.arrived >= 1, "the page never reached PagerDuty", within=10, process=bot)
    await bot.end(signal.SIGKILL)
    await until(lambda: pagerduty.answering == 0, "PagerDuty never carried the page out", within=5)
    assert len(world.alerts(1)) == 1 and jira.arrived == 0
    found = await world.round_of(1)
    assert found is not None and found.post_ts and not found.page_keys and found.jira_key is None
    pagerduty.set_latency(0)
    await bot.start()
    back = time.monotonic()
    await until(lambda: _finished(world, 1), "ticket 1's escalation was not finished", within=LEASE + 8,
                process=bot)
    first_took = time.monotonic() - back
    await _once_each(world, 1)
    # PagerDuty was asked again under the same dedup key (the answer had never been recorded) and merged it.
    triggers = [e for e in pagerduty.accepted_events("trigger") if e["dedup_key"] == "supportbot-escalation-1-1"]
    assert len(triggers) == 2

    # 2. The Jira issue's create is in Jira's hands when the process dies: Jira creates it, nobody records it.
    jira.set_latency(HELD)
    arrived = jira.arrived
    await world.escalate(2)
    await until(lambda: jira.arrived > arrived, "the issue's create never reached Jira", within=10, process=bot)
    await bot.end(signal.SIGKILL)
    await until(lambda: jira.answering == 0, "Jira never carried the create out", within=5)
    assert len(world.issues(2)) == 1
    found = await world.round_of(2)
    assert found is not None and found.page_keys and found.jira_key is None
    jira.set_latency(0)
    await bot.start()
    back = time.monotonic()
    await until(lambda: _finished(world, 2), "ticket 2's escalation was not finished", within=LEASE + 8,
                process=bot)
    second_took = time.monotonic() - back
    second = await _once_each(world, 2)  # the next process found the issue by its label, not creating another

    await until(lambda: str(second.jira_key) in str(getattr(sandbox.find_message(PAYMENTS, str(second.post_ts)),
                                                              "blocks", "")),
                "the team's post never showed the Jira issue", within=5, process=bot)
    await bot.end(signal.SIGTERM)
    await _once_each(world, 1)
    await _once_each(world, 2)
    assert len(jira.issues) == 2 and len(pagerduty.alerts) == 2
    print(f"\nfinished {first_took:.2f} s and {second_took:.2f} s after the new process was ready (lease {LEASE} s)")

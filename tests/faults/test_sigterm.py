"""SIGTERM while PagerDuty hangs: the process refuses new connections, finishes the work Slack was already told
about (the ticket card of a submission acknowledged just before the signal), and exits within 10 s although the
page never came back; the next process finishes the page once. (The five SEV1 stop points: test_kill_points.py.)"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio

from bot.domain import StepState
from bot.sandbox.pagerduty import PagerDutyStandIn
from bot.sandbox.slack import SlackSandbox
from bot.sandbox.workspace import file_ticket, ticket_card_message, ticket_values
from storage.db import create_engine, create_sessionmaker
from storage.repositories import incidents
from tests.processes import BotProcess, bot_env, bot_process, free_port, until, write_config
from tests.scenarios.conftest import ROUTING_KEY

TRIAGE = "C0TRIAGE01"
SEV1 = ticket_values(**{"Impact": "Production down or data loss", "Summary": "Checkout returns 500"})
STOP_LIMIT = 10.0


@pytest_asyncio.fixture
async def pagerduty() -> AsyncIterator[PagerDutyStandIn]:
    async with PagerDutyStandIn(routing_keys=[ROUTING_KEY]) as standin:
        yield standin


@pytest_asyncio.fixture
async def bot(sandbox: SlackSandbox, pagerduty: PagerDutyStandIn, database_url: str,
              tmp_path: Path) -> AsyncIterator[BotProcess]:
    env = bot_env(sandbox=sandbox, database_url=database_url, port=free_port(),
                  config=write_config(tmp_path, tick="250ms", lease="3s"),
                  PAGERDUTY_ROUTING_KEY=ROUTING_KEY, PAGERDUTY_EVENTS_URL=pagerduty.url)
    async with bot_process(env, tmp_path / "supportbot.log") as process:
        yield process


async def _page_state(database_url: str) -> StepState | None:
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            incident = await incidents.latest_incident(session, ticket_number=1)
    finally:
        await engine.dispose()
    return None if incident is None else incident.page.state


@pytest.mark.timeout(90)
async def test_sigterm_with_a_hanging_vendor_refuses_new_work_finishes_the_card_and_exits_in_time(
        sandbox: SlackSandbox, pagerduty: PagerDutyStandIn, bot: BotProcess, database_url: str) -> None:
    await bot.start()
    pagerduty.set_latency(STOP_LIMIT + 2)  # PagerDuty takes the page and answers only after the stop deadline
    sandbox.set_latency(1.0, "chat.postMessage")  # the card is still on its way when the signal comes
    async with bot.driver(sandbox) as slack:
        _, filed = await file_ticket(slack, sandbox, values=SEV1)
    assert filed.status == 200 and filed.acked_in_time and not (filed.json or {}).get("errors"), filed.body
    await until(lambda: pagerduty.arrived >= 1, "the page never reached PagerDuty", within=10, process=bot)
    assert ticket_card_message(sandbox, 1, TRIAGE) is None

    process, bot.process = bot.process, None
    assert process is not None
    sent = time.monotonic()
    process.send_signal(signal.SIGTERM)
    await until(lambda: _refused(bot), "a stopping process still took new connections", within=3, process=bot)
    await asyncio.wait_for(process.wait(), 15)
    stopped_in = time.monotonic() - sent
    assert stopped_in < STOP_LIMIT, stopped_in
    print(f"\nSIGTERM with PagerDuty hanging: exited in {stopped_in:.2f} s")
    assert ticket_card_message(sandbox, 1, TRIAGE) is not None  # acknowledged before the signal: finished
    assert await _page_state(database_url) is not StepState.DONE  # the hung page was abandoned, not faked

    pagerduty.set_latency(0)
    sandbox.set_latency(0, "chat.postMessage")
    await bot.start()
    await until(lambda: _page_done(database_url), "the next process did not finish the page", within=15,
                process=bot)
    await bot.end(signal.SIGTERM)
    assert [a.dedup_key for a in pagerduty.alerts] == ["supportbot-ticket-1-1"]  # one alert, sent under one key
    assert len([m for m in sandbox.history(TRIAGE) if "Checkout returns 500" in m.text]) == 1


async def _refused(bot: BotProcess) -> bool:
    try:
        async with aiohttp.ClientSession() as http, http.get(f"{bot.url}/healthz") as response:
            return response.status == 503
    except aiohttp.ClientConnectionError:
        return True


async def _page_done(database_url: str) -> bool:
    return await _page_state(database_url) is StepState.DONE

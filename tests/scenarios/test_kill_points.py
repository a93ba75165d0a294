"""A real `supportbot run` killed (SIGKILL) or stopped (SIGTERM) at each point where a SEV1 can be half done, then
started again: exactly one card, one kickoff, one `#incident-<n>` (never `-2`), one page and one status-page
incident, within a tick or two of the restart.

The points, one SEV1 ticket each, on one database and one workspace, one process after another:
  1. the submission was acknowledged and the posts of the card and the kickoff never reached Slack (lost);
  2. the card's post is in flight and Slack is slow (Slack has posted it; its answer comes too late);
  3. Slack rate-limits the card and the kickoff (429, Retry-After longer than the attempt may wait);
  4. the incident channel was created, but its answer never came back to be recorded;
  5. PagerDuty's 202 (and Slack's and Statuspage's answers) came back, but nothing could be recorded yet.
Leases and ticks come from the configuration: `[scheduler] lease = "3s"`, `tick = "250ms"`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sqlite3
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.core.config import load_config
from bot.sandbox.driver import SlackDriver
from bot.sandbox.pagerduty import PagerDutyStandIn
from bot.sandbox.slack_models import Message
from bot.sandbox.slack_outages import UnreliableSlackSandbox
from bot.sandbox.statuspage import StatuspageStandIn
from bot.sandbox.workspace import file_ticket, populate, ticket_values
from storage.db import create_engine, is_sqlite
from tests.conftest import BOT_TOKEN, CONTRACT, ROOT, SIGNING_SECRET, without_webhooks
from tests.databases import autocommit, database_name
from tests.ports import free_port
from tests.scenarios.conftest import ROUTING_KEY

LEASE = 3.0
TICK = 0.25
SEV1 = ticket_values(**{"Impact": "Production down or data loss", "Summary": "Checkout returns 500"})
TRIAGE = load_config(CONTRACT).slack.triage_channel
STOP_LIMIT = 10.0


@dataclass
class World:
    sandbox: UnreliableSlackSandbox
    pagerduty: PagerDutyStandIn
    statuspage: StatuspageStandIn
    database: str  # the fixture's URL: SQLite or PostgreSQL, as the suite runs
    port: int
    env: dict[str, str]
    log: Path
    process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot.cli", "run", cwd=ROOT, env=self.env,
                stdout=asyncio.subprocess.DEVNULL, stderr=log)
        async with aiohttp.ClientSession() as http:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"http://127.0.0.1:{self.port}/healthz") as response:
                        if response.status == 200:
                            return
                await asyncio.sleep(0.05)
        raise AssertionError(f"supportbot run did not start; its log ends:\n{self.tail()}")

    async def end(self, how: signal.Signals) -> float:
        """Sends the signal; the seconds until the process was gone."""
        process, self.process = self.process, None
        assert process is not None and process.returncode is None
        sent = time.monotonic()
        process.send_signal(how)
        try:
            await asyncio.wait_for(process.wait(), 15)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise AssertionError(f"still running 15 s after {how.name}; its log ends:\n{self.tail()}") from None
        return time.monotonic() - sent

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    async def file_sev1(self) -> int:
        async with SlackDriver(events_url=f"http://127.0.0.1:{self.port}/slack/events",
                               signing_secret=SIGNING_SECRET, sandbox=self.sandbox) as slack:
            _, response = await file_ticket(slack, self.sandbox, values=SEV1)
        assert response.status == 200, response
        return (await self.query("SELECT MAX(number) FROM tickets"))[0][0]  # type: ignore[no-any-return]

    async def query(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        async with autocommit(self.database) as db:
            return [tuple(row) for row in (await db.execute(text(sql), params)).all()]

    def heal(self) -> None:
        """Slack, PagerDuty and Statuspage are well again (their state kept) before the next process starts."""
        for method in ("chat.postMessage", "conversations.create"):
            self.sandbox.slow_down(method, 0)
        self.pagerduty.set_latency(0)
        self.statuspage.set_latency(0)


def _config(folder: Path) -> Path:
    text = re.sub(r'tick = "[^"]+"', f'tick = "{int(TICK * 1000)}ms"\nlease = "{int(LEASE)}s"',
                  without_webhooks(CONTRACT.read_text()))
    path = folder / "supportbot.toml"
    path.write_text(text)
    return path


@pytest_asyncio.fixture
async def world(tmp_path: Path, database_url: str) -> AsyncIterator[World]:
    sandbox = UnreliableSlackSandbox(bot_token=BOT_TOKEN)
    await sandbox.start()
    populate(sandbox, load_config(CONTRACT))
    async with PagerDutyStandIn(routing_keys=[ROUTING_KEY]) as pagerduty, StatuspageStandIn() as statuspage:
        port = free_port()
        database = database_url
        env = {**os.environ, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
               "SLACK_API_URL": sandbox.api_url, "DATABASE_URL": database,
               "PORT": str(port), "SUPPORTBOT_CONFIG": str(_config(tmp_path)), "PAGERDUTY_ROUTING_KEY": ROUTING_KEY,
               "PAGERDUTY_EVENTS_URL": pagerduty.url, "STATUSPAGE_API_KEY": statuspage.api_key,
               "STATUSPAGE_PAGE_ID": statuspage.page_id, "STATUSPAGE_API_URL": statuspage.api_url}
        env.pop("SLACK_APP_TOKEN", None)
        world = World(sandbox, pagerduty, statuspage, database, port, env, tmp_path / "supportbot.log")
        try:
            yield world
        finally:
            if world.process is not None and world.process.returncode is None:
                world.process.kill()
                await world.process.wait()
    await sandbox.stop()


# -- what is in Slack, PagerDuty and Statuspage for ticket n ---------------------------------------------------

def _marked(message: Message, event_type: str, **payload: Any) -> bool:
    metadata = message.metadata or {}
    found = metadata.get("event_payload") or {}
    return metadata.get("event_type") == event_type and all(str(found.get(k)) == str(v) for k, v in payload.items())


def _cards(world: World, n: int) -> list[Message]:
    return [m for m in world.sandbox.history(TRIAGE) if _marked(m, "supportbot_ticket_card", ticket=n)]


def _channels(world: World, n: int) -> list[str]:
    return [c.name for c in world.sandbox.channels.values() if re.fullmatch(rf"incident-{n}(-\d+)?", c.name)]


def _kickoffs(world: World, n: int) -> list[Message]:
    return [m for c in world.sandbox.channels.values() if c.name.startswith(f"incident-{n}")
            for m in world.sandbox.history(c.id) if _marked(m, "supportbot_kickoff", ticket=n)]


def _drafts(world: World, n: int) -> list[Message]:
    cards = _cards(world, n)
    return [m for card in cards for m in world.sandbox.history(TRIAGE, thread_ts=card.ts)
            if _marked(m, "supportbot_ticket_note", ticket=n, note="draft")]


def _alerts(world: World, n: int) -> list[Any]:
    return [a for a in world.pagerduty.alerts if a.dedup_key == f"supportbot-ticket-{n}-1"]


def _public_incidents(world: World, n: int) -> list[Any]:
    key = f"supportbot-ticket-{n}-1"
    return [i for i in world.statuspage.incidents.values() if (i.metadata.get("supportbot") or {}).get("key") == key]


async def _finished(world: World, n: int) -> bool:
    """Everything recorded: the card and kickoff where they are, every step done, no one-time effect left."""
    steps = await world.query("SELECT s.state FROM incident_steps s JOIN incidents i ON i.id = s.incident_id "
                              "WHERE i.ticket_number = :n", n=n)
    left = await world.query("SELECT key FROM side_effects WHERE done_at IS NULL AND (key LIKE :a OR key LIKE :b)",
                             a=f"ticket:{n}:%", b="incident:%:kickoff")
    card = await world.query("SELECT card_ts FROM tickets WHERE number = :n", n=n)
    kickoff = await world.query("SELECT kickoff_ts FROM incidents WHERE ticket_number = :n", n=n)
    return (len(steps) == 3 and all(state == "done" for (state,) in steps) and not left
            and bool(card and card[0][0]) and bool(kickoff and kickoff[0][0]))


async def _exactly_one_of_everything(world: World, n: int, ready_at: float) -> float:
    """Waits until ticket n is finished and says how long after the new process was ready that was; then checks,
    and checks again two ticks later, that nothing came twice."""
    deadline = time.monotonic() + LEASE + 8
    while not await _finished(world, n):
        assert time.monotonic() < deadline, f"ticket {n} not finished; log:\n{world.tail()}"
        await asyncio.sleep(0.05)
    took = time.monotonic() - ready_at
    for check in range(2):
        if check:
            await asyncio.sleep(2 * TICK)  # two more ticks: nothing comes late or twice
        assert len(_cards(world, n)) == 1, [m.text for m in _cards(world, n)]
        assert _channels(world, n) == [f"incident-{n}"]
        assert len(_kickoffs(world, n)) == 1
        assert len(_drafts(world, n)) == 1
        assert len(_alerts(world, n)) == 1
        assert len(_public_incidents(world, n)) == 1
        ((card_ts,),) = await world.query("SELECT card_ts FROM tickets WHERE number = :n", n=n)
        assert card_ts == _cards(world, n)[0].ts
    return took


# -- the points -------------------------------------------------------------------------------------------------
# Each files ticket n and returns once the process stands at its point; `during_stop` (SIGTERM only) runs while
# the process is stopping, `after_stop` checks what the stopped process recorded.

@dataclass
class Point:
    name: str
    reach: Callable[[World], Awaitable[int]]
    during_stop: Callable[[World], Awaitable[None]] | None = None
    after_stop: Callable[[World, int, signal.Signals], Awaitable[None]] | None = None


async def _posts_lost(world: World) -> int:
    world.sandbox.lose_next("chat.postMessage", times=2)  # the card's and the kickoff's
    n = await world.file_sev1()
    await world.sandbox.wait_for(lambda: world.sandbox.hanging == 2, timeout=10)
    return n


async def _nothing_posted(world: World, n: int, how: signal.Signals) -> None:
    assert _cards(world, n) == [] and _kickoffs(world, n) == []  # nothing reached Slack: the next process posts


async def _card_slow(world: World) -> int:
    world.sandbox.slow_down("chat.postMessage", 1.5)
    n = await world.file_sev1()
    await asyncio.sleep(0.5)  # the card's post (and the kickoff's) is in flight
    return n


async def _refuses_requests(world: World) -> None:
    await asyncio.sleep(0.5)
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.ClientConnectionError):
            async with http.get(f"http://127.0.0.1:{world.port}/healthz") as response:
                raise AssertionError(f"a stopping bot answered /healthz with {response.status}")


async def _card_recorded(world: World, n: int, how: signal.Signals) -> None:
    ((card_ts,),) = await world.query("SELECT card_ts FROM tickets WHERE number = :n", n=n)
    if how is signal.SIGTERM:  # the slow post came back within the stop's time: recorded before exiting
        assert card_ts is not None
    else:  # Slack posts it after the process is gone, unrecorded: the next process must find it, not post again
        assert card_ts is None
        await world.sandbox.wait_for(lambda: _cards(world, n), timeout=5)


async def _rate_limited(world: World) -> int:
    before = len(world.sandbox.calls_to("chat.postMessage"))
    world.sandbox.fail_next("chat.postMessage", "ratelimited", times=2, retry_after=4)
    n = await world.file_sev1()
    await world.sandbox.wait_for(lambda: [c.error for c in world.sandbox.calls_to("chat.postMessage")[before:]]
                                 .count("ratelimited") == 2, timeout=10)
    return n


async def _channel_unrecorded(world: World) -> int:
    world.sandbox.slow_down("conversations.create", 1.5)
    n = await world.file_sev1()
    await asyncio.sleep(0.5)  # conversations.create is in flight
    return n


async def _channel_created(world: World, n: int, how: signal.Signals) -> None:
    # Slack carries the create out after the process is gone.
    await world.sandbox.wait_for(lambda: world.sandbox.channel_by_name(f"incident-{n}"), timeout=5)
    if how is signal.SIGTERM:
        ((state,),) = await world.query("SELECT s.state FROM incident_steps s JOIN incidents i "
                                        "ON i.id = s.incident_id WHERE i.ticket_number = :n AND s.step = 'channel'",
                                        n=n)
        assert state == "done"


class _WriteLock:
    """The test holds the database's write lock, so the bot has its answers in hand and cannot record them yet:
    SQLite's (BEGIN IMMEDIATE), or on PostgreSQL every table locked IN EXCLUSIVE MODE (reads go on, as in WAL)."""

    db: sqlite3.Connection | None = None
    connection: AsyncConnection | None = None
    engine: AsyncEngine | None = None

    async def take(self, database: str) -> None:
        if is_sqlite(database):
            # Waited for in a thread: while the bot writes, the sandbox on this loop must go on answering it.
            self.db = sqlite3.connect(database_name(database), timeout=10, isolation_level=None,
                                      check_same_thread=False)
            await asyncio.to_thread(self.db.execute, "BEGIN IMMEDIATE")
            return
        self.engine = create_engine(database)
        self.connection = await (await self.engine.connect()).execution_options(isolation_level="AUTOCOMMIT")
        tables = await self.connection.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
        await self.connection.execute(text("BEGIN"))
        await self.connection.execute(text(f"LOCK TABLE {', '.join(t for (t,) in tables)} IN EXCLUSIVE MODE"))

    async def release(self) -> None:
        if self.db is not None:
            self.db.rollback()
            self.db.close()
            self.db = None
        if self.connection is not None:
            await self.connection.execute(text("ROLLBACK"))
            await self.connection.close()
            self.connection = None
        if self.engine is not None:
            await self.engine.dispose()
            self.engine = None


LOCK = _WriteLock()


async def _answers_unrecorded(world: World) -> int:
    world.pagerduty.set_latency(1.0)
    world.statuspage.set_latency(1.0)
    world.sandbox.slow_down("conversations.create", 1.0)
    accepted = len(world.pagerduty.accepted_events("trigger"))
    arrived = world.pagerduty.arrived, world.statuspage.arrived
    n = await world.file_sev1()
    # The lock once the calls have reached PagerDuty and Statuspage (their answers come 1 s later): taken at
    # once, a bot slowed by a loaded machine could still be writing what comes before them and wait on it.
    await world.sandbox.wait_for(lambda: world.pagerduty.arrived > arrived[0]
                                 and world.statuspage.arrived > arrived[1], timeout=10)
    await LOCK.take(world.database)
    await world.sandbox.wait_for(lambda: len(world.pagerduty.accepted_events("trigger")) > accepted
                                 and world.sandbox.channel_by_name(f"incident-{n}") and _public_incidents(world, n),
                                 timeout=10)
    await asyncio.sleep(0.3)  # the 202 and the other answers have reached the bot, which waits for the lock
    return n


async def _unlock_soon(world: World) -> None:
    await asyncio.sleep(1.0)
    await LOCK.release()


async def _page_recorded(world: World, n: int, how: signal.Signals) -> None:
    await LOCK.release()
    if how is signal.SIGTERM:  # the 202 that arrived is recorded as done, not left running
        ((state, key),) = await world.query("SELECT s.state, s.external_id FROM incident_steps s JOIN incidents i "
                                            "ON i.id = s.incident_id WHERE i.ticket_number = :n AND s.step = 'page'",
                                            n=n)
        assert (state, key) == ("done", f"supportbot-ticket-{n}-1")


POINTS = [
    Point("card and kickoff posts lost after the acknowledgement", _posts_lost, after_stop=_nothing_posted),
    Point("card post in flight, Slack slow", _card_slow, during_stop=_refuses_requests, after_stop=_card_recorded),
    Point("card and kickoff rate-limited", _rate_limited),
    Point("channel created, not recorded", _channel_unrecorded, after_stop=_channel_created),
    Point("PagerDuty's 202 arrived, not recorded", _answers_unrecorded, during_stop=_unlock_soon,
          after_stop=_page_recorded),
]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
async def test_every_kill_point_ends_with_exactly_one_of_everything(world: World, how: signal.Signals) -> None:
    await world.start()
    timings: list[str] = []
    try:
        for point in POINTS:
            n = await point.reach(world)
            stopping = asyncio.ensure_future(world.end(how))
            if how is signal.SIGTERM and point.during_stop is not None:
                await point.during_stop(world)
            stopped_in = await stopping
            if how is signal.SIGTERM:
                assert stopped_in < STOP_LIMIT, (point.name, stopped_in)
            if point.after_stop is not None:
                await point.after_stop(world, n, how)
            world.heal()
            starting = time.monotonic()
            await world.start()
            ready = time.monotonic()
            took = await _exactly_one_of_everything(world, n, ready)
            # Claims made before the stop end at most a lease after it; the first tick after that takes them up.
            assert took < LEASE + 6, (point.name, took)  # a lease and the locked SQLite writer queue on 2 busy cores
            timings.append(f"{how.name} {point.name}: stopped in {stopped_in:.2f} s, started in "
                           f"{ready - starting:.2f} s, finished {took:.2f} s after that")
    finally:
        await LOCK.release()
        print("\n".join(timings))  # shown with -s: the figures the README quotes
    await world.end(signal.SIGTERM)
    # One page per ticket (an unrecorded 202 is sent again under the same dedup key, which PagerDuty merges).
    assert len(world.pagerduty.alerts) == len(POINTS)
    assert len(world.statuspage.incidents) == len(POINTS)


def test_a_stop_that_hangs_still_ends_the_process_in_time() -> None:
    # A worker thread stuck on a vendor keeps Python from exiting by itself; the deadline armed at SIGTERM
    # (bot/cli.py, 9.5 s there) ends the process anyway.
    import subprocess

    started = time.monotonic()
    result = subprocess.run([sys.executable, "-c", "import threading\nfrom bot.cli import _exit_anyway_after\n"
                             "_exit_anyway_after(0.3)\nthreading.Thread(target=threading.Event().wait).start()"],
                            cwd=ROOT, capture_output=True, text=True, timeout=20)
    assert result.returncode == 1 and "exiting now" in result.stderr
    assert time.monotonic() - started < 5

"""Two `supportbot run` replicas on one PostgreSQL, 1,000 deadlines due at once: each fires exactly once (one
audit event, one Slack message), both replicas take a share, and when one is SIGKILLed holding claims the other
finishes its work once the lease ends. Always on PostgreSQL: several replicas are what it is for."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from bot.domain import Environment, Impact, PlanTier, Severity
from bot.sandbox.slack import SlackSandbox
from bot.tickets.timers import FirstResponseReminder
from storage.db import create_engine, create_sessionmaker
from storage.models import AuditEventRow, TimerRow
from storage.repositories import tickets, timers
from tests.processes import BotProcess, bot_env, free_port, until, write_config

TIMERS = 1000
TRIAGE = "C0TRIAGE01"
LEASE_SECONDS = 3


async def _seed(url: str) -> None:
    """1,000 open tickets, each with its first-response reminder due a second ago (no card: it goes to triage)."""
    now = datetime.now(UTC)
    engine = create_engine(url)
    async with create_sessionmaker(engine).begin() as session:
        for n in range(TIMERS):
            draft = tickets.TicketDraft(
                workspace_id=f"ws_{n:05d}", requester_email="dana@customer.example", summary=f"Exports fail {n}",
                what_happened="x", expected="y", impact=Impact.MINOR_BROKEN, severity=Severity.SEV3,
                severity_reason="r", plan_tier=PlanTier.PRO, environment=Environment(occurred_at=now),
                attachment_link=None,
                helpdesk_link=None, category=None, filed_by="U0AGENT001", filed_at=now - timedelta(hours=1),
                first_response_due=now + timedelta(minutes=10), redactions=(), origin_channel=None)
            ticket, _ = await tickets.insert_ticket_once(session, draft=draft, submission_key=f"seed-{n}")
            key = FirstResponseReminder(ticket.number)
            await timers.schedule_timer(session, key=key.encode(), kind=key.kind, due_at=now - timedelta(seconds=1),
                                        ticket_number=ticket.number)
    await engine.dispose()


async def _fired(url: str) -> tuple[int, Counter[str], Counter[int]]:
    """Timers fired, by whom, and the audit's reminder events per ticket."""
    engine = create_engine(url)
    async with create_sessionmaker(engine)() as session:
        fired = await session.scalar(select(func.count()).select_from(TimerRow).where(TimerRow.fired_at.is_not(None)))
        by = Counter((await session.scalars(select(TimerRow.claimed_by).where(TimerRow.fired_at.is_not(None)))).all())
        audited = Counter((await session.scalars(select(AuditEventRow.ticket_number).where(
            AuditEventRow.action == "first_response_warning_fired"))).all())
    await engine.dispose()
    return int(fired or 0), by, audited


def _reminders(sandbox: SlackSandbox) -> Counter[int]:
    marks = (m.metadata or {} for m in sandbox.history(TRIAGE))
    return Counter(int(str(m["event_payload"]["ticket"])) for m in marks
                   if m.get("event_type") == "supportbot_ticket_note"
                   and m.get("event_payload", {}).get("note") == FirstResponseReminder.kind)


async def _replicas(sandbox: SlackSandbox, url: str, tmp_path: Path) -> tuple[BotProcess, BotProcess]:
    config = write_config(tmp_path, tick="200ms", lease=f"{LEASE_SECONDS}s")
    return tuple(BotProcess(bot_env(sandbox=sandbox, database_url=url, port=free_port(), config=config),
                            tmp_path / f"replica-{i}.log") for i in (1, 2))  # type: ignore[return-value]


async def _check_exactly_once(sandbox: SlackSandbox, url: str) -> Counter[str]:
    fired, by, audited = await _fired(url)
    assert fired == TIMERS
    assert len(audited) == TIMERS and set(audited.values()) == {1}, audited.most_common(3)
    posted = await until(lambda: (r := _reminders(sandbox)) and sum(r.values()) >= TIMERS and r,
                         "every reminder posted", within=60)
    assert len(posted) == TIMERS and set(posted.values()) == {1}, posted.most_common(3)
    return by


async def test_two_replicas_fire_a_thousand_deadlines_exactly_once(
        sandbox: SlackSandbox, postgres_url: str, tmp_path: Path) -> None:
    await _seed(postgres_url)
    first, second = await _replicas(sandbox, postgres_url, tmp_path)
    try:
        await asyncio.gather(first.start(), second.start())
        await until(_all_fired(postgres_url), "all 1,000 timers fired", within=120, process=first)
        by = await _check_exactly_once(sandbox, postgres_url)
        assert len(by) == 2 and min(by.values()) > 0, by  # both replicas took a share
    finally:
        await first.kill()
        await second.kill()


async def test_a_replica_killed_holding_claims_leaves_its_deadlines_to_the_other_once_the_lease_ends(
        sandbox: SlackSandbox, postgres_url: str, tmp_path: Path) -> None:
    await _seed(postgres_url)
    first, second = await _replicas(sandbox, postgres_url, tmp_path)
    try:
        await asyncio.gather(first.start(), second.start())
        await until(_some_fired(postgres_url, 150), "150 timers fired", within=60, process=first)
        assert first.process is not None
        pid = first.process.pid
        await first.end(signal.SIGKILL, within=5)
        fired_at_kill = (await _fired(postgres_url))[0]
        assert fired_at_kill < TIMERS, "the kill came too late to hold any claim"
        await until(_all_fired(postgres_url), "the rest fired by the survivor", within=120, process=second)
        by = await _check_exactly_once(sandbox, postgres_url)
        survivor = next(name for name in by if not name.endswith(f":{pid}"))
        assert by[survivor] > TIMERS - fired_at_kill - 1, by
    finally:
        await first.kill()
        await second.kill()


def _all_fired(url: str):  # type: ignore[no-untyped-def]
    return _some_fired(url, TIMERS)


def _some_fired(url: str, at_least: int):  # type: ignore[no-untyped-def]
    async def check() -> bool:
        return (await _fired(url))[0] >= at_least
    return check

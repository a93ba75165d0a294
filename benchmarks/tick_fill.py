"""Bulk data for bench_tick.py: open tickets and a long history of timers, shaped like the bot's own.

Each ticket gets ten timers with the keys and kinds the workflows really schedule (bot/*/timers.py): the
first-response warning and breach, three closure reminders and a repeat, two escalation rungs, the fix reminder
and a SEV2 page retry. Almost all of them fired or were cancelled long ago; every 50th ticket keeps its
summary reminder pending, due within the next two days, so a claim made now finds nothing due.

Rows go in through SQLAlchemy Core executemany on the models' tables (bind processing included, no COPY),
in chunks, inside one transaction per chunk.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain import Impact, PlanTier, Severity
from storage.models import TicketRow, TimerRow

TIMERS_PER_TICKET = 10
PENDING_EVERY = 50  # one ticket in 50 keeps a pending timer: 2,000 of 100,000
CHUNK = 10_000
HISTORY = timedelta(days=90)


def ticket_row(number: int, filed_at: datetime) -> dict[str, Any]:
    return {
        "number": number, "submission_key": f"bench-view-{number}", "workspace_id": f"ws_{number % 997:04d}",
        "requester_email": f"customer{number % 5000}@example.com", "summary": f"Bench ticket {number}: export fails",
        "what_happened": "The CSV export stops at 99 % and the page shows an error.",
        "expected": "The export finishes and downloads.", "impact": Impact.MINOR_BROKEN.value,
        "severity": Severity.SEV3.value, "severity_reason": "Impact: a minor feature is broken",
        "plan_tier": PlanTier.PRO.value, "filed_by": "U0AGENT001", "filed_at": filed_at,
        "first_response_due": filed_at + timedelta(hours=4), "first_response_at": filed_at + timedelta(minutes=20),
        "first_response_by": "U0AGENT002", "status": "open", "card_channel": "C0TRIAGE01",
        "card_ts": f"{int(filed_at.timestamp())}.{number % 1_000_000:06d}", "redactions": "", "labels": "",
        "share_restricted": False,
    }


def timer_rows(number: int, filed_at: datetime, now: datetime, rng: random.Random) -> list[dict[str, Any]]:
    """The ticket's ten timers: (key suffix, kind, due after filing, outcome)."""
    plan = (
        ("first_response_warning", "first_response_warning", timedelta(hours=3), "fired"),
        ("first_response_breach", "first_response_breach", timedelta(hours=4), "cancelled"),
        ("closure:customer:1", "closure_reminder", timedelta(days=1), "fired"),
        ("closure:csm:1", "closure_reminder", timedelta(days=1), "cancelled"),
        ("closure:summary:1", "closure_reminder", timedelta(days=1), "fired"),
        ("closure:customer:2", "closure_reminder", timedelta(days=2), "fired"),
        ("escalation:1:rung:1", "escalation_rung", timedelta(minutes=15), "fired"),
        ("escalation:1:rung:2", "escalation_rung", timedelta(minutes=30), "cancelled"),
        ("fix_reminder:1", "fix_reminder", timedelta(days=3), "fired"),
        ("sev2_page:retry:1", "sev2_page_retry", timedelta(seconds=10), "fired"),
    )
    rows = []
    for suffix, kind, after, outcome in plan:
        due = filed_at + after
        pending = suffix == "closure:summary:1" and number % PENDING_EVERY == 0
        if pending:
            due = now + timedelta(seconds=rng.randint(3600, 2 * 86400))
        done = min(due + timedelta(seconds=rng.randint(0, 30)), now - timedelta(minutes=1))
        rows.append({
            "key": f"ticket:{number}:{suffix}", "kind": kind, "ticket_number": number, "incident_id": None,
            "due_at": due, "attempts": 0 if pending or outcome == "cancelled" else 1, "claimed_until": None,
            "claimed_by": None if pending or outcome == "cancelled" else "bench-host:1",
            "fired_at": done if not pending and outcome == "fired" else None,
            "cancelled_at": (filed_at + after / 2) if not pending and outcome == "cancelled" else None,
            "last_error": None,
        })
    return rows


def _chunks(first: int, last: int, size: int) -> Iterator[range]:
    for start in range(first, last + 1, size):
        yield range(start, min(start + size, last + 1))


async def fill(engine: AsyncEngine, *, first: int, last: int, now: datetime, seed: int = 12) -> dict[str, float]:
    """Inserts tickets first..last and their timers; returns counts and seconds taken."""
    rng = random.Random(seed + first)
    started = time.perf_counter()
    tickets = timers = 0
    for numbers in _chunks(first, last, CHUNK // TIMERS_PER_TICKET):
        filed = {n: now - HISTORY + timedelta(seconds=rng.randint(0, int(HISTORY.total_seconds()) - 4 * 86400))
                 for n in numbers}
        ticket_batch = [ticket_row(n, filed[n]) for n in numbers]
        timer_batch = [row for n in numbers for row in timer_rows(n, filed[n], now, rng)]
        async with engine.begin() as connection:
            await connection.execute(insert(TicketRow), ticket_batch)
            await connection.execute(insert(TimerRow), timer_batch)
        tickets += len(ticket_batch)
        timers += len(timer_batch)
    return {"tickets": tickets, "timers": timers, "seconds": time.perf_counter() - started}

"""Migration 0002 carries today's incidents over: three step columns each become one row per step, and back."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from alembic import command
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain import Incident
from storage.db import create_engine, create_sessionmaker
from storage.migrate import alembic_config
from storage.repositories import incidents


def _insert_old_incident(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO tickets (number, submission_key, workspace_id, requester_email, summary, what_happened, "
            "expected, impact, severity, severity_reason, plan_tier, redactions, filed_by, filed_at, "
            "first_response_due, status) VALUES (1, 'V1', 'ws_1', 'a@b.example', 's', 'w', 'e', 'production_down', "
            "'SEV1', 'r', 'business', '', 'U1', '2026-12-01 10:00:00', '2026-12-01 11:00:00', 'open')")
        db.execute(
            "INSERT INTO incidents (id, ticket_number, generation, status, public_title, opened_at, "
            "last_public_update_at, last_public_message, page_state, page_detail, page_dedup_key, page_resolved_at, "
            "channel_state, channel_detail, channel_id, channel_name, statuspage_state, statuspage_detail, "
            "statuspage_incident_id, statuspage_url, statuspage_claimed_until) VALUES (5, 1, 1, 'investigating', "
            "'Service disruption', '2026-12-01 10:00:00', '2026-12-01 10:00:00', 'We are investigating', 'done', "
            "'paged', 'supportbot-ticket-1-1', '2026-12-01 12:00:00', 'done', 'opened', 'C0INC1', 'incident-1', "
            "'running', 'posting', NULL, NULL, '2026-12-01 10:02:00')")
        for _ in range(2):  # two failed attempts of the status page, on the audit trail only
            db.execute("INSERT INTO audit_log (ticket_number, action, actor, at) VALUES "
                       "(1, 'incident_statuspage_failed', 'supportbot', '2026-12-01 10:01:00')")


async def _incident(engine: AsyncEngine) -> Incident | None:
    async with create_sessionmaker(engine)() as session:
        return await incidents.get_incident(session, incident_id=5)


async def test_steps_move_from_columns_to_rows_and_back(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    url = f"sqlite+aiosqlite:///{path}"
    config = alembic_config(url)
    await asyncio.to_thread(command.upgrade, config, "0001")
    _insert_old_incident(path)
    await asyncio.to_thread(command.upgrade, config, "head")

    engine = create_engine(url)
    try:
        incident = await _incident(engine)
    finally:
        await engine.dispose()
    assert incident is not None
    assert (incident.page.state.value, incident.page_dedup_key) == ("done", "supportbot-ticket-1-1")
    assert incident.page.closed_at is not None and incident.page.closed_at.hour == 12
    assert (incident.channel_id, incident.channel_name, incident.channel.detail) == ("C0INC1", "incident-1", "opened")
    assert (incident.statuspage.state.value, incident.statuspage.failures) == ("running", 2)
    assert incident.page.failures == 0
    with sqlite3.connect(path) as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(incidents)")}
    assert not {"page_state", "channel_id", "statuspage_url", "page_claimed_until"} & columns

    await asyncio.to_thread(command.downgrade, config, "0001")
    with sqlite3.connect(path) as db:
        row = db.execute("SELECT page_state, page_dedup_key, channel_id, channel_name, statuspage_state "
                         "FROM incidents WHERE id = 5").fetchone()
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert row == ("done", "supportbot-ticket-1-1", "C0INC1", "incident-1", "running")
    assert "incident_steps" not in tables


async def test_side_effects_get_a_lease_and_a_claim_left_by_an_old_process_is_due_and_looked_up(
        tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from storage.repositories import side_effects

    path = tmp_path / "old.db"
    url = f"sqlite+aiosqlite:///{path}"
    config = alembic_config(url)
    await asyncio.to_thread(command.upgrade, config, "0002")
    with sqlite3.connect(path) as db:  # a card posted, and a kickoff claimed by a process that then stopped
        db.execute("INSERT INTO side_effects (key, claimed_at, done_at, result) VALUES "
                   "('ticket:1:card', '2026-12-01 10:00:00', '2026-12-01 10:00:01', '{\"ts\": \"1.1\"}'), "
                   "('incident:5:kickoff', '2026-12-01 10:00:00', NULL, NULL)")
    await asyncio.to_thread(command.upgrade, config, "0003")

    engine = create_engine(url)
    now = datetime(2026, 12, 9, 10, 0, tzinfo=UTC)
    try:
        async with create_sessionmaker(engine).begin() as session:
            assert await side_effects.due_side_effects(session, now=now) == ["incident:5:kickoff"]
            claim = await side_effects.claim_side_effect(session, key="incident:5:kickoff", now=now,
                                                         lease=timedelta(minutes=2))
            assert claim is not None and claim.again  # it may have been posted: the attempt looks first
            assert await side_effects.claim_side_effect(session, key="ticket:1:card", now=now,
                                                        lease=timedelta(minutes=2)) is None
    finally:
        await engine.dispose()

    await asyncio.to_thread(command.downgrade, config, "0002")
    with sqlite3.connect(path) as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(side_effects)")}
        keys = {row[0] for row in db.execute("SELECT key FROM side_effects")}
    assert not {"claimed_until", "attempts"} & columns
    assert keys == {"ticket:1:card", "incident:5:kickoff"}

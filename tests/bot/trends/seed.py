"""A fixture month with known timestamps (November 2026, and October for the change), written straight into the
tables, so every figure of the report can be checked against numbers worked out by hand in the tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import AuditEventRow, EscalationRow, IncidentRow, TicketRow

REQUESTER = "dana@customer.example"
H, M = timedelta(hours=1), timedelta(minutes=1)


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


# number, filed_at, severity, category, plan tier, status, first response after filing (None: never), deadline
TICKETS = [
    (1, at(11, 2, 10), "SEV2", "billing", "enterprise", "resolved", 30 * M, H),
    (2, at(11, 3, 9), "SEV3", "billing", "enterprise", "open", 90 * M, H),
    (3, at(11, 9, 12), "SEV3", "auth", "pro", "resolved", 20 * M, H),
    (4, at(11, 10, 12), "SEV1", "auth", "business", "resolved", 10 * M, H),
    (5, at(11, 16, 8), "SEV4", "ui", "trial", "open", None, 4 * H),
    (6, at(11, 17, 8), "SEV2", "billing", "pro", "resolved", 59 * M, H),
    (7, at(11, 23, 15), "SEV3", None, "free", "open", 5 * H, 4 * H),
    (8, at(11, 30, 23), "SEV3", "billing", "enterprise", "open", 45 * M, H),
    (9, at(12, 1, 0), "SEV3", "billing", "enterprise", "open", None, H),  # December: not in the month
    (101, at(10, 5, 10), "SEV3", "billing", "enterprise", "open", 30 * M, H),
    (102, at(10, 20, 10), "SEV2", "auth", "pro", "open", 2 * H, H),
    (103, at(10, 31, 23, 59), "SEV4", "ui", "free", "open", H, 4 * H),
]
# ticket, escalated_at, acknowledged after (None: never), team, component
ESCALATIONS = [
    (1, at(11, 2, 11), 10 * M, "payments", "billing"),
    (2, at(11, 3, 10), 30 * M, "payments", "billing"),
    (3, at(11, 9, 13), 5 * M, "platform", "auth"),
    (4, at(11, 10, 12, 30), 60 * M, "platform", "sso"),
    (6, at(11, 17, 9), None, "payments", "webhooks"),
    (8, at(11, 30, 23, 30), 20 * M, "payments", "billing"),
    (101, at(10, 5, 11), 40 * M, "payments", "billing"),
]
# ticket, action, at, after
AUDIT = [
    (1, "ticket_resolved", at(11, 2, 14), None),            # 4 h
    (3, "ticket_resolved", at(11, 9, 18), None),            # re-opened later...
    (3, "ticket_resolved", at(11, 10, 12), None),           # ...so the latest counts: 24 h
    (4, "ticket_resolved", at(11, 11, 9), None),            # the SEV1's incident resolved_at wins: 2 h 30 min
    (4, "status_update", at(11, 10, 13), {"status": "identified"}),
    (6, "ticket_resolved", at(11, 17, 9), None),            # 1 h
    (2, "ticket_resolved", at(11, 4, 9), None),             # #2 is open again: not counted
]
INCIDENT_RESOLVED = {4: at(11, 10, 14, 30)}


async def seed(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        for number, filed, severity, category, tier, status, answered, window in TICKETS:
            session.add(TicketRow(
                number=number, submission_key=f"view-{number}", workspace_id="ws_4f2a9c", requester_email=REQUESTER,
                summary=f"Ticket {number}", what_happened="x", expected="y", impact="minor", severity=severity,
                severity_reason="seeded", plan_tier=tier, category=category, filed_by="U0AGENT001", filed_at=filed,
                first_response_due=filed + window, first_response_at=filed + answered if answered else None,
                status=status))
        await session.flush()
        for i, (number, escalated, acknowledged, team, component) in enumerate(ESCALATIONS):
            session.add(EscalationRow(
                ticket_number=number, round=1, submission_key=f"esc-{i}", team=team, component=component,
                workspace_id="ws_4f2a9c", plan_tier="enterprise", expected="y", actual="x", request_id="req_1",
                sentry_url="https://sentry.example.com/issues/1/", repro_steps="1.", repro_result="reproducible",
                customer_impact="z", routed_by="component", escalated_by="U0AGENT001", escalated_at=escalated,
                state="acknowledged" if acknowledged else "waiting",
                acknowledged_at=escalated + acknowledged if acknowledged else None))
        for number, resolved in INCIDENT_RESOLVED.items():
            filed = next(t[1] for t in TICKETS if t[0] == number)
            session.add(IncidentRow(ticket_number=number, generation=1, status="resolved", public_title="Outage",
                                    opened_at=filed, resolved_at=resolved, last_public_update_at=resolved,
                                    last_public_message="Resolved"))
        for number, action, moment, after in AUDIT:
            session.add(AuditEventRow(ticket_number=number, action=action, actor="U0AGENT001", at=moment,
                                      before=None, after=after))

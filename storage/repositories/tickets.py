"""Tickets: filing (once per submission), the card's place, first response, severity changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import Category, Environment, Impact, MessageSource, PlanTier, Severity, Ticket, TicketStatus
from storage.models import TicketRow
from storage.repositories._upsert import insert_ignoring_conflicts, rows_affected


@dataclass(frozen=True)
class TicketDraft:
    """A validated, redacted, classified ticket that has no number yet."""

    workspace_id: str
    requester_email: str
    summary: str
    what_happened: str
    expected: str
    impact: Impact
    severity: Severity
    severity_reason: str
    plan_tier: PlanTier
    environment: Environment
    attachment_link: str | None
    helpdesk_link: str | None
    category: Category | None
    filed_by: str
    filed_at: datetime
    first_response_due: datetime
    redactions: tuple[str, ...]
    origin_channel: str | None
    source: MessageSource | None = None


class MessageAlreadyFiled(Exception):
    """Another submission already filed a ticket from this message; `ticket` is that one."""

    def __init__(self, ticket: Ticket) -> None:
        super().__init__(f"ticket #{ticket.number} was filed from this message")
        self.ticket = ticket


def _to_ticket(row: TicketRow) -> Ticket:
    return Ticket(
        number=row.number, workspace_id=row.workspace_id, requester_email=row.requester_email,
        summary=row.summary, what_happened=row.what_happened, expected=row.expected,
        impact=Impact(row.impact), severity=Severity(row.severity), severity_reason=row.severity_reason,
        plan_tier=PlanTier(row.plan_tier),
        environment=Environment(browser=row.browser, os=row.os, url=row.url, occurred_at=row.occurred_at,
                                customer_timezone=row.customer_timezone, request_id=row.request_id),
        attachment_link=row.attachment_link, helpdesk_link=row.helpdesk_link,
        category=Category(row.category) if row.category else None,
        filed_by=row.filed_by, filed_at=row.filed_at, first_response_due=row.first_response_due,
        first_response_at=row.first_response_at, first_response_by=row.first_response_by,
        status=TicketStatus(row.status), card_channel=row.card_channel, card_ts=row.card_ts,
        redactions=tuple(r for r in row.redactions.split("\n") if r),
        source=MessageSource(row.source_channel, row.source_ts, row.source_link or "")
        if row.source_channel and row.source_ts else None,
        requester_verification=row.requester_verification, share_restricted=bool(row.share_restricted),
        labels=tuple(label for label in (row.labels or "").split("\n") if label),
    )


async def insert_ticket_once(session: AsyncSession, *, draft: TicketDraft, submission_key: str) -> tuple[Ticket, bool]:
    """Insert the ticket unless this submission already made one; returns (ticket, created). Raises
    MessageAlreadyFiled when another submission already filed a ticket from the draft's source message.

    The unique keys on submission_key and on the source message are what stop duplicates. The look-ups first
    only spare PostgreSQL's sequence: a conflicting insert would still use up a number and leave a gap.
    """
    source = draft.source
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        existing = await session.scalar(select(TicketRow).where(TicketRow.submission_key == submission_key))
        if existing is not None:
            return _to_ticket(existing), False
        if source is not None and (earlier := await ticket_for_message(session, source.channel, source.ts)):
            raise MessageAlreadyFiled(earlier)
    env = draft.environment
    values = dict(
        submission_key=submission_key, workspace_id=draft.workspace_id, requester_email=draft.requester_email,
        summary=draft.summary, what_happened=draft.what_happened, expected=draft.expected,
        impact=draft.impact.value, severity=draft.severity.value, severity_reason=draft.severity_reason,
        plan_tier=draft.plan_tier.value, browser=env.browser, os=env.os, url=env.url,
        occurred_at=env.occurred_at, customer_timezone=env.customer_timezone, request_id=env.request_id,
        attachment_link=draft.attachment_link, helpdesk_link=draft.helpdesk_link,
        category=draft.category.value if draft.category else None, redactions="\n".join(draft.redactions),
        filed_by=draft.filed_by, filed_at=draft.filed_at, first_response_due=draft.first_response_due,
        status=TicketStatus.OPEN.value, origin_channel=draft.origin_channel,
        source_channel=source.channel if source else None, source_ts=source.ts if source else None,
        source_link=source.link if source else None,
    )
    # Column types (UTC handling) apply only through the ORM table's columns, so bind via the table.
    # No conflict target: a clash on either unique key (the submission, or the source message) inserts nothing.
    statement = insert_ignoring_conflicts(session, TicketRow.__table__, values, None)  # type: ignore[arg-type]
    result = await session.execute(statement.returning(TicketRow.__table__.c.number))
    number = result.scalar_one_or_none()
    if number is not None:  # built from what was written: one round trip less on the way to a SEV1 page
        return _to_ticket(TicketRow(number=number, **values)), True
    row = await session.scalar(select(TicketRow).where(TicketRow.submission_key == submission_key))
    if row is not None:
        return _to_ticket(row), False
    earlier = await ticket_for_message(session, source.channel, source.ts) if source is not None else None
    assert earlier is not None, "the insert clashed with neither unique key"
    raise MessageAlreadyFiled(earlier)


async def ticket_for_message(session: AsyncSession, channel: str, ts: str) -> Ticket | None:
    """The ticket filed from the message `ts` in `channel`, or None when none was."""
    row = await session.scalar(select(TicketRow).where(TicketRow.source_channel == channel,
                                                       TicketRow.source_ts == ts))
    return _to_ticket(row) if row is not None else None


async def get_ticket(session: AsyncSession, *, number: int) -> Ticket | None:
    """The ticket with this number, or None when there is none."""
    row = await session.get(TicketRow, number)
    return _to_ticket(row) if row else None


async def origin_channel_of(session: AsyncSession, *, number: int) -> str | None:
    """The channel `/ticket` was typed in, where the filer is told about failures; None if unknown."""
    return await session.scalar(select(TicketRow.origin_channel).where(TicketRow.number == number))


async def record_card_location(session: AsyncSession, *, number: int, channel: str, ts: str) -> None:
    """Remembers where the ticket's card was posted, so it can be refreshed and linked."""
    await session.execute(update(TicketRow).where(TicketRow.number == number).values(card_channel=channel, card_ts=ts))


async def record_first_response(session: AsyncSession, *, number: int, by: str, at: datetime) -> bool:
    """True only for the first press: a second click (or a retried one) changes nothing."""
    result = await session.execute(
        update(TicketRow)
        .where(TicketRow.number == number, TicketRow.first_response_at.is_(None))
        .values(first_response_at=at, first_response_by=by))
    return bool(rows_affected(result))


async def record_severity_change(session: AsyncSession, *, number: int, expected: Severity, impact: Impact,
                                 severity: Severity, reason: str) -> Ticket | None:
    """Re-classifies the ticket if its severity is still `expected` (compare-and-set); the ticket after, or None
    when it is unknown or someone changed it first (two agents, one change)."""
    result = await session.execute(
        update(TicketRow).where(TicketRow.number == number, TicketRow.severity == expected.value)
        .values(impact=impact.value, severity=severity.value, severity_reason=reason))
    if rows_affected(result) != 1:
        return None
    row = await session.get(TicketRow, number, populate_existing=True)
    return _to_ticket(row) if row is not None else None


async def open_tickets_filed_by(session: AsyncSession, *, user_id: str, limit: int = 20) -> list[Ticket]:
    """The agent's open tickets, newest first, at most `limit`."""
    rows = await session.scalars(
        select(TicketRow)
        .where(TicketRow.filed_by == user_id, TicketRow.status == TicketStatus.OPEN.value)
        .order_by(TicketRow.number.desc()).limit(limit))
    return [_to_ticket(r) for r in rows]


async def count_tickets(session: AsyncSession) -> int:
    """How many tickets were ever filed."""
    from sqlalchemy import func

    return int(await session.scalar(select(func.count()).select_from(TicketRow)) or 0)


async def ticket_by_card(session: AsyncSession, *, channel: str, ts: str) -> Ticket | None:
    """The ticket whose card is this message."""
    row = await session.scalar(select(TicketRow).where(TicketRow.card_channel == channel, TicketRow.card_ts == ts))
    return _to_ticket(row) if row is not None else None


async def record_customer_check(session: AsyncSession, *, number: int, verification: str, share_restricted: bool,
                                labels: tuple[str, ...], plan_tier: PlanTier | None,
                                first_response_due: datetime | None) -> Ticket | None:
    """What the live customer check at filing concluded (and the plan tier an automation rule set, with its
    first-response deadline); the ticket as it is now."""
    values: dict[str, object] = {"requester_verification": verification, "share_restricted": share_restricted,
                                 "labels": "\n".join(labels)}
    if plan_tier is not None and first_response_due is not None:
        values.update(plan_tier=plan_tier.value, first_response_due=first_response_due)
    await session.execute(update(TicketRow).where(TicketRow.number == number).values(**values))
    row = await session.get(TicketRow, number, populate_existing=True)
    return _to_ticket(row) if row else None

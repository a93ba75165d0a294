"""The webhook outbox: every audit event, once per configured webhook URL, written in the event's transaction.

Where events go is set once per session factory (`deliver_to`), from the configuration, so that
`append_audit_event` (called in the caller's transaction everywhere) needs no new argument and storage needs
nothing from the bot's configuration package. Delivery claims the head of each (URL, ticket) stream with a
conditional UPDATE and a lease, as timers are claimed: a ticket's later event is never handed out while an
earlier one to the same URL is undelivered, and two ticks (or replicas) never hold one row at once.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from storage.models import WebhookOutboxRow
from storage.repositories._upsert import rows_affected

# The session-info key under which a session factory carries the webhook URLs its audit events go to.
DESTINATIONS = "supportbot.webhook_destinations"
MAX_ERROR_CHARS = 2000


@dataclass(frozen=True)
class Stream:
    """The events of one ticket (or of no ticket) to one URL: delivered one at a time, oldest first."""

    url: str
    ticket_number: int | None


@dataclass(frozen=True)
class Delivery:
    """A claimed outbox row: what to send where, and how often it has been tried (this attempt included)."""

    id: int
    event_id: str
    url: str
    ticket_number: int | None
    payload: Mapping[str, Any]
    attempts: int


@dataclass(frozen=True)
class Backlog:
    """One URL's state for `supportbot webhooks status`."""

    url: str
    undelivered: int
    delivered: int
    oldest_undelivered_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None


def deliver_to(sessions: async_sessionmaker[AsyncSession], urls: Sequence[str]) -> None:
    """Every audit event appended through a session of `sessions` is queued for each of `urls` (none: no rows)."""
    info = dict(sessions.kw.get("info") or {})
    info[DESTINATIONS] = tuple(urls)
    sessions.configure(info=info)


def destinations(session: AsyncSession) -> tuple[str, ...]:
    """The URLs this session's audit events are queued for."""
    return tuple(session.info.get(DESTINATIONS, ()))


def new_event_id() -> str:
    """A fresh event ID: random rather than the audit row's number, which a restored or new database reuses."""
    return f"evt_{uuid.uuid4().hex}"


def event_payload(*, event_id: str, audit_id: int, ticket_number: int | None, action: str, actor: str,
                  at: datetime, before: Mapping[str, Any] | None,
                  after: Mapping[str, Any] | None) -> dict[str, Any]:
    """The JSON a webhook receives: the audit event exactly as the audit log keeps it, and nothing else."""
    return {"event_id": event_id, "audit_id": audit_id, "ticket_number": ticket_number, "action": action,
            "actor": actor, "at": at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "before": dict(before) if before is not None else None,
            "after": dict(after) if after is not None else None}


async def enqueue_event(session: AsyncSession, *, audit_id: int, ticket_number: int | None, action: str, actor: str,
                        at: datetime, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> int:
    """Queues the audit event for every destination of this session, in the caller's transaction; returns how
    many rows were written."""
    urls = destinations(session)
    if not urls:
        return 0
    event_id = new_event_id()
    payload = event_payload(event_id=event_id, audit_id=audit_id, ticket_number=ticket_number, action=action,
                            actor=actor, at=at, before=before, after=after)
    for url in urls:
        session.add(WebhookOutboxRow(event_id=event_id, audit_id=audit_id, url=url, ticket_number=ticket_number,
                                     payload=payload, created_at=at, attempts=0, next_attempt_at=at))
    await session.flush()
    return len(urls)


def _same_ticket(column: Any, ticket_number: int | None) -> ColumnElement[bool]:
    return column.is_(None) if ticket_number is None else column == ticket_number  # type: ignore[no-any-return]


def _open_or_expired(now: datetime) -> ColumnElement[bool]:
    return or_(WebhookOutboxRow.claimed_until.is_(None), WebhookOutboxRow.claimed_until <= now)


async def due_streams(session: AsyncSession, *, urls: Sequence[str], now: datetime, limit: int) -> list[Stream]:
    """Streams to these URLs whose oldest undelivered event is due now and not held by a live claim."""
    if not urls:
        return []
    earlier = aliased(WebhookOutboxRow)
    row = WebhookOutboxRow
    waiting_behind = exists().where(earlier.url == row.url,
                                    earlier.ticket_number.is_not_distinct_from(row.ticket_number),
                                    earlier.delivered_at.is_(None), earlier.id < row.id)
    heads = await session.execute(
        select(row.url, row.ticket_number)
        .where(row.url.in_(list(urls)), row.delivered_at.is_(None), row.next_attempt_at <= now,
               _open_or_expired(now), ~waiting_behind)
        .order_by(row.next_attempt_at, row.id).limit(limit))
    return [Stream(url=url, ticket_number=ticket) for url, ticket in heads.all()]


async def claim_next(session: AsyncSession, *, stream: Stream, now: datetime, lease: timedelta,
                     claimant: str) -> Delivery | None:
    """Claims the stream's oldest undelivered event for `lease` when it is due and not claimed; None otherwise
    (nothing left, not due yet, or another claimant holds it), so a later event never overtakes it."""
    row = WebhookOutboxRow
    head = await session.scalar(
        select(row).where(row.url == stream.url, _same_ticket(row.ticket_number, stream.ticket_number),
                          row.delivered_at.is_(None)).order_by(row.id).limit(1))
    if head is None or head.next_attempt_at > now:
        return None
    result = await session.execute(
        update(row).where(row.id == head.id, row.delivered_at.is_(None), _open_or_expired(now))
        .values(claimed_until=now + lease, claimed_by=claimant, attempts=row.attempts + 1))
    if not rows_affected(result):
        return None
    claimed = await session.get(row, head.id, populate_existing=True)
    assert claimed is not None
    return Delivery(id=claimed.id, event_id=claimed.event_id, url=claimed.url, ticket_number=claimed.ticket_number,
                    payload=claimed.payload, attempts=claimed.attempts)


async def mark_delivered(session: AsyncSession, *, delivery_id: int, now: datetime) -> None:
    """The receiver took it (2xx): never sent again."""
    await session.execute(update(WebhookOutboxRow).where(WebhookOutboxRow.id == delivery_id)
                          .values(delivered_at=now, claimed_until=None))


async def retry_later(session: AsyncSession, *, delivery_id: int, at: datetime, error: str, now: datetime) -> None:
    """Releases the event to fall due again at `at`, keeping what went wrong."""
    await session.execute(update(WebhookOutboxRow).where(WebhookOutboxRow.id == delivery_id)
                          .values(next_attempt_at=at, claimed_until=None, claimed_by=None,
                                  last_error=error[:MAX_ERROR_CHARS], last_error_at=now))


async def backlog(session: AsyncSession) -> list[Backlog]:
    """Per URL ever queued: undelivered and delivered counts, the oldest undelivered event's time and the latest
    error, URLs in the order they were first queued."""
    row = WebhookOutboxRow
    counts = await session.execute(
        select(row.url, func.count(), func.count(row.id).filter(row.delivered_at.is_(None)),
               func.min(row.created_at).filter(row.delivered_at.is_(None)), func.min(row.id))
        .group_by(row.url).order_by(func.min(row.id)))
    found: list[Backlog] = []
    for url, total, waiting, oldest, _first in counts.all():
        latest = (await session.execute(
            select(row.last_error, row.last_error_at).where(row.url == url, row.last_error_at.is_not(None))
            .order_by(row.last_error_at.desc(), row.id.desc()).limit(1))).first()
        waiting = int(waiting or 0)
        found.append(Backlog(url=url, undelivered=waiting, delivered=int(total) - waiting,
                             oldest_undelivered_at=_aware(oldest),
                             last_error=latest[0] if latest else None,
                             last_error_at=latest[1] if latest else None))
    return found


def _aware(value: datetime | str | None) -> datetime | None:
    # An aggregate's result skips the column's type on SQLite (a string there), so it is read back here.
    if value is None:
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


async def pending_events(session: AsyncSession, *, url: str) -> list[Delivery]:
    """The events still waiting for `url`, oldest first (tests and diagnostics)."""
    rows = await session.scalars(select(WebhookOutboxRow).where(WebhookOutboxRow.url == url,
                                                                WebhookOutboxRow.delivered_at.is_(None))
                                 .order_by(WebhookOutboxRow.id))
    return [Delivery(id=r.id, event_id=r.event_id, url=r.url, ticket_number=r.ticket_number, payload=r.payload,
                     attempts=r.attempts) for r in rows]

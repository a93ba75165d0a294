"""Read-only counts for `GET /metrics`, taken at scrape time: what is due, what waits for a retry, the webhook
backlog and the open tickets. Four aggregate queries; nothing here writes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import Severity, TicketStatus
from storage.models import SideEffectRow, TicketRow, TimerRow, WebhookOutboxRow


@dataclass(frozen=True)
class Snapshot:
    """The database's side of the metrics at one moment."""

    timers_due: int  # pending timers whose due time has come (claimed or not)
    retries_pending: dict[str, int]  # by what waits: timer, effect, webhook
    webhook_backlog: int  # webhook deliveries not yet made
    open_tickets: dict[str, int]  # by severity, every severity present (0 when none)


def _count(condition: object) -> object:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)  # type: ignore[arg-type]


async def snapshot(session: AsyncSession, *, now: datetime) -> Snapshot:
    """The counts as they stand at `now`."""
    timer = TimerRow
    # A retry is a timer of its own (`*_retry` kinds: a failed page, step, status post); any other timer
    # whose handler failed waits for its next attempt in place.
    retrying = or_(timer.kind.like(r"%\_retry", escape="\\"), timer.attempts > 0)
    timers_due, timer_retries = (await session.execute(
        select(_count(timer.due_at <= now), _count(retrying))  # type: ignore[call-overload]
        .where(timer.fired_at.is_(None), timer.cancelled_at.is_(None)))).one()
    # A one-time effect tried at least once and not done: waiting for its retry (or, briefly, under way).
    effects = await session.scalar(select(func.count()).select_from(SideEffectRow)
                                   .where(SideEffectRow.done_at.is_(None), SideEffectRow.attempts > 0))
    outbox = WebhookOutboxRow
    backlog, webhook_retries = (await session.execute(
        select(func.count(), _count(outbox.attempts > 0))  # type: ignore[call-overload]
        .where(outbox.delivered_at.is_(None)))).one()
    open_rows = await session.execute(select(TicketRow.severity, func.count()).where(
        TicketRow.status == TicketStatus.OPEN.value).group_by(TicketRow.severity))
    open_tickets = {severity.value: 0 for severity in Severity}
    for severity, count in open_rows.all():
        open_tickets[str(severity)] = int(count)
    return Snapshot(timers_due=int(timers_due),
                    retries_pending={"timer": int(timer_retries), "effect": int(effects or 0),
                                     "webhook": int(webhook_retries)},
                    webhook_backlog=int(backlog), open_tickets=open_tickets)

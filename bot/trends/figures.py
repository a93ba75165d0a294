"""The monthly figures from stored rows: pure arithmetic, no database, no Slack, so every figure can be checked
against numbers worked out by hand."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from bot.domain import PlanTier, Severity
from bot.trend_figures import UNCATEGORISED, Attainment, Month, MonthFigures, Spread, WeekCounts
from storage.repositories.trends import TrendEscalation, TrendTicket

TOP_COMPONENTS = 5


def median(values: Sequence[timedelta]) -> timedelta | None:
    """The middle value (the mean of the two middle ones for an even count); None for none."""
    if not values:
        return None
    return timedelta(seconds=statistics.median(v.total_seconds() for v in values))


def p90(values: Sequence[timedelta]) -> timedelta | None:
    """The 90th percentile by nearest rank: the smallest value at least 90 % of the values are at or below
    (the ⌈0.9·n⌉-th smallest). Always one of the values, never an interpolation."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


def spread(values: Sequence[timedelta]) -> Spread:
    """Count, median and p90 of some durations."""
    return Spread(count=len(values), median=median(values), p90=p90(values))


def category_of(ticket: TrendTicket) -> str:
    """The ticket's root-cause category: the one recorded at closure, else the category chosen at intake."""
    return ticket.root_cause or ticket.category or UNCATEGORISED


def first_response_met(ticket: TrendTicket, *, now: datetime) -> bool | None:
    """True when answered by the deadline, False when answered late or the deadline passed unanswered, None
    while the deadline is still ahead and nobody has answered."""
    if ticket.first_response_at is not None:
        return ticket.first_response_at <= ticket.first_response_due
    return False if ticket.first_response_due <= now else None


def _ranked(counts: Mapping[str, int]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _attainment(tier: str, tickets: Iterable[TrendTicket], now: datetime) -> Attainment:
    outcomes = [first_response_met(t, now=now) for t in tickets]
    return Attainment(tier=tier, met=sum(1 for o in outcomes if o is True),
                      counted=sum(1 for o in outcomes if o is not None),
                      pending=sum(1 for o in outcomes if o is None))


def month_figures(month: Month, tickets: Sequence[TrendTicket], escalations: Sequence[TrendEscalation],
                  resolved_at: Mapping[int, datetime], *, now: datetime) -> MonthFigures:
    """The month's figures from the tickets filed in it, the escalations escalated in it, and when each resolved
    ticket was resolved."""
    severities = Counter(t.severity for t in tickets)
    tiers = [tier.value for tier in PlanTier if any(t.plan_tier == tier.value for t in tickets)]
    acknowledge = [e.acknowledged_at - e.escalated_at for e in escalations if e.acknowledged_at is not None]
    resolve = [resolved_at[t.number] - t.filed_at for t in tickets
               if t.status == "resolved" and t.number in resolved_at and resolved_at[t.number] >= t.filed_at]
    return MonthFigures(
        month=month, tickets=len(tickets),
        by_category=_ranked(Counter(category_of(t) for t in tickets)),
        by_severity=tuple((s.value, severities[s.value]) for s in Severity if severities[s.value]),
        sla_by_tier=tuple(_attainment(tier, [t for t in tickets if t.plan_tier == tier], now) for tier in tiers),
        sla_overall=_attainment("all", tickets, now),
        acknowledge=spread(acknowledge), resolve=spread(resolve),
        escalations=len(escalations),
        by_team=_ranked(Counter(e.team for e in escalations)),
        top_components=_ranked(Counter(e.component for e in escalations if e.component))[:TOP_COMPONENTS])


def weekly_counts(month: Month, tickets: Sequence[TrendTicket]) -> tuple[WeekCounts, ...]:
    """Tickets per category in each week of the month (weeks counted from the 1st)."""
    categories = sorted({category_of(t) for t in tickets})
    weeks = []
    for start, end in month.weeks():
        counts = Counter(category_of(t) for t in tickets if start <= t.filed_at < end)
        weeks.append(WeekCounts(start=start, end=end, by_category=tuple((c, counts[c]) for c in categories)))
    return tuple(weeks)

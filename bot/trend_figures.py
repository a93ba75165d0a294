"""The values of the monthly support report, shared by the trends workflow (which computes them) and `blocks/`
(which words them): plain numbers, no storage, no Slack."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

UNCATEGORISED = "uncategorised"
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class BadMonth(ValueError):
    """A month that is not `YYYY-MM` (or not a real month); its message says what was typed."""


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month in UTC: the report's period is [start, end)."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        """`2026-11` as a Month; BadMonth for anything else."""
        match = _MONTH.match(text.strip())
        if match is None or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1970:
            raise BadMonth(f"{text.strip()!r} is not a month written YYYY-MM (for example 2026-11)")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, moment: datetime) -> Month:
        """The month (in UTC) a moment falls in."""
        utc = moment.astimezone(UTC)
        return cls(utc.year, utc.month)

    @property
    def start(self) -> datetime:
        """Midnight UTC on the 1st."""
        return datetime(self.year, self.month, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """Midnight UTC on the 1st of the next month (excluded)."""
        return self.next().start

    def next(self) -> Month:
        """The month after this one."""
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)

    def previous(self) -> Month:
        """The month before this one."""
        return Month(self.year - 1, 12) if self.month == 1 else Month(self.year, self.month - 1)

    @property
    def code(self) -> str:
        """`2026-11`."""
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def label(self) -> str:
        """`November 2026`."""
        return self.start.strftime("%B %Y")

    def weeks(self) -> list[tuple[datetime, datetime]]:
        """The month cut into weeks from the 1st (1-7, 8-14, 15-21, 22-28, 29-end), each [start, end)."""
        cuts: list[tuple[datetime, datetime]] = []
        start = self.start
        while start < self.end:
            cuts.append((start, min(start + timedelta(days=7), self.end)))
            start += timedelta(days=7)
        return cuts


@dataclass(frozen=True)
class Spread:
    """How long something took over a month: how many, the median and the 90th percentile (nearest rank)."""

    count: int
    median: timedelta | None
    p90: timedelta | None


@dataclass(frozen=True)
class Attainment:
    """First responses within the deadline: `met` of `counted` (tickets whose deadline has passed or that were
    answered); `pending` are still inside their deadline and not counted."""

    tier: str
    met: int
    counted: int
    pending: int = 0

    @property
    def percent(self) -> float | None:
        """Met as a percentage of counted, or None when nothing counted."""
        return 100.0 * self.met / self.counted if self.counted else None


@dataclass(frozen=True)
class MonthFigures:
    """One month's figures (`by_*` are (name, count) pairs, largest first)."""

    month: Month
    tickets: int
    by_category: tuple[tuple[str, int], ...]
    by_severity: tuple[tuple[str, int], ...]
    sla_by_tier: tuple[Attainment, ...]
    sla_overall: Attainment
    acknowledge: Spread
    resolve: Spread
    escalations: int
    by_team: tuple[tuple[str, int], ...]
    top_components: tuple[tuple[str, int], ...]

    def count_of(self, pairs: tuple[tuple[str, int], ...], name: str) -> int:
        """The count for `name` in one of the `by_*` pairs (0 when absent)."""
        return dict(pairs).get(name, 0)


@dataclass(frozen=True)
class WeekCounts:
    """Tickets per category in one week of the month (the chart's data)."""

    start: datetime
    end: datetime
    by_category: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class MonthReport:
    """The report: the month, the month before (for the change), and the weekly counts for the chart."""

    current: MonthFigures
    previous: MonthFigures
    weeks: tuple[WeekCounts, ...]
    generated_at: datetime


@dataclass(frozen=True)
class SpikeTicket:
    """A ticket as a spike alert lists it: its number, severity, summary (already redacted) and card."""

    number: int
    severity: str
    summary: str
    filed_at: datetime
    card_channel: str | None
    card_ts: str | None

"""The report's attachments: the weekly chart (PNG, drawn by matplotlib's Agg backend, no display needed) and the
month's tickets as CSV, holding only what the ticket itself holds: never the requester's email or workspace."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from bot.trend_figures import MonthReport
from bot.trends.figures import category_of, first_response_met
from storage.repositories.trends import TrendTicket

CSV_COLUMNS = ("number", "filed_at", "severity", "category", "plan_tier", "status", "first_response_met", "team")


def chart_png(report: MonthReport, *, title: str, week_label: str, count_label: str,
              week_names: Sequence[str]) -> bytes:
    """Tickets per category per week as a line per category; the PNG's bytes. The words (and each week's name)
    come from the caller (blocks/), so the chart speaks like the report."""
    # Imported here, not at start: matplotlib takes a second or more to import (building its font cache the
    # first time), which `supportbot run` must not spend before it serves, and only a report needs it.
    import matplotlib

    matplotlib.use("Agg")  # before pyplot: a server has no display, and Agg renders straight to PNG bytes
    from matplotlib import pyplot  # after use(): pyplot picks its backend on import
    from matplotlib.ticker import MaxNLocator

    figure, axes = pyplot.subplots(figsize=(8, 4.5), dpi=100)
    try:
        labels = list(week_names)
        categories = [name for name, _ in report.weeks[0].by_category] if report.weeks else []
        for category in categories:
            counts = [dict(w.by_category).get(category, 0) for w in report.weeks]
            axes.plot(labels, counts, marker="o", label=category)
        axes.set_title(title)
        axes.set_xlabel(week_label)
        axes.set_ylabel(count_label)
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))  # tickets come whole
        axes.set_ylim(bottom=0)
        if categories:
            axes.legend(loc="best", fontsize="small")
        axes.grid(axis="y", alpha=0.3)
        figure.tight_layout()
        out = io.BytesIO()
        figure.savefig(out, format="png")
        return out.getvalue()
    finally:
        pyplot.close(figure)  # pyplot keeps every open figure alive otherwise


def tickets_csv(tickets: Sequence[TrendTicket], teams: Mapping[int, str], *, now: datetime) -> bytes:
    """The month's tickets, one row each: number, filed_at (ISO 8601 UTC), severity, category, plan tier,
    status, first response met (yes / no / pending) and the team escalated to (blank when none)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for ticket in tickets:
        met = first_response_met(ticket, now=now)
        writer.writerow({"number": ticket.number, "filed_at": ticket.filed_at.astimezone(UTC).isoformat(),
                         "severity": ticket.severity, "category": category_of(ticket),
                         "plan_tier": ticket.plan_tier, "status": ticket.status,
                         "first_response_met": "pending" if met is None else ("yes" if met else "no"),
                         "team": teams.get(ticket.number, "")})
    return out.getvalue().encode("utf-8")

"""Every word of the monthly support report (in Slack and in report.md), its chart's labels, `/support-report`'s
answers, and the spike alert a team channel gets."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta

from blocks.text import Block, context, escape, header, link, section, truncate, usergroup
from bot.trend_figures import Attainment, Month, MonthFigures, MonthReport, SpikeTicket, Spread

REPORT_COMMAND = "/support-report"
WEEK_LABEL = "Days of the month"
COUNT_LABEL = "Tickets"
ROOT_CAUSE_NOTE = ("Root cause is the category recorded when the ticket was resolved; for tickets not resolved "
                   "yet, the category chosen at intake.")
RESOLVE_NOTE = ("Time to resolve: tickets filed this month whose status is resolved, from filing to the latest "
                "resolution (for a SEV1 the incident's resolved time, otherwise the audit log's resolution event).")
ACK_NOTE = "Time to acknowledge: escalations made this month, from escalation to acknowledgement."
SLA_NOTE = ("First-response SLA: answered by the deadline (first response at or before it) out of the tickets "
            "whose deadline has passed or that were answered; tickets still inside their deadline are left out.")
PERCENTILE_NOTE = "p90 is the 90th percentile by nearest rank (a value that occurred, never interpolated)."
SPIKE_LIST_MAX = 20


def chart_title(month: Month) -> str:
    """The chart's title."""
    return f"Tickets per category per week, {month.label}"


def week_names(report: MonthReport) -> list[str]:
    """Each week of the chart by its days: `1-7`, `8-14`, … `29-30`."""
    return [f"{w.start.day}-{(w.end - timedelta(days=1)).day}" for w in report.weeks]


def duration(value: timedelta | None) -> str:
    """A duration as people say it: `45 min`, `2 h 05 min`, `3 d 4 h`; a dash for none."""
    if value is None:
        return "-"
    minutes = round(value.total_seconds() / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def _signed(number: float, unit: str = "", digits: int = 0) -> str:
    if round(number, digits) == 0:
        return f"±0{unit}"
    shown = f"{abs(number):.{digits}f}"
    return f"{'+' if number > 0 else '-'}{shown}{unit}"


def _count_change(now: int, before: int) -> str:
    return _signed(now - before)


def _duration_change(now: timedelta | None, before: timedelta | None) -> str:
    if now is None or before is None:
        return "none the month before"
    delta = now - before
    sign = "±" if delta == timedelta(0) else ("+" if delta > timedelta(0) else "-")
    return f"median {sign}{duration(abs(delta))}" if sign != "±" else "median ±0 min"


def percent(attainment: Attainment) -> str:
    """`83.3 % (5 of 6)`, or a dash when nothing counted."""
    if attainment.percent is None:
        return "- (none due)"
    return f"{attainment.percent:.1f} % ({attainment.met} of {attainment.counted})"


def _pp_change(now: Attainment, before: Attainment) -> str:
    if now.percent is None or before.percent is None:
        return "no comparison"
    return _signed(now.percent - before.percent, " pp", 1)


def _spread(value: Spread) -> str:
    if value.count == 0:
        return "none"
    return f"median {duration(value.median)}, p90 {duration(value.p90)} (n = {value.count})"


def _pairs(now: tuple[tuple[str, int], ...], before: MonthFigures, which: Callable[[MonthFigures], tuple[
        tuple[str, int], ...]]) -> list[str]:
    earlier = dict(which(before))
    return [f"{escape(name)}: {count} ({_count_change(count, earlier.get(name, 0))})" for name, count in now] \
        or ["none"]


def report_sections(report: MonthReport, *, bold: Callable[[str], str]) -> list[tuple[str, list[str]]]:
    """The report as titled groups of lines, written once for both Slack (`*b*`) and Markdown (`**b**`)."""
    now, before = report.current, report.previous
    vs = f"vs {before.month.label}"
    ack_change = _duration_change(now.acknowledge.median, before.acknowledge.median)
    resolve_change = _duration_change(now.resolve.median, before.resolve.median)
    gone = [f"{escape(n)}: 0 ({_count_change(0, c)})" for n, c in before.by_category if not now.count_of(
        now.by_category, n)]
    return [
        (f"Tickets ({vs})", [f"{bold('Total')}: {now.tickets} ({_count_change(now.tickets, before.tickets)})"]),
        ("By root-cause category", _pairs(now.by_category, before, lambda f: f.by_category) + gone),
        ("By severity", _pairs(now.by_severity, before, lambda f: f.by_severity)),
        ("First-response SLA by plan tier",
         [f"{bold('All plans')}: {percent(now.sla_overall)} ({_pp_change(now.sla_overall, before.sla_overall)})"]
         + [f"{a.tier.capitalize()}: {percent(a)}" + (f", {a.pending} still inside the deadline" if a.pending else "")
            for a in now.sla_by_tier]),
        ("Time to acknowledge escalations",
         [_spread(now.acknowledge) + (f" ({ack_change})" if now.acknowledge.count else "")]),
        ("Time to resolve",
         [_spread(now.resolve) + (f" ({resolve_change})" if now.resolve.count else "")]),
        ("Escalations by team",
         [f"{bold('Total')}: {now.escalations} ({_count_change(now.escalations, before.escalations)})",
          *_pairs(now.by_team, before, lambda f: f.by_team)]),
        ("Top components", _pairs(now.top_components, before, lambda f: f.top_components)),
    ]


NOTES = (ROOT_CAUSE_NOTE, SLA_NOTE, ACK_NOTE, RESOLVE_NOTE, PERCENTILE_NOTE)


def report_markdown(report: MonthReport) -> str:
    """report.md: the same figures as the Slack message, in Markdown."""
    lines = [f"# Support report, {report.current.month.label}", "",
             f"Period: {report.current.month.start:%Y-%m-%d} to {report.current.month.end:%Y-%m-%d} (UTC, end "
             f"excluded). Generated {report.generated_at:%Y-%m-%d %H:%M} UTC.", ""]
    for title, rows in report_sections(report, bold=lambda t: f"**{t}**"):
        lines += [f"## {title}", "", *[f"- {row}" for row in rows], ""]
    lines += ["## How the figures are counted", "", *[f"- {note}" for note in NOTES], ""]
    return "\n".join(lines)


def report_blocks(report: MonthReport) -> list[Block]:
    """The Slack message: a header, one section per group of figures, and how they are counted."""
    blocks: list[Block] = [header(f"Support report, {report.current.month.label}")]
    for title, rows in report_sections(report, bold=lambda t: f"*{t}*"):
        blocks.append(section(f"*{title}*\n" + "\n".join(f"• {row}" for row in rows)))
    blocks.append(context(" ".join(NOTES)))
    blocks.append(context("The chart (tickets per category per week) and the month's tickets (CSV) are in the "
                          "thread."))
    return blocks


def report_fallback(report: MonthReport) -> str:
    """The notification text of the report message."""
    return f"Support report, {report.current.month.label}: {report.current.tickets} tickets"


def files_comment(month: Month) -> str:
    """The comment above the chart and the CSV."""
    return f"Chart and tickets for {month.label} (the CSV holds no requester data)."


def report_usage(problem: str) -> str:
    """What `/support-report` says to a month it cannot read."""
    return (f"{problem.rstrip('.')}. Try `{REPORT_COMMAND}` for last month or `{REPORT_COMMAND} 2026-11` for a "
            "given month.")


def report_in_future(month: Month) -> str:
    """A month that has not started."""
    return f"{month.label} has not started yet, so there is nothing to report."


def report_who_may(agents: str, leads: str) -> str:
    """Who may ask for the report."""
    return f"Only members of {usergroup(agents)} or {usergroup(leads)} can ask for the support report."


def report_building(month: Month) -> str:
    """The acknowledgement while the report is built."""
    return f"Building the support report for {month.label}…"


def report_cannot_post(error: str) -> str:
    """The report could not be posted where the command was typed."""
    if error in ("not_in_channel", "channel_not_found"):
        return ("I can't post in this channel: invite me (`/invite @supportbot`) or ask for the report in a "
                "channel I am in.")
    return f"The report could not be posted: Slack said `{error}`."


def report_files_failed(error: str) -> str:
    """The chart and CSV could not be attached (the message itself was posted)."""
    return f"The chart and CSV could not be attached: Slack said `{error}`."


# -- spikes ------------------------------------------------------------------------------------------------

def _ticket_line(ticket: SpikeTicket) -> str:
    summary = escape(truncate(ticket.summary, 120))
    url = (f"https://slack.com/archives/{ticket.card_channel}/p{ticket.card_ts.replace('.', '')}"
           if ticket.card_channel and ticket.card_ts else None)
    number = link(url, f"#{ticket.number}") or f"#{ticket.number}"
    return f"• {number} {ticket.severity} · {summary} · filed {ticket.filed_at:%H:%M} UTC"


def spike_alert(category: str, tickets: Sequence[SpikeTicket], *, window: timedelta,
                threshold: int) -> tuple[str, list[Block]]:
    """The alert for a team channel: which category spiked, how many tickets in the window, and the tickets."""
    shown = list(tickets)[-SPIKE_LIST_MAX:]
    more = len(tickets) - len(shown)
    text = (f":chart_with_upwards_trend: *Ticket spike: {escape(category)}*: {len(tickets)} tickets in the last "
            f"{duration(window)} (alert at {threshold}).")
    lines = [_ticket_line(t) for t in shown] + ([f"… and {more} earlier"] if more else [])
    blocks = [section(text), section("\n".join(lines)),
              context("Told once per spike; this thread hears when it is back below the threshold.")]
    return f"Ticket spike: {category}, {len(tickets)} tickets in {duration(window)}", blocks


def spike_cleared(category: str, *, window: timedelta, threshold: int) -> str:
    """The note in the alert's thread when the spike is over."""
    return (f":white_check_mark: The {escape(category)} spike is over: fewer than {threshold} tickets in the last "
            f"{duration(window)}.")

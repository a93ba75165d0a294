"""The monthly support report: its figures from storage, its files (report.md, chart.png, tickets.csv), and
posting it in Slack with the chart and CSV attached through Slack's current upload flow."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from blocks import trends as words
from bot.core.clock import Clock
from bot.core.config import BotConfig
from bot.core.slack import Directory
from bot.trend_figures import BadMonth, Month, MonthReport
from bot.trends.figures import month_figures, weekly_counts
from bot.trends.files import chart_png, tickets_csv
from storage.repositories import trends as repo

log = logging.getLogger(__name__)

REPORT_FILE, CHART_FILE, CSV_FILE = "report.md", "chart.png", "tickets.csv"


@dataclass(frozen=True)
class ReportFiles:
    """The report as files: the Markdown text, the chart's PNG bytes and the tickets' CSV bytes."""

    report: MonthReport
    markdown: str
    chart: bytes
    csv: bytes


def report_month(text: str, *, now_month: Month) -> Month:
    """The month `/support-report` or `supportbot report` was given (last month when none); BadMonth for
    text that is not `YYYY-MM` or a month that has not started."""
    month = Month.parse(text) if text.strip() else now_month.previous()
    if month > now_month:
        raise BadMonth(words.report_in_future(month))
    return month


async def build_report(sessions: async_sessionmaker[AsyncSession], month: Month, *, clock: Clock) -> ReportFiles:
    """Reads the month and the month before and produces the figures, the chart and the CSV."""
    now = clock.now()
    async with sessions() as session:
        figures = []
        for which in (month, month.previous()):
            tickets = await repo.tickets_filed_between(session, start=which.start, end=which.end)
            escalations = await repo.escalations_between(session, start=which.start, end=which.end)
            resolved = await repo.resolution_moments(
                session, numbers=[t.number for t in tickets if t.status == "resolved"])
            figures.append((tickets, month_figures(which, tickets, escalations, resolved, now=now)))
        (tickets, current), (_, previous) = figures
        teams = await repo.teams_of(session, numbers=[t.number for t in tickets])
    report = MonthReport(current=current, previous=previous, weeks=weekly_counts(month, tickets), generated_at=now)
    chart = chart_png(report, title=words.chart_title(month), week_label=words.WEEK_LABEL,
                      count_label=words.COUNT_LABEL, week_names=words.week_names(report))
    return ReportFiles(report=report, markdown=words.report_markdown(report), chart=chart,
                       csv=tickets_csv(tickets, teams, now=now))


def write_report(files: ReportFiles, out: Path) -> list[Path]:
    """Writes report.md, chart.png and tickets.csv into `out` (made when missing); the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    written = [out / REPORT_FILE, out / CHART_FILE, out / CSV_FILE]
    written[0].write_text(files.markdown, encoding="utf-8")
    written[1].write_bytes(files.chart)
    written[2].write_bytes(files.csv)
    return written


class ReportService:
    """`/support-report`: who may ask, which month, and the report posted with its files in the thread."""

    def __init__(self, *, config: BotConfig, sessions: async_sessionmaker[AsyncSession], slack: AsyncWebClient,
                 directory: Directory, clock: Clock) -> None:
        self.config = config
        self._sessions = sessions
        self._slack = slack
        self._directory = directory
        self._clock = clock

    async def refusal_for(self, user_id: str) -> str | None:
        """Why this person may not ask for the report (support agents and leads may), or None."""
        slack = self.config.slack
        if await self._directory.is_member(user_id, slack.support_agents) or \
                await self._directory.is_member(user_id, slack.support_leads):
            return None
        return words.report_who_may(slack.support_agents, slack.support_leads)

    def month_for(self, text: str) -> Month:
        """The month asked for (last month when `text` is empty); BadMonth with the reason otherwise."""
        return report_month(text, now_month=Month.of(self._clock.now()))

    async def build(self, month: Month) -> ReportFiles:
        """The month's report and its files."""
        return await build_report(self._sessions, month, clock=self._clock)

    async def post(self, month: Month, *, channel: str) -> str | None:
        """Posts the report in `channel` and attaches the chart and CSV in its thread (files.getUploadURLExternal,
        the upload, files.completeUploadExternal: slack_sdk's files_upload_v2). None when all went out;
        otherwise what to tell the person who asked."""
        files = await self.build(month)
        try:
            posted = await self._slack.chat_postMessage(channel=channel, text=words.report_fallback(files.report),
                                                        blocks=words.report_blocks(files.report))
        except SlackApiError as exc:
            return words.report_cannot_post(str(exc.response.get("error")))
        code = month.code
        try:
            await self._slack.files_upload_v2(
                channel=str(posted["channel"]), thread_ts=str(posted["ts"]),
                initial_comment=words.files_comment(month),
                file_uploads=[{"file": files.chart, "filename": f"support-{code}-chart.png",
                               "title": words.chart_title(month)},
                              {"file": files.csv, "filename": f"support-{code}-tickets.csv",
                               "title": f"Tickets, {month.label}"}])
        except SlackApiError as exc:
            log.warning("support report %s: attaching the files failed: %s", code, exc.response.get("error"))
            return words.report_files_failed(str(exc.response.get("error")))
        except SlackRequestError as exc:  # the upload URL refused the bytes (not a Web API answer)
            log.warning("support report %s: the upload was refused: %s", code, exc)
            return words.report_files_failed("the upload was refused")
        return None

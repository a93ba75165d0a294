"""`/support-report [YYYY-MM]`: the month's support report, posted where it was asked for."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from blocks import trends as words
from blocks.ids import Command
from bot.trend_figures import BadMonth
from bot.trends.service import ReportService
from handlers.errors import guarded


def register(app: AsyncApp) -> None:
    """Attaches `/support-report` to the Bolt app."""
    app.command(Command.SUPPORT_REPORT.value)(guarded(support_report))


async def support_report(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond,
                         reports: ReportService) -> None:
    """Support agents and leads get the month's report (last month by default) in the channel they typed it in;
    anyone else, or a month that cannot be read, is told privately."""
    if refusal := await reports.refusal_for(command["user_id"]):
        await ack(refusal)
        return
    try:
        month = reports.month_for(command.get("text", ""))
    except BadMonth as exc:
        await ack(words.report_usage(str(exc)))
        return
    await ack(words.report_building(month))
    if problem := await reports.post(month, channel=command["channel_id"]):
        await respond(text=problem, response_type="ephemeral")

"""`/support-report` end to end over signed HTTP against the sandbox: the month's report posted where it was asked
for, its chart and CSV attached in the thread through files.getUploadURLExternal → upload →
files.completeUploadExternal; support agents and leads only; bad months and channels without the bot said
privately."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

from bot.app import SupportBot
from bot.sandbox.clock import ManualClock
from bot.sandbox.driver import SlackDriver
from bot.sandbox.slack import SlackSandbox
from bot.sandbox.slack_files import UPLOAD_CALL
from bot.sandbox.workspace import AGENT, GENERAL, LEAD, OUTSIDER
from tests.bot.trends.seed import REQUESTER, seed

TRIAGE = "C0TRIAGE01"
FLOW = ("files.getUploadURLExternal", UPLOAD_CALL, "files.completeUploadExternal")


def _ephemerals(sandbox: SlackSandbox, user: str) -> list[Any]:
    return [e for e in sandbox.ephemerals if e.user == user]


async def _ask(slack: SlackDriver, sandbox: SlackSandbox, *, user: str, text: str, channel: str = TRIAGE) -> Any:
    before = len(_ephemerals(sandbox, user))
    await slack.slash_command(user_id=user, command="/support-report", text=text, channel_id=channel)
    return await sandbox.wait_for(lambda: _ephemerals(sandbox, user)[before]
                                  if len(_ephemerals(sandbox, user)) > before else None)


async def test_a_lead_gets_the_report_with_its_chart_and_csv_in_the_thread(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, clock: ManualClock) -> None:
    clock.set(datetime(2026, 12, 3, 9, 0, tzinfo=UTC))
    await seed(bot.sessions)
    building = await _ask(slack, sandbox, user=LEAD.user_id, text="2026-11")
    assert "November 2026" in building.text
    report = await sandbox.wait_for(lambda: next((m for m in sandbox.history(TRIAGE)
                                                  if "Support report, November 2026" in str(m.blocks)), None))
    assert "Total*: 8 (+5)" in str(report.blocks) and "62.5 % (5 of 8)" in str(report.blocks)
    shared = await sandbox.wait_for(lambda: next((m for m in sandbox.history(TRIAGE, thread_ts=report.ts)
                                                  if m.files), None))
    assert [f["name"] for f in shared.files] == ["support-2026-11-chart.png", "support-2026-11-tickets.csv"]
    flow = [c.method for c in sandbox.calls if c.method in FLOW and c.ok]
    assert flow == [FLOW[0], FLOW[0], FLOW[1], FLOW[1], FLOW[2]]  # URLs, then the bytes, then one completion
    chart, table = (sandbox.uploads[f["id"]] for f in shared.files)
    assert chart.content is not None and chart.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert table.content is not None and REQUESTER.encode() not in table.content
    assert len(list(csv.DictReader(io.StringIO(table.content.decode())))) == 8


async def test_only_agents_and_leads_and_only_real_months(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, clock: ManualClock) -> None:
    clock.set(datetime(2026, 12, 3, 9, 0, tzinfo=UTC))
    refused = await _ask(slack, sandbox, user=OUTSIDER.user_id, text="", channel=GENERAL)
    assert "S0AGENTS01" in refused.text and "S0LEADS01" in refused.text
    bad = await _ask(slack, sandbox, user=AGENT.user_id, text="2026-13")
    assert "YYYY-MM" in bad.text
    future = await _ask(slack, sandbox, user=AGENT.user_id, text="2027-02")
    assert "has not started" in future.text
    assert not sandbox.calls_to("files.getUploadURLExternal")


async def test_a_channel_without_the_bot_is_told_privately(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, clock: ManualClock) -> None:
    clock.set(datetime(2026, 12, 3, 9, 0, tzinfo=UTC))
    sandbox.add_channel("C0NOBOT001", "no-bot", members=[AGENT.user_id], bot_member=False)
    await _ask(slack, sandbox, user=AGENT.user_id, text="", channel="C0NOBOT001")  # "Building …"
    told = await sandbox.wait_for(lambda: next((e for e in _ephemerals(sandbox, AGENT.user_id)
                                                if "invite me" in e.text), None))
    assert "/invite" in told.text

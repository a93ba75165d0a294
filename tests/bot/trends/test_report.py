"""The monthly report on a fixture month (tests/bot/trends/seed.py): every figure against numbers worked out by
hand, the chart a real PNG, the CSV readable and free of requester data, and `supportbot report` writing the files."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from matplotlib import image
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from blocks.trends import duration, report_blocks
from bot.cli import main
from bot.sandbox.clock import ManualClock
from bot.trend_figures import BadMonth, Month
from bot.trends.figures import median, p90
from bot.trends.service import ReportFiles, build_report, report_month
from storage.db import create_engine, create_sessionmaker
from storage.migrate import upgrade_to_head
from tests.bot.trends.seed import REQUESTER, seed

NOVEMBER = Month(2026, 11)
NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
H, M = timedelta(hours=1), timedelta(minutes=1)


@pytest_asyncio.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'trends.db'}")
    await upgrade_to_head(engine)
    made = create_sessionmaker(engine)
    await seed(made)
    yield made
    await engine.dispose()


@pytest_asyncio.fixture
async def files(sessions: async_sessionmaker[AsyncSession]) -> ReportFiles:
    return await build_report(sessions, NOVEMBER, clock=ManualClock(NOW))


def test_median_and_p90_by_nearest_rank() -> None:
    values = [5 * M, 10 * M, 20 * M, 30 * M, 60 * M]
    assert median(values) == 20 * M and p90(values) == 60 * M
    assert median([H, 2 * H]) == 90 * M and p90([H, 2 * H]) == 2 * H  # ⌈0.9·2⌉ = 2nd
    assert p90([timedelta(minutes=i) for i in range(1, 11)]) == 9 * M  # ⌈0.9·10⌉ = 9th
    assert median([]) is None and p90([]) is None


async def test_ticket_counts_by_category_and_severity(files: ReportFiles) -> None:
    now = files.report.current
    assert now.tickets == 8  # #9 was filed on 1 December, #103 on 31 October
    assert now.by_category == (("billing", 4), ("auth", 2), ("ui", 1), ("uncategorised", 1))
    assert now.by_severity == (("SEV1", 1), ("SEV2", 2), ("SEV3", 4), ("SEV4", 1))


async def test_first_response_sla_by_plan_tier(files: ReportFiles) -> None:
    now = files.report.current
    tiers = {a.tier: (a.met, a.counted) for a in now.sla_by_tier}
    # enterprise: #1 in 30 min, #2 in 90 min (late), #8 in 45 min; pro: 20 and 59 min; business: 10 min;
    # trial: #5 never answered (4 h deadline long past); free: #7 after 5 h of a 4 h deadline.
    assert tiers == {"enterprise": (2, 3), "business": (1, 1), "pro": (2, 2), "trial": (0, 1), "free": (0, 1)}
    assert (now.sla_overall.met, now.sla_overall.counted) == (5, 8)
    assert now.sla_overall.percent == pytest.approx(62.5)
    assert files.report.previous.sla_overall.percent == pytest.approx(200 / 3)  # October: 2 of 3


async def test_time_to_acknowledge_and_to_resolve(files: ReportFiles) -> None:
    now = files.report.current
    # Acknowledged after 10, 30, 5, 60 and 20 minutes (#6's escalation never was): sorted 5 10 20 30 60.
    assert (now.acknowledge.count, now.acknowledge.median, now.acknowledge.p90) == (5, 20 * M, 60 * M)
    # Resolved tickets: #1 4 h, #3 24 h (its latest resolution), #4 2 h 30 (the incident's resolved_at), #6 1 h;
    # #2 has a resolution event but is open again. Sorted 1 h, 2 h 30, 4 h, 24 h: median 3 h 15, p90 the 4th.
    assert (now.resolve.count, now.resolve.median, now.resolve.p90) == (4, 3 * H + 15 * M, 24 * H)


async def test_escalations_by_team_top_components_and_the_change(files: ReportFiles) -> None:
    now, before = files.report.current, files.report.previous
    assert now.escalations == 6 and now.by_team == (("payments", 4), ("platform", 2))
    assert now.top_components == (("billing", 3), ("auth", 1), ("sso", 1), ("webhooks", 1))
    assert before.tickets == 3 and before.escalations == 1 and before.acknowledge.median == 40 * M
    text = str(report_blocks(files.report))
    assert "Total*: 8 (+5)" in text and "billing: 4 (+3)" in text and "ui: 1 (±0)" in text
    assert "62.5 % (5 of 8) (-4.2 pp)" in text
    assert "median 20 min, p90 1 h 00 min (n = 5) (median -20 min)" in text
    assert "median 3 h 15 min, p90 1 d 0 h (n = 4)" in text
    assert "category chosen at intake" in text  # says that category stands in for the root cause
    assert duration(3 * H + 15 * M) == "3 h 15 min" and duration(None) == "-"


async def test_weekly_counts_feed_a_real_png(files: ReportFiles) -> None:
    weeks = [dict(w.by_category) for w in files.report.weeks]
    assert [w["billing"] for w in weeks] == [2, 0, 1, 0, 1]  # 1-7, 8-14, 15-21, 22-28, 29-30
    assert [w["auth"] for w in weeks] == [0, 2, 0, 0, 0]
    assert files.chart.startswith(b"\x89PNG\r\n\x1a\n")
    pixels = image.imread(io.BytesIO(files.chart), format="png")
    assert pixels.shape[0] > 100 and pixels.shape[1] > 100


async def test_the_csv_parses_back_and_holds_no_requester_data(files: ReportFiles) -> None:
    text = files.csv.decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [int(r["number"]) for r in rows] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert list(rows[0]) == ["number", "filed_at", "severity", "category", "plan_tier", "status",
                             "first_response_met", "team"]
    assert rows[0] == {"number": "1", "filed_at": "2026-11-02T10:00:00+00:00", "severity": "SEV2",
                       "category": "billing", "plan_tier": "enterprise", "status": "resolved",
                       "first_response_met": "yes", "team": "payments"}
    assert rows[4]["first_response_met"] == "no" and rows[4]["team"] == ""
    assert REQUESTER not in text and "@" not in text and "ws_4f2a9c" not in text


def test_the_month_defaults_to_last_month_and_refuses_bad_ones() -> None:
    assert report_month("", now_month=Month(2026, 12)) == NOVEMBER
    assert report_month("", now_month=Month(2026, 1)) == Month(2025, 12)
    assert report_month(" 2026-11 ", now_month=Month(2026, 12)) == NOVEMBER
    for bad in ("2026-13", "11-2026", "november", "2026-1"):
        with pytest.raises(BadMonth):
            report_month(bad, now_month=Month(2026, 12))
    with pytest.raises(BadMonth, match="has not started"):
        report_month("2027-01", now_month=Month(2026, 12))


def test_supportbot_report_writes_the_three_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"

    async def prepare() -> None:
        engine = create_engine(url)
        await upgrade_to_head(engine)
        await seed(create_sessionmaker(engine))
        await engine.dispose()

    asyncio.run(prepare())
    monkeypatch.setenv("DATABASE_URL", url)
    out = tmp_path / "out"
    assert main(["report", "2026-11", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["chart.png", "report.md", "tickets.csv"]
    report = (out / "report.md").read_text()
    assert report.startswith("# Support report, November 2026") and "**Total**: 8 (+5)" in report
    assert (out / "chart.png").read_bytes().startswith(b"\x89PNG")
    assert len(list(csv.DictReader(io.StringIO((out / "tickets.csv").read_text())))) == 8
    assert str(out / "report.md") in capsys.readouterr().out
    assert main(["report", "2026-13", "--out", str(out)]) == 2

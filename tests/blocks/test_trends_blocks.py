"""blocks/trends.py: the report message and the spike alert parse with slack_sdk.models within Slack's limits; a
ticket's summary stays inert text; durations and changes read as people say them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from blocks.trends import duration, report_blocks, spike_alert, spike_cleared
from bot.trend_figures import Attainment, Month, MonthFigures, MonthReport, SpikeTicket, Spread
from tests.blocks.test_builders import assert_valid_blocks

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def figures(month: Month, tickets: int) -> MonthFigures:
    none = Spread(0, None, None)
    return MonthFigures(month=month, tickets=tickets, by_category=(("billing", tickets),), by_severity=(),
                        sla_by_tier=(Attainment("pro", 0, 0, pending=2),), sla_overall=Attainment("all", 0, 0),
                        acknowledge=none, resolve=none, escalations=0, by_team=(), top_components=())


def test_the_report_blocks_are_valid_even_for_an_empty_month() -> None:
    november = Month(2026, 11)
    report = MonthReport(current=figures(november, 0), previous=figures(november.previous(), 3), weeks=(),
                         generated_at=NOW)
    blocks = report_blocks(report)
    assert_valid_blocks(blocks)
    text = str(blocks)
    assert "Total*: 0 (-3)" in text and "2 still inside the deadline" in text and "- (none due)" in text


def test_the_spike_alert_is_valid_and_keeps_summaries_inert() -> None:
    tickets = [SpikeTicket(number=n, severity="SEV2", summary="<!channel> & <@U1> broke", filed_at=NOW,
                           card_channel="C0TRIAGE01", card_ts=f"1700000000.00000{n}") for n in range(1, 26)]
    text, blocks = spike_alert("billing", tickets, window=timedelta(minutes=60), threshold=5)
    assert_valid_blocks(blocks)
    assert text == "Ticket spike: billing, 25 tickets in 1 h 00 min"
    shown = str(blocks)
    assert "&lt;!channel&gt; &amp; &lt;@U1&gt;" in shown and "<!channel>" not in shown
    assert "… and 5 earlier" in shown and "|#25>" in shown
    assert "fewer than 5 tickets" in spike_cleared("billing", window=timedelta(minutes=60), threshold=5)


def test_durations() -> None:
    assert [duration(timedelta(minutes=m)) for m in (0, 59, 60, 125, 60 * 24 + 61)] == \
        ["0 min", "59 min", "1 h 00 min", "2 h 05 min", "1 d 1 h"]

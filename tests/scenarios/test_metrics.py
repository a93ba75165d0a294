"""`GET /metrics`: Prometheus' text format, and the numbers move with what the bot does. Counters are
per process (several bots in one test process share them), so each test reads deltas; the gauges come from
the bot's own database at scrape time, so they are read as they are."""

from __future__ import annotations

from datetime import timedelta

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from slack_sdk.errors import SlackApiError

from bot.app import SupportBot
from bot.core import metrics
from bot.sandbox.clock import ManualClock
from bot.sandbox.driver import SlackDriver
from bot.sandbox.pagerduty import PagerDutyStandIn
from bot.sandbox.slack import SlackSandbox
from bot.sandbox.workspace import file_ticket, ticket_values
from tests.conftest import BOT_TOKEN, SIGNING_SECRET
from tests.scenarios.conftest import ROUTING_KEY

TRIAGE = "C0TRIAGE01"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(bot: SupportBot) -> Samples:
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{bot.port}/metrics") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = await response.text()
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


async def _paged(sandbox: SlackSandbox, words: str) -> None:
    card = await sandbox.wait_for(lambda: next(iter(sandbox.history(TRIAGE)), None))
    await sandbox.wait_for(lambda: any(words in m.text for m in sandbox.history(TRIAGE, thread_ts=card.ts)),
                           timeout=10)


async def test_a_sev2_ticket_moves_requests_acks_outside_calls_gauges_and_timers(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, pagerduty: PagerDutyStandIn,
        clock: ManualClock) -> None:
    before = await scrape(bot)
    assert value(before, "supportbot_database_up") == 1
    assert value(before, "supportbot_open_tickets", severity="SEV2") == 0
    await file_ticket(slack, sandbox)  # the default form is SEV2: a card, then a page
    await _paged(sandbox, "Paged on-call")
    after = await scrape(bot)

    assert delta(before, after, "supportbot_requests_total", kind="command", outcome="ok") == 1
    assert delta(before, after, "supportbot_requests_total", kind="view_submission", outcome="ok") == 1
    assert delta(before, after, "supportbot_ack_seconds_count", kind="view_submission") == 1
    assert delta(before, after, "supportbot_ack_seconds_sum", kind="view_submission") > 0
    assert delta(before, after, "supportbot_ack_seconds_bucket", kind="view_submission", le="3.0") == 1
    assert delta(before, after, "supportbot_outside_calls_total", system="pagerduty", outcome="ok") == 1
    assert delta(before, after, "supportbot_outside_calls_total", system="slack", outcome="ok") >= 3
    assert value(after, "supportbot_open_tickets", severity="SEV2") == 1
    assert value(after, "supportbot_open_tickets", severity="SEV1") == 0
    # In-process bots have no webhook secret: the ticket's events wait in the outbox.
    assert value(after, "supportbot_webhook_backlog") > value(before, "supportbot_webhook_backlog")

    assert value(after, "supportbot_timers_due") == 0
    clock.advance(timedelta(days=3))  # past the first-response reminder and breach
    due = await scrape(bot)
    assert value(due, "supportbot_timers_due") >= 2
    await bot.timers.fire_due()
    fired = await scrape(bot)
    assert value(fired, "supportbot_timers_due") == 0


async def test_failures_show_as_outcomes_and_retries_pending(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, pagerduty: PagerDutyStandIn,
        clock: ManualClock) -> None:
    pagerduty.fail_next(503, times=10)
    before = await scrape(bot)
    await file_ticket(slack, sandbox)
    await _paged(sandbox, "Paging on-call failed")
    failing = await scrape(bot)
    assert delta(before, failing, "supportbot_outside_calls_total", system="pagerduty", outcome="error") >= 1
    assert delta(before, failing, "supportbot_outside_calls_total", system="pagerduty", outcome="ok") == 0
    assert value(failing, "supportbot_retries_pending", what="timer") == 1  # the page's retry

    pagerduty.reset()
    clock.advance(timedelta(minutes=1))
    await bot.timers.fire_due()
    retried = await scrape(bot)
    assert delta(failing, retried, "supportbot_outside_calls_total", system="pagerduty", outcome="ok") == 1
    assert value(retried, "supportbot_retries_pending", what="timer") == 0


async def test_refused_requests_and_slack_refusals_are_counted(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot) -> None:
    before = await scrape(bot)
    unsigned = await slack.post_raw("command=/ticket", sign=False)
    malformed = await slack.post_raw("payload=not-json")
    assert (unsigned.status, malformed.status) == (401, 400)
    async with aiohttp.ClientSession() as http, \
            http.post(f"http://127.0.0.1:{bot.port}/jira/webhook", data=b"{}") as response:
        assert response.status == 401
    sandbox.fail_next("chat.postMessage", "channel_not_found")
    with pytest.raises(SlackApiError):  # Slack's "ok": false over HTTP 200
        await bot.slack.chat_postMessage(channel=TRIAGE, text="hello")
    after = await scrape(bot)
    assert delta(before, after, "supportbot_requests_total", kind="unknown", outcome="unauthorized") == 1
    assert delta(before, after, "supportbot_requests_total", kind="unknown", outcome="bad_request") == 1
    assert delta(before, after, "supportbot_requests_total", kind="jira_webhook", outcome="unauthorized") == 1
    assert delta(before, after, "supportbot_outside_calls_total", system="slack", outcome="refused") == 1


async def test_the_scrape_names_no_secret_and_no_customer_value(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, pagerduty: PagerDutyStandIn) -> None:
    await file_ticket(slack, sandbox, values=ticket_values(**{"Requester email": "dana.private@customer.example"}))
    await _paged(sandbox, "Paged on-call")
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{bot.port}/metrics") as response:
        text = await response.text()
    assert "supportbot_requests_total" in text
    for secret in (BOT_TOKEN, SIGNING_SECRET, ROUTING_KEY, "dana.private@customer.example", "ws_4f2a9c",
                   sandbox.api_url, pagerduty.url):
        assert secret not in text, secret


async def test_fired_timers_count_by_kind_and_lateness_lands_in_its_bucket(bot: SupportBot) -> None:
    # The scheduler reports each deadline it fires through these two calls.
    before = await scrape(bot)
    metrics.timer_fired("first_response_warning", late_seconds=0.2)
    metrics.timer_fired("first_response_warning", late_seconds=90.0)
    metrics.timer_failed("sev2_page_retry")
    after = await scrape(bot)
    assert delta(before, after, "supportbot_timers_fired_total", kind="first_response_warning") == 2
    assert delta(before, after, "supportbot_timer_failures_total", kind="sev2_page_retry") == 1
    assert delta(before, after, "supportbot_timer_lateness_seconds_bucket", le="0.5") == 1
    assert delta(before, after, "supportbot_timer_lateness_seconds_bucket", le="60.0") == 1
    assert delta(before, after, "supportbot_timer_lateness_seconds_bucket", le="120.0") == 2
    assert delta(before, after, "supportbot_timer_lateness_seconds_sum") == pytest.approx(90.2)


async def test_the_scheduler_counts_fired_timers_and_their_lateness(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, clock: ManualClock) -> None:
    await file_ticket(slack, sandbox, values=ticket_values(Impact="Cosmetic or how-to question"))
    await sandbox.wait_for(lambda: sandbox.history(TRIAGE) or None)
    before = await scrape(bot)
    clock.advance(timedelta(days=3))
    await bot.timers.fire_due()
    after = await scrape(bot)
    assert delta(before, after, "supportbot_timers_fired_total", kind="first_response_breach") == 1
    assert delta(before, after, "supportbot_timer_lateness_seconds_count") >= 2
    assert delta(before, after, "supportbot_timer_lateness_seconds_bucket", le="0.5") == 0  # days late

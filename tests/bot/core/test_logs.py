"""Log lines: JSON or text, one line per event, with the ticket and Slack request from the context, and the
payload-logging libraries held at their floors whatever level their own loggers were given."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot.core import logs


@pytest.fixture
def captured() -> Iterator[tuple[io.StringIO, logging.Logger]]:
    stream = io.StringIO()
    handler = logs.handler_for("json")
    handler.setStream(stream)  # type: ignore[attr-defined]
    logger = logging.getLogger("supportbot.test_logs")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield stream, logger
    logger.removeHandler(handler)


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_json_line_has_time_level_logger_message_and_the_context(
        captured: tuple[io.StringIO, logging.Logger]) -> None:
    stream, logger = captured
    token = logs.bind_request("Ev0TEST")
    try:
        with logs.ticket_context(42):
            logger.warning("card for %s\nnot updated", "#42")
        logger.info("after the ticket")
    finally:
        logs.REQUEST_ID.reset(token)
    logger.info("outside any request")
    first, second, third = _lines(stream)
    assert first["level"] == "WARNING" and first["logger"] == "supportbot.test_logs"
    assert first["message"] == "card for #42\nnot updated"  # one line on disk: the newline is escaped
    assert (first["ticket"], first["slack_request_id"]) == (42, "Ev0TEST")
    assert str(first["time"]).endswith("+00:00")
    assert "ticket" not in second and second["slack_request_id"] == "Ev0TEST"
    assert "ticket" not in third and "slack_request_id" not in third
    assert len(stream.getvalue().splitlines()) == 3


def test_a_traceback_stays_inside_its_json_line(captured: tuple[io.StringIO, logging.Logger]) -> None:
    stream, logger = captured
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("it failed")
    (line,) = _lines(stream)
    assert "ValueError: boom" in str(line["exception"]) and "Traceback" in str(line["exception"])


async def test_tasks_started_after_binding_carry_the_ticket_and_earlier_ones_do_not(
        captured: tuple[io.StringIO, logging.Logger]) -> None:
    stream, logger = captured
    gate = asyncio.Event()

    async def later() -> None:
        await gate.wait()
        logger.info("started before")

    async def work() -> None:
        logs.bind_ticket(7)
        await asyncio.create_task(asyncio.to_thread(logger.info, "in a worker thread"))

    before = asyncio.create_task(later())
    await asyncio.create_task(work())
    gate.set()
    await before
    by_message = {line["message"]: line for line in _lines(stream)}
    assert by_message["in a worker thread"]["ticket"] == 7
    assert "ticket" not in by_message["started before"]
    assert logs.TICKET.get() is None  # the binding stayed in the task that made it


def test_payload_loggers_stay_at_their_floor_even_when_their_own_level_is_lower() -> None:
    stream = io.StringIO()
    handler = logs.handler_for("text")
    handler.setStream(stream)  # type: ignore[attr-defined]
    noisy = {name: logging.getLogger(name) for name in ("aiosqlite", "slack_bolt.AsyncApp", "httpcore2.http11")}
    saved = {name: (logger.level, logger.propagate) for name, logger in noisy.items()}
    try:
        for logger in noisy.values():
            logger.addHandler(handler)
            logger.setLevel(logging.DEBUG)  # as Bolt does for its app logger
            logger.propagate = False
        noisy["aiosqlite"].debug("executing INSERT ... ('dana@customer.example',)")
        noisy["slack_bolt.AsyncApp"].debug("Responding with status: 200 body: secret")
        noisy["slack_bolt.AsyncApp"].warning("As you gave `client` as well, `token` will be unused.")
        noisy["httpcore2.http11"].info("send_request_body.started")
        noisy["slack_bolt.AsyncApp"].error("a listener failed")
    finally:
        for name, logger in noisy.items():
            logger.removeHandler(handler)
            logger.setLevel(saved[name][0])
            logger.propagate = saved[name][1]
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].endswith("ERROR slack_bolt.AsyncApp: a listener failed"), lines


def test_a_text_line_escapes_newlines_and_ends_with_the_context() -> None:
    stream = io.StringIO()
    handler = logs.handler_for(None)
    handler.setStream(stream)  # type: ignore[attr-defined]
    logger = logging.getLogger("supportbot.test_text")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        with logs.ticket_context(3):
            logger.warning("typed:\n2026-01-01 00:00:00,000 ERROR forged: line")
    finally:
        logger.removeHandler(handler)
    (line,) = stream.getvalue().splitlines()
    assert line.endswith("WARNING supportbot.test_text: typed:\\n2026-01-01 00:00:00,000 ERROR forged: line "
                         "[ticket=#3]"), line


def test_slacks_own_identifiers_name_the_request() -> None:
    assert logs.slack_request_id({"event_id": "Ev0123", "type": "event_callback"}) == "Ev0123"
    assert logs.slack_request_id({"command": "/ticket", "trigger_id": "1.2.abc"}) == "1.2.abc"
    assert logs.slack_request_id({"type": "block_suggestion", "value": "Eur"}) is None
    assert logs.new_request_id().startswith("sb-") and logs.new_request_id() != logs.new_request_id()


def test_a_tick_skipped_while_the_last_one_runs_is_not_a_warning_but_other_scheduler_news_is() -> None:
    stream = io.StringIO()
    handler = logs.handler_for("text")
    handler.setStream(stream)  # type: ignore[attr-defined]
    scheduler = logging.getLogger("apscheduler.scheduler")
    scheduler.addHandler(handler)
    scheduler.propagate, saved = False, scheduler.propagate
    try:
        scheduler.warning('Execution of job "%s" skipped: maximum number of running instances reached (%d)',
                          "TimerService._tick (trigger: interval[0:00:00.250000])", 1)
        scheduler.warning('Run time of job "%s" was missed by %s', "TimerService._tick", "0:00:03")
    finally:
        scheduler.removeHandler(handler)
        scheduler.propagate = saved
    (line,) = stream.getvalue().splitlines()
    assert "was missed by" in line

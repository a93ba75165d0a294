"""Faults at the edges: forged or malformed requests, Slack refusing calls, the database refusing or vanishing."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from sqlalchemy import bindparam, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from bot.app import SupportBot
from bot.sandbox.driver import VERIFICATION_TOKEN, SlackDriver, sign_request
from bot.sandbox.slack import SlackSandbox
from bot.sandbox.view_state import build_state
from bot.sandbox.workspace import AGENT, GENERAL, file_ticket, ticket_values
from storage.db import is_sqlite
from storage.models import UTCDateTime
from storage.repositories import audit, timers
from storage.repositories import tickets as ticket_repo
from tests.conftest import SIGNING_SECRET
from tests.databases import autocommit, database_name, execute

TRIAGE = "C0TRIAGE01"


# -- helpers ---------------------------------------------------------------------------------------------------
def _url(bot: SupportBot) -> str:
    return bot.settings.env.database_url


def _db_path(bot: SupportBot) -> Path:
    return Path(database_name(_url(bot)))


def _sqlite(bot: SupportBot) -> sqlite3.Connection:
    return sqlite3.connect(_db_path(bot), timeout=5, isolation_level=None)


def _on_postgres(bot: SupportBot) -> bool:
    return not is_sqlite(_url(bot))


async def _on_the_cluster(bot: SupportBot, *statements: str) -> None:
    """Runs statements as the PostgreSQL cluster's superuser, from its maintenance database (an operator's
    ALTER DATABASE cannot run inside the database it changes while connections are being refused)."""
    await execute(make_url(_url(bot)).set(database="postgres").render_as_string(hide_password=False), *statements)


async def _count(bot: SupportBot) -> int:
    async with bot.sessions() as session:
        return await ticket_repo.count_tickets(session)


def _submission_body(sandbox: SlackSandbox, view_id: str) -> str:
    """The form body Slack POSTs when the agent submits this view filled with a valid ticket."""
    body = sandbox.views[view_id].to_api()
    body["state"] = {"values": build_state(body["blocks"], ticket_values())}
    payload = {
        "type": "view_submission",
        "team": {"id": "T0SANDBOX", "domain": "sandbox"},
        "user": {"id": AGENT.user_id, "username": "ava", "name": "ava", "team_id": "T0SANDBOX"},
        "api_app_id": sandbox.app_id,
        "token": VERIFICATION_TOKEN,
        "trigger_id": sandbox.issue_trigger_id(AGENT.user_id, view_id=view_id),
        "view": body,
        "response_urls": [],
        "is_enterprise_install": False,
    }
    return urlencode({"payload": json.dumps(payload, separators=(",", ":"))})


async def _open_intake(slack: SlackDriver, sandbox: SlackSandbox) -> str:
    await slack.slash_command(user_id=AGENT.user_id, command="/ticket", channel_id=GENERAL)
    view = await sandbox.wait_for(lambda: sandbox.latest_view_for(AGENT.user_id))
    return view.id


def _slash_fields(sandbox: SlackSandbox, **overrides: str | None) -> str:
    fields: dict[str, str | None] = {
        "token": VERIFICATION_TOKEN, "team_id": "T0SANDBOX", "team_domain": "sandbox", "channel_id": GENERAL,
        "channel_name": "general", "user_id": AGENT.user_id, "user_name": "ava", "command": "/ticket",
        "text": "", "api_app_id": sandbox.app_id, "is_enterprise_install": "false",
        "response_url": sandbox.issue_response_url(GENERAL, AGENT.user_id),
        "trigger_id": sandbox.issue_trigger_id(AGENT.user_id),
    }
    fields.update(overrides)
    return urlencode({k: v for k, v in fields.items() if v is not None})


# -- 1. unsigned and forged requests ---------------------------------------------------------------------------
def _forgeries() -> list[Any]:
    now = int(time.time())
    return [
        pytest.param({"sign": False}, id="unsigned"),
        pytest.param({"signing_secret": "not-the-signing-secret"}, id="wrong-secret"),
        pytest.param({"timestamp": now - 5 * 60 - 30}, id="timestamp-5.5-minutes-old"),
        pytest.param({"timestamp": now - 60 * 60}, id="timestamp-an-hour-old"),
        pytest.param({"headers": {"X-Slack-Signature": sign_request(SIGNING_SECRET, now, b"payload=%7B%7D")}},
                     id="signature-of-another-body"),
        pytest.param({"headers": {"X-Slack-Request-Timestamp": "yesterday"}}, id="non-numeric-timestamp"),
        pytest.param({"headers": {"X-Slack-Signature": "v0=" + "0" * 64}}, id="zero-signature"),
    ]


@pytest.mark.parametrize("forgery", _forgeries())
async def test_a_request_that_is_not_signed_by_slack_gets_401_and_stores_nothing(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, forgery: dict[str, Any]) -> None:
    body = _submission_body(sandbox, await _open_intake(slack, sandbox))
    response = await slack.post_raw(body, **forgery)
    assert response.status == 401, (response.status, response.body)
    assert await _count(bot) == 0
    assert sandbox.calls_to("chat.postMessage") == []
    # The same body, signed by Slack, is a perfectly good submission: the signature alone made the difference.
    accepted = await slack.post_raw(body)
    assert accepted.status == 200 and not accepted.body
    assert await _count(bot) == 1
    await sandbox.wait_for(lambda: sandbox.history(TRIAGE))


# -- 2. signed but malformed -----------------------------------------------------------------------------------
FORM = "application/x-www-form-urlencoded"


def _payload(payload: dict[str, Any]) -> str:
    return urlencode({"payload": json.dumps(payload)})


@pytest.mark.parametrize(("body", "content_type"), [
    pytest.param("payload=not-json", FORM, id="payload-not-json"),
    pytest.param(urlencode({"payload": '{"no":"type"}'}), FORM, id="payload-without-type"),
    pytest.param(urlencode({"payload": '{"type": 7}'}), FORM, id="payload-type-not-a-string"),
    pytest.param(urlencode({"payload": '{"type": "view_submission"'}), FORM, id="payload-truncated-json"),
    pytest.param(urlencode({"payload": "[1,2]"}), FORM, id="payload-json-list"),
    pytest.param("[1,2]", "application/json", id="json-list-body"),
    pytest.param('{"no": "type"}', "application/json", id="json-body-without-type"),
    pytest.param('{"type": "event_callback"', "application/json", id="json-body-truncated"),
    pytest.param("hello=world", FORM, id="form-without-payload-or-command"),
    pytest.param("", FORM, id="empty-body"),
    # Odd shapes inside a valid envelope: Bolt would fail on these while routing (a 500), before any listener.
    pytest.param(_payload({"type": "block_actions", "user": {"id": "U1"}, "actions": []}), FORM,
                 id="actions-empty"),
    pytest.param(_payload({"type": "block_actions", "user": {"id": "U1"}, "actions": "retry"}), FORM,
                 id="actions-not-a-list"),
    pytest.param(_payload({"type": "block_actions", "user": {"id": "U1"}, "actions": ["retry"]}), FORM,
                 id="action-not-an-object"),
    pytest.param(_payload({"type": "view_submission", "user": {"id": "U1"}, "view": "intake"}), FORM,
                 id="view-a-string"),
    pytest.param(_payload({"type": "view_submission", "user": {"id": "U1"}, "view": {"id": "V1"}}), FORM,
                 id="view-without-type"),
    pytest.param(_payload({"type": "view_submission", "user": "U1",
                           "view": {"id": "V1", "type": "modal"}}), FORM, id="user-a-string"),
    pytest.param(_payload({"type": "block_suggestion", "user": {"id": "U1"}, "action_id": 3}), FORM,
                 id="suggestion-action-id-not-a-string"),
    pytest.param('{"type": "event_callback", "event": "app_home_opened"}', "application/json",
                 id="event-a-string"),
    pytest.param('{"type": "event_callback", "event": {"user": "U1"}}', "application/json",
                 id="event-without-type"),
])
async def test_a_signed_but_malformed_request_gets_400_and_stores_nothing(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, body: str, content_type: str) -> None:
    response = await slack.post_raw(body, content_type=content_type)
    assert response.status == 400, (response.status, response.body)
    assert response.json is not None and response.json.get("error") == "malformed payload"
    assert await _count(bot) == 0
    assert [c.method for c in sandbox.calls if c.method != "auth.test"] == []


async def test_a_malformed_request_is_one_log_line_without_a_traceback(
        slack: SlackDriver, bot: SupportBot, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO")
    response = await slack.post_raw(_payload({"type": "block_actions", "user": {"id": "U1"}, "actions": []}))
    assert response.status == 400
    rejected = [r for r in caplog.records if "malformed" in r.getMessage()]
    assert len(rejected) == 1 and rejected[0].exc_info is None, caplog.text
    assert not [r for r in caplog.records if r.levelname == "ERROR"], caplog.text


async def test_a_signed_ssl_check_gets_200_and_does_nothing(slack: SlackDriver, sandbox: SlackSandbox,
                                                            bot: SupportBot) -> None:
    response = await slack.post_raw(urlencode({"ssl_check": "1", "token": VERIFICATION_TOKEN}))
    assert response.status == 200, (response.status, response.body)
    assert [c.method for c in sandbox.calls if c.method != "auth.test"] == []
    # Unsigned, it is a forgery like any other.
    assert (await slack.post_raw(urlencode({"ssl_check": "1"}), sign=False)).status == 401


async def test_a_signed_body_that_is_not_utf8_is_400_not_401(slack: SlackDriver, bot: SupportBot) -> None:
    response = await slack.post_raw(b"payload=\xff\xfe")
    assert response.status == 400, (response.status, response.body)
    assert response.json is not None and response.json["detail"] == "the body is not UTF-8"
    assert (await slack.post_raw(b"payload=\xff\xfe", signing_secret="not-the-signing-secret")).status == 401


@pytest.mark.parametrize("overrides", [
    pytest.param({"trigger_id": None}, id="no-trigger-id"),
    pytest.param({"trigger_id": ""}, id="empty-trigger-id"),
    pytest.param({"user_id": None}, id="no-user-id"),
])
async def test_a_slash_command_without_its_trigger_or_user_gets_400_and_opens_nothing(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, overrides: dict[str, str | None]) -> None:
    response = await slack.post_raw(_slash_fields(sandbox, **overrides))
    assert response.status == 400, (response.status, response.body)
    assert response.json is not None and "slash command without" in response.json["detail"]
    await asyncio.sleep(0.1)
    assert sandbox.views == {} and sandbox.calls_to("views.open") == []
    assert await _count(bot) == 0
    # The control: the complete command opens the modal.
    assert (await slack.post_raw(_slash_fields(sandbox))).status == 200
    await sandbox.wait_for(lambda: sandbox.latest_view_for(AGENT.user_id))


# -- 3. Slack rate-limits the card -----------------------------------------------------------------------------
async def test_a_ratelimited_card_is_retried_after_retry_after_and_posted_once(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot) -> None:
    sandbox.fail_next("chat.postMessage", "ratelimited", retry_after=1)
    _, response = await file_ticket(slack, sandbox)
    assert response.status == 200 and not response.body
    card = await sandbox.wait_for(lambda: next(iter(sandbox.history(TRIAGE)), None))
    await sandbox.wait_for(lambda: sandbox.history(TRIAGE, thread_ts=card.ts))
    await asyncio.sleep(0.2)

    posts = sandbox.calls_to("chat.postMessage")
    top_level = [c for c in posts if not c.params.get("thread_ts")]
    assert [(c.ok, c.error) for c in top_level] == [(False, "ratelimited"), (True, None)]
    assert top_level[1].at - top_level[0].at >= 1.0  # Retry-After was honoured
    assert len(sandbox.history(TRIAGE)) == 1
    assert "#1 Invoices page shows a blank screen" in card.text
    async with bot.sessions() as session:
        ticket = await ticket_repo.get_ticket(session, number=1)
    assert ticket is not None and ticket.card_ts == card.ts
    assert not [e for e in sandbox.ephemerals if e.user == AGENT.user_id]  # nobody was bothered


# -- 4. Slack refuses the card ---------------------------------------------------------------------------------
async def test_a_refused_card_is_explained_to_the_agent_and_the_ticket_is_kept(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot) -> None:
    sandbox.fail_next("chat.postMessage", "channel_not_found")
    _, response = await file_ticket(slack, sandbox)
    assert response.status == 200 and not response.body
    told = await sandbox.wait_for(lambda: next((e for e in sandbox.ephemerals if e.user == AGENT.user_id), None))
    assert "channel_not_found" in told.text and "#1" in told.text and "saved" in told.text
    assert told.channel == GENERAL  # where the agent typed /ticket

    assert sandbox.history(TRIAGE) == []
    assert await _count(bot) == 1
    async with bot.sessions() as session:
        ticket = await ticket_repo.get_ticket(session, number=1)
        trail = await audit.audit_trail(session, ticket_number=1)
        pending = await timers.pending_timers(session, ticket_number=1)
    assert ticket is not None and ticket.summary == "Invoices page shows a blank screen"
    assert ticket.card_ts is None
    assert [e.action for e in trail] == ["ticket_filed", "customer_checked"]
    assert len(pending) == 2  # the SLA is watched even without a card


# -- 5. the database refuses the ticket ------------------------------------------------------------------------
async def test_a_database_refusal_says_not_saved_and_the_same_view_can_be_filed_again(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot) -> None:
    view = sandbox.views[await _open_intake(slack, sandbox)]
    if _on_postgres(bot):
        refuse = ["CREATE FUNCTION disk_says_no() RETURNS trigger LANGUAGE plpgsql AS "
                  "$$ BEGIN RAISE EXCEPTION 'disk says no'; END $$",
                  "CREATE TRIGGER t BEFORE INSERT ON tickets FOR EACH ROW EXECUTE FUNCTION disk_says_no()"]
        allow = ["DROP TRIGGER t ON tickets", "DROP FUNCTION disk_says_no()"]
    else:
        refuse = ["CREATE TRIGGER t BEFORE INSERT ON tickets BEGIN SELECT RAISE(ABORT, 'disk says no'); END"]
        allow = ["DROP TRIGGER t"]
    await execute(_url(bot), *refuse)
    try:
        response = await slack.submit_view(user_id=AGENT.user_id, view_id=view.id, values=ticket_values())
        assert response.acked_in_time
        assert response.json is not None and response.json["response_action"] == "errors"
        message = " ".join(response.json["errors"].values())
        assert "NOT saved" in message
        assert "disk says no" not in message  # the database's words stay in the log
        assert not sandbox.views[view.id].closed
        assert await _count(bot) == 0
        assert sandbox.calls_to("chat.postMessage") == []
    finally:
        await execute(_url(bot), *allow)

    response = await slack.submit_view(user_id=AGENT.user_id, view_id=view.id, values=ticket_values())
    assert response.status == 200 and not response.body
    assert sandbox.views[view.id].closed
    card = await sandbox.wait_for(lambda: next(iter(sandbox.history(TRIAGE)), None))
    await sandbox.wait_for(lambda: sandbox.history(TRIAGE, thread_ts=card.ts))
    # A PostgreSQL sequence is not rolled back with the refused insert: that number is used up, as it would be
    # on any PostgreSQL-backed tracker; SQLite hands out the next number after the highest stored one.
    number = 2 if _on_postgres(bot) else 1
    assert f"#{number} Invoices page shows a blank screen" in card.text
    assert await _count(bot) == 1
    async with bot.sessions() as session:
        trail = await audit.audit_trail(session, ticket_number=number)
        pending = await timers.pending_timers(session, ticket_number=number)
    assert [e.action for e in trail] == ["ticket_filed", "customer_checked"]
    assert len(pending) == 2

    # Submitting that view once more (a retry from Slack) still makes one ticket and one card.
    again = await slack.post_raw(_submission_body(sandbox, view.id))
    assert again.status == 200
    await asyncio.sleep(0.2)
    assert await _count(bot) == 1 and len(sandbox.history(TRIAGE)) == 1


@asynccontextmanager
async def _another_writer_holding_the_lock(bot: SupportBot, *, seconds: float) -> AsyncIterator[None]:
    """Another process holds the write lock for `seconds`, longer than Slack will wait: SQLite's exclusive lock,
    or on PostgreSQL a transaction holding `LOCK TABLE tickets IN ACCESS EXCLUSIVE MODE`. Exits once it is gone."""
    started = time.monotonic()
    if not _on_postgres(bot):
        db = _sqlite(bot)
        db.execute("BEGIN EXCLUSIVE")
        release = asyncio.get_running_loop().call_later(seconds, db.execute, "COMMIT")
        try:
            yield
            await asyncio.sleep(max(0.0, seconds + 0.1 - (time.monotonic() - started)))  # until the lock has gone
        finally:
            release.cancel()
            if db.in_transaction:
                db.execute("ROLLBACK")
            db.close()
        return
    async with autocommit(_url(bot)) as other:
        await other.execute(text("BEGIN"))
        await other.execute(text("LOCK TABLE tickets IN ACCESS EXCLUSIVE MODE"))
        try:
            yield
            await asyncio.sleep(max(0.0, seconds - (time.monotonic() - started)))
        finally:
            await other.execute(text("COMMIT"))


async def test_a_locked_database_still_gets_the_agent_an_answer_inside_slacks_three_seconds(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot) -> None:
    view = sandbox.views[await _open_intake(slack, sandbox)]
    async with _another_writer_holding_the_lock(bot, seconds=3.5):
        response = await slack.submit_view(user_id=AGENT.user_id, view_id=view.id, values=ticket_values())
    await asyncio.sleep(0.2)
    assert await _count(bot) == 0 and sandbox.calls_to("chat.postMessage") == []
    # The bot promises an answer within its 2-second save timeout, so the modal can say what happened.
    assert response.acked_in_time, (response.status, response.body, round(response.elapsed, 2))
    assert response.json is not None and response.json["response_action"] == "errors"
    assert "NOT saved" in " ".join(response.json["errors"].values())


# -- 6. health check -------------------------------------------------------------------------------------------
@asynccontextmanager
async def _the_database_gone(bot: SupportBot) -> AsyncIterator[str]:
    """The database is gone until exit (SQLite: its folder moved away; PostgreSQL: it takes no connections and
    its sessions are ended); yields the problem the health check must name."""
    if not _on_postgres(bot):
        directory = _db_path(bot).parent
        moved = directory.with_name(directory.name + "-moved")
        directory.rename(moved)
        try:
            yield "the database file cannot be opened"
            assert not directory.exists()  # the check did not quietly create an empty database elsewhere
        finally:
            moved.rename(directory)
        return
    name = database_name(_url(bot))
    await _on_the_cluster(bot, f"ALTER DATABASE {name} ALLOW_CONNECTIONS false",
                          f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
    try:
        yield "the database is unreachable"
    finally:
        await _on_the_cluster(bot, f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")


async def test_healthz_is_200_with_the_database_and_503_without(bot: SupportBot) -> None:
    url = f"http://127.0.0.1:{bot.port}/healthz"
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as response:
            assert response.status == 200
            assert await response.json() == {"ok": True, "database": "up"}

        await bot.engine.dispose()
        async with _the_database_gone(bot) as problem, http.get(url) as response:
            assert response.status == 503
            body = await response.json()
            assert body["ok"] is False and body["database"] == "down"
            assert body["problem"] == problem

        async with http.get(url) as response:
            assert response.status == 200  # and it recovers once the database is back


# -- 7. the audit log is append-only ---------------------------------------------------------------------------
async def test_the_audit_log_refuses_update_and_delete(slack: SlackDriver, sandbox: SlackSandbox,
                                                       bot: SupportBot) -> None:
    await file_ticket(slack, sandbox)
    card = await sandbox.wait_for(lambda: next(iter(sandbox.history(TRIAGE)), None))
    await sandbox.wait_for(lambda: sandbox.history(TRIAGE, thread_ts=card.ts))
    async with bot.sessions() as session:
        before = await audit.audit_trail(session, ticket_number=1)
    assert [e.action for e in before] == ["ticket_filed", "customer_checked"]

    async with autocommit(_url(bot)) as db:  # another connection: the database itself refuses, not the bot
        for statement in ("UPDATE audit_log SET actor = 'U0MALLORY1'",
                          "UPDATE audit_log SET after = NULL WHERE ticket_number = 1",
                          "DELETE FROM audit_log WHERE ticket_number = 1",
                          "DELETE FROM audit_log"):
            with pytest.raises(DBAPIError, match="append-only"):
                await db.execute(text(statement))
        # Appending is still allowed.
        await db.execute(text("INSERT INTO audit_log (ticket_number, action, actor, at) "
                              "VALUES (1, 'note', 'U0LEAD0001', :at)").bindparams(bindparam("at", type_=UTCDateTime())),
                         {"at": datetime(2026, 11, 23, 19, 5, tzinfo=UTC)})

    async with bot.sessions() as session:
        after = await audit.audit_trail(session, ticket_number=1)
    assert after[0] == before[0]
    assert [e.action for e in after] == ["ticket_filed", "customer_checked", "note"]


def _on_every_new_connection(bot: SupportBot, pragma: str) -> None:
    """What a database that went read-only or full looks like to the bot: its next connections get `pragma`."""
    def apply(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.cursor().execute(pragma)

    event.listen(bot.engine.sync_engine, "connect", apply)


async def _read_only_from_now_on(bot: SupportBot) -> None:
    """The bot's next connections may read but not write: SQLite's own read-only refusal (query_only), or a
    PostgreSQL database whose new sessions are read-only (as a hot standby's or a locked-down database's)."""
    await bot.engine.dispose()
    if _on_postgres(bot):
        await execute(_url(bot), f"ALTER DATABASE {database_name(_url(bot))} SET default_transaction_read_only = on")
    else:
        _on_every_new_connection(bot, "PRAGMA query_only = 1")


async def test_healthz_proves_the_database_takes_writes(bot: SupportBot) -> None:
    url = f"http://127.0.0.1:{bot.port}/healthz"
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as response:
            assert response.status == 200
        await _read_only_from_now_on(bot)
        async with http.get(url) as response:
            assert response.status == 503  # reads still work; a read-only check would have said 200
            assert (await response.json())["problem"] == "the database is read-only"


async def test_a_read_only_database_says_so_in_the_modal(slack: SlackDriver, sandbox: SlackSandbox,
                                                         bot: SupportBot) -> None:
    view = sandbox.views[await _open_intake(slack, sandbox)]
    await _read_only_from_now_on(bot)
    response = await slack.submit_view(user_id=AGENT.user_id, view_id=view.id, values=ticket_values())
    assert response.json is not None and response.json["response_action"] == "errors"
    assert "NOT saved: the database refused the write: the database is read-only" in response.json["errors"]["summary"]
    assert not sandbox.views[view.id].closed


async def test_a_full_disk_says_so_in_the_modal_and_nothing_is_half_stored(
        sandbox: SlackSandbox, start_bot: Callable[..., Awaitable[SupportBot]], tmp_path: Path) -> None:
    """On SQLite in both runs, on a file of its own: a full disk has no PostgreSQL stand-in a test can set up
    (the cluster's disk is the machine's, shared by every test), while SQLite's max_page_count gives its real
    SQLITE_FULL. Which words PostgreSQL's "could not extend file" gets is checked in storage/db.py's table."""
    bot = await start_bot(database_url=f"sqlite+aiosqlite:///{tmp_path / 'full.db'}")
    async with SlackDriver(events_url=f"http://127.0.0.1:{bot.port}/slack/events", signing_secret=SIGNING_SECRET,
                           sandbox=sandbox) as slack:
        await _fill_the_disk_and_file(slack, sandbox, bot)


async def _fill_the_disk_and_file(slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot) -> None:
    view = sandbox.views[await _open_intake(slack, sandbox)]
    with _sqlite(bot) as db:
        pages = db.execute("PRAGMA page_count").fetchone()[0]
    await bot.engine.dispose()
    # SQLite's real SQLITE_FULL: the file may not grow, and a long report needs new pages.
    _on_every_new_connection(bot, f"PRAGMA max_page_count = {pages}")
    long = ticket_values(**{"What happened": "x" * 2400, "What was expected": "y" * 2400})
    response = await slack.submit_view(user_id=AGENT.user_id, view_id=view.id, values=long)
    assert response.json is not None and response.json["response_action"] == "errors"
    assert "NOT saved: the database refused the write: disk full" in response.json["errors"]["summary"]
    assert await _count(bot) == 0
    async with bot.sessions() as session:
        assert await timers.pending_timers(session, ticket_number=1) == []


async def test_a_client_that_hangs_up_mid_request_is_one_info_line(bot: SupportBot,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO")
    _reader, writer = await asyncio.open_connection("127.0.0.1", bot.port)
    writer.write(b"POST /slack/events HTTP/1.1\r\nHost: bot\r\nContent-Length: 1000\r\n\r\npayload=")
    await writer.drain()
    await asyncio.sleep(0.1)
    writer.close()
    await asyncio.sleep(0.3)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == [], caplog.text
    gone = [r for r in caplog.records if "went away" in r.getMessage()]
    assert len(gone) == 1 and gone[0].levelno == logging.INFO and gone[0].exc_info is None

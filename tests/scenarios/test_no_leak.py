"""No leak: the public page takes customer words only, secrets are redacted everywhere, Slack markup stays inert,
and the built-in status page tells browsers to load nothing but itself."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text

from bot.app import SupportBot
from bot.core.redaction import MASK
from bot.sandbox.driver import DriverResponse, SlackDriver
from bot.sandbox.pagerduty import PagerDutyStandIn
from bot.sandbox.slack import SlackSandbox
from bot.sandbox.statuspage import StatuspageStandIn
from bot.sandbox.workspace import COMMANDER, file_ticket, ticket_values
from storage.repositories import audit
from tests.conftest import SIGNING_SECRET
from tests.databases import autocommit, stored_text

SEV1 = ticket_values(**{"Impact": "Production down or data loss", "Summary": "Checkout returns 500"})
# Assembled from pieces, so secret scanners reading this repository see no live-looking key.
STRIPE_KEY = "sk_" + "live_" + "4eC39HqLyjWDarjtT1zdp7dc"
PASSWORD = "Tr0ub4dor-and-3"

# One message per class the public check refuses, and what the inline error must name.
LEAKS = [
    (f"We rotated {STRIPE_KEY} after the incident.", "a Stripe key"),
    (f"The job logged in with password={PASSWORD} and failed.", "a password"),
    ("The X-Api-Key: 0123abcd4567ef header was rejected.", "an API key header"),
    ("The database db-1.internal failed over.", "the internal host name (db-1.internal)"),
    ("Requests to billing.svc.cluster.local time out.", "the internal host name (billing.svc.cluster.local)"),
    ("Traffic to 10.0.0.5 is dropped.", "a private IP address (10.0.0.5)"),
    ("The node fd00::5 is rebooting.", "a private IP address (fd00::5)"),
    ("See /var/log/checkout/error.log for details.", "the file path (/var/log/checkout/error.log)"),
    (r"Logs under C:\Acme\logs are full.", r"the file path (C:\Acme\logs)"),
    ("<@U0CMDR0001> is looking into it.", "the Slack mention (<@U0CMDR0001>)"),
    ("<!channel> checkout is down.", "the Slack mention (<!channel>)"),
    ("@here the fix is rolling out.", "the Slack mention (@here)"),
    ("Follow along in #incident-1.", "the Slack channel name (#incident-1)"),
    ("This is tracked as ticket 1.", "the ticket number (ticket 1)"),
    ("This is tracked as #1.", "the ticket number (#1)"),
]


def _driver(bot: SupportBot, sandbox: SlackSandbox) -> SlackDriver:
    return SlackDriver(events_url=f"http://127.0.0.1:{bot.port}/slack/events", signing_secret=SIGNING_SECRET,
                       sandbox=sandbox)


async def _open_incident(slack: SlackDriver, sandbox: SlackSandbox, values: dict[str, Any] = SEV1) -> tuple[Any, Any]:
    await file_ticket(slack, sandbox, values=values)
    channel = await sandbox.wait_for(lambda: sandbox.channel_by_name("incident-1"), timeout=10)
    kickoff = await sandbox.wait_for(lambda: next((m for m in sandbox.history(channel.id)
                                                   if "What the bot did" in str(m.blocks)), None), timeout=10)
    return channel, kickoff


async def _post_update(slack: SlackDriver, sandbox: SlackSandbox, kickoff: Any, *, status: str, text: str,
                       reason: str | None = None) -> DriverResponse:
    await slack.click(user_id=COMMANDER.user_id, action_id="incident_post_status", message=kickoff)
    view = await sandbox.wait_for(lambda: next((v for v in sandbox.views.values() if v.user == COMMANDER.user_id
                                                and v.view.get("callback_id") == "status_submit"
                                                and not v.closed), None))
    values = {"Status": status, "Message to customers": text}
    if reason:
        values["Reason, if the status moves backwards"] = reason
    return await slack.submit_view(user_id=COMMANDER.user_id, view_id=view.id, values=values)


async def _public_updates(bot: SupportBot, statuspage: StatuspageStandIn | None) -> list[tuple[str, str]]:
    """(status, body) of every update customers can read, oldest first, on whichever page the bot uses."""
    if statuspage is not None:
        return [(h["status"], h["body"]) for incident in statuspage.incidents.values()
                for h in incident.body_history]
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{bot.port}/status.json") as response:
        page = await response.json()
    return [(u["status"], u["body"]) for incident in page["incidents"] for u in reversed(incident["updates"])]


async def _db_bytes(bot: SupportBot) -> bytes:
    return await stored_text(bot.settings.env.database_url)


def _everything_slack_holds(sandbox: SlackSandbox) -> str:
    parts: list[Any] = [sandbox.messages, sandbox.ephemerals]
    parts += [(m.text, m.blocks, m.edits) for m in sandbox.messages]
    parts += [c.topic for c in sandbox.channels.values()]
    return json.dumps(parts, default=repr)


# 1. Every class of internal detail is refused inline, on both kinds of status page ---------------------------

@pytest.mark.parametrize("page", ["built-in", "Statuspage"])
async def test_each_class_of_leak_is_refused_inline_and_never_published(
        page: str, start_bot: Callable[..., Any], sandbox: SlackSandbox, vendor_env: dict[str, Any],
        statuspage: StatuspageStandIn) -> None:
    bot: SupportBot = await start_bot(**vendor_env) if page == "Statuspage" else await start_bot()
    watched = statuspage if page == "Statuspage" else None
    slack = _driver(bot, sandbox)
    try:
        _, kickoff = await _open_incident(slack, sandbox)
        if watched is not None:
            await watched.wait_for(lambda p: len(p.incidents) == 1, timeout=10)
        assert [s for s, _ in await _public_updates(bot, watched)] == ["investigating"]

        for leak, named in LEAKS:
            response = await _post_update(slack, sandbox, kickoff, status="Identified", text=leak)
            assert response.json and response.json["response_action"] == "errors", leak
            error = response.json["errors"]["status_message"]
            assert error == f"Remove {named}: status updates are public"
            for secret in (STRIPE_KEY, PASSWORD, "0123abcd4567ef"):
                assert secret not in error  # a secret is named, never echoed
            open_view = sandbox.latest_view_for(COMMANDER.user_id)
            assert open_view is not None
            await slack.close_view(user_id=COMMANDER.user_id, view_id=open_view.id)

        published = await _public_updates(bot, watched)
        assert [s for s, _ in published] == ["investigating"]
        for leak, _ in LEAKS:
            assert all(leak not in body for _, body in published)

        # The same modal takes a customer-facing message at once.
        response = await _post_update(slack, sandbox, kickoff, status="Identified", text="We found the cause.")
        assert response.status == 200 and not response.body
        if watched is not None:
            await watched.wait_for(lambda p: next(iter(p.incidents.values())).status == "identified", timeout=10)
        else:
            await sandbox.wait_for(lambda: any("posted a status update" in str(m.blocks) for m in sandbox.messages))
        assert (await _public_updates(bot, watched))[-1] == ("identified", "We found the cause.")
    finally:
        await slack.close()


# 2. A secret in the backward-move reason is redacted before storage, audit and Slack -------------------------

async def test_a_secret_in_the_backward_move_reason_never_reaches_the_database_the_audit_or_slack(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, statuspage: StatuspageStandIn) -> None:
    channel, kickoff = await _open_incident(slack, sandbox)
    await _post_update(slack, sandbox, kickoff, status="Identified", text="We found the cause.")
    await sandbox.wait_for(lambda: any("posted a status update" in str(m.blocks) for m in sandbox.history(channel.id)))

    reason = f"rollback failed: the deploy used {STRIPE_KEY} and password={PASSWORD}"
    response = await _post_update(slack, sandbox, kickoff, status="Investigating", text="Errors are back.",
                                  reason=reason)
    assert response.status == 200 and not response.body
    said = await sandbox.wait_for(lambda: next((m for m in sandbox.history(channel.id)
                                                if "moved back from Identified" in str(m.blocks)), None))
    assert f"rollback failed: the deploy used {MASK} and password={MASK}" in str(said.blocks)

    async with bot.sessions() as session:
        trail = await audit.audit_trail(session, ticket_number=1)
    moved_back = [e.after for e in trail if e.action == "status_update" and e.after
                  and e.after["status"] == "investigating"]
    assert len(moved_back) == 1 and moved_back[0] is not None and MASK in moved_back[0]["reason"]
    async with autocommit(bot.settings.env.database_url) as db:
        stored = (await db.execute(text("SELECT reason FROM status_updates WHERE reason IS NOT NULL"))).all()
    assert [tuple(row) for row in stored] == [(f"rollback failed: the deploy used {MASK} and password={MASK}",)]

    audited = json.dumps([(e.action, e.before, e.after) for e in trail])
    for secret in (STRIPE_KEY, PASSWORD, "4eC39HqLyjWDarjtT1zdp7dc"):
        assert secret.encode() not in await _db_bytes(bot), secret
        assert secret not in audited, secret
        assert secret not in _everything_slack_holds(sandbox), secret
        assert secret not in json.dumps([r.body for r in statuspage.requests]), secret


# 3. Customer markup stays inert in the channel topic, and outside systems get plain text --------------------

async def test_slack_markup_in_a_summary_is_escaped_in_the_topic_and_plain_for_pagerduty_and_statuspage(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, pagerduty: PagerDutyStandIn,
        statuspage: StatuspageStandIn) -> None:
    summary = "<!channel> <@U0CMDR0001> see <https://evil.example|click> checkout down"
    channel, _ = await _open_incident(slack, sandbox, ticket_values(**{**SEV1, "Summary": summary}))

    topic = await sandbox.wait_for(lambda: sandbox.channels[channel.id].topic or None)
    assert "&lt;!channel&gt; &lt;@U0CMDR0001&gt; see &lt;https://evil.example|click&gt; checkout down" in topic
    assert "<" not in topic and ">" not in topic

    await pagerduty.wait_for_events(1, timeout=10)
    trigger = pagerduty.accepted_events("trigger")[0]
    sent = trigger["payload"]["summary"]
    assert "@channel @U0CMDR0001 see click (https://evil.example) checkout down" in sent
    assert not re.search(r"<[@#!]|<https?:", sent)
    assert "<" not in json.dumps(trigger["payload"].get("custom_details", {}))

    await statuspage.wait_for(lambda p: len(p.incidents) == 1, timeout=10)
    public = json.dumps([r.body for r in statuspage.requests])
    for customer_words in ("evil.example", "U0CMDR0001", "<!channel>", "@channel"):
        assert customer_words not in public  # the public incident has its own title, never the summary


# 4. The built-in status page's headers, over HTTP ----------------------------------------------------------

async def test_the_built_in_status_page_sends_a_tight_content_security_policy(
        start_bot: Callable[..., Any]) -> None:
    bot: SupportBot = await start_bot()
    base = f"http://127.0.0.1:{bot.port}"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/status") as response:
            html, page_headers = await response.text(), response.headers
        async with http.get(f"{base}/status.json") as response:
            json_headers = response.headers
            assert (await response.json())["status"] == "operational"

    for headers in (page_headers, json_headers):
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer"
        policy = [d.strip() for d in headers["Content-Security-Policy"].split(";")]
        assert policy[0] == "default-src 'none'"
        assert {"base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'"} <= set(policy)
        assert not any("unsafe" in d or "*" in d or "script-src" in d for d in policy)
    assert json_headers["Content-Type"].startswith("application/json")

    # The page's one inline style sheet is allowed by its hash, and nothing else is.
    styles = re.findall(r"<style>(.*?)</style>", html, re.DOTALL)
    assert len(styles) == 1
    digest = base64.b64encode(hashlib.sha256(styles[0].encode()).digest()).decode()
    page_policy = [d.strip() for d in page_headers["Content-Security-Policy"].split(";")]
    assert f"style-src 'sha256-{digest}'" in page_policy
    assert "<script" not in html and "style=" not in html
    assert "Content-Security-Policy" in page_headers and "style-src" not in json_headers["Content-Security-Policy"]

"""Socket Mode (SLACK_APP_TOKEN): the same listeners, reached over a WebSocket instead of HTTP."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio

from bot.sandbox.slack import SlackSandbox
from bot.sandbox.socket_mode import SocketModeLink
from bot.sandbox.view_state import build_state
from bot.sandbox.workspace import AGENT, GENERAL, OUTSIDER, ticket_values

APP_TOKEN = "xapp-1-A0SANDBOX-1-sandbox"


@pytest_asyncio.fixture
async def link(sandbox: SlackSandbox) -> AsyncIterator[SocketModeLink]:
    async with SocketModeLink(sandbox, app_token=APP_TOKEN) as socket_link:
        yield socket_link


def _command(sandbox: SlackSandbox, user_id: str, text: str = "") -> dict[str, str]:
    return {"token": "verification", "team_id": "T0SANDBOX", "team_domain": "sandbox", "channel_id": GENERAL,
            "channel_name": "general", "user_id": user_id, "user_name": user_id, "command": "/ticket",
            "text": text, "api_app_id": sandbox.app_id, "response_url": "https://hooks.slack.local/x",
            "trigger_id": sandbox.issue_trigger_id(user_id)}


async def test_a_ticket_is_filed_over_socket_mode(start_bot: Any, sandbox: SlackSandbox,
                                                  link: SocketModeLink) -> None:
    bot = await start_bot(slack_app_token=APP_TOKEN)
    handler = await bot.connect_socket_mode()
    try:
        await link.wait_connected()
        ack = await link.send("slash_commands", _command(sandbox, AGENT.user_id, "Exports time out"))
        assert ack["envelope_id"] == link.envelopes[-1]["envelope_id"]
        view = await sandbox.wait_for(lambda: sandbox.latest_view_for(AGENT.user_id))
        assert view.view["callback_id"] == "ticket_submit"
        summary = next(b for b in view.view["blocks"] if b.get("block_id") == "summary")
        assert summary["element"]["initial_value"] == "Exports time out"

        body = view.to_api()
        submission = {"type": "view_submission", "team": {"id": "T0SANDBOX", "domain": "sandbox"},
                      "user": {"id": AGENT.user_id, "name": AGENT.name, "team_id": "T0SANDBOX"},
                      "api_app_id": sandbox.app_id, "trigger_id": sandbox.issue_trigger_id(AGENT.user_id),
                      "view": {**body, "state": {"values": build_state(
                          body["blocks"], ticket_values(**{"Requester email": "not-an-email"}), validate=False)}}}
        refused = await link.send("interactive", submission)
        assert refused["payload"]["response_action"] == "errors"  # inline errors travel back in the ack
        assert "requester_email" in refused["payload"]["errors"]

        submission["view"]["state"]["values"] = build_state(body["blocks"], ticket_values())
        accepted = await link.send("interactive", submission)
        assert not accepted.get("payload")
        card = await sandbox.wait_for(lambda: next(iter(sandbox.history("C0TRIAGE01")), None))
        assert "#1 Invoices page shows a blank screen" in json.dumps(card.blocks)
    finally:
        await handler.close_async()


async def test_socket_mode_still_checks_who_may_file(start_bot: Any, sandbox: SlackSandbox,
                                                     link: SocketModeLink) -> None:
    bot = await start_bot(slack_app_token=APP_TOKEN)
    handler = await bot.connect_socket_mode()
    try:
        await link.wait_connected()
        await link.send("slash_commands", _command(sandbox, OUTSIDER.user_id))
        view = await sandbox.wait_for(lambda: sandbox.latest_view_for(OUTSIDER.user_id))
        assert view.view["callback_id"] == "not_allowed"
    finally:
        await handler.close_async()


async def test_socket_mode_needs_no_signing_secret_and_http_requests_are_then_refused(
        start_bot: Any, sandbox: SlackSandbox, link: SocketModeLink) -> None:
    import aiohttp

    bot = await start_bot(slack_app_token=APP_TOKEN, slack_signing_secret=None)
    handler = await bot.connect_socket_mode()
    try:
        await link.wait_connected()
        await link.send("slash_commands", _command(sandbox, AGENT.user_id))
        await sandbox.wait_for(lambda: sandbox.latest_view_for(AGENT.user_id))
        async with aiohttp.ClientSession() as http, http.post(
                f"http://127.0.0.1:{bot.port}/slack/events", data="command=/ticket") as response:
            assert response.status == 401  # nothing over HTTP can be verified without a secret
    finally:
        await handler.close_async()

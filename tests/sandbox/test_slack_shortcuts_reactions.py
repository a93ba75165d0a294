"""The sandbox as strict as Slack about shortcuts, reactions and scopes: only the manifest's shortcuts exist, a
reaction is delivered only to an app subscribed to reaction_added with reactions:read, and every authenticated
answer says which scopes the token has (X-OAuth-Scopes)."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox import SlackSandbox
from bot.sandbox.driver import SlackDriver
from bot.sandbox.slack_install import load_manifest

TOKEN = "xoxb-sandbox-token"
ALICE = "U0ALICE001"
GENERAL = "C0GENERAL1"


@pytest_asyncio.fixture
async def sandbox() -> AsyncIterator[SlackSandbox]:
    slack = SlackSandbox(bot_token=TOKEN)
    await slack.start()
    slack.install_app(load_manifest())
    slack.add_user(ALICE, "alice")
    slack.channels[GENERAL].members.append(ALICE)
    yield slack
    await slack.stop()


def _driver(sandbox: SlackSandbox) -> SlackDriver:
    # Nothing is posted in these tests: a refused or undelivered interaction never leaves the sandbox.
    return SlackDriver(events_url="http://127.0.0.1:9/slack/events", signing_secret="s", sandbox=sandbox)


async def test_every_authenticated_answer_names_the_granted_scopes(client: AsyncWebClient,
                                                                   sandbox: SlackSandbox) -> None:
    answer = await client.auth_test()
    granted = set(answer.headers["X-OAuth-Scopes"].split(","))
    assert granted == set(load_manifest()["oauth_config"]["scopes"]["bot"])
    with pytest.raises(SlackApiError) as refused:
        await client.conversations_join(channel=GENERAL)  # channels:join is not in the manifest
    assert refused.value.response["error"] == "missing_scope"
    assert set(refused.value.response.headers["X-OAuth-Scopes"].split(",")) == granted
    assert refused.value.response.headers["X-Accepted-OAuth-Scopes"] == "channels:join"


async def test_a_refused_token_hears_no_scopes(sandbox: SlackSandbox) -> None:
    client = AsyncWebClient(token="xoxb-wrong", base_url=sandbox.api_url, retry_handlers=[])
    try:
        with pytest.raises(SlackApiError) as refused:
            await client.auth_test()
        assert "X-OAuth-Scopes" not in refused.value.response.headers
    finally:
        if client.session is not None:
            await client.session.close()


def test_a_message_shortcut_is_sent_as_slack_sends_it(sandbox: SlackSandbox) -> None:
    message = sandbox.record_message(GENERAL, "help", [], None, ALICE)
    payload = _driver(sandbox).payloads.message_action(user_id=ALICE, message=message,
                                                        callback_id="file_ticket_from_message")
    assert payload["type"] == "message_action" and payload["callback_id"] == "file_ticket_from_message"
    assert payload["trigger_id"] and payload["response_url"].startswith(sandbox.base_url)
    assert payload["message"]["ts"] == payload["message_ts"] == message.ts and payload["message"]["text"] == "help"
    assert payload["channel"] == {"id": GENERAL, "name": "general"} and payload["user"]["id"] == ALICE


def test_only_the_manifests_shortcuts_exist(sandbox: SlackSandbox) -> None:
    message = sandbox.record_message(GENERAL, "help", [], None, ALICE)
    with pytest.raises(ValueError, match="no shortcut"):
        _driver(sandbox).payloads.message_action(user_id=ALICE, message=message, callback_id="made_up")


def test_a_reaction_event_has_slacks_shape(sandbox: SlackSandbox) -> None:
    message = sandbox.record_message(GENERAL, "help", [], None, "U0CUSTOMER")
    event = _driver(sandbox).payloads.reaction_added_event(user_id=ALICE, message=message, reaction="ticket")
    assert event["type"] == "reaction_added" and event["reaction"] == "ticket" and event["user"] == ALICE
    assert event["item"] == {"type": "message", "channel": GENERAL, "ts": message.ts}
    assert event["item_user"] == "U0CUSTOMER" and float(event["event_ts"]) > float(message.ts)


@pytest.mark.parametrize("without", ["scope", "event", "membership"])
async def test_a_reaction_reaches_only_a_subscribed_app_with_the_scope_in_the_channel(
        sandbox: SlackSandbox, without: str) -> None:
    manifest = copy.deepcopy(load_manifest())
    if without == "scope":
        manifest["oauth_config"]["scopes"]["bot"].remove("reactions:read")
    elif without == "event":
        manifest["settings"]["event_subscriptions"]["bot_events"].remove("reaction_added")
    else:
        sandbox.channels[GENERAL].members.remove(sandbox.bot_user_id)
    sandbox.install_app(manifest)
    message = sandbox.record_message(GENERAL, "help", [], None, ALICE)
    driver = _driver(sandbox)
    try:
        assert await driver.reaction_added(ALICE, message, "ticket") is None
    finally:
        await driver.close()

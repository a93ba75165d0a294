"""`check-config --live` reads the granted scopes from Slack's X-OAuth-Scopes header and names each missing one."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator

import pytest_asyncio
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.slack import SlackSandbox
from bot.sandbox.slack_install import load_manifest
from bot.tickets.live_check import scope_problems
from tests.conftest import BOT_TOKEN


@pytest_asyncio.fixture
async def client(sandbox: SlackSandbox) -> AsyncIterator[AsyncWebClient]:
    web_client = AsyncWebClient(token=BOT_TOKEN, base_url=sandbox.api_url, retry_handlers=[])
    yield web_client
    if web_client.session is not None:
        await web_client.session.close()


def _manifest_without(*scopes: str) -> dict[str, object]:
    manifest = copy.deepcopy(load_manifest())
    manifest["oauth_config"]["scopes"]["bot"] = [s for s in manifest["oauth_config"]["scopes"]["bot"]
                                                 if s not in scopes]
    return manifest


async def test_the_app_installed_from_the_manifest_lacks_nothing(client: AsyncWebClient) -> None:
    assert await scope_problems(client) == []


async def test_a_missing_scope_is_named_with_what_stops_working(client: AsyncWebClient,
                                                                sandbox: SlackSandbox) -> None:
    sandbox.install_app(_manifest_without("reactions:read", "users:read.email"))
    problems = await scope_problems(client)
    assert len(problems) == 2
    assert problems[0].startswith("scope users:read.email is not granted: a Jira user")
    assert problems[1].startswith("scope reactions:read is not granted: a support agent's :ticket: reaction")


async def test_a_refused_token_is_one_line(sandbox: SlackSandbox) -> None:
    client = AsyncWebClient(token="xoxb-wrong", base_url=sandbox.api_url, retry_handlers=[])
    try:
        assert await scope_problems(client) == [
            "SLACK_BOT_TOKEN: Slack refused auth.test (invalid_auth): nothing would work"]
    finally:
        if client.session is not None:
            await client.session.close()

"""A Web API client pointed at each test module's own `sandbox` fixture, without retries (errors show as-is)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox import SlackSandbox

TOKEN = "xoxb-sandbox-token"


@pytest_asyncio.fixture
async def client(sandbox: SlackSandbox) -> AsyncIterator[AsyncWebClient]:
    web_client = AsyncWebClient(token=TOKEN, base_url=sandbox.api_url, retry_handlers=[])
    yield web_client
    if web_client.session is not None:
        await web_client.session.close()

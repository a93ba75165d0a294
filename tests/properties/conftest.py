"""A bot that verifies Jira webhooks, for the HTTP endpoint properties."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest_asyncio

from bot.app import SupportBot

JIRA_WEBHOOK_SECRET = "jira-webhook-secret"


@pytest_asyncio.fixture
async def jira_bot(start_bot: Callable[..., Any]) -> SupportBot:
    started: SupportBot = await start_bot(jira_webhook_secret=JIRA_WEBHOOK_SECRET)
    return started

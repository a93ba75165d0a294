"""Two in-process replicas on one database, each with its own HTTP port and a SlackDriver pointed at it, wired
to the scenario stand-ins (PagerDuty, Statuspage, Jira, the customer endpoint); and a way to deliver one
request to both at the same moment, as Slack or Jira retrying onto another replica would."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest_asyncio

from bot.app import SupportBot
from bot.sandbox.driver import DriverResponse, SlackDriver
from bot.sandbox.slack import SlackSandbox
from tests.conftest import SIGNING_SECRET
from tests.scenarios.conftest import customer_endpoint, jira, pagerduty, statuspage, vendor_env

__all__ = ["Replicas", "customer_endpoint", "jira", "pagerduty", "replicas", "statuspage", "vendor_env"]


@dataclass(frozen=True)
class Replicas:
    """Two bots sharing one database, and a driver for each."""

    bots: tuple[SupportBot, SupportBot]
    drivers: tuple[SlackDriver, SlackDriver]

    async def interaction_to_both(self, payload: Mapping[str, Any]) -> list[DriverResponse]:
        """The same interaction payload (a view submission, a button press) posted to both at once."""
        body = urlencode({"payload": json.dumps(payload, separators=(",", ":"))})
        return list(await asyncio.gather(*(d.post_raw(body, url=d.interactivity_url) for d in self.drivers)))

    async def event_to_both(self, event: Mapping[str, Any], *, event_id: str | None = None) -> list[DriverResponse]:
        """One Events API envelope, byte for byte, delivered to both at once (the second as Slack's retry)."""
        envelope = self.drivers[0].payloads.event_callback(event, event_id=event_id)
        body = json.dumps(envelope, separators=(",", ":"))
        retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
        return list(await asyncio.gather(*(d.post_raw(body, content_type="application/json",
                                                      headers=retry if n else None)
                                           for n, d in enumerate(self.drivers))))

    async def settle(self) -> None:
        """Waits for the work each replica took on in the background."""
        for bot in self.bots:
            await bot.background.settle(timeout=10)


async def post_to_both(bots: tuple[SupportBot, SupportBot], path: str, body: bytes,
                       headers: Mapping[str, str]) -> list[int]:
    """The same HTTP request (a Jira webhook) posted to both replicas at once; their statuses."""
    async with aiohttp.ClientSession() as session:
        async def post(bot: SupportBot) -> int:
            async with session.post(f"http://127.0.0.1:{bot.port}{path}", data=body, headers=dict(headers)) as r:
                return r.status
        return list(await asyncio.gather(*(post(bot) for bot in bots)))


@pytest_asyncio.fixture
async def replicas(start_bot: Callable[..., Any], vendor_env: dict[str, Any],
                   sandbox: SlackSandbox) -> AsyncIterator[Replicas]:
    """Stopped here, while the stand-ins still run, so the work each acknowledged finishes against them."""
    bots: tuple[SupportBot, SupportBot] = (await start_bot(**vendor_env), await start_bot(**vendor_env))
    drivers = tuple(SlackDriver(events_url=f"http://127.0.0.1:{bot.port}/slack/events",
                                signing_secret=SIGNING_SECRET, sandbox=sandbox) for bot in bots)
    yield Replicas(bots=bots, drivers=drivers)  # type: ignore[arg-type]
    for driver in drivers:
        await driver.close()
    for bot in bots:
        await bot.stop()

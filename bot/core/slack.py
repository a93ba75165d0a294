"""The Slack Web API client, and who is in which Slack user group (cached briefly, so a burst of clicks
costs one API call)."""

from __future__ import annotations

import asyncio
import time

import aiohttp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient


def slack_client(*, token: str | None, base_url: str, session: aiohttp.ClientSession | None = None) -> AsyncWebClient:
    """The one Web API client; Slack's `ratelimited` is waited out (Retry-After) rather than shown to anyone."""
    # One HTTP session for every Web API call: without it slack_sdk opens and closes a connection per call.
    return AsyncWebClient(
        token=token, base_url=base_url, session=session,
        retry_handlers=[AsyncConnectionErrorRetryHandler(max_retry_count=2),
                        AsyncRateLimitErrorRetryHandler(max_retry_count=5)],
    )


class Directory:
    """Answers "is this person in that user group?" from `usergroups.users.list`, cached for `ttl_seconds`."""

    def __init__(self, client: AsyncWebClient, *, ttl_seconds: float = 60.0) -> None:
        self._client = client
        self._ttl = ttl_seconds
        self._members: dict[str, tuple[float, frozenset[str]]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def members(self, group_id: str) -> frozenset[str]:
        """The group's members, from the cache when it is fresh; one request per group at a time."""
        cached = self._members.get(group_id)
        if cached and time.monotonic() - cached[0] < self._ttl:
            return cached[1]
        lock = self._locks.setdefault(group_id, asyncio.Lock())
        async with lock:  # one request per group however many listeners ask at once
            cached = self._members.get(group_id)
            if cached and time.monotonic() - cached[0] < self._ttl:
                return cached[1]
            response = await self._client.usergroups_users_list(usergroup=group_id)
            members = frozenset(response.get("users") or [])
            self._members[group_id] = (time.monotonic(), members)
            return members

    async def is_member(self, user_id: str, group_id: str) -> bool:
        """True when the user is in the group."""
        return user_id in await self.members(group_id)

"""Who is in which Slack user group, cached briefly so a burst of clicks costs one API call."""

from __future__ import annotations

import asyncio
import time

from slack_sdk.web.async_client import AsyncWebClient


class Directory:
    def __init__(self, client: AsyncWebClient, *, ttl_seconds: float = 60.0) -> None:
        self._client = client
        self._ttl = ttl_seconds
        self._members: dict[str, tuple[float, frozenset[str]]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def members(self, group_id: str) -> frozenset[str]:
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
        return user_id in await self.members(group_id)

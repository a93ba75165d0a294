"""Finding again what the bot made in Slack when the attempt that made it stopped before recording it: our
messages by the metadata we stamped on them, our channels by name and by who created them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient


@dataclass(frozen=True)
class Mark:
    """What a message says about itself in Slack's message metadata, so it can be found again."""

    event_type: str
    payload: Mapping[str, str | int] = field(default_factory=dict)

    def metadata(self) -> dict[str, Any]:
        """The `metadata` argument of chat.postMessage."""
        return {"event_type": self.event_type, "event_payload": dict(self.payload)}

    def on(self, message: Mapping[str, Any]) -> bool:
        """True when the message carries this mark."""
        metadata = message.get("metadata")
        if not isinstance(metadata, Mapping) or metadata.get("event_type") != self.event_type:
            return False
        found = metadata.get("event_payload")
        found = found if isinstance(found, Mapping) else {}
        return all(str(found.get(name)) == str(value) for name, value in self.payload.items())


class SlackLookup:
    """Looks through a channel's history (or a thread) and the workspace's channels, a bounded number of pages."""

    def __init__(self, slack: AsyncWebClient, *, pages: int = 10, page_size: int = 200) -> None:
        self._slack = slack
        self._pages = pages
        self._page_size = page_size
        self._bot_user_id: str | None = None

    async def bot_user_id(self) -> str:
        """The bot's own user ID (auth.test, once)."""
        if self._bot_user_id is None:
            self._bot_user_id = str((await self._slack.auth_test())["user_id"])
        return self._bot_user_id

    async def message(self, channel: str, mark: Mark, *, thread_ts: str | None = None) -> str | None:
        """The ts of the bot's message carrying `mark` in the channel (or in the thread of `thread_ts`), newest
        pages first; None when it is not there."""
        me = await self.bot_user_id()
        cursor: str | None = None
        for _ in range(self._pages):
            if thread_ts is None:
                page = await self._slack.conversations_history(channel=channel, limit=self._page_size, cursor=cursor,
                                                               include_all_metadata=True)
            else:
                page = await self._slack.conversations_replies(channel=channel, ts=thread_ts, limit=self._page_size,
                                                               cursor=cursor, include_all_metadata=True)
            for message in page.get("messages") or []:
                if mark.on(message) and message.get("user") in (me, None):
                    return str(message["ts"])
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if cursor is None:
                return None
        return None

    async def own_channel(self, name: str) -> dict[str, Any] | None:
        """The public, unarchived channel of this name if the bot created it; None otherwise."""
        me = await self.bot_user_id()
        cursor: str | None = None
        for _ in range(self._pages * 5):
            page = await self._slack.conversations_list(types="public_channel", exclude_archived=True,
                                                        limit=self._page_size, cursor=cursor)
            for channel in page.get("channels") or []:
                if channel.get("name") == name:
                    return dict(channel) if channel.get("creator") == me else None
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if cursor is None:
                return None
        return None

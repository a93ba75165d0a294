"""Reading channels back: conversations.history, conversations.replies and conversations.list, as Slack serves them.

What Slack does and the emulator keeps: history is newest first and holds top-level messages only (replies live in
conversations.replies, the parent first, then oldest first); message metadata comes back only with
`include_all_metadata`; the bot must be in the channel to read it (`not_in_channel`); `limit` is at most 999 for
history and replies and 1000 for list; pages continue through `response_metadata.next_cursor`; list shows public
channels to everyone and private ones to members only, by `types` (default public_channel); `exclude_archived` is
accepted (the sandbox archives nothing).
"""

from __future__ import annotations

import base64
from typing import Any

from bot.sandbox.slack_lookups import SlackLookups
from bot.sandbox.slack_models import Channel, Message
from bot.sandbox.slack_params import truthy
from bot.sandbox.slack_state import ApiFailure

MAX_HISTORY_LIMIT = 999
MAX_LIST_LIMIT = 1000
_TYPES = frozenset({"public_channel", "private_channel", "mpim", "im"})


def _limit(params: dict[str, Any], cap: int, default: int = 100) -> int:
    raw = params.get("limit")
    limit = int(raw) if raw not in (None, "") else default
    if limit < 1:
        raise ApiFailure("invalid_limit")
    return min(limit, cap)


def _offset(params: dict[str, Any]) -> int:
    cursor = str(params.get("cursor") or "")
    if not cursor:
        return 0
    try:
        return int(base64.b64decode(cursor).decode().removeprefix("next:"))
    except ValueError:
        raise ApiFailure("invalid_cursor") from None


def _page(items: list[Any], params: dict[str, Any], cap: int) -> tuple[list[Any], dict[str, Any]]:
    offset, limit = _offset(params), _limit(params, cap)
    more = offset + limit < len(items)
    cursor = base64.b64encode(f"next:{offset + limit}".encode()).decode() if more else ""
    return items[offset:offset + limit], {"has_more": more, "response_metadata": {"next_cursor": cursor}}


class HistoryMethods(SlackLookups):
    def _readable_channel(self, params: dict[str, Any]) -> Channel:
        channel = self.resolve_channel(params.get("channel"))
        if self.bot_user_id not in channel.members:
            raise ApiFailure("channel_not_found" if channel.is_private else "not_in_channel")
        return channel

    def _as_read(self, message: Message, params: dict[str, Any]) -> dict[str, Any]:
        body = message.to_api(self.team_id, self.bot_id if message.user == self.bot_user_id else None)
        if not truthy(params.get("include_all_metadata")):
            body.pop("metadata", None)
        replies = [m for m in self.messages if m.channel == message.channel and m.thread_ts == message.ts
                   and m.ts != message.ts]
        if replies:
            body.update(thread_ts=message.ts, reply_count=len(replies), latest_reply=replies[-1].ts)
        return body

    def conversations_history(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._readable_channel(params)
        oldest, latest = float(params.get("oldest") or 0), float(params.get("latest") or "inf")
        inclusive = truthy(params.get("inclusive"))
        wanted = [m for m in reversed(self.history(channel.id))
                  if (oldest <= float(m.ts) <= latest if inclusive else oldest < float(m.ts) < latest)]
        page, more = _page(wanted, params, MAX_HISTORY_LIMIT)
        return {"messages": [self._as_read(m, params) for m in page], **more}

    def conversations_replies(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._readable_channel(params)
        if not params.get("ts"):
            raise ApiFailure("invalid_arguments", messages=["[ERROR] missing required field: ts"])
        parent = self.find_message(channel.id, str(params["ts"]))
        if parent is None:
            raise ApiFailure("thread_not_found")
        root = self.find_message(channel.id, parent.thread_ts) if parent.thread_ts else parent
        root = root or parent
        thread = [root, *self.history(channel.id, thread_ts=root.ts)]
        page, more = _page(thread, params, MAX_HISTORY_LIMIT)
        return {"messages": [self._as_read(m, params) for m in page], **more}

    def conversations_list(self, params: dict[str, Any]) -> dict[str, Any]:
        types = {t.strip() for t in str(params.get("types") or "public_channel").split(",") if t.strip()}
        if not types <= _TYPES:
            raise ApiFailure("invalid_types")
        visible = [c for c in self.channels.values() if self._listed(c, types)]
        page, more = _page(visible, params, MAX_LIST_LIMIT)
        more.pop("has_more")
        return {"channels": [c.to_api(self.bot_user_id) for c in page], **more}

    def _listed(self, channel: Channel, types: set[str]) -> bool:
        if channel.is_im:
            return "im" in types and self.bot_user_id in channel.members
        if channel.is_private:
            return "private_channel" in types and self.bot_user_id in channel.members
        return "public_channel" in types

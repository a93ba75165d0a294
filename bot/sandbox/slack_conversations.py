"""The conversations.* Web API methods: creating, joining, inviting to and reading channels."""

from __future__ import annotations

import base64
import re
from typing import Any

from bot.sandbox.slack_lookups import SlackLookups
from bot.sandbox.slack_models import Channel, slack_id
from bot.sandbox.slack_params import id_list, truthy
from bot.sandbox.slack_state import ApiFailure

_CHANNEL_NAME = re.compile(r"[a-z0-9_-]+")


class ConversationMethods(SlackLookups):
    def _visible_channel(self, params: dict[str, Any]) -> Channel:
        channel = self.resolve_channel(params.get("channel"))
        if channel.is_private and self.bot_user_id not in channel.members:
            raise ApiFailure("channel_not_found")  # private channels are invisible to non-members
        return channel

    def conversations_create(self, params: dict[str, Any]) -> dict[str, Any]:
        name = str(params.get("name") or "")
        if not name:
            raise ApiFailure("invalid_name_required")
        if len(name) > 80:
            raise ApiFailure("invalid_name_maxlength")
        if not _CHANNEL_NAME.fullmatch(name):
            raise ApiFailure("invalid_name_specials")
        if not name.strip("-_"):
            raise ApiFailure("invalid_name_punctuation")
        if self.channel_by_name(name) is not None:
            raise ApiFailure("name_taken")
        channel_id = slack_id("C")
        self.channels[channel_id] = Channel(
            channel_id,
            name,
            is_private=truthy(params.get("is_private")),
            members=[self.bot_user_id],
            created_by=self.bot_user_id,
        )
        return {"channel": self.channels[channel_id].to_api(self.bot_user_id)}

    def conversations_set_topic(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._visible_channel(params)
        if self.bot_user_id not in channel.members:
            raise ApiFailure("not_in_channel")
        topic = str(params.get("topic") or "")
        if len(topic) > 250:
            raise ApiFailure("too_long")
        channel.topic = topic
        return {"channel": channel.to_api(self.bot_user_id)}

    def conversations_invite(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._visible_channel(params)
        if self.bot_user_id not in channel.members:
            raise ApiFailure("not_in_channel")
        users = id_list(params.get("users"))
        if not users:
            raise ApiFailure("no_user")
        if self.bot_user_id in users:
            raise ApiFailure("cant_invite_self")
        if any(u not in self.users for u in users):
            raise ApiFailure("user_not_found")
        new = [u for u in users if u not in channel.members]
        if not new:
            raise ApiFailure("already_in_channel")
        channel.members.extend(dict.fromkeys(new))
        return {"channel": channel.to_api(self.bot_user_id)}

    def conversations_info(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"channel": self._visible_channel(params).to_api(self.bot_user_id)}

    def conversations_join(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._visible_channel(params)
        if channel.is_private or channel.is_im:
            raise ApiFailure("method_not_supported_for_channel_type")
        body: dict[str, Any] = {}
        if self.bot_user_id in channel.members:
            body["warning"] = "already_in_channel"
        else:
            channel.members.append(self.bot_user_id)
        body["channel"] = channel.to_api(self.bot_user_id)
        return body

    def conversations_members(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._visible_channel(params)
        limit = int(params.get("limit") or 100)
        cursor = str(params.get("cursor") or "")
        try:
            offset = int(base64.b64decode(cursor).decode().removeprefix("offset:")) if cursor else 0
        except ValueError:
            raise ApiFailure("invalid_cursor") from None
        page = channel.members[offset : offset + limit]
        more = offset + limit < len(channel.members)
        next_cursor = base64.b64encode(f"offset:{offset + limit}".encode()).decode() if more else ""
        return {"members": page, "response_metadata": {"next_cursor": next_cursor}}

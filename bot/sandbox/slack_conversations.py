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
MAX_INVITE = 1000


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
        """Up to 1,000 users at once; one failing user fails the batch (nobody is invited) unless `force`.

        Errors per user come back as `errors: [{"user", "ok": false, "error"}]` beside the first one's `error`
        (slack-api-specs conversations.invite error schema; docs.slack.dev/reference/methods/conversations.invite).
        """
        channel = self._visible_channel(params)
        if self.bot_user_id not in channel.members:
            raise ApiFailure("not_in_channel")
        users = list(dict.fromkeys(id_list(params.get("users"))))
        if not users:
            raise ApiFailure("no_user")
        if len(users) > MAX_INVITE:
            raise ApiFailure("too_many_users")
        failures: list[dict[str, Any]] = [
            {"user": user, "ok": False, "error": error}
            for user in users
            if (error := self._invite_error(channel, user)) is not None
        ]
        failed = {f["user"] for f in failures}
        invitable = [u for u in users if u not in failed]
        # With force, the valid ones are invited and the rest disregarded, as long as anyone is left to invite.
        if failures and not (truthy(params.get("force")) and invitable):
            raise ApiFailure(str(failures[0]["error"]), extra={"errors": failures})
        channel.members.extend(invitable)
        return {"channel": channel.to_api(self.bot_user_id)}

    def _invite_error(self, channel: Channel, user: str) -> str | None:
        if user == self.bot_user_id:
            return "cant_invite_self"
        if user not in self.users:
            return "user_not_found"
        if user in channel.members:
            return "already_in_channel"
        return None

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

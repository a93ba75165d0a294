"""The chat.* Web API methods: posting, updating, ephemerals and permalinks."""

from __future__ import annotations

from typing import Any

from bot.sandbox.slack_limits import MAX_MESSAGE_BLOCKS, check_blocks, with_generated_ids
from bot.sandbox.slack_lookups import SlackLookups
from bot.sandbox.slack_models import Channel
from bot.sandbox.slack_params import json_param
from bot.sandbox.slack_state import ApiFailure

MAX_TEXT = 40_000


class ChatMethods(SlackLookups):
    def _content(
        self, params: dict[str, Any], *, previous: tuple[str, list[dict[str, Any]]] | None = None
    ) -> tuple[str, list[dict[str, Any]]]:
        text = params.get("text")
        blocks = json_param(params, "blocks", "invalid_blocks_format")
        attachments = json_param(params, "attachments", "invalid_attachments")
        if previous is not None:
            # chat.update keeps whatever the caller leaves out.
            text = previous[0] if text is None else text
            blocks = previous[1] if blocks is None else blocks
        text = "" if text is None else str(text)
        if not text and not blocks and not attachments:
            raise ApiFailure("no_text")
        if len(text) > MAX_TEXT:
            raise ApiFailure("msg_too_long")
        if blocks is None:
            return text, []
        errors = check_blocks(blocks, "/blocks", max_blocks=MAX_MESSAGE_BLOCKS)
        if errors:
            # Slack sends the list twice: bare under "errors", "[ERROR]"-tagged under response_metadata.
            bare = [e.removeprefix("[ERROR] ") for e in errors]
            raise ApiFailure("invalid_blocks", messages=errors, extra={"errors": bare})
        return text, with_generated_ids(blocks)

    def _member_channel(self, params: dict[str, Any]) -> Channel:
        channel = self.resolve_channel(params.get("channel"), allow_dm=True)
        if channel.is_archived:
            raise ApiFailure("is_archived")  # chat.postMessage: "Channel has been archived."
        if self.bot_user_id not in channel.members:
            raise ApiFailure("not_in_channel")
        return channel

    def chat_post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._member_channel(params)
        text, blocks = self._content(params)
        thread_ts = params.get("thread_ts") or None
        message = self.record_message(channel.id, text, blocks, thread_ts, self.bot_user_id)
        metadata = json_param(params, "metadata", "invalid_metadata_format")
        if isinstance(metadata, dict):
            message.metadata = metadata
        return {"channel": channel.id, "ts": message.ts, "message": message.to_api(self.team_id, self.bot_id)}

    def chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self.resolve_channel(params.get("channel"))
        message = self.find_message(channel.id, params.get("ts"))
        if message is None:
            raise ApiFailure("message_not_found")
        if message.user != self.bot_user_id:
            raise ApiFailure("cant_update_message")
        text, blocks = self._content(params, previous=(message.text, message.blocks))
        self.edit_message(message, text, blocks)
        return {
            "channel": channel.id,
            "ts": message.ts,
            "text": text,
            "message": message.to_api(self.team_id, self.bot_id),
        }

    def chat_post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._member_channel(params)
        user = params.get("user")
        # Slack has no user_not_found here (its error table lacks it): someone unknown is simply not a member.
        if user not in self.users or user not in channel.members:
            raise ApiFailure("user_not_in_channel")
        text, blocks = self._content(params)
        ephemeral = self.record_ephemeral(
            channel.id, str(user), text, blocks, params.get("thread_ts") or None, self.bot_user_id
        )
        return {"message_ts": ephemeral.ts}

    def chat_get_permalink(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self.resolve_channel(params.get("channel"))
        message = self.find_message(channel.id, params.get("message_ts"))
        if message is None:
            raise ApiFailure("message_not_found")
        link = f"https://sandbox.slack.local/archives/{channel.id}/p{message.ts.replace('.', '')}"
        if message.thread_ts and message.thread_ts != message.ts:
            link += f"?thread_ts={message.thread_ts}&cid={channel.id}"
        return {"channel": channel.id, "permalink": link}

"""response_url hooks: issuing the keys and doing what Slack does with what the bot posts to them."""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from typing import Any

from bot.sandbox.slack_limits import MAX_MESSAGE_BLOCKS, check_blocks, with_generated_ids
from bot.sandbox.slack_lookups import SlackLookups
from bot.sandbox.slack_models import Call, LogEntry, ResponseTarget


class ResponseUrls(SlackLookups):
    def response_url_key(
        self, channel: str, user: str, *, message_ts: str | None = None, is_ephemeral: bool = False
    ) -> str:
        key = secrets.token_urlsafe(12)
        self._response_targets[key] = ResponseTarget(channel, user, message_ts, is_ephemeral)
        return key

    def deliver_response(self, key: str, payload: Mapping[str, Any]) -> tuple[int, str]:
        """What Slack does with a response_url post (or a non-empty slash-command ack); (status, body)."""
        target = self._response_targets.get(key)
        if target is None:
            return 404, "no_service"
        target.uses += 1
        if target.uses > 5:  # Slack honours a response_url at most five times
            return 404, "used_url"
        self.calls.append(Call("response_url", dict(payload), time.time(), True, None))
        if payload.get("delete_original"):
            return self._delete_original(target)
        text = payload.get("text") or ""
        blocks = payload.get("blocks") or []
        if not isinstance(text, str) or not isinstance(blocks, list) or (not text and not blocks):
            return 400, "no_text"
        if check_blocks(blocks, "/blocks", max_blocks=MAX_MESSAGE_BLOCKS):
            return 400, "invalid_blocks"
        blocks = with_generated_ids(blocks)
        thread_ts = payload.get("thread_ts")
        if payload.get("replace_original") and target.message_ts:
            self._replace_original(target, text, blocks)
        elif payload.get("response_type") == "in_channel":
            self.record_message(target.channel, text, blocks, thread_ts, self.bot_user_id)
        else:
            self.record_ephemeral(target.channel, target.user, text, blocks, thread_ts, self.bot_user_id)
        return 200, "ok"

    def _delete_original(self, target: ResponseTarget) -> tuple[int, str]:
        if target.is_ephemeral:
            self.ephemerals = [e for e in self.ephemerals if e.ts != target.message_ts]
        else:
            message = self.find_message(target.channel, target.message_ts)
            if message is None:
                return 404, "message_not_found"
            self.messages.remove(message)
            self.log.append(
                LogEntry(
                    "delete", message.channel, message.user, message.text, message.blocks, message.thread_ts
                )
            )
        return 200, "ok"

    def _replace_original(self, target: ResponseTarget, text: str, blocks: list[dict[str, Any]]) -> None:
        if target.is_ephemeral:
            for ephemeral in self.ephemerals:
                if ephemeral.ts == target.message_ts:
                    ephemeral.text, ephemeral.blocks = text, blocks
                    self.log.append(
                        LogEntry(
                            "ephemeral",
                            ephemeral.channel,
                            ephemeral.sender,
                            text,
                            blocks,
                            ephemeral.thread_ts,
                            note=ephemeral.user,
                        )
                    )
            return
        message = self.find_message(target.channel, target.message_ts)
        if message is not None:
            self.edit_message(message, text, blocks)

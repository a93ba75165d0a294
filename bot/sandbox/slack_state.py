"""The workspace the Slack sandbox emulates: directory, channels, messages, views, triggers, response URLs."""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.slack_limits import MAX_MESSAGE_BLOCKS, check_blocks, with_generated_ids
from bot.sandbox.slack_models import Call, Channel, Ephemeral, Message, TsClock, User, View, slack_id


class ApiFailure(Exception):
    """Raised inside a method handler; becomes Slack's {"ok": false, "error": ...} reply."""

    def __init__(
        self,
        error: str,
        *,
        messages: list[str] | None = None,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(error)
        self.error = error
        self.messages = messages or []
        self.status = status
        self.headers = dict(headers or {})


@dataclass
class Trigger:
    issued_at: float
    user: str | None
    view_id: str | None
    used: bool = False


@dataclass
class ResponseTarget:
    channel: str
    user: str
    message_ts: str | None
    is_ephemeral: bool
    uses: int = 0


@dataclass
class LogEntry:
    """A snapshot for the transcript; Message objects mutate on edit, the transcript must not."""

    kind: str
    channel: str
    user: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None
    note: str = ""
    at: float = field(default_factory=time.time)


class SlackState:
    def __init__(
        self,
        *,
        bot_token: str = "xoxb-sandbox-token",
        team_id: str = "T0SANDBOX",
        trigger_ttl: float = 3.0,
        bot_user_id: str = "U0SUPPORTBOT",
    ) -> None:
        self.bot_token = bot_token
        self.app_tokens: set[str] = set()  # app-level tokens (xapp-…), good for apps.connections.open only
        self.team_id = team_id
        self.trigger_ttl = trigger_ttl
        self.bot_user_id = bot_user_id
        self.bot_id = "B0SUPPORTBOT"
        self.app_id = "A0SANDBOX"
        self.users: dict[str, User] = {}
        self.usergroups: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, Channel] = {}
        self.messages: list[Message] = []
        self.ephemerals: list[Ephemeral] = []
        self.views: dict[str, View] = {}
        self.home_views: dict[str, dict[str, Any]] = {}
        self.calls: list[Call] = []
        self.log: list[LogEntry] = []
        self._ts = TsClock()
        self._triggers: dict[str, Trigger] = {}
        self._response_targets: dict[str, ResponseTarget] = {}
        self._view_order: list[str] = []
        self.users[bot_user_id] = User(bot_user_id, "supportbot", "Support Bot", None, "UTC", is_bot=True)
        # Slash commands default to #general, so it exists (with the bot invited) unless a test replaces it.
        self.add_channel("C0GENERAL1", "general")

    # -- directory ---------------------------------------------------------------------------------------
    def add_user(
        self,
        user_id: str,
        name: str,
        *,
        real_name: str | None = None,
        email: str | None = None,
        tz: str = "America/New_York",
    ) -> None:
        self.users[user_id] = User(user_id, name, real_name or name, email, tz)

    def add_usergroup(self, group_id: str, handle: str, users: list[str]) -> None:
        self.usergroups[group_id] = {"id": group_id, "handle": handle, "users": list(users)}

    def add_channel(
        self,
        channel_id: str,
        name: str,
        *,
        members: list[str] | None = None,
        is_private: bool = False,
        bot_member: bool = True,
    ) -> None:
        member_list = list(members or [])
        if bot_member and self.bot_user_id not in member_list:
            member_list.append(self.bot_user_id)
        self.channels[channel_id] = Channel(channel_id, name, is_private=is_private, members=member_list)

    # -- triggers and response URLs ------------------------------------------------------------------------
    def issue_trigger_id(self, user_id: str | None = None, *, view_id: str | None = None) -> str:
        trigger_id = f"{secrets.randbelow(10**10)}.{secrets.randbelow(10**10)}.{secrets.token_hex(16)}"
        self._triggers[trigger_id] = Trigger(time.monotonic(), user_id, view_id)
        return trigger_id

    def check_trigger(self, trigger_id: Any) -> Trigger:
        """A usable trigger; the caller sets .used once the call succeeds (a rejected view can be retried)."""
        trigger = self._triggers.get(trigger_id) if isinstance(trigger_id, str) else None
        if trigger is None:
            raise ApiFailure("invalid_trigger_id")
        if trigger.used or time.monotonic() - trigger.issued_at > self.trigger_ttl:
            raise ApiFailure("expired_trigger_id")
        return trigger

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

    # -- recording -----------------------------------------------------------------------------------------
    def record_message(
        self, channel: str, text: str, blocks: list[dict[str, Any]], thread_ts: str | None, user: str
    ) -> Message:
        message = Message(channel, self._ts.next(), text, blocks, thread_ts, user)
        self.messages.append(message)
        kind = "reply" if thread_ts and thread_ts != message.ts else "message"
        self.log.append(LogEntry(kind, channel, user, text, blocks, thread_ts))
        return message

    def record_ephemeral(
        self,
        channel: str,
        user: str,
        text: str,
        blocks: list[dict[str, Any]],
        thread_ts: str | None,
        sender: str,
    ) -> Ephemeral:
        ephemeral = Ephemeral(channel, user, text, blocks, thread_ts, ts=self._ts.next(), sender=sender)
        self.ephemerals.append(ephemeral)
        self.log.append(LogEntry("ephemeral", channel, sender, text, blocks, thread_ts, note=user))
        return ephemeral

    def edit_message(self, message: Message, text: str, blocks: list[dict[str, Any]]) -> None:
        message.edits.append({"text": message.text, "blocks": message.blocks, "edited_ts": self._ts.next()})
        message.text, message.blocks = text, blocks
        kind = "reply" if message.thread_ts and message.thread_ts != message.ts else "message"
        self.log.append(
            LogEntry(kind, message.channel, message.user, text, blocks, message.thread_ts, note="edited")
        )

    def touch_view(self, view: View, note: str) -> None:
        self.views[view.id] = view
        self._view_order.append(view.id)
        title = (view.view.get("title") or {}).get("text", "")
        self.log.append(LogEntry("modal", "", view.user, title, view.view.get("blocks") or [], note=note))

    def close_view(self, view: View) -> None:
        view.closed = True
        title = (view.view.get("title") or {}).get("text", "")
        self.log.append(LogEntry("modal", "", view.user, title, [], note="closed"))

    # -- queries -------------------------------------------------------------------------------------------
    def history(self, channel: str, *, thread_ts: str | None = None) -> list[Message]:
        in_channel = [m for m in self.messages if m.channel == channel]
        if thread_ts is None:
            return [m for m in in_channel if m.thread_ts is None or m.thread_ts == m.ts]
        return [m for m in in_channel if m.thread_ts == thread_ts and m.ts != thread_ts]

    def channel_by_name(self, name: str) -> Channel | None:
        wanted = name.removeprefix("#")
        return next((c for c in self.channels.values() if c.name == wanted and not c.is_im), None)

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def latest_view_for(self, user_id: str) -> View | None:
        for view_id in reversed(self._view_order):
            view = self.views[view_id]
            if view.user == user_id:
                return view
        return None

    def find_message(self, channel: str, ts: str | None) -> Message | None:
        return next((m for m in self.messages if m.channel == channel and m.ts == ts), None)

    def open_view_stack(self, root_view_id: str) -> list[View]:
        return [v for v in self.views.values() if v.root_view_id == root_view_id and not v.closed]

    def resolve_channel(self, ref: Any, *, allow_dm: bool = False) -> Channel:
        if not isinstance(ref, str) or not ref:
            raise ApiFailure("channel_not_found")
        if ref in self.channels:
            return self.channels[ref]
        by_name = self.channel_by_name(ref)
        if by_name is not None:
            return by_name
        if allow_dm and ref in self.users:
            # chat.postMessage to a user id opens (or reuses) the bot's DM with that user, as Slack does.
            existing = next((c for c in self.channels.values() if c.is_im and ref in c.members), None)
            if existing is not None:
                return existing
            dm = Channel(slack_id("D"), ref, is_private=True, members=[self.bot_user_id, ref], is_im=True)
            self.channels[dm.id] = dm
            return dm
        raise ApiFailure("channel_not_found")

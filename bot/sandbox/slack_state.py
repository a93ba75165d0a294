"""The workspace the Slack sandbox emulates: what it holds (directory, channels, messages, views, triggers) and
how recording changes it. Lookups (slack_lookups.py) and Web API families (slack_api.py) build on it."""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from typing import Any

from bot.sandbox.slack_models import (
    Call,
    Channel,
    Ephemeral,
    LogEntry,
    Message,
    ResponseTarget,
    Trigger,
    TsClock,
    User,
    View,
)


class ApiFailure(Exception):
    """Raised inside a method handler; becomes Slack's {"ok": false, "error": ...} reply.

    `extra` holds the fields some errors carry beside `error`: `needed`/`provided` on missing_scope, the
    per-user `errors` of conversations.invite, the bare `errors` list of invalid_blocks.
    """

    def __init__(
        self,
        error: str,
        *,
        messages: list[str] | None = None,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(error)
        self.error = error
        self.messages = messages or []
        self.status = status
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})


class SlackState:
    def __init__(
        self,
        *,
        bot_token: str = "xoxb-sandbox-token",
        team_id: str = "T0SANDBOX",
        trigger_ttl: float = 3.0,
        bot_user_id: str = "U0SUPPORTBOT",
    ) -> None:
        # Every attribute the sandbox keeps is set here, so one place shows all the state the mixins share.
        self.bot_token = bot_token
        self.app_tokens: set[str] = set()  # app-level tokens (xapp-…), good for apps.connections.open only
        self.team_id = team_id
        self.trigger_ttl = trigger_ttl
        self.bot_user_id = bot_user_id
        self.bot_id = "B0SUPPORTBOT"
        self.app_id = "A0SANDBOX"
        # None until an app manifest is installed (slack_install.py): then only its bot scopes are granted,
        # only its slash commands exist, and tokens in a query string are refused as for any app made since 2021.
        self.granted_scopes: frozenset[str] | None = None
        self.commands: dict[str, dict[str, Any]] = {}
        # Shortcuts by callback_id, and the bot events Slack delivers (None: every event, as before an install).
        self.shortcuts: dict[str, dict[str, Any]] = {}
        self.bot_events: frozenset[str] | None = None
        self.query_string_tokens = True
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

    # -- triggers ------------------------------------------------------------------------------------------
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

    # -- recording -----------------------------------------------------------------------------------------
    def next_ts(self) -> str:
        """A fresh Slack timestamp, later than every one handed out so far (an event_ts, say)."""
        return self._ts.next()

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

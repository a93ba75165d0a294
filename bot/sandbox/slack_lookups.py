"""Read-side helpers over the sandbox's state, shared by the Web API methods, response URLs and tests."""

from __future__ import annotations

from typing import Any

from bot.sandbox.slack_models import Call, Channel, Message, View, slack_id
from bot.sandbox.slack_state import ApiFailure, SlackState


class SlackLookups(SlackState):
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

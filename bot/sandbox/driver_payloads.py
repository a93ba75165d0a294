"""The bodies Slack sends the bot when a person acts, built from what the sandbox shows that person.

Building one issues trigger_ids and response_urls in the sandbox, as Slack does; posting is driver.py's job.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from bot.sandbox.slack import SlackSandbox
from bot.sandbox.slack_models import Ephemeral, Message, View, slack_id
from bot.sandbox.view_state import build_state, find_action, find_input, state_for

VERIFICATION_TOKEN = "sandbox-verification-token"


def clicked_action(blocks: list[dict[str, Any]], action_id: str, value: Any | None) -> dict[str, Any]:
    """The `actions` entry Slack reports for a click on (or a choice in) the element `action_id`."""
    found = find_action(blocks, action_id)
    if found is None:
        ids = [
            e.get("action_id")
            for b in blocks
            for e in [b.get("accessory"), *(b.get("elements") or [])]
            if isinstance(e, dict) and e.get("action_id")
        ]
        raise KeyError(f"no element with action_id {action_id!r}; action_ids present: {ids}")
    block, element = found
    action: dict[str, Any] = {
        "action_id": action_id,
        "block_id": block["block_id"],
        "type": element["type"],
        "action_ts": f"{time.time():.6f}",
    }
    if element["type"] in ("button", "workflow_button"):
        action["text"] = element["text"]
        chosen = value if value is not None else element.get("value")
        if chosen is not None:
            action["value"] = chosen
        if "style" in element:
            action["style"] = element["style"]
    else:
        action.update(state_for(element, value))
    return action


def view_as_seen(view: View) -> dict[str, Any]:
    """The modal as a block_actions payload carries it: what was typed so far, the other inputs untouched."""
    body = view.to_api()
    body["state"] = {"values": build_state(body["blocks"], view.typed, validate=False)}
    return body


class InteractionPayloads:
    def __init__(self, sandbox: SlackSandbox, team_id: str) -> None:
        self.sandbox = sandbox
        self.team_id = team_id

    # -- identities ----------------------------------------------------------------------------------------
    def user(self, user_id: str) -> dict[str, Any]:
        user = self.sandbox.users.get(user_id)
        name = user.name if user else user_id
        return {"id": user_id, "username": name, "name": name, "team_id": self.team_id}

    def envelope(self, kind: str, user_id: str, trigger_id: str) -> dict[str, Any]:
        return {
            "type": kind,
            "team": {"id": self.team_id, "domain": "sandbox"},
            "user": self.user(user_id),
            "api_app_id": self.sandbox.app_id,
            "token": VERIFICATION_TOKEN,
            "trigger_id": trigger_id,
            "enterprise": None,
            "is_enterprise_install": False,
        }

    # -- slash commands ------------------------------------------------------------------------------------
    def slash_command(
        self, *, user_id: str, command: str, text: str, channel_id: str, channel_name: str, response_url: str
    ) -> dict[str, str]:
        return {
            "token": VERIFICATION_TOKEN,
            "team_id": self.team_id,
            "team_domain": "sandbox",
            "channel_id": channel_id,
            "channel_name": channel_name,
            "user_id": user_id,
            "user_name": self.user(user_id)["name"],
            "command": command,
            "text": text,
            "api_app_id": self.sandbox.app_id,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": self.sandbox.issue_trigger_id(user_id),
        }

    # -- modals --------------------------------------------------------------------------------------------
    def open_view(self, view_id: str, user_id: str) -> View:
        """The modal, if `user_id` could be looking at it; raises the reason a test got that wrong."""
        view = self.sandbox.views.get(view_id)
        if view is None:
            raise KeyError(f"no view {view_id!r}; known views: {sorted(self.sandbox.views)}")
        if view.closed:
            raise ValueError(f"view {view_id} is closed; a user cannot interact with it")
        if view.user and view.user != user_id:
            raise ValueError(f"view {view_id} was opened for {view.user}, not {user_id}")
        return view

    def view_submission(
        self, view: View, user_id: str, values: Mapping[str, Any], *, validate: bool
    ) -> dict[str, Any]:
        body = view.to_api()
        # What was typed before (and survived any update) is submitted too, unless given again now.
        given = {str(find_input(body["blocks"], key)["block_id"]): value for key, value in values.items()}
        body["state"] = {"values": build_state(body["blocks"], {**view.typed, **given}, validate=validate)}
        payload = self.envelope(
            "view_submission", user_id, self.sandbox.issue_trigger_id(user_id, view_id=view.id)
        )
        payload.update(view=body, response_urls=[])
        return payload

    def typed_in_view(self, view: View, user_id: str, block_id: str) -> dict[str, Any]:
        """The block_actions payload an input with `dispatch_action` sends once its value is entered."""
        body = view.to_api()
        block = find_input(body["blocks"], block_id)
        element = block["element"]
        action = {"action_id": element["action_id"], "block_id": block["block_id"], "type": element["type"],
                  "action_ts": f"{time.time():.6f}", **state_for(element, view.typed[block["block_id"]])}
        action.pop("type", None)
        action["type"] = element["type"]
        payload = self.envelope("block_actions", user_id, self.sandbox.issue_trigger_id(user_id, view_id=view.id))
        payload.update(actions=[action], container={"type": "view", "view_id": view.id}, view=view_as_seen(view))
        return payload

    def view_closed(self, body: dict[str, Any], user_id: str) -> dict[str, Any]:
        """`body` is the view as it was before closing (to_api() of the open view)."""
        payload = self.envelope("view_closed", user_id, self.sandbox.issue_trigger_id(user_id))
        payload.update(view=body, is_cleared=False)
        return payload

    # -- block actions -------------------------------------------------------------------------------------
    def locate(self, action_id: str, channel_id: str | None) -> tuple[Message | Ephemeral | None, str | None]:
        """Where a user would see this action_id: newest message first, then ephemerals, then open modals."""
        for message in reversed(self.sandbox.messages):
            if (channel_id is None or message.channel == channel_id) and find_action(
                message.blocks, action_id
            ):
                return message, None
        for ephemeral in reversed(self.sandbox.ephemerals):
            if (channel_id is None or ephemeral.channel == channel_id) and find_action(
                ephemeral.blocks, action_id
            ):
                return ephemeral, None
        for view in reversed(list(self.sandbox.views.values())):
            if not view.closed and find_action(view.view.get("blocks") or [], action_id):
                return None, view.id
        raise KeyError(f"no visible element has action_id {action_id!r}")

    def block_actions(
        self,
        *,
        user_id: str,
        action_id: str,
        message: Message | Ephemeral | None,
        view_id: str | None,
        value: Any | None,
    ) -> dict[str, Any]:
        """A click on `action_id` in `message`, or else in the open modal `view_id`."""
        blocks = message.blocks if message is not None else self.open_view(view_id or "", user_id).view["blocks"]
        action = clicked_action(blocks, action_id, value)
        trigger_id = self.sandbox.issue_trigger_id(user_id, view_id=view_id)
        payload = self.envelope("block_actions", user_id, trigger_id)
        payload["actions"] = [action]
        if message is None:
            view = self.sandbox.views[view_id or ""]
            payload.update(container={"type": "view", "view_id": view.id}, view=view_as_seen(view))
        else:
            self._message_context(payload, message, user_id)
        return payload

    def _message_context(self, payload: dict[str, Any], message: Message | Ephemeral, user_id: str) -> None:
        channel = self.sandbox.channels.get(message.channel)
        is_ephemeral = isinstance(message, Ephemeral)
        payload["container"] = {
            "type": "message",
            "message_ts": message.ts,
            "channel_id": message.channel,
            "is_ephemeral": is_ephemeral,
        }
        payload["channel"] = {"id": message.channel, "name": channel.name if channel else message.channel}
        if isinstance(message, Message):
            payload["message"] = message.to_api(self.team_id, self.sandbox.bot_id)
            if message.thread_ts:
                payload["container"]["thread_ts"] = message.thread_ts
        payload["state"] = {"values": {}}
        payload["response_url"] = self.sandbox.issue_response_url(
            message.channel, user_id, message_ts=message.ts, is_ephemeral=is_ephemeral
        )

    # -- shortcuts -----------------------------------------------------------------------------------------
    def message_action(self, *, user_id: str, message: Message, callback_id: str) -> dict[str, Any]:
        """A message shortcut on `message`, as Slack sends it (type message_action): trigger_id, response_url,
        the whole message and its channel. Slack offers only the shortcuts the installed manifest declares, in
        conversations the person can see."""
        if self.sandbox.granted_scopes is not None and callback_id not in self.sandbox.shortcuts:
            raise ValueError(f"no shortcut {callback_id!r} in the installed manifest; "
                             f"declared: {sorted(self.sandbox.shortcuts)}")
        declared = self.sandbox.shortcuts.get(callback_id)
        if declared is not None and declared.get("type") != "message":
            raise ValueError(f"shortcut {callback_id!r} is a {declared.get('type')} shortcut, not a message one")
        channel = self.sandbox.channels.get(message.channel)
        if channel is None or user_id not in channel.members:
            raise ValueError(f"{user_id} cannot see messages in {message.channel}")
        payload = self.envelope("message_action", user_id, self.sandbox.issue_trigger_id(user_id))
        payload.update(
            callback_id=callback_id,
            action_ts=f"{time.time():.6f}",
            message_ts=message.ts,
            message=message.to_api(self.team_id, self.sandbox.bot_id if message.user == self.sandbox.bot_user_id
                                   else None),
            channel={"id": channel.id, "name": channel.name},
            response_url=self.sandbox.issue_response_url(channel.id, user_id),
        )
        return payload

    # -- events --------------------------------------------------------------------------------------------
    def reaction_added_event(self, *, user_id: str, message: Message, reaction: str) -> dict[str, Any]:
        """The `reaction_added` event a person's reaction on a message produces."""
        return {
            "type": "reaction_added",
            "user": user_id,
            "reaction": reaction,
            "item": {"type": "message", "channel": message.channel, "ts": message.ts},
            "item_user": message.user,
            "event_ts": self.sandbox.next_ts(),
        }

    def event_callback(self, event: Mapping[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
        if "type" not in event:
            raise ValueError("an event needs a type")
        inner = dict(event)
        inner.setdefault("event_ts", inner.get("ts") or f"{time.time():.6f}")
        return {
            "token": VERIFICATION_TOKEN,
            "team_id": self.team_id,
            "api_app_id": self.sandbox.app_id,
            "event": inner,
            "type": "event_callback",
            "event_id": event_id or slack_id("Ev"),
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": self.sandbox.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }

    def message_event(self, message: Message) -> dict[str, Any]:
        """The `message` event a person's post produces."""
        channel = self.sandbox.channels.get(message.channel)
        event: dict[str, Any] = {
            "type": "message",
            "channel": message.channel,
            "user": message.user,
            "text": message.text,
            "ts": message.ts,
            "channel_type": "im" if channel and channel.is_im else "channel",
        }
        if message.thread_ts:
            event["thread_ts"] = message.thread_ts
        if message.user == self.sandbox.bot_user_id:
            # The bot's own posts come back as message events too, marked with its bot_id, as Slack sends them.
            event["bot_id"] = self.sandbox.bot_id
            event["app_id"] = self.sandbox.app_id
        return event

    def message_changed_event(self, message: Message, new_text: str) -> dict[str, Any]:
        """The `message_changed` event an edit produces: the edited message nested, a subtype on the outside."""
        inner = self.message_event(message)
        inner["text"] = new_text
        inner["edited"] = {"user": message.user, "ts": f"{time.time():.6f}"}
        return {"type": "message", "subtype": "message_changed", "channel": message.channel, "hidden": True,
                "message": inner, "previous_message": self.message_event(message), "ts": f"{time.time():.6f}",
                "channel_type": inner["channel_type"]}

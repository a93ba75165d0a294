"""Slack Web API method implementations for the sandbox (transport lives in bot/sandbox/slack.py)."""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any

from bot.sandbox.slack_limits import MAX_MESSAGE_BLOCKS, check_blocks, check_view, with_generated_ids
from bot.sandbox.slack_models import Call, Channel, View, slack_id
from bot.sandbox.slack_state import ApiFailure, SlackState

Handler = Callable[[dict[str, Any]], dict[str, Any]]
_CHANNEL_NAME = re.compile(r"[a-z0-9_-]+")
MAX_TEXT = 40_000
MAX_VIEW_STACK = 3


def truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in ("1", "true")) or value == 1


def json_param(params: dict[str, Any], key: str, error: str) -> Any:
    """Form-encoded calls carry blocks/view as JSON strings; JSON-body calls carry them as structures."""
    value = params.get(key)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise ApiFailure(error, messages=[f"[ERROR] invalid JSON [json-pointer:/{key}]"]) from None
    return value


def id_list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, str):
        if value.startswith("["):
            return [str(v) for v in json.loads(value)]
        return [v.strip() for v in value.split(",") if v.strip()]
    return []


class SlackApi(SlackState):
    def method_table(self) -> dict[str, Handler]:
        return {
            "auth.test": self.auth_test,
            "chat.postMessage": self.chat_post_message,
            "chat.update": self.chat_update,
            "chat.postEphemeral": self.chat_post_ephemeral,
            "chat.getPermalink": self.chat_get_permalink,
            "views.open": self.views_open,
            "views.update": self.views_update,
            "views.push": self.views_push,
            "views.publish": self.views_publish,
            "conversations.create": self.conversations_create,
            "conversations.setTopic": self.conversations_set_topic,
            "conversations.invite": self.conversations_invite,
            "conversations.info": self.conversations_info,
            "conversations.join": self.conversations_join,
            "conversations.members": self.conversations_members,
            "usergroups.users.list": self.usergroups_users_list,
            "users.info": self.users_info,
        }

    def auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://sandbox.slack.local/",
            "team": "Sandbox",
            "user": self.users[self.bot_user_id].name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    # -- chat ----------------------------------------------------------------------------------------------
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
            raise ApiFailure("invalid_blocks", messages=errors)
        return text, with_generated_ids(blocks)

    def _member_channel(self, params: dict[str, Any]) -> Channel:
        channel = self.resolve_channel(params.get("channel"), allow_dm=True)
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
        if user not in self.users:
            raise ApiFailure("user_not_found")
        if user not in channel.members:
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

    # -- views ---------------------------------------------------------------------------------------------
    def _view_param(self, params: dict[str, Any], expected_type: str) -> dict[str, Any]:
        view = json_param(params, "view", "invalid_arguments")
        errors = check_view(view, expected_type=expected_type)
        if errors:
            raise ApiFailure("invalid_arguments", messages=errors)
        assert isinstance(view, dict)
        filled: dict[str, Any] = {
            "type": expected_type,
            "blocks": [],
            "private_metadata": "",
            "callback_id": "",
            "external_id": "",
            "state": {"values": {}},
            "clear_on_close": False,
            "notify_on_close": False,
            "close": None,
            "submit": None,
            "title": None,
            "team_id": self.team_id,
            "app_id": self.app_id,
            "bot_id": self.bot_id,
            "app_installed_team_id": self.team_id,
        }
        filled.update({k: v for k, v in view.items() if k not in ("id", "hash", "state")})
        filled["blocks"] = with_generated_ids(view.get("blocks") or [])
        return filled

    @staticmethod
    def _new_hash() -> str:
        return f"{int(time.time())}.{secrets.token_hex(4)}"

    def _check_external_id(self, view: dict[str, Any], own_id: str | None = None) -> None:
        external_id = view.get("external_id")
        if external_id and any(
            v.external_id == external_id and not v.closed and v.id != own_id for v in self.views.values()
        ):
            raise ApiFailure("duplicate_external_id")

    def views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        trigger = self.check_trigger(params.get("trigger_id") or params.get("interactivity_pointer"))
        filled = self._view_param(params, "modal")
        self._check_external_id(filled)
        view_id = slack_id("V")
        view = View(
            view_id,
            trigger.user or "",
            filled,
            self._new_hash(),
            None,
            view_id,
            external_id=filled["external_id"],
        )
        trigger.used = True
        self.touch_view(view, "opened")
        return {"view": view.to_api()}

    def views_push(self, params: dict[str, Any]) -> dict[str, Any]:
        trigger = self.check_trigger(params.get("trigger_id") or params.get("interactivity_pointer"))
        filled = self._view_param(params, "modal")
        parent = self.views.get(trigger.view_id or "") or (
            self.latest_view_for(trigger.user) if trigger.user else None
        )
        if parent is None or parent.closed:
            raise ApiFailure("not_found")
        stack = self.open_view_stack(parent.root_view_id)
        if len(stack) >= MAX_VIEW_STACK:
            raise ApiFailure("push_limit_reached")
        self._check_external_id(filled)
        view_id = slack_id("V")
        view = View(
            view_id,
            parent.user,
            filled,
            self._new_hash(),
            stack[-1].id,
            parent.root_view_id,
            external_id=filled["external_id"],
        )
        trigger.used = True
        self.touch_view(view, "pushed")
        return {"view": view.to_api()}

    def views_update(self, params: dict[str, Any]) -> dict[str, Any]:
        view_id, external_id = params.get("view_id"), params.get("external_id")
        if view_id:
            view = self.views.get(view_id)
        else:
            view = next(
                (v for v in self.views.values() if external_id and v.external_id == external_id), None
            )
        if view is None or view.closed:
            raise ApiFailure("not_found")
        if params.get("hash") and params["hash"] != view.hash:
            raise ApiFailure("hash_conflict")
        filled = self._view_param(params, "modal")
        self._check_external_id(filled, view.id)
        filled["external_id"] = filled["external_id"] or view.external_id
        view.view, view.hash, view.external_id = filled, self._new_hash(), filled["external_id"]
        self.touch_view(view, "updated")
        return {"view": view.to_api()}

    def views_publish(self, params: dict[str, Any]) -> dict[str, Any]:
        user_id = params.get("user_id")
        if user_id not in self.users:
            raise ApiFailure("user_not_found")
        previous = self.home_views.get(str(user_id))
        if previous is not None and params.get("hash") and params["hash"] != previous["hash"]:
            raise ApiFailure("hash_conflict")
        filled = self._view_param(params, "home")
        view_id = previous["id"] if previous else slack_id("V")
        filled.update(id=view_id, hash=self._new_hash(), previous_view_id=None, root_view_id=view_id)
        self.home_views[str(user_id)] = filled
        return {"view": filled}

    def apply_view_ack(self, view_id: str, ack: Mapping[str, Any]) -> None:
        """Act on a view_submission ack the way Slack does: close, clear, update, push, or keep for errors."""
        view = self.views[view_id]
        action = ack.get("response_action")
        if action == "errors":
            return
        if action in ("update", "push"):
            try:
                filled = self._view_param({"view": ack.get("view")}, "modal")
                if action == "push" and len(self.open_view_stack(view.root_view_id)) >= MAX_VIEW_STACK:
                    raise ApiFailure("push_limit_reached")
            except ApiFailure as failure:
                # The user just sees "We had some trouble connecting"; the record is for the test to find.
                self.calls.append(Call("view_submission.ack", dict(ack), time.time(), False, failure.error))
                return
            if action == "update":
                view.view, view.hash = filled, self._new_hash()
                self.touch_view(view, "updated")
            else:
                pushed_id = slack_id("V")
                self.touch_view(
                    View(
                        pushed_id,
                        view.user,
                        filled,
                        self._new_hash(),
                        view.id,
                        view.root_view_id,
                        external_id=filled["external_id"],
                    ),
                    "pushed",
                )
            return
        closing = self.open_view_stack(view.root_view_id) if action == "clear" else [view]
        for each in closing:
            self.close_view(each)

    # -- conversations -------------------------------------------------------------------------------------
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

    # -- directory -----------------------------------------------------------------------------------------
    def usergroups_users_list(self, params: dict[str, Any]) -> dict[str, Any]:
        group = self.usergroups.get(str(params.get("usergroup")))
        if group is None:
            raise ApiFailure("no_such_subteam")
        return {"users": list(group["users"])}

    def users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(params.get("user")))
        if user is None:
            raise ApiFailure("user_not_found")
        return {"user": user.to_api(self.team_id)}

"""Plays Slack's side towards the bot: signed slash commands, interactions and events, as Slack sends them.

Responses are fed back into the SlackSandbox the way Slack would act on them (a slash-command ack body becomes
an ephemeral, a view_submission ack closes/updates/pushes the modal), so tests observe user-visible effects.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp

from bot.sandbox.slack import SlackSandbox
from bot.sandbox.slack_models import Ephemeral, Message, View, slack_id
from bot.sandbox.transcript import blocks_to_text
from bot.sandbox.view_state import build_state, find_action, state_for, untouched_state

__all__ = ["ACK_DEADLINE", "DriverResponse", "SlackDriver", "blocks_to_text", "sign_request"]

# Slack gives up on an ack after 3 seconds: the user sees an error and whatever the bot answered is dropped.
ACK_DEADLINE = 3.0
VERIFICATION_TOKEN = "sandbox-verification-token"


@dataclass
class DriverResponse:
    status: int
    body: str
    json: Any | None
    elapsed: float

    @property
    def acked_in_time(self) -> bool:
        return self.status == 200 and self.elapsed <= ACK_DEADLINE


def sign_request(signing_secret: str, timestamp: int, body: bytes) -> str:
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


class SlackDriver:
    def __init__(
        self,
        *,
        events_url: str,
        signing_secret: str,
        sandbox: SlackSandbox,
        team_id: str = "T0SANDBOX",
        session: aiohttp.ClientSession | None = None,
        commands_url: str | None = None,
        interactivity_url: str | None = None,
    ) -> None:
        self.events_url = events_url
        self.commands_url = commands_url or events_url
        self.interactivity_url = interactivity_url or events_url
        self.signing_secret = signing_secret
        self.sandbox = sandbox
        self.team_id = team_id
        self._session = session
        self._owns_session = session is None

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
        self._session = None

    async def __aenter__(self) -> SlackDriver:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- transport -----------------------------------------------------------------------------------------
    async def post_raw(
        self,
        body: bytes | str,
        *,
        content_type: str = "application/x-www-form-urlencoded",
        sign: bool = True,
        timestamp: int | None = None,
        signing_secret: str | None = None,
        headers: Mapping[str, str] | None = None,
        url: str | None = None,
    ) -> DriverResponse:
        raw = body.encode() if isinstance(body, str) else body
        sent = {"Content-Type": content_type}
        if sign:
            ts = int(time.time()) if timestamp is None else timestamp
            sent["X-Slack-Request-Timestamp"] = str(ts)
            sent["X-Slack-Signature"] = sign_request(signing_secret or self.signing_secret, ts, raw)
        sent.update(headers or {})
        if self._session is None:
            self._session = aiohttp.ClientSession()
        started = time.monotonic()
        async with self._session.post(url or self.events_url, data=raw, headers=sent) as response:
            text = await response.text()
            status = response.status
        elapsed = time.monotonic() - started
        try:
            parsed: Any | None = json.loads(text) if text else None
        except ValueError:
            parsed = None
        return DriverResponse(status, text, parsed, elapsed)

    async def _post_payload(
        self, payload: Mapping[str, Any], headers: Mapping[str, str] | None = None
    ) -> DriverResponse:
        body = urlencode({"payload": json.dumps(payload, separators=(",", ":"))})
        return await self.post_raw(body, headers=headers, url=self.interactivity_url)

    # -- identities ----------------------------------------------------------------------------------------
    def _user(self, user_id: str) -> dict[str, Any]:
        user = self.sandbox.users.get(user_id)
        name = user.name if user else user_id
        return {"id": user_id, "username": name, "name": name, "team_id": self.team_id}

    def _envelope(self, kind: str, user_id: str, trigger_id: str) -> dict[str, Any]:
        return {
            "type": kind,
            "team": {"id": self.team_id, "domain": "sandbox"},
            "user": self._user(user_id),
            "api_app_id": self.sandbox.app_id,
            "token": VERIFICATION_TOKEN,
            "trigger_id": trigger_id,
            "enterprise": None,
            "is_enterprise_install": False,
        }

    # -- slash commands ------------------------------------------------------------------------------------
    async def slash_command(
        self,
        *,
        user_id: str,
        command: str,
        text: str = "",
        channel_id: str = "C0GENERAL1",
        channel_name: str = "general",
    ) -> DriverResponse:
        response_url = self.sandbox.issue_response_url(channel_id, user_id)
        fields = {
            "token": VERIFICATION_TOKEN,
            "team_id": self.team_id,
            "team_domain": "sandbox",
            "channel_id": channel_id,
            "channel_name": channel_name,
            "user_id": user_id,
            "user_name": self._user(user_id)["name"],
            "command": command,
            "text": text,
            "api_app_id": self.sandbox.app_id,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": self.sandbox.issue_trigger_id(user_id),
        }
        response = await self.post_raw(urlencode(fields), url=self.commands_url)
        if response.acked_in_time and response.body.strip():
            # A non-empty ack is shown to the invoking user, exactly like a response_url post.
            ack = response.json if isinstance(response.json, dict) else {"text": response.body}
            self.sandbox.deliver_to_response_url(response_url, ack)
        return response

    # -- modals --------------------------------------------------------------------------------------------
    def _open_view(self, view_id: str, user_id: str) -> View:
        view = self.sandbox.views.get(view_id)
        if view is None:
            raise KeyError(f"no view {view_id!r}; known views: {sorted(self.sandbox.views)}")
        if view.closed:
            raise ValueError(f"view {view_id} is closed; a user cannot interact with it")
        if view.user and view.user != user_id:
            raise ValueError(f"view {view_id} was opened for {view.user}, not {user_id}")
        return view

    async def submit_view(
        self,
        *,
        user_id: str,
        view_id: str,
        values: Mapping[str, Any],
        extra_headers: Mapping[str, str] | None = None,
        validate: bool = True,
    ) -> DriverResponse:
        view = self._open_view(view_id, user_id)
        body = view.to_api()
        body["state"] = {"values": build_state(body["blocks"], values, validate=validate)}
        payload = self._envelope(
            "view_submission", user_id, self.sandbox.issue_trigger_id(user_id, view_id=view_id)
        )
        payload.update(view=body, response_urls=[])
        response = await self._post_payload(payload, extra_headers)
        if response.acked_in_time:
            ack = response.json if isinstance(response.json, dict) else {}
            self.sandbox.apply_view_ack(view_id, ack)
        return response

    async def close_view(self, *, user_id: str, view_id: str) -> DriverResponse | None:
        """The user dismissed the modal; Slack only tells the bot when the view asked (notify_on_close)."""
        view = self._open_view(view_id, user_id)
        body = view.to_api()
        self.sandbox.apply_view_ack(view_id, {"response_action": "close"})
        if not body.get("notify_on_close"):
            return None
        payload = self._envelope("view_closed", user_id, self.sandbox.issue_trigger_id(user_id))
        payload.update(view=body, is_cleared=False)
        return await self._post_payload(payload)

    # -- block actions -------------------------------------------------------------------------------------
    def _locate(
        self, action_id: str, channel_id: str | None
    ) -> tuple[Message | Ephemeral | None, str | None]:
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

    async def click(
        self,
        *,
        user_id: str,
        action_id: str,
        message: Message | Ephemeral | None = None,
        view_id: str | None = None,
        value: Any | None = None,
        channel_id: str | None = None,
    ) -> DriverResponse:
        if message is None and view_id is None:
            message, view_id = self._locate(action_id, channel_id)
        blocks = (
            message.blocks if message is not None else self._open_view(view_id or "", user_id).view["blocks"]
        )
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
        trigger_id = self.sandbox.issue_trigger_id(user_id, view_id=view_id)
        payload = self._envelope("block_actions", user_id, trigger_id)
        payload["actions"] = [action]
        if message is None:
            view = self.sandbox.views[view_id or ""]
            body = view.to_api()
            inputs = [b for b in body["blocks"] if b.get("type") == "input"]
            body["state"] = {
                "values": {
                    b["block_id"]: {b["element"]["action_id"]: untouched_state(b["element"])} for b in inputs
                }
            }
            payload.update(container={"type": "view", "view_id": view.id}, view=body)
        else:
            self._message_context(payload, message, user_id)
        return await self._post_payload(payload)

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

    # -- events --------------------------------------------------------------------------------------------
    async def event(
        self,
        event: Mapping[str, Any],
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
    ) -> DriverResponse:
        if "type" not in event:
            raise ValueError("an event needs a type")
        inner = dict(event)
        inner.setdefault("event_ts", inner.get("ts") or f"{time.time():.6f}")
        envelope = {
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
        headers: dict[str, str] = {}
        if retry_num is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
        body = json.dumps(envelope, separators=(",", ":"))
        return await self.post_raw(body, content_type="application/json", headers=headers)

    async def user_message(
        self, *, user_id: str, channel_id: str, text: str, thread_ts: str | None = None
    ) -> tuple[Message, DriverResponse]:
        """A person posts in a channel: the sandbox records it and the bot receives the message event."""
        message = self.sandbox.record_message(channel_id, text, [], thread_ts, user_id)
        channel = self.sandbox.channels.get(channel_id)
        event: dict[str, Any] = {
            "type": "message",
            "channel": channel_id,
            "user": user_id,
            "text": text,
            "ts": message.ts,
            "channel_type": "im" if channel and channel.is_im else "channel",
        }
        if thread_ts:
            event["thread_ts"] = thread_ts
        return message, await self.event(event)

    async def app_home_opened(self, *, user_id: str) -> DriverResponse:
        return await self.event(
            {"type": "app_home_opened", "user": user_id, "channel": slack_id("D"), "tab": "home"}
        )

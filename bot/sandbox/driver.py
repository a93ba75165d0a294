"""Plays Slack's side towards the bot: signed slash commands, interactions and events, as Slack sends them.

Responses are fed back into the SlackSandbox the way Slack would act on them (a slash-command ack body becomes
an ephemeral, a view_submission ack closes/updates/pushes the modal), so tests observe user-visible effects.
The bodies themselves are built in driver_payloads.py; this module signs, posts and acts on the answers.
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

from bot.sandbox.driver_payloads import VERIFICATION_TOKEN, InteractionPayloads
from bot.sandbox.slack import SlackSandbox
from bot.sandbox.slack_models import Ephemeral, Message, slack_id
from bot.sandbox.transcript import blocks_to_text
from bot.sandbox.view_state import find_input

__all__ = ["ACK_DEADLINE", "VERIFICATION_TOKEN", "DriverResponse", "SlackDriver", "blocks_to_text", "sign_request"]

# Slack gives up on an ack after 3 seconds: the user sees an error and whatever the bot answered is dropped.
ACK_DEADLINE = 3.0


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
        self.payloads = InteractionPayloads(sandbox, team_id)
        self._session = session
        self._owns_session = session is None

    @property
    def team_id(self) -> str:
        return self.payloads.team_id

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
        fields = self.payloads.slash_command(
            user_id=user_id,
            command=command,
            text=text,
            channel_id=channel_id,
            channel_name=channel_name,
            response_url=response_url,
        )
        response = await self.post_raw(urlencode(fields), url=self.commands_url)
        if response.acked_in_time and response.body.strip():
            # A non-empty ack is shown to the invoking user, exactly like a response_url post.
            ack = response.json if isinstance(response.json, dict) else {"text": response.body}
            self.sandbox.deliver_to_response_url(response_url, ack)
        return response

    # -- modals --------------------------------------------------------------------------------------------
    async def submit_view(
        self,
        *,
        user_id: str,
        view_id: str,
        values: Mapping[str, Any],
        extra_headers: Mapping[str, str] | None = None,
        validate: bool = True,
    ) -> DriverResponse:
        view = self.payloads.open_view(view_id, user_id)
        payload = self.payloads.view_submission(view, user_id, values, validate=validate)
        response = await self._post_payload(payload, extra_headers)
        if response.acked_in_time:
            ack = response.json if isinstance(response.json, dict) else {}
            self.sandbox.apply_view_ack(view_id, ack)
        return response

    async def type_in_view(self, *, user_id: str, view_id: str, values: Mapping[str, Any]) -> list[DriverResponse]:
        """The person types or chooses in the open modal without submitting. An input whose block has
        `dispatch_action` sends its block_actions payload (Enter pressed), as Slack does; the rest stay silent."""
        view = self.payloads.open_view(view_id, user_id)
        blocks = view.view.get("blocks", [])
        responses = []
        for key, value in values.items():
            block = find_input(blocks, key)
            view.typed[str(block["block_id"])] = value
            if block.get("dispatch_action"):
                payload = self.payloads.typed_in_view(view, user_id, str(block["block_id"]))
                responses.append(await self._post_payload(payload))
        return responses

    async def close_view(self, *, user_id: str, view_id: str) -> DriverResponse | None:
        """The user dismissed the modal; Slack only tells the bot when the view asked (notify_on_close)."""
        body = self.payloads.open_view(view_id, user_id).to_api()
        self.sandbox.apply_view_ack(view_id, {"response_action": "close"})
        if not body.get("notify_on_close"):
            return None
        return await self._post_payload(self.payloads.view_closed(body, user_id))

    # -- block actions -------------------------------------------------------------------------------------
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
            message, view_id = self.payloads.locate(action_id, channel_id)
        payload = self.payloads.block_actions(
            user_id=user_id, action_id=action_id, message=message, view_id=view_id, value=value
        )
        return await self._post_payload(payload)

    # -- shortcuts -----------------------------------------------------------------------------------------
    async def message_shortcut(
        self, user_id: str, message: Message, *, callback_id: str = "file_ticket_from_message"
    ) -> DriverResponse:
        """A person picks the message shortcut `callback_id` from `message`'s menu."""
        payload = self.payloads.message_action(user_id=user_id, message=message, callback_id=callback_id)
        return await self._post_payload(payload)

    # -- events --------------------------------------------------------------------------------------------
    async def reaction_added(
        self, user_id: str, message: Message, reaction: str = "ticket", *, event_id: str | None = None,
        retry_num: int | None = None
    ) -> DriverResponse | None:
        """A person reacts to `message`. Slack delivers reaction_added only to an app subscribed to it with
        reactions:read granted, and only from conversations the bot is in; otherwise nothing is sent (None)."""
        sandbox = self.sandbox
        channel = sandbox.channels.get(message.channel)
        if channel is None or user_id not in channel.members:
            raise ValueError(f"{user_id} cannot see messages in {message.channel}")
        subscribed = sandbox.bot_events is None or "reaction_added" in sandbox.bot_events
        granted = sandbox.granted_scopes is None or "reactions:read" in sandbox.granted_scopes
        if not (subscribed and granted and sandbox.bot_user_id in channel.members):
            return None
        event = self.payloads.reaction_added_event(user_id=user_id, message=message, reaction=reaction)
        return await self.event(event, event_id=event_id, retry_num=retry_num)

    async def event(
        self,
        event: Mapping[str, Any],
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
    ) -> DriverResponse:
        envelope = self.payloads.event_callback(event, event_id=event_id)
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
        return message, await self.event(self.payloads.message_event(message))

    async def app_home_opened(self, *, user_id: str) -> DriverResponse:
        return await self.event(
            {"type": "app_home_opened", "user": user_id, "channel": slack_id("D"), "tab": "home"}
        )

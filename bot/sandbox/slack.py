"""A local Slack Web API the real slack_sdk AsyncWebClient can talk to, enforcing Slack's own rules.

Point the client at it with ``AsyncWebClient(token=..., base_url=sandbox.api_url)``. State is kept in public
attributes (channels, messages, views, calls, ...) so tests can assert on what the bot did to Slack.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web

from bot.sandbox.local_server import LocalServer
from bot.sandbox.slack_api import SlackApi
from bot.sandbox.slack_models import Call
from bot.sandbox.slack_state import ApiFailure
from bot.sandbox.transcript import render_log

T = TypeVar("T")


@dataclass
class _Fault:
    error: str
    retry_after: int


class SlackSandbox(SlackApi, LocalServer):
    def __init__(
        self,
        *,
        bot_token: str = "xoxb-sandbox-token",
        team_id: str = "T0SANDBOX",
        trigger_ttl: float = 3.0,
        bot_user_id: str = "U0SUPPORTBOT",
    ) -> None:
        super().__init__(
            bot_token=bot_token, team_id=team_id, trigger_ttl=trigger_ttl, bot_user_id=bot_user_id
        )
        self._faults: dict[str, list[_Fault]] = {}
        self._latency: dict[str | None, float] = {}
        self._methods = self.method_table()

    # -- lifecycle -----------------------------------------------------------------------------------------
    def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/hooks/{key}", self._handle_response_url)
        return app

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    def issue_response_url(
        self, channel: str, user: str, *, message_ts: str | None = None, is_ephemeral: bool = False
    ) -> str:
        key = self.response_url_key(channel, user, message_ts=message_ts, is_ephemeral=is_ephemeral)
        return f"{self.base_url}/hooks/{key}"

    def deliver_to_response_url(self, url: str, payload: dict[str, Any]) -> tuple[int, str]:
        return self.deliver_response(url.rstrip("/").rsplit("/", 1)[-1], payload)

    # -- fault and latency injection -----------------------------------------------------------------------
    def fail_next(
        self, method: str, error: str = "ratelimited", *, times: int = 1, retry_after: int = 1
    ) -> None:
        self._faults.setdefault(method, []).extend(_Fault(error, retry_after) for _ in range(times))

    def set_latency(self, seconds: float, method: str | None = None) -> None:
        self._latency[method] = seconds

    # -- transport -----------------------------------------------------------------------------------------
    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    raise ApiFailure("invalid_json") from None
                if not isinstance(body, dict):
                    raise ApiFailure("invalid_json")
                params.update(body)
            else:
                form = await request.post()
                params.update({k: v for k, v in form.items() if isinstance(v, str)})
        return params

    def _check_auth(self, request: web.Request, params: dict[str, Any]) -> None:
        header = request.headers.get("Authorization", "")
        token = (
            header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else params.get("token")
        )
        if not token:
            raise ApiFailure("not_authed")
        if request.match_info["method"] == "apps.connections.open":
            if token not in self.app_tokens:
                raise ApiFailure("invalid_auth" if token != self.bot_token else "not_allowed_token_type")
        elif token != self.bot_token:
            raise ApiFailure("invalid_auth")

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params: dict[str, Any] = {}
        delay = self._latency.get(method, self._latency.get(None, 0.0))
        if delay:
            await asyncio.sleep(delay)
        try:
            params = await self._params(request)
            self._check_auth(request, params)
            params.pop("token", None)
            faults = self._faults.get(method)
            if faults:
                fault = faults.pop(0)
                if fault.error == "ratelimited":
                    raise ApiFailure(
                        "ratelimited", status=429, headers={"Retry-After": str(fault.retry_after)}
                    )
                raise ApiFailure(fault.error)
            handler = self._methods.get(method)
            if handler is None:
                raise ApiFailure("unknown_method")
            try:
                result = handler(params)
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                # Malformed arguments (a non-numeric limit, a list where a string belongs): Slack's answer.
                raise ApiFailure("invalid_arguments", messages=[f"[ERROR] {exc!r}"]) from exc
        except ApiFailure as failure:
            self.calls.append(Call(method, params, time.time(), False, failure.error))
            body: dict[str, Any] = {"ok": False, "error": failure.error}
            if failure.messages:
                body["response_metadata"] = {"messages": failure.messages}
            return web.json_response(body, status=failure.status, headers=failure.headers)
        self.calls.append(Call(method, params, time.time(), True, None))
        return web.json_response({"ok": True, **result})

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        raw = await request.text()
        try:
            payload = json.loads(raw) if raw else {}
        except ValueError:
            return web.Response(status=400, text="invalid_payload")
        if not isinstance(payload, dict):
            return web.Response(status=400, text="invalid_payload")
        status, text = self.deliver_response(request.match_info["key"], payload)
        return web.Response(status=status, text=text)

    # -- helpers for tests and the demo --------------------------------------------------------------------
    async def wait_for(self, predicate: Callable[[], T | None], *, timeout: float = 5.0) -> T:  # noqa: ASYNC109
        """Poll until predicate() returns something truthy, and return it."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            if time.monotonic() >= deadline:
                recent = (
                    ", ".join(f"{c.method}{'' if c.ok else f' -> {c.error}'}" for c in self.calls[-10:])
                    or "none"
                )
                name = getattr(predicate, "__qualname__", repr(predicate))
                raise AssertionError(
                    f"condition {name} not met within {timeout}s; last result {result!r}; "
                    f"{len(self.messages)} messages, {len(self.ephemerals)} ephemerals, "
                    f"{len(self.views)} views; "
                    f"recent calls: {recent}"
                )
            await asyncio.sleep(0.01)

    def transcript_lines(self, since: int = 0) -> list[str]:
        """The conversation as a person would have watched it, oldest first; `since` skips seen lines."""
        return render_log(self.log, self.users, self.channels)[since:]

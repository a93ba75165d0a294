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

from bot.sandbox.local_server import WAIT_SECONDS, LocalServer
from bot.sandbox.slack_api import SlackApi
from bot.sandbox.slack_method_rules import check_arguments, rule_for
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
        # slack_sdk sends conversations.invite's users in the query string: 1,000 IDs need more than aiohttp's
        # default 8 KiB request line.
        app = web.Application(handler_args={"max_line_size": 32 * 1024})
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/hooks/{key}", self._handle_response_url)
        app.router.add_post("/upload/v1/{file_id}", self.handle_file_upload)  # files.getUploadURLExternal's URLs
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
    async def _params(self, request: web.Request, method: str) -> tuple[dict[str, Any], str | None]:
        """The call's arguments and the token it presented, read the way Slack reads them.

        A JSON body is read only by methods whose spec `consumes` application/json (slack_method_rules.py), and
        only with the token in the Authorization header (docs.slack.dev/changelog/2017-10-keeping-up-with-the-jsons:
        "to make use of sending JSON ... you must provide your token value using an Authorization HTTP header").
        A token in the query string is invalid_auth once an app is installed from a manifest (slack_install.py).
        """
        query: dict[str, Any] = dict(request.query)
        body: dict[str, Any] = {}
        is_json = request.can_read_body and request.content_type == "application/json"
        if is_json:
            try:
                parsed = await request.json()
            except ValueError:
                raise ApiFailure("invalid_json") from None
            if not isinstance(parsed, dict):
                raise ApiFailure("json_not_object")
            # Methods that do not take JSON never read the body: the call goes on as if it had no arguments.
            body = parsed if rule_for(method).reads_json else {}
        elif request.can_read_body:
            form = await request.post()
            body = {k: v for k, v in form.items() if isinstance(v, str)}
        header = request.headers.get("Authorization", "")
        token: str | None = None
        if header.startswith("Bearer "):
            token = header.removeprefix("Bearer ").strip()
        elif is_json:
            token = None  # a JSON call must carry its token in the Authorization header
        elif "token" in body:
            token = str(body["token"])
        elif "token" in query:
            if not self.query_string_tokens:
                raise ApiFailure("invalid_auth")
            token = str(query["token"])
        params = {**query, **body}
        params.pop("token", None)
        return params, token

    def _check_auth(self, method: str, token: str | None) -> None:
        if not token:
            raise ApiFailure("not_authed")
        if method == "apps.connections.open":
            if token not in self.app_tokens:
                raise ApiFailure("invalid_auth" if token != self.bot_token else "not_allowed_token_type")
        elif token in self.app_tokens:
            raise ApiFailure("not_allowed_token_type")  # an app-level token opens Socket Mode, nothing else
        elif token != self.bot_token:
            raise ApiFailure("invalid_auth")

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params: dict[str, Any] = {}
        scopes: dict[str, str] = {}
        delay = self._latency.get(method, self._latency.get(None, 0.0))
        if delay:
            await asyncio.sleep(delay)
        try:
            params, token = await self._params(request, method)
            self._check_auth(method, token)
            scopes = self._scope_headers(method)
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
            check_arguments(method, params)
            self.check_scope(method, params)
            try:
                result = handler(params)
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                # Malformed arguments (a non-numeric limit, a list where a string belongs): Slack's answer.
                raise ApiFailure("invalid_arguments", messages=[f"[ERROR] {exc!r}"]) from exc
        except ApiFailure as failure:
            self.calls.append(Call(method, params, time.time(), False, failure.error))
            body: dict[str, Any] = {"ok": False, "error": failure.error, **failure.extra}
            if failure.messages:
                body["response_metadata"] = {"messages": failure.messages}
            return web.json_response(body, status=failure.status, headers={**scopes, **failure.headers})
        self.calls.append(Call(method, params, time.time(), True, None))
        return web.json_response({"ok": True, **result}, headers=scopes)

    def _scope_headers(self, method: str) -> dict[str, str]:
        """What Slack says about the token on every authenticated answer, refusals included: the scopes it was
        granted (X-OAuth-Scopes) and those the method accepts (X-Accepted-OAuth-Scopes)."""
        if method == "apps.connections.open":
            return {"X-OAuth-Scopes": "connections:write", "X-Accepted-OAuth-Scopes": "connections:write"}
        if self.granted_scopes is None:
            return {}  # nothing installed: the sandbox grants everything and says nothing about it
        accepted = sorted(set(rule_for(method).scopes.values()))
        return {"X-OAuth-Scopes": ",".join(sorted(self.granted_scopes)), "X-Accepted-OAuth-Scopes": ",".join(accepted)}

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
    async def wait_for(self, predicate: Callable[[], T | None], *, timeout: float = WAIT_SECONDS) -> T:  # noqa: ASYNC109
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

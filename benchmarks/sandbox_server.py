"""The Slack sandbox as its own process, for benchmarks.

Starts a `SlackSandbox` (the Web API the bot under test talks to) on 127.0.0.1 and populates it with the
workspace the tests use, then serves a second, tiny control API on another port so a load generator in
another process can do what tests do in-process:

    POST /bench/triggers     {"user": "U…", "channel": "C…", "n": 50}
                             -> {"items": [{"trigger_id": "…", "response_url": "…"}, …]}
    GET  /bench/calls?since=K
                             -> {"next": K2, "calls": [{"i", "method", "at", "ok", "error",
                                                        "trigger_id", "channel", "thread_ts", "text"}, …]}
    POST /bench/submissions  {"items": [{"trigger_id": "…", "values": {label: value, …}}, …]}
                             -> {"items": [{"trigger_id", "view_id", "payload"} | {"trigger_id", "error"}]}
                                (`payload` is the view_submission JSON Slack would send for that modal)
    GET  /bench/health       -> {"ok": true, "calls": N}

When both servers listen it prints one JSON line on stdout: {"api_url": "…", "control_url": "…"}.
`Call.at` is `time.time()` in this process; on one machine that is the same wall clock the load generator reads.
Stops on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from typing import Any

from aiohttp import web

from bot.core.config import load_config
from bot.sandbox.slack import SlackSandbox
from bot.sandbox.view_state import build_state
from bot.sandbox.workspace import GENERAL, populate

VERIFICATION_TOKEN = "sandbox-verification-token"  # what SlackDriver puts in its envelopes
_TEXT_LIMIT = 300


class BenchSandbox(SlackSandbox):
    """A SlackSandbox that also remembers which view each trigger_id opened."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)  # builds the method table from bound methods, so the override below is used
        self.view_by_trigger: dict[str, str] = {}

    def views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        result = super().views_open(params)
        trigger = params.get("trigger_id") or params.get("interactivity_pointer")
        self.view_by_trigger[str(trigger)] = str(result["view"]["id"])
        return result


def _call_row(index: int, call: Any) -> dict[str, Any]:
    params = call.params if isinstance(call.params, dict) else {}
    text = params.get("text")
    return {
        "i": index,
        "method": call.method,
        "at": call.at,
        "ok": call.ok,
        "error": call.error,
        "trigger_id": params.get("trigger_id"),
        "channel": params.get("channel"),
        "thread_ts": params.get("thread_ts"),
        "text": text[:_TEXT_LIMIT] if isinstance(text, str) else None,
    }


def control_routes(sandbox: BenchSandbox) -> list[web.RouteDef]:
    def user_dict(user_id: str) -> dict[str, Any]:
        user = sandbox.users.get(user_id)
        name = user.name if user else user_id
        return {"id": user_id, "username": name, "name": name, "team_id": sandbox.team_id}

    async def triggers(request: web.Request) -> web.Response:
        body = await request.json()
        user, channel = str(body["user"]), str(body.get("channel") or GENERAL)
        n = int(body.get("n", 1))
        if not 0 < n <= 10_000:
            return web.json_response({"error": "n out of range"}, status=400)
        items = [{"trigger_id": sandbox.issue_trigger_id(user),
                  "response_url": sandbox.issue_response_url(channel, user)} for _ in range(n)]
        return web.json_response({"items": items})

    async def calls(request: web.Request) -> web.Response:
        since = max(0, int(request.query.get("since", "0")))
        method = request.query.get("method")
        snapshot = sandbox.calls[since:]
        rows = [_call_row(since + k, c) for k, c in enumerate(snapshot) if method is None or c.method == method]
        return web.json_response({"next": since + len(snapshot), "calls": rows})

    async def submissions(request: web.Request) -> web.Response:
        body = await request.json()
        out: list[dict[str, Any]] = []
        for item in body["items"]:
            trigger_id = str(item["trigger_id"])
            view_id = sandbox.view_by_trigger.get(trigger_id)
            view = sandbox.views.get(view_id or "")
            if view is None or view.closed:
                out.append({"trigger_id": trigger_id, "error": "no open view for this trigger_id"})
                continue
            # The same payload SlackDriver.submit_view sends (see bot/sandbox/driver.py).
            api_view = view.to_api()
            try:
                api_view["state"] = {"values": build_state(api_view["blocks"], item.get("values") or {})}
            except (KeyError, ValueError) as exc:
                out.append({"trigger_id": trigger_id, "view_id": view.id, "error": f"{type(exc).__name__}: {exc}"})
                continue
            payload: dict[str, Any] = {
                "type": "view_submission",
                "team": {"id": sandbox.team_id, "domain": "sandbox"},
                "user": user_dict(view.user),
                "api_app_id": sandbox.app_id,
                "token": VERIFICATION_TOKEN,
                "trigger_id": sandbox.issue_trigger_id(view.user, view_id=view.id),
                "enterprise": None,
                "is_enterprise_install": False,
                "view": api_view,
                "response_urls": [],
            }
            out.append({"trigger_id": trigger_id, "view_id": view.id,
                        "payload": json.dumps(payload, separators=(",", ":"))})
        return web.json_response({"items": out})

    async def health(_request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "calls": len(sandbox.calls)})

    return [web.post("/bench/triggers", triggers), web.get("/bench/calls", calls),
            web.post("/bench/submissions", submissions), web.get("/bench/health", health)]


async def serve(config_path: str, bot_token: str, host: str, trigger_ttl: float) -> None:
    sandbox = BenchSandbox(bot_token=bot_token, trigger_ttl=trigger_ttl)
    populate(sandbox, load_config(config_path))
    await sandbox.start(host=host, port=0)
    control = web.Application(client_max_size=16 * 1024 * 1024)
    control.add_routes(control_routes(sandbox))
    runner = web.AppRunner(control, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, 0).start()
    control_port = runner.addresses[0][1]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(json.dumps({"api_url": sandbox.api_url, "control_url": f"http://{host}:{control_port}"}), flush=True)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        await sandbox.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="supportbot.toml the workspace is populated from")
    parser.add_argument("--bot-token", default="xoxb-sandbox-token")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--trigger-ttl", type=float, default=3.0, help="seconds a trigger_id stays usable (Slack: 3)")
    args = parser.parse_args(argv)
    asyncio.run(serve(args.config, args.bot_token, args.host, args.trigger_ttl))
    return 0


if __name__ == "__main__":
    sys.exit(main())

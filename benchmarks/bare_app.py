"""The baseline for bench_intake.py: a bare Bolt AsyncApp whose `/ticket` listener only acknowledges.

With --open-modal it also opens supportbot's intake modal after acknowledging (a diagnostic control: Bolt plus
views.open, without the rest of supportbot), and --shared-session gives its Web API client one long-lived
aiohttp session instead of slack_sdk's default of a new session and connection per call.

Same stack as supportbot's HTTP face (aiohttp server, `slack_bolt.adapter.aiohttp`, AsyncApp with
process_before_response=False, a token-bearing AsyncWebClient pointed at the sandbox) and the same request
verification work, done here by Bolt's built-in signature check. Everything else supportbot does is absent.

Prints one JSON line on stdout once listening: {"port": N}. Stops on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient


def build_bolt(*, signing_secret: str, token: str, api_url: str, open_modal: bool = False,
               session: aiohttp.ClientSession | None = None) -> AsyncApp:
    app = AsyncApp(signing_secret=signing_secret,
                   client=AsyncWebClient(token=token, base_url=api_url, session=session))

    async def ack_only(ack: AsyncAck) -> None:
        await ack()

    async def ack_then_open(ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient) -> None:
        from blocks.ticket_modal import ticket_modal

        await ack()
        view = ticket_modal(summary=command.get("text", ""), private_metadata={"channel": command.get("channel_id")})
        await client.views_open(trigger_id=command["trigger_id"], view=view)

    app.command("/ticket")(ack_then_open if open_modal else ack_only)
    return app


def build_web_app(bolt: AsyncApp) -> web.Application:
    async def slack_events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    web_app = web.Application(client_max_size=2 * 1024 * 1024)
    web_app.add_routes([web.post("/slack/events", slack_events)])
    return web_app


async def serve(*, signing_secret: str, token: str, api_url: str, host: str, port: int, open_modal: bool,
                shared_session: bool) -> None:
    session = aiohttp.ClientSession() if shared_session else None
    bolt = build_bolt(signing_secret=signing_secret, token=token, api_url=api_url, open_modal=open_modal,
                      session=session)
    runner = web.AppRunner(build_web_app(bolt), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(json.dumps({"port": runner.addresses[0][1]}), flush=True)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        if session is not None:
            await session.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="bare Bolt AsyncApp that only acknowledges /ticket")
    parser.add_argument("--signing-secret", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--api-url", required=True, help="Slack Web API base URL (the sandbox)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--open-modal", action="store_true", help="open supportbot's intake modal after the ack")
    parser.add_argument("--shared-session", action="store_true", help="one aiohttp session for all Web API calls")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(serve(signing_secret=args.signing_secret, token=args.token, api_url=args.api_url,
                      host=args.host, port=args.port, open_modal=args.open_modal,
                      shared_session=args.shared_session))
    return 0


if __name__ == "__main__":
    sys.exit(main())

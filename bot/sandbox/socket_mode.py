"""Slack's Socket Mode, locally: `apps.connections.open` on the sandbox hands out a ws:// URL, envelopes go
out over the WebSocket, and the app's acknowledgements (with any response payload) come back."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from aiohttp import WSMsgType, web

from bot.sandbox.local_server import LocalServer
from bot.sandbox.slack import SlackSandbox

ACK_WITHIN_SECONDS = 3.0


class SocketModeLink(LocalServer):
    def __init__(self, sandbox: SlackSandbox, *, app_token: str = "xapp-1-A0SANDBOX-1-sandbox") -> None:
        self.sandbox = sandbox
        self.app_token = app_token
        self._sockets: list[web.WebSocketResponse] = []
        self._connected = asyncio.Event()
        self._acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.envelopes: list[dict[str, Any]] = []

    def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/link", self._link)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        await super().start(host, port)
        self.sandbox.app_tokens.add(self.app_token)
        self.sandbox._methods["apps.connections.open"] = self._open  # a method only Socket Mode apps call

    async def stop(self) -> None:
        for socket in list(self._sockets):
            await socket.close()
        await super().stop()

    def _open(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"url": f"{self.base_url.replace('http://', 'ws://')}/link?ticket={uuid.uuid4().hex}"}

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        self._sockets.append(socket)
        await socket.send_json({"type": "hello", "num_connections": len(self._sockets),
                                "connection_info": {"app_id": self.sandbox.app_id},
                                "debug_info": {"host": "sandbox", "approximate_connection_time": 3600}})
        self._connected.set()
        async for message in socket:
            if message.type != WSMsgType.TEXT:
                continue
            ack = json.loads(message.data)
            future = self._acks.get(str(ack.get("envelope_id")))
            if future is not None and not future.done():
                future.set_result(ack)
        self._sockets.remove(socket)
        return socket

    async def wait_connected(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        await asyncio.wait_for(self._connected.wait(), timeout)

    async def send(self, kind: str, payload: dict[str, Any], *, accepts_response_payload: bool = True
                   ) -> dict[str, Any]:
        """Delivers one envelope (`slash_commands`, `interactive`, `events_api`) and returns the app's ack."""
        assert self._sockets, "no app is connected over Socket Mode"
        envelope_id = str(uuid.uuid4())
        envelope = {"envelope_id": envelope_id, "type": kind, "payload": payload,
                    "accepts_response_payload": accepts_response_payload, "retry_attempt": 0, "retry_reason": ""}
        self.envelopes.append(envelope)
        self._acks[envelope_id] = asyncio.get_running_loop().create_future()
        await self._sockets[-1].send_json(envelope)
        try:
            return await asyncio.wait_for(self._acks[envelope_id], ACK_WITHIN_SECONDS)
        finally:
            del self._acks[envelope_id]

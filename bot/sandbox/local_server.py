"""The life cycle every local stand-in shares: an aiohttp app on loopback, port 0 unless told otherwise."""

from __future__ import annotations

import abc
from typing import Self

from aiohttp import web

# How long a test waits for something the bot does in the background before failing. Generous: it is only ever
# waited in full when the thing never happens, and a CI machine running four test workers on two cores can
# take several seconds for what takes 0.1 s alone.
WAIT_SECONDS = 15.0


class LocalServer(abc.ABC):
    _runner: web.AppRunner | None = None
    _base: str | None = None

    @abc.abstractmethod
    def build_app(self) -> web.Application:
        """The routes this stand-in serves."""

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        if self._runner is not None:
            raise RuntimeError(f"{type(self).__name__} is already running")
        runner = web.AppRunner(self.build_app(), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        bound_host, bound_port = runner.addresses[0][:2]  # the real port when asked for port 0
        self._runner = runner
        self._base = f"http://{f'[{bound_host}]' if ':' in bound_host else bound_host}:{bound_port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        if self._base is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return self._base

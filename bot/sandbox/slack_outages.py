"""A Slack that is slow or forgetful in the two ways a caller cannot tell apart: it carries the call out at once and
answers late (`slow_down`: whether or not the caller still listens by then), or it loses the call (`lose_next`:
never carried out, never answered, the connection held until the caller gives up or dies).

`set_latency` is neither: it waits before the request is read, so a caller that dies meanwhile leaves nothing
done. The kill tests use these two to stop a process after Slack did something, or before it did anything."""

from __future__ import annotations

import asyncio
import time

from aiohttp import web

from bot.sandbox.slack import SlackSandbox
from bot.sandbox.slack_models import Call

LOST = "lost_by_sandbox"  # the error recorded in `calls` for a lost request (the caller never sees it)


class UnreliableSlackSandbox(SlackSandbox):
    """The Slack sandbox with two more faults: `slow_down` and `lose_next`."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._losses: dict[str, int] = {}
        self._slow: dict[str, float] = {}
        self.hanging = 0  # lost requests whose caller is still connected

    def slow_down(self, method: str, seconds: float) -> None:
        """Calls of `method` are carried out at once and answered `seconds` later; 0 ends it."""
        self._slow[method] = seconds

    def lose_next(self, method: str, *, times: int = 1) -> None:
        """The next `times` calls of `method` are lost inside Slack."""
        self._losses[method] = self._losses.get(method, 0) + times

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if self._losses.get(method):
            self._losses[method] -= 1
            return await self._hang(request, method)
        response = await super()._handle_api(request)
        if self._slow.get(method):
            await asyncio.sleep(self._slow[method])  # done in Slack; the answer is what is slow
        return response

    async def _hang(self, request: web.Request, method: str) -> web.Response:
        self.calls.append(Call(method, {}, time.time(), False, LOST))
        self.hanging += 1
        try:
            # aiohttp offers no event for "the client went away": look every 50 ms.
            while request.transport is not None and not request.transport.is_closing():  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        finally:
            self.hanging -= 1
        return web.Response(status=504)  # never reaches anyone: the caller has gone

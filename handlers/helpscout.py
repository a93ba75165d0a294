"""`POST /helpscout/sidebar`: Help Scout's dynamic-content requests, verified before anything is looked up."""

from __future__ import annotations

from aiohttp import web

from bot.customers.helpscout import HelpScoutSidebar


def routes(sidebar: HelpScoutSidebar) -> list[web.RouteDef]:
    """The sidebar route: 403 unless `X-HelpScout-Signature` verifies, otherwise `{"html": ...}`."""
    async def helpscout_sidebar(request: web.Request) -> web.Response:
        status, answer = await sidebar.answer(await request.read(), request.headers.get("X-HelpScout-Signature"))
        return web.json_response(answer, status=status)

    return [web.post("/helpscout/sidebar", helpscout_sidebar)]

"""`POST /jira/webhook`: Jira's issue webhooks, verified before anything is read or recorded."""

from __future__ import annotations

from aiohttp import web

from bot.escalation.jira_sync import JiraSync


def routes(sync: JiraSync) -> list[web.RouteDef]:
    """The webhook route, answered 401 when the signature does not verify."""
    async def jira_webhook(request: web.Request) -> web.Response:
        status = await sync.receive(await request.read(), request.headers)
        return web.Response(status=status)

    return [web.post("/jira/webhook", jira_webhook)]

"""The built-in public status page: `GET /status` (HTML for a phone) and `GET /status.json`."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.clock import Clock
from storage.repositories import public_status

HISTORY = timedelta(days=90)
_TEMPLATES = Environment(loader=PackageLoader("bot.incidents", "templates"), autoescape=select_autoescape(["html"]))
_STYLE = re.compile(r"<style>(.*?)</style>", re.DOTALL)
# Sent with both answers: nothing may load, run, frame the page or learn where the reader came from.
_HEADERS = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
_LOCKED = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"


def content_security_policy(html: str) -> str:
    """The page may use its own inline style sheet (by hash) and nothing else: no script, image, font or frame."""
    hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()}'"
                      for css in _STYLE.findall(html))
    return f"{_LOCKED}; style-src {hashes}" if hashes else _LOCKED


def _incident_json(incident: public_status.PublicIncident) -> dict[str, Any]:
    return {"id": incident.id, "name": incident.title, "status": incident.status,
            "created_at": incident.created_at.isoformat(), "updated_at": incident.updated_at.isoformat(),
            "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None,
            "updates": [{"status": u.status, "body": u.body, "at": u.at.isoformat()} for u in incident.updates]}


def _stamp(moment: datetime) -> str:
    return moment.strftime("%b %d, %H:%M UTC")


class StatusSite:
    """The built-in public status page: the last 90 days of incidents, as HTML and as JSON."""

    def __init__(self, *, sessions: async_sessionmaker[AsyncSession], clock: Clock, title: str = "Service status"):
        self._sessions = sessions
        self._clock = clock
        self._title = title

    async def _incidents(self) -> list[public_status.PublicIncident]:
        async with self._sessions() as session:
            return await public_status.public_incidents_since(session, since=self._clock.now() - HISTORY)

    async def page(self, _request: web.Request) -> web.Response:
        """`GET /status`: current and past incidents as a phone-friendly HTML page, never cached."""
        incidents = await self._incidents()
        current = [i for i in incidents if i.resolved_at is None]
        html = _TEMPLATES.get_template("status.html").render(
            title=self._title, current=current, past=[i for i in incidents if i.resolved_at is not None],
            stamp=_stamp, now=_stamp(self._clock.now()))
        return web.Response(text=html, content_type="text/html",
                            headers={**_HEADERS, "Content-Security-Policy": content_security_policy(html)})

    async def json(self, _request: web.Request) -> web.Response:
        """`GET /status.json`: overall status (operational or major outage) and the last 90 days of incidents."""
        incidents = await self._incidents()
        current = [i for i in incidents if i.resolved_at is None]
        return web.json_response({
            "status": "major_outage" if current else "operational",
            "generated_at": self._clock.now().isoformat(),
            "incidents": [_incident_json(i) for i in incidents],
        }, headers={**_HEADERS, "Content-Security-Policy": _LOCKED})

    def routes(self) -> list[web.RouteDef]:
        """The routes to mount on the bot's web app."""
        return [web.get("/status", self.page), web.get("/status.json", self.json)]

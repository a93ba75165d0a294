"""A local stand-in for the company's customer endpoint, as strict as the README asks a real one to be: it
verifies `X-Supportbot-Signature` over `"<timestamp>.<raw body>"`, refuses timestamps more than five minutes
off and any signature it has seen before (a replay), and answers customer-connection documents by workspace ID
or requester email. It can be told to hang, answer HTML, answer 3 MB or fail, so the bot's failure cards can
be exercised."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.sandbox.faults import FaultInjection
from bot.sandbox.local_server import LocalServer

REPLAY_WINDOW_SECONDS = 300


@dataclass
class EndpointRequest:
    """One request as it arrived and what it was answered."""

    body: dict[str, Any] | None
    raw: bytes
    status: int


def example_document(workspace_id: str, *, name: str = "Example Co", plan: str = "Business",
                     contacts: tuple[str, ...] = ("dana@customer.example",), compliance: tuple[str, ...] = (),
                     suspended: bool = False) -> dict[str, Any]:
    """A document shaped like the README's example, for one workspace."""
    return {
        "version": "2024-03-06",
        "customer": {"id": f"customer_{workspace_id}", "name": name, "plan_type": plan, "last_active": "10/15/2023",
                     "organization": {"name": name, "seats": 40}, "authorized_contacts": list(contacts),
                     "compliance": list(compliance), "is_suspended": suspended},
        "sections": [
            {"type": "link", "title": "Link to customer details", "description": "Application data",
             "href": "https://example.com/customer/{{ data.customer.id }}"},
            {"type": "list", "title": "Account",
             "items": [{"description": "Name", "value": "{{ data.customer.name }}"},
                       {"description": "Plan", "value": "{{ data.customer.plan_type }}"},
                       {"description": "Seats", "value": "{{ data.customer.organization.seats }}"}]},
            {"type": "action", "title": "Regenerate report", "action": "regenerate_report",
             "description": "Rebuilds last month's usage report", "confirm": "This rebuilds last month's report."},
        ],
    }


class CustomerEndpointStandIn(FaultInjection, LocalServer):
    """Serves customer-connection documents to signed requests only."""

    def __init__(self, *, secret: str = "customer-endpoint-secret") -> None:
        super().__init__()
        self.secret = secret
        self.documents: dict[str, dict[str, Any]] = {}
        self.by_email: dict[str, str] = {}
        self.action_answers: dict[str, dict[str, Any]] = {}
        self.requests: list[EndpointRequest] = []
        self.actions_run: list[dict[str, Any]] = []
        self.raw_answer: tuple[int, str, bytes] | None = None  # (status, content type, body) instead of a document
        self._seen_signatures: set[str] = set()

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_post("/customer", self._customer)
        return app

    @property
    def url(self) -> str:
        """The endpoint's URL (what CUSTOMER_CONNECTION_URL is set to)."""
        return f"{self.base_url}/customer"

    def add(self, document: dict[str, Any], *, workspace_id: str, emails: tuple[str, ...] = ()) -> None:
        """Serves `document` for the workspace and for each email."""
        self.documents[workspace_id] = document
        for email in emails:
            self.by_email[email.casefold()] = workspace_id

    def answered(self, status: int = 200) -> list[EndpointRequest]:
        """The requests answered with `status`."""
        return [r for r in self.requests if r.status == status]

    def verified(self, request: web.Request, raw: bytes) -> bool:
        """Whether the request carries a fresh signature by the shared secret, never seen before."""
        stamp = request.headers.get("X-Supportbot-Timestamp", "")
        signature = request.headers.get("X-Supportbot-Signature", "")
        if not stamp.isdigit() or abs(time.time() - int(stamp)) > REPLAY_WINDOW_SECONDS:
            return False
        expected = "v1=" + hmac.new(self.secret.encode(), f"{stamp}.".encode() + raw, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature) or signature in self._seen_signatures:
            return False
        self._seen_signatures.add(signature)
        return True

    async def _customer(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        if not self.verified(request, raw):
            self.requests.append(EndpointRequest(None, raw, 401))
            return web.json_response({"error": "bad or replayed signature"}, status=401)
        body = json.loads(raw)
        status_sent: list[int] = []

        async def record(status: int) -> None:
            status_sent.append(status)

        response = await self._with_faults(
            request, answer=lambda: self._answer(body, raw),
            refuse=lambda failure: web.json_response({"error": "injected"}, status=failure.status),
            record=record)
        self.requests.append(EndpointRequest(body, raw, status_sent[0] if status_sent else response.status))
        return response

    async def _answer(self, body: dict[str, Any], raw: bytes) -> web.StreamResponse:
        if self.raw_answer is not None:
            status, content_type, payload = self.raw_answer
            return web.Response(status=status, body=payload, content_type=content_type)
        if body.get("why") == "action":
            self.actions_run.append(body)
            return web.json_response(self.action_answers.get(str(body.get("action")), {"ok": True, "message": "Done."}))
        workspace = body.get("workspace_id") or self.by_email.get(str(body.get("email") or "").casefold())
        document = self.documents.get(str(workspace))
        if document is None:
            return web.json_response({"error": "no such customer"}, status=404)
        return web.json_response(document)

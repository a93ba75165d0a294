"""A local stand-in for Jira Cloud REST v3: creating, reading and searching issues, and sending webhooks.

It serves the same paths as ``https://<site>.atlassian.net`` and answers as Jira Cloud does: 201 with
``{"id", "key", "self"}`` for a created issue (keys numbered per project from 1), 400 with
``{"errorMessages": [...], "errors": {field: message}}`` for what Jira refuses (``jira_rules``), 401 without
valid Basic auth (email and API token), 404 for an unknown issue, 415 for a body that is not
``application/json``. Faults and latency can be injected (``FaultInjection``).

Jira calls the bot too: ``register_webhook`` names the bot's address and secret, and ``transition`` and
``comment`` send the ``jira:issue_updated`` and ``comment_created`` deliveries Jira Cloud would, signed with
``X-Hub-Signature: sha256=<hex HMAC-SHA256 of the body>`` and carrying ``X-Atlassian-Webhook-Identifier``.
``redeliver_last`` repeats the last one byte for byte, as Jira's retry does.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.sandbox.faults import Failure, FaultInjection, status_phrase
from bot.sandbox.jira_rules import JqlClause, create_issue_error, jql_matches, parse_jql, project_key
from bot.sandbox.jira_webhooks import JiraUser, JiraWebhooks, WebhookDelivery, iso_now
from bot.sandbox.local_server import LocalServer

__all__ = ["JiraRequest", "JiraStandIn", "JiraUser", "WebhookDelivery"]

# Jira Cloud answers a request with bad credentials with this plain-text line, not its JSON error shape.
AUTH_ERROR = "Client must be authenticated to access this resource."
NOT_FOUND_ERROR = "Issue does not exist or you do not have permission to see it."
INITIAL_STATUS = "To Do"
MAX_SEARCH_RESULTS = 5000
_BODY: web.RequestKey[Any] = web.RequestKey("jira_body")
_BODY_INVALID: web.RequestKey[bool] = web.RequestKey("jira_body_invalid")


@dataclass
class JiraRequest:
    """One request as it arrived, with the status answered (0: the connection was dropped)."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int
    at: float


class JiraStandIn(JiraWebhooks, FaultInjection, LocalServer):
    """An aiohttp server that behaves like a Jira Cloud site's REST v3 issue, search and webhook features."""

    def __init__(
        self,
        *,
        email: str = "bot@acme.example",
        api_token: str = "jira-sandbox-token",
        projects: dict[str, list[str]] | None = None,
    ) -> None:
        """``projects`` maps each project key to its issue type names (default ``{"SUP": ["Bug", "Task"]}``)."""
        super().__init__()
        self._email = email
        self._api_token = api_token
        self.projects: dict[str, list[str]] = (
            {k: list(v) for k, v in projects.items()} if projects is not None else {"SUP": ["Bug", "Task"]}
        )
        self.issues: list[dict[str, Any]] = []
        self.requests: list[JiraRequest] = []
        self.deliveries: list[WebhookDelivery] = []
        self._numbers: dict[str, int] = {}
        self._next_id = 10001
        self._next_comment_id = 10100
        self._webhook: tuple[str, str] | None = None

    @property
    def email(self) -> str:
        return self._email

    @property
    def api_token(self) -> str:
        return self._api_token

    def build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        app.router.add_post("/rest/api/3/issue", self._create)
        app.router.add_get("/rest/api/3/issue/{key}", self._get)
        app.router.add_post("/rest/api/3/search/jql", self._search)
        app.router.add_get("/rest/api/3/search/jql", self._search)
        return app

    # -- inspection --------------------------------------------------------------------------------------

    def issue(self, key: str) -> dict[str, Any] | None:
        """The stored issue with this key (``{"id", "key", "fields", "comments"}``), or None."""
        return next((i for i in self.issues if i["key"] == key), None)

    def reset(self) -> None:
        """Forget issues, requests, deliveries and pending faults; the server, projects and webhook stay."""
        self.issues.clear()
        self.requests.clear()
        self.deliveries.clear()
        self._numbers.clear()
        self._next_id = 10001
        self._next_comment_id = 10100
        self.clear_faults()

    def _existing(self, key: str) -> dict[str, Any]:
        issue = self.issue(key)
        if issue is None:
            raise KeyError(f"no issue {key} in the stand-in")
        return issue

    def _self(self, issue: dict[str, Any]) -> str:
        return f"{self.base_url}/rest/api/3/issue/{issue['id']}"

    # -- plumbing ----------------------------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        raw = await request.read()
        body: Any = None
        invalid = False
        if raw.strip():
            try:
                body = json.loads(raw)
            except ValueError:
                invalid = True
                body = raw.decode("utf-8", "replace")
        request[_BODY] = body
        request[_BODY_INVALID] = invalid
        return await self._with_faults(
            request,
            answer=lambda: self._answer(request, handler, raw),
            refuse=_failure_response,
            record=lambda status: self._record(request, body, status),
        )

    async def _answer(self, request: web.Request, handler: Handler, raw: bytes) -> web.StreamResponse:
        if not self._authorised(request.headers.get("Authorization")):
            return web.Response(status=401, text=AUTH_ERROR, content_type="text/plain",
                                headers={"WWW-Authenticate": 'Basic realm="protected-area"'})
        if request.method == "POST":
            if request.content_type != "application/json":
                return web.Response(status=415, text="Unsupported Media Type", content_type="text/plain")
            if request[_BODY_INVALID] or not raw.strip():
                return _errors(400, messages=["Unexpected character: the request body is not valid JSON."])
        try:
            return await handler(request)
        except web.HTTPException as exc:
            if exc.status == 404:
                return _errors(404, messages=["null for uri: " + str(request.url)])
            return _errors(exc.status, messages=[exc.reason])

    def _authorised(self, header: str | None) -> bool:
        if not header or not header.startswith("Basic "):
            return False
        try:
            decoded = base64.b64decode(header[len("Basic "):].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        email, sep, token = decoded.partition(":")
        return bool(sep) and hmac.compare_digest(email, self._email) and hmac.compare_digest(token, self._api_token)

    async def _record(self, request: web.Request, body: Any, status: int) -> None:
        self.requests.append(JiraRequest(request.method, request.path, dict(request.query), body, status,
                                         time.time()))

    # -- routes ------------------------------------------------------------------------------------------

    async def _create(self, request: web.Request) -> web.Response:
        body = request[_BODY]
        problem = create_issue_error(body, self.projects)
        if problem is not None:
            return web.json_response(problem, status=400)
        fields = body["fields"]
        project = project_key(fields, self.projects)
        assert project is not None  # create_issue_error refuses an unknown project
        number = self._numbers.get(project, 0) + 1
        self._numbers[project] = number
        issue_id = str(self._next_id)
        self._next_id += 1
        issue = {
            "id": issue_id,
            "key": f"{project}-{number}",
            "fields": {
                "project": {"key": project},
                "issuetype": {"name": fields["issuetype"]["name"]},
                "summary": fields["summary"],
                "description": fields.get("description"),
                "labels": list(fields.get("labels") or []),
                "status": {"name": INITIAL_STATUS},
                "created": iso_now(),
            },
            "comments": [],
        }
        self.issues.append(issue)
        return web.json_response({"id": issue_id, "key": issue["key"], "self": self._self(issue)}, status=201)

    async def _get(self, request: web.Request) -> web.Response:
        wanted = request.match_info["key"]
        issue = next((i for i in self.issues if wanted in (i["key"], i["id"])), None)
        if issue is None:
            return _errors(404, messages=[NOT_FOUND_ERROR])
        fields = issue["fields"]
        return web.json_response({
            "id": issue["id"], "key": issue["key"], "self": self._self(issue),
            "fields": {"summary": fields["summary"], "status": dict(fields["status"]),
                       "labels": list(fields["labels"]), "description": fields["description"],
                       "issuetype": dict(fields["issuetype"]), "project": dict(fields["project"]),
                       "created": fields["created"]},
        })

    async def _search(self, request: web.Request) -> web.Response:
        if request.method == "POST":
            query = request[_BODY]
            if not isinstance(query, dict):
                return _errors(400, messages=["The request body must be a JSON object."])
            jql, fields, limit, token = (query.get("jql"), query.get("fields"), query.get("maxResults", 50),
                                         query.get("nextPageToken"))
        else:
            jql = request.query.get("jql")
            fields = [f for f in request.query.get("fields", "").split(",") if f]
            limit, token = request.query.get("maxResults", "50"), request.query.get("nextPageToken")
        try:
            size = min(MAX_SEARCH_RESULTS, max(1, int(limit)))
            start = int(token) if token else 0
        except (TypeError, ValueError):
            return _errors(400, messages=["maxResults and nextPageToken must be numbers."])
        if not isinstance(jql, str):
            return _errors(400, messages=[
                "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."])
        try:
            clauses = parse_jql(jql)
        except ValueError as exc:
            return _errors(400, messages=[str(exc)])
        found = [i for i in self.issues if self._matches(i, clauses)]
        page = found[start:start + size]
        wanted = fields if isinstance(fields, list) else []
        result: dict[str, Any] = {"issues": [self._search_hit(i, wanted) for i in page],
                                  "isLast": start + size >= len(found)}
        if not result["isLast"]:
            result["nextPageToken"] = str(start + size)
        return web.json_response(result)

    @staticmethod
    def _matches(issue: dict[str, Any], clauses: list[JqlClause]) -> bool:
        fields = issue["fields"]

        def values_of(name: str) -> list[str]:
            return {
                "labels": list(fields["labels"]),
                "project": [fields["project"]["key"]],
                "key": [issue["key"], issue["id"]],
                "status": [fields["status"]["name"]],
                "issuetype": [fields["issuetype"]["name"]],
            }.get(name, [])

        return jql_matches(clauses, values_of)

    def _search_hit(self, issue: dict[str, Any], wanted: list[Any]) -> dict[str, Any]:
        hit: dict[str, Any] = {"id": issue["id"], "key": issue["key"], "self": self._self(issue)}
        shown = {name: issue["fields"][name] for name in wanted
                 if isinstance(name, str) and name in issue["fields"]}
        if shown:
            hit["fields"] = shown
        return hit


def _errors(status: int, *, messages: list[str] | None = None, errors: dict[str, str] | None = None,
            headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"errorMessages": messages or [], "errors": errors or {}}, status=status,
                             headers=headers)


def _failure_response(failure: Failure) -> web.StreamResponse:
    return _errors(failure.status, messages=[status_phrase(failure.status)], headers=failure.headers)

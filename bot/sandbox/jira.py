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
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.typedefs import Handler

from bot.sandbox.faults import DROP_CONNECTION, Failure, FaultInjection, status_phrase
from bot.sandbox.jira_rules import JqlClause, create_issue_error, jql_matches, parse_jql, project_key
from bot.sandbox.local_server import LocalServer

# Jira Cloud answers a request with bad credentials with this plain-text line, not its JSON error shape.
AUTH_ERROR = "Client must be authenticated to access this resource."
NOT_FOUND_ERROR = "Issue does not exist or you do not have permission to see it."
INITIAL_STATUS = "To Do"
MAX_SEARCH_RESULTS = 5000
_BODY: web.RequestKey[Any] = web.RequestKey("jira_body")
_BODY_INVALID: web.RequestKey[bool] = web.RequestKey("jira_body_invalid")


@dataclass(frozen=True)
class JiraUser:
    """A Jira account acting in the stand-in; ``email`` None when the profile hides it, as Jira allows."""

    account_id: str
    display_name: str
    email: str | None


@dataclass
class JiraRequest:
    """One request as it arrived, with the status answered (0: the connection was dropped)."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int
    at: float


@dataclass
class WebhookDelivery:
    """One webhook sent to the bot: its identifier, exact body and headers, and the bot's status (0: no answer)."""

    identifier: str
    url: str
    body: bytes
    headers: dict[str, str]
    status: int
    payload: dict[str, Any] = field(default_factory=dict)


class JiraStandIn(FaultInjection, LocalServer):
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

    # -- webhooks: Jira calling the bot ------------------------------------------------------------------

    def register_webhook(self, url: str, secret: str) -> None:
        """Send issue events to ``url``, signed with ``secret``; replaces any webhook registered before."""
        self._webhook = (url, secret)

    async def transition(self, key: str, status: str, *, by: JiraUser) -> int:
        """Move the issue to ``status`` and deliver ``jira:issue_updated``; the bot's HTTP status (0: no answer)."""
        issue = self._existing(key)
        before = issue["fields"]["status"]["name"]
        issue["fields"]["status"] = {"name": status}
        payload = {
            "timestamp": _millis(),
            "webhookEvent": "jira:issue_updated",
            "issue_event_type_name": "issue_generic",
            "user": self._user_json(by),
            "issue": self._webhook_issue(issue),
            "changelog": {
                "id": str(self._take_comment_id()),
                "items": [{"field": "status", "fieldtype": "jira", "fieldId": "status",
                           "from": _status_id(before), "fromString": before,
                           "to": _status_id(status), "toString": status}],
            },
        }
        return await self._deliver(payload)

    async def comment(self, key: str, body: str, *, by: JiraUser) -> int:
        """Add a comment and deliver ``comment_created``; the bot's HTTP status (0: no answer)."""
        issue = self._existing(key)
        comment_id = str(self._take_comment_id())
        now = _iso_now()
        author = self._user_json(by)
        comment = {
            "self": f"{self.base_url}/rest/api/3/issue/{issue['id']}/comment/{comment_id}",
            "id": comment_id,
            "author": author,
            "updateAuthor": author,
            "body": {"type": "doc", "version": 1,
                     "content": [{"type": "paragraph", "content": [{"type": "text", "text": body}] if body else []}]},
            "created": now,
            "updated": now,
            "jsdPublic": True,
        }
        issue["comments"].append(comment)
        payload = {"timestamp": _millis(), "webhookEvent": "comment_created", "comment": comment,
                   "issue": self._webhook_issue(issue)}
        return await self._deliver(payload)

    async def redeliver_last(self) -> int:
        """Send the last delivery again, same bytes, signature and identifier, as Jira's retry does."""
        if not self.deliveries:
            raise RuntimeError("nothing has been delivered yet")
        last = self.deliveries[-1]
        headers = dict(last.headers)
        retries = sum(1 for d in self.deliveries if d.identifier == last.identifier)
        headers["X-Atlassian-Webhook-Retry"] = str(retries)
        return await self._post(last.url, last.identifier, last.body, headers, last.payload)

    async def _deliver(self, payload: dict[str, Any]) -> int:
        if self._webhook is None:
            raise RuntimeError("no webhook registered: call register_webhook(url, secret) first")
        url, secret = self._webhook
        body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
        identifier = str(secrets.randbelow(10**12))
        signature = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
        headers = {"Content-Type": "application/json; charset=utf-8",
                   "User-Agent": "Atlassian Webhook HTTP Client",
                   "X-Atlassian-Webhook-Identifier": identifier,
                   "X-Hub-Signature": f"sha256={signature}"}
        return await self._post(url, identifier, body, headers, payload)

    async def _post(self, url: str, identifier: str, body: bytes, headers: dict[str, str],
                    payload: dict[str, Any]) -> int:
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session, \
                    session.post(url, data=body, headers=headers) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError):
            status = DROP_CONNECTION
        self.deliveries.append(WebhookDelivery(identifier, url, body, headers, status, payload))
        return status

    def _existing(self, key: str) -> dict[str, Any]:
        issue = self.issue(key)
        if issue is None:
            raise KeyError(f"no issue {key} in the stand-in")
        return issue

    def _take_comment_id(self) -> int:
        self._next_comment_id += 1
        return self._next_comment_id

    def _user_json(self, user: JiraUser) -> dict[str, Any]:
        data: dict[str, Any] = {
            "self": f"{self.base_url}/rest/api/2/user?accountId={user.account_id}",
            "accountId": user.account_id,
            "displayName": user.display_name,
            "active": True,
            "timeZone": "UTC",
            "accountType": "atlassian",
        }
        # Jira leaves emailAddress out altogether when the profile hides it.
        if user.email is not None:
            data["emailAddress"] = user.email
        return data

    def _webhook_issue(self, issue: dict[str, Any]) -> dict[str, Any]:
        fields = issue["fields"]
        return {"id": issue["id"], "self": self._self(issue), "key": issue["key"],
                "fields": {"summary": fields["summary"], "status": dict(fields["status"]),
                           "labels": list(fields["labels"]), "issuetype": dict(fields["issuetype"]),
                           "project": dict(fields["project"])}}

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
                "created": _iso_now(),
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


def _status_id(name: str) -> str:
    """A stable numeric-looking status ID, as Jira's changelog carries IDs beside the names."""
    return str(10000 + int(hashlib.sha256(name.encode("utf-8")).hexdigest()[:4], 16) % 1000)


def _millis() -> int:
    return int(time.time() * 1000)


def _iso_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"

"""Jira Cloud over REST v3: filing issues, finding one again by label, and reading Jira's webhooks.

Webhooks come with `X-Hub-Signature: sha256=<hex HMAC of the raw body>` when the webhook has a secret, and
`X-Atlassian-Webhook-Identifier`, which stays the same when Jira retries a delivery: the caller deduplicates on it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import httpx

from bot.core.errors import OutsideServiceError
from bot.core.metrics import counted
from bot.integrations.retries import retry_after_seconds, with_retries

SERVICE = "Jira"

# A project key is an uppercase letter then letters, digits or underscores; issue numbers have no leading zero.
_KEY = r"[A-Z][A-Z0-9_]+-[1-9][0-9]*"
_KEY_RE = re.compile(_KEY)
_SIGNATURE_RE = re.compile(r"sha256=([0-9a-fA-F]{64})")


@dataclass(frozen=True)
class JiraIssueDraft:
    """An issue to file: project key, issue type name, one-line summary, ADF description and labels."""

    project: str
    issue_type: str
    summary: str
    description: dict[str, Any]
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class JiraIssue:
    """An issue Jira has: its key (`SUP-123`) and its browse link."""

    key: str
    url: str


@dataclass(frozen=True)
class JiraPerson:
    """Who did something in Jira, as far as the webhook tells: email is often withheld for privacy."""

    account_id: str | None
    display_name: str | None
    email: str | None


@dataclass(frozen=True)
class JiraEvent:
    """One thing that happened to an issue: its status changed (to `status`) or someone commented (status None)."""

    issue_key: str
    kind: Literal["status", "comment"]
    status: str | None
    person: JiraPerson
    delivery_id: str | None


class Jira:
    """A Jira Cloud site over REST v3 with an API token; 429/5xx/network failures are retried a few times."""

    def __init__(self, *, base_url: str, email: str, api_token: str, http: httpx.AsyncClient | None = None,
                 attempts: int = 3, timeout: float = 10.0) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("the Jira base URL must be an http(s) address such as https://acme.atlassian.net")
        self._base = base_url.rstrip("/")
        self._email = email
        self._auth = httpx.BasicAuth(email, api_token)
        self._http = http or httpx.AsyncClient(timeout=timeout)
        self._attempts = max(1, attempts)

    def __repr__(self) -> str:
        return f"Jira(base_url={self._base!r}, email={self._email!r})"

    def issue_url(self, key: str) -> str:
        """The issue's page for people: `{base_url}/browse/{key}`."""
        return f"{self._base}/browse/{key}"

    async def close(self) -> None:
        """Closes the HTTP client, one passed in too; make no calls after this."""
        await self._http.aclose()

    async def create_issue(self, draft: JiraIssueDraft) -> JiraIssue:
        """Files the issue and returns its key and link; raises OutsideServiceError once retries run out or on a 4xx.

        Jira has no idempotency key: an answer lost after Jira made the issue can make a second one on the retry.
        Give the draft a label unique to it so a later attempt can `find_issue_by_label` first.
        """
        fields: dict[str, Any] = {
            "project": {"key": draft.project},
            "issuetype": {"name": draft.issue_type},
            "summary": draft.summary,
            "description": draft.description,
        }
        if draft.labels:
            fields["labels"] = list(draft.labels)
        data = await self._request("POST", "/rest/api/3/issue", {"fields": fields})
        key = data.get("key") if isinstance(data, dict) else None
        if not isinstance(key, str) or not key:
            # Not retried: Jira may well have made the issue, and a second POST would file it twice.
            raise OutsideServiceError(SERVICE, "POST /rest/api/3/issue answered without an issue key",
                                      retryable=False)
        return JiraIssue(key=key, url=self.issue_url(key))

    async def find_issue_by_label(self, label: str) -> JiraIssue | None:
        """The first issue carrying `label`, or None; used to pick up an issue an interrupted attempt filed."""
        body = {"jql": f"labels = {_jql_string(label)}", "fields": ["key"], "maxResults": 1}
        data = await self._request("POST", "/rest/api/3/search/jql", body)
        issues = data.get("issues") if isinstance(data, dict) else None
        for issue in issues if isinstance(issues, list) else []:
            key = issue.get("key") if isinstance(issue, dict) else None
            if isinstance(key, str) and key:
                return JiraIssue(key=key, url=self.issue_url(key))
        return None

    async def _request(self, method: str, path: str, body: dict[str, Any]) -> Any:
        return await with_retries(lambda: self._once(method, path, body), attempts=self._attempts, base=0.25,
                                  cap=2.0)

    async def _once(self, method: str, path: str, body: dict[str, Any]) -> Any:
        try:
            response = await counted("jira", self._http.request(method, self._base + path, json=body, auth=self._auth,
                                                                headers={"Accept": "application/json"}))
        except httpx.HTTPError as exc:
            raise OutsideServiceError(SERVICE, f"{method} {path} failed: {type(exc).__name__}",
                                      retryable=True) from None
        status = response.status_code
        if status == 429 or status >= 500:
            error = OutsideServiceError(SERVICE, f"{method} {path} answered HTTP {status}", status=status,
                                        retryable=True)
            error.retry_after = retry_after_seconds(response.headers.get("Retry-After"))  # type: ignore[attr-defined]
            raise error
        if status >= 400:
            raise OutsideServiceError(SERVICE, f"{method} {path} answered HTTP {status}: {_summarise(response)}",
                                      status=status, retryable=False)
        try:
            return response.json()
        except ValueError:
            raise OutsideServiceError(SERVICE, f"{method} {path} answered HTTP {status} without JSON",
                                      status=status, retryable=False) from None


def issue_key_of(text: str) -> str | None:
    """The issue key in `SUP-123`, `https://acme.atlassian.net/browse/SUP-123` or a board link with
    `?selectedIssue=SUP-123`; None for anything else (lowercase keys included: Jira keys are uppercase)."""
    value = text.strip()
    if _KEY_RE.fullmatch(value):
        return value
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    selected = parse_qs(parts.query).get("selectedIssue", [])
    if len(selected) == 1 and _KEY_RE.fullmatch(selected[0]):
        return selected[0]
    segments = [s for s in parts.path.split("/") if s]
    if len(segments) >= 2 and segments[-2] == "browse" and _KEY_RE.fullmatch(segments[-1]):
        return segments[-1]
    return None


def verify_webhook_signature(secret: str, body: bytes, header: str | None) -> bool:
    """Whether `X-Hub-Signature` is `sha256=` and the HMAC-SHA256 of the raw body under `secret`.

    Missing or malformed headers, and an empty secret (anyone could sign with it), are refused.
    """
    if not secret or not header:
        return False
    match = _SIGNATURE_RE.fullmatch(header.strip())
    if match is None:
        return False
    expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, match.group(1).lower())


def parse_webhook(payload: Any, *, delivery_id: str | None) -> list[JiraEvent]:
    """The status changes and new comments in a Jira Cloud webhook body; [] for other or malformed bodies.

    `delivery_id` is the delivery's `X-Atlassian-Webhook-Identifier`, the same on each of Jira's retries.
    """
    if not isinstance(payload, dict):
        return []
    issue = payload.get("issue")
    key = issue.get("key") if isinstance(issue, dict) else None
    if not isinstance(key, str) or not _KEY_RE.fullmatch(key):
        return []
    event = payload.get("webhookEvent")
    if event == "jira:issue_updated":
        changelog = payload.get("changelog")
        items = changelog.get("items") if isinstance(changelog, dict) else None
        changes = items if isinstance(items, list) else []
        change = next((i for i in changes if isinstance(i, dict) and i.get("field") == "status"), None)
        if change is None:
            # Edits, comments (issue_commented) and the like also come as issue_updated: not a status change.
            return []
        status = _str(change.get("toString")) or _current_status(issue)
        return [JiraEvent(issue_key=key, kind="status", status=status, person=_person(payload.get("user")),
                          delivery_id=delivery_id)]
    if event == "comment_created":
        comment = payload.get("comment")
        author = comment.get("author") if isinstance(comment, dict) else None
        return [JiraEvent(issue_key=key, kind="comment", status=None, person=_person(author),
                          delivery_id=delivery_id)]
    return []


def _current_status(issue: Any) -> str | None:
    fields = issue.get("fields") if isinstance(issue, dict) else None
    status = fields.get("status") if isinstance(fields, dict) else None
    return _str(status.get("name")) if isinstance(status, dict) else None


def _person(user: Any) -> JiraPerson:
    if not isinstance(user, dict):
        return JiraPerson(account_id=None, display_name=None, email=None)
    return JiraPerson(account_id=_str(user.get("accountId")), display_name=_str(user.get("displayName")),
                      email=_str(user.get("emailAddress")))


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _jql_string(value: str) -> str:
    """A JQL string literal: quotes and backslashes escaped so a label cannot change the query."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _summarise(response: httpx.Response) -> str:
    """Jira's `errorMessages` and per-field `errors` in one line, or the start of a body that is not JSON."""
    try:
        data = response.json()
    except ValueError:
        return response.text.strip()[:200] or response.reason_phrase
    if not isinstance(data, dict):
        return str(data)[:200]
    parts: list[str] = []
    messages = data.get("errorMessages")
    if isinstance(messages, list):
        parts.extend(str(m) for m in messages if m)
    errors = data.get("errors")
    if isinstance(errors, dict):
        parts.extend(f"{field}: {message}" for field, message in errors.items())
    return "; ".join(parts)[:500] or response.reason_phrase

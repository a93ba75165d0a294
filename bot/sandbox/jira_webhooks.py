"""Jira calling the bot: the stand-in's webhook sender. ``register_webhook`` names the bot's address and secret;
``transition`` and ``comment`` send the ``jira:issue_updated`` and ``comment_created`` deliveries Jira Cloud
would, signed with ``X-Hub-Signature: sha256=<hex HMAC-SHA256 of the body>`` and carrying
``X-Atlassian-Webhook-Identifier``; ``redeliver_last`` repeats the last one byte for byte, as Jira's retry does."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import aiohttp

from bot.sandbox.faults import DROP_CONNECTION


@dataclass(frozen=True)
class JiraUser:
    """A Jira account acting in the stand-in; ``email`` None when the profile hides it, as Jira allows."""

    account_id: str
    display_name: str
    email: str | None


@dataclass
class WebhookDelivery:
    """One webhook sent to the bot: its identifier, exact body and headers, and the bot's status (0: no answer)."""

    identifier: str
    url: str
    body: bytes
    headers: dict[str, str]
    status: int
    payload: dict[str, Any] = field(default_factory=dict)


class JiraWebhooks:
    """Mixed into the Jira stand-in: what it sends to the bot, and the record of each delivery."""

    deliveries: list[WebhookDelivery]
    _webhook: tuple[str, str] | None
    _next_comment_id: int

    if TYPE_CHECKING:
        @property
        def base_url(self) -> str:
            """The stand-in's own address."""
            ...

        def _existing(self, key: str) -> dict[str, Any]: ...

        def _self(self, issue: dict[str, Any]) -> str: ...

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
        now = iso_now()
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



def _status_id(name: str) -> str:
    """A stable numeric-looking status ID, as Jira's changelog carries IDs beside the names."""
    return str(10000 + int(hashlib.sha256(name.encode("utf-8")).hexdigest()[:4], 16) % 1000)


def _millis() -> int:
    return int(time.time() * 1000)


def iso_now() -> str:
    """Now, as Jira writes timestamps."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"

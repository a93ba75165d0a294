"""Plain records of what the Slack sandbox has seen, plus the id/ts generators Slack-shaped data needs."""

from __future__ import annotations

import secrets
import string
import time
from dataclasses import dataclass, field
from typing import Any

_ID_ALPHABET = string.ascii_uppercase + string.digits


def slack_id(prefix: str, length: int = 10) -> str:
    """An id shaped like Slack's ("C" + 10 upper-case alphanumerics): code sniffing prefixes still works."""
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


class TsClock:
    """Message timestamps: close to wall-clock time (bots derive dates from them) yet strictly increasing."""

    def __init__(self) -> None:
        self._last_us = 0

    def next(self) -> str:
        now_us = int(time.time() * 1_000_000)
        # Slack's ts granularity is effectively 100us; stepping by 100 keeps the strings realistic.
        self._last_us = max(now_us - now_us % 100, self._last_us + 100)
        return f"{self._last_us // 1_000_000}.{self._last_us % 1_000_000:06d}"


@dataclass
class User:
    id: str
    name: str
    real_name: str
    email: str | None
    tz: str
    is_bot: bool = False

    def to_api(self, team_id: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "team_id": team_id,
            "name": self.name,
            "real_name": self.real_name,
            "tz": self.tz,
            "deleted": False,
            "is_bot": self.is_bot,
            "profile": {
                "email": self.email,
                "real_name": self.real_name,
                "display_name": self.name,
                "real_name_normalized": self.real_name,
                "display_name_normalized": self.name,
            },
        }


@dataclass
class Channel:
    id: str
    name: str
    is_private: bool = False
    topic: str = ""
    purpose: str = ""
    members: list[str] = field(default_factory=list)
    created_by: str | None = None
    created_at: float = field(default_factory=time.time)
    is_im: bool = False
    is_archived: bool = False

    def to_api(self, bot_user_id: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "name_normalized": self.name,
            "is_channel": not self.is_private and not self.is_im,
            "is_group": self.is_private,
            "is_im": self.is_im,
            "is_mpim": False,
            "is_private": self.is_private or self.is_im,
            "is_archived": self.is_archived,
            "is_general": self.name == "general",
            "is_member": bot_user_id in self.members,
            "created": int(self.created_at),
            "creator": self.created_by or "",
            "topic": {"value": self.topic, "creator": "", "last_set": 0},
            "purpose": {"value": self.purpose, "creator": "", "last_set": 0},
            "num_members": len(self.members),
        }


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None
    user: str
    edits: list[dict[str, Any]] = field(default_factory=list)
    metadata: dict[str, Any] | None = None
    files: list[dict[str, Any]] | None = None  # shared with files.completeUploadExternal

    def to_api(self, team_id: str, bot_id: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": "message",
            "user": self.user,
            "ts": self.ts,
            "text": self.text,
            "blocks": self.blocks,
            "team": team_id,
        }
        if bot_id is not None:
            body["bot_id"] = bot_id
        if self.thread_ts is not None:
            body["thread_ts"] = self.thread_ts
        if self.edits:
            body["edited"] = {"user": self.user, "ts": self.edits[-1]["edited_ts"]}
        if self.metadata is not None:
            body["metadata"] = self.metadata
        if self.files is not None:
            body["files"] = self.files
        return body


@dataclass
class Ephemeral:
    channel: str
    user: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None
    # Slack hands back a message_ts for ephemerals; block_actions on them carry it in the container.
    ts: str = ""
    sender: str = ""


@dataclass
class View:
    id: str
    user: str
    view: dict[str, Any]
    hash: str
    previous_view_id: str | None
    root_view_id: str
    closed: bool = False
    external_id: str = ""
    # What the person typed or chose and has not submitted yet, by block ID (friendly values, as tests give
    # them). Slack keeps these across views.update for every input whose block_id and action_id stay the same.
    typed: dict[str, Any] = field(default_factory=dict)

    def to_api(self) -> dict[str, Any]:
        body = dict(self.view)
        body.update(
            id=self.id,
            hash=self.hash,
            previous_view_id=self.previous_view_id,
            root_view_id=self.root_view_id,
            external_id=self.external_id,
        )
        return body


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float
    ok: bool
    error: str | None


@dataclass
class LogEntry:
    """A snapshot for the transcript; Message objects mutate on edit, the transcript must not."""

    kind: str
    channel: str
    user: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None
    note: str = ""
    at: float = field(default_factory=time.time)


@dataclass
class Trigger:
    issued_at: float
    user: str | None
    view_id: str | None
    used: bool = False


@dataclass
class ResponseTarget:
    channel: str
    user: str
    message_ts: str | None
    is_ephemeral: bool
    uses: int = 0

"""What a customer's Slack message prefills in the intake modal: the summary, what happened and the workspace ID.

Pure: no I/O, so every rule here is tested without Slack.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from blocks.ids import TicketField
from blocks.ticket_modal import TEXT_MAX
from bot.core.plain import plain_text
from bot.core.redaction import redact
from bot.tickets.intake import FIELD_MAX, SUMMARY_MAX

# Our workspace IDs look like ws_4f2a9c; the look-arounds keep "aws_key" or "ws_1x_old" from matching in part.
_WS_ID = re.compile(r"(?<![A-Za-z0-9_])(ws_[a-z0-9]+)(?![A-Za-z0-9_])", re.IGNORECASE)
_ID = r"[`'\"“]?([A-Za-z0-9][A-Za-z0-9_-]{2,99})"
# "workspace ID: acme-prod-7", "workspace id is 8812": the words say it is an ID, so any shape counts.
_NAMED_ID = re.compile(r"\bworkspace[\s_-]+id\b\s*(?:[:#=]\s*|is\s+|\s)\s*" + _ID, re.IGNORECASE)
# "workspace 8812", "workspace: acme-42": only with a digit in it, so "workspace is down" names nothing.
_NAMED = re.compile(r"\bworkspace\b\s*(?:[:#=]\s*|\s)\s*" + _ID, re.IGNORECASE)
_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))  # Slack escapes these three, `&` last


def workspace_id_in(text: str) -> str | None:
    """The customer's workspace ID when the text names one (`ws_…`, "workspace ID: …", "workspace 8812");
    None otherwise."""
    if match := _WS_ID.search(text):
        return match.group(1)
    if match := _NAMED_ID.search(text):
        return match.group(1)
    for match in _NAMED.finditer(text):
        if any(c.isdigit() for c in match.group(1)):
            return match.group(1)
    return None


def readable(text: str) -> str:
    """A message's text as its author sees it: Slack's markup spelled out and its three entities unescaped."""
    plain = plain_text(text)
    for entity, character in _ENTITIES:
        plain = plain.replace(entity, character)
    return plain.strip()


def first_line(text: str, limit: int = SUMMARY_MAX) -> str:
    """The first non-empty line, cut to `limit` characters (with an ellipsis when cut)."""
    line = next((candidate.strip() for candidate in text.splitlines() if candidate.strip()), "")
    return line if len(line) <= limit else line[:limit - 1].rstrip() + "…"


@dataclass(frozen=True)
class MessagePrefill:
    """The intake modal's starting values taken from a message, credentials already removed."""

    summary: str
    what_happened: str
    workspace_id: str
    redactions: tuple[str, ...]


def prefill_from_message(text: str) -> MessagePrefill:
    """The summary (the first line), what happened (the whole text) and the workspace ID it names, each within
    its field's limit and redacted as at intake; what was removed is listed."""
    redacted = redact(readable(text))
    workspace = workspace_id_in(redacted.text) or ""
    return MessagePrefill(
        summary=first_line(redacted.text), what_happened=redacted.text[:TEXT_MAX],
        workspace_id=workspace if len(workspace) <= FIELD_MAX[TicketField.WORKSPACE_ID] else "",
        redactions=redacted.kinds)

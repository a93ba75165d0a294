"""How log lines look, and what each carries beside its message: the ticket and the Slack request it belongs to.

`LOG_FORMAT=json` writes one JSON object per line (time, level, logger, message, and `ticket` and
`slack_request_id` when known), for a log shipper; the default is one human-readable line per event, for a
terminal. The ticket number and the request ID live in context variables: asyncio copies the context into
every task it creates, so work a request spawns (Bolt runs listeners in their own tasks) logs with them too.

The Slack request ID is Slack's own identifier where the body has one (`event_id` for Events API deliveries,
the same on each of Slack's retries; `trigger_id` for commands and interactions), otherwise one made here
(`sb-` and 12 hex digits): Slack sends no request-ID header over HTTP.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import uuid
from collections.abc import Iterator, Mapping
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import Any

from bot.core.log_policy import PAYLOAD_LOGGERS

REQUEST_ID: ContextVar[str | None] = ContextVar("supportbot_slack_request_id", default=None)
TICKET: ContextVar[int | None] = ContextVar("supportbot_ticket", default=None)
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s%(context)s"
FORMATS = ("text", "json")


def new_request_id() -> str:
    """An ID for a request that carries none of Slack's."""
    return f"sb-{uuid.uuid4().hex[:12]}"


def slack_request_id(body: Mapping[str, Any]) -> str | None:
    """Slack's own identifier of a parsed request body: `event_id` for events, `trigger_id` for commands and
    interactions; None for the rest (options requests, view_closed)."""
    for field in ("event_id", "trigger_id"):
        value = body.get(field)
        if isinstance(value, str) and value and len(value) <= 100:
            return value
    return None


def bind_request(request_id: str) -> Token[str | None]:
    """Names the Slack request this task (and what it spawns from here on) works for; reset with the token."""
    return REQUEST_ID.set(request_id)


def bind_ticket(number: int | None) -> None:
    """Names the ticket this task works on, for its remaining lines and those of tasks it spawns from here on."""
    if number is not None:
        TICKET.set(number)


@contextlib.contextmanager
def ticket_context(number: int | None) -> Iterator[None]:
    """The ticket for the lines inside the block only (a scheduler tick works through many tickets in one task)."""
    token = TICKET.set(number)
    try:
        yield
    finally:
        TICKET.reset(token)


class PayloadFloor(logging.Filter):
    """Drops what the payload-logging libraries say below their floor (bot/core/log_policy.py), at the handler:
    a library that sets its own logger's level (Bolt copies one onto each app's logger) cannot get past it."""

    def filter(self, record: logging.LogRecord) -> bool:
        """False for a record from a payload logger (or one of its children) below that logger's floor."""
        name = record.name
        while name:
            floor = PAYLOAD_LOGGERS.get(name)
            if floor is not None:
                return record.levelno >= floor
            name = name.rpartition(".")[0]
        return True


# Library warnings that are not news. Bolt reads SLACK_BOT_TOKEN from the environment by itself, then warns at
# every start that the client we hand it (made with that very token) wins. APScheduler warns when a tick is
# skipped because the one before still runs: by design (one tick at a time; the running one fires whatever is
# due), and on a busy database it would say so at every tick (the tick is the only job).
KNOWN_NOISE = (("slack_bolt", "As you gave `client` as well"),
               ("apscheduler", 'Execution of job "%s" skipped: maximum number of running instances'))


class KnownNoise(logging.Filter):
    """Drops the library warnings in KNOWN_NOISE."""

    def filter(self, record: logging.LogRecord) -> bool:
        """False for a record KNOWN_NOISE names (by logger prefix and the start of its message)."""
        message = str(record.msg)
        return not any(record.name.startswith(name) and message.startswith(start) for name, start in KNOWN_NOISE)


class ContextFilter(logging.Filter):
    """Copies the ticket and request ID onto every record the handler writes, whichever logger made it."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Always True: it adds `ticket`, `slack_request_id` and `context` (their text form) to the record."""
        ticket, request_id = TICKET.get(), REQUEST_ID.get()
        parts = [f"ticket=#{ticket}"] if ticket is not None else []
        if request_id is not None:
            parts.append(f"slack_request_id={request_id}")
        record.__dict__.update(ticket=ticket, slack_request_id=request_id,
                               context=f" [{' '.join(parts)}]" if parts else "")
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line: a traceback rides in `exception`, newlines escaped."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        for field in ("ticket", "slack_request_id"):
            value = getattr(record, field, None)
            if value is not None:
                line[field] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """Today's human-readable line, with the ticket and request ID at its end; newlines in a message are escaped
    so that text someone typed cannot start a line of its own (a traceback still follows on its own lines)."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:
        """The line, the message's newlines escaped."""
        message = record.message.replace("\r", "\\r").replace("\n", "\\n")
        return TEXT_FORMAT % {**record.__dict__, "message": message, "context": getattr(record, "context", "")}


def handler_for(format_name: str | None) -> logging.Handler:
    """A stderr handler writing `format_name` ("json", or "text" by default) with the context on every line."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(PayloadFloor())
    handler.addFilter(KnownNoise())
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if (format_name or "").strip().lower() == "json" else TextFormatter())
    return handler


def configure(format_name: str | None, level: str | int | None = None) -> None:
    """Sets up the root logger once, as `logging.basicConfig` does: nothing changes when it has a handler
    already (a benchmark that configured it first keeps its own). `level`: a name such as "DEBUG" (INFO when
    empty or unknown)."""
    root = logging.getLogger()
    if root.handlers:
        return
    root.addHandler(handler_for(format_name))
    resolved = logging.getLevelName(level.strip().upper()) if isinstance(level, str) and level.strip() else level
    root.setLevel(resolved if isinstance(resolved, int) else logging.INFO)
    if (format_name or "").strip().lower() not in ("", *FORMATS):
        logging.getLogger("supportbot").warning("LOG_FORMAT=%s is not one of %s: writing text", format_name,
                                                ", ".join(FORMATS))

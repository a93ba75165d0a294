"""What may reach a log line. The Slack SDK and Bolt log whole request and response bodies at DEBUG, and
httpx/httpcore log what they send: those bodies carry what people typed and what the customer endpoint
answered, so those loggers never go below INFO, whatever level the rest of the process runs at."""

from __future__ import annotations

import logging

# The lowest level each may log at: httpx says every request at INFO, which is noise rather than news.
PAYLOAD_LOGGERS = {"slack_sdk": logging.INFO, "slack_bolt": logging.INFO, "httpx": logging.WARNING,
                   "httpcore": logging.WARNING,
                   # PagerDuty's client uses the httpx2 fork; the database drivers say each statement's
                   # parameters at DEBUG (what was typed into a ticket), SQLAlchemy at INFO when echoing.
                   "httpx2": logging.WARNING, "httpcore2": logging.WARNING, "aiosqlite": logging.INFO,
                   "asyncpg": logging.INFO, "sqlalchemy.engine": logging.WARNING}


def keep_payloads_out_of_logs() -> None:
    """Raises the payload-logging libraries to their floor (a stricter level set by an operator stays)."""
    for name, floor in PAYLOAD_LOGGERS.items():
        logger = logging.getLogger(name)
        if logger.level < floor:
            logger.setLevel(floor)

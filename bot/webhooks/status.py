"""`supportbot webhooks status`: each URL's backlog and last error, read from the database, the bot not started."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

from storage.db import create_engine, create_sessionmaker
from storage.repositories import outbox


def shown_url(url: str) -> str:
    """The URL without its query or user info, which can carry a token that has no place on a terminal."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port is not None:
        netloc = f"{netloc}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def age(span: timedelta) -> str:
    """A duration the way people say it: 45s, 12m 5s, 3h 20m, 2d 4h."""
    seconds = max(int(span.total_seconds()), 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def render(backlogs: list[outbox.Backlog], *, now: datetime) -> list[str]:
    """The report's lines: per URL, its backlog and its last error."""
    if not backlogs:
        return ["no webhook events recorded"]
    lines: list[str] = []
    for b in backlogs:
        lines.append(shown_url(b.url))
        if b.undelivered and b.oldest_undelivered_at is not None:
            lines.append(f"  backlog: {b.undelivered} undelivered, oldest {age(now - b.oldest_undelivered_at)} old "
                         f"(since {_when(b.oldest_undelivered_at)}); {b.delivered} delivered")
        else:
            lines.append(f"  backlog: none; {b.delivered} delivered")
        if b.last_error is not None and b.last_error_at is not None:
            lines.append(f"  last error: {_when(b.last_error_at)}: {b.last_error}")
        else:
            lines.append("  last error: none")
    return lines


async def status_lines(database_url: str, *, now: datetime | None = None) -> list[str]:
    """Reads the outbox at `database_url` and renders the report."""
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            backlogs = await outbox.backlog(session)
    finally:
        await engine.dispose()
    return render(backlogs, now=now or datetime.now(UTC))

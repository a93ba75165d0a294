"""One-click diagnostics for an escalation: the configured Sentry and logs links, filled from the ticket."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.core.config import Links
from bot.core.url_template import fill

# How far either side of the moment the customer saw the problem the links look.
WINDOW = timedelta(minutes=15)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class DiagnosticLink:
    """A named link to a diagnostics tool ("Sentry", "Logs"), ready to click."""

    name: str
    url: str


def diagnostic_links(links: Links, *, workspace_id: str, request_id: str | None,
                     around: datetime) -> list[DiagnosticLink]:
    """The configured links, Sentry first, with the workspace, request and a window of `WINDOW` either side of
    `around` filled in (URL-encoded); a link the configuration leaves out is left out.

    `{start}`/`{end}` are ISO 8601 UTC seconds ("2026-11-23T18:45:00Z"), `{start_ms}`/`{end_ms}` Unix
    milliseconds, `{request_id}` is empty when unknown. A naive `around` is read as UTC.
    """
    moment = around.replace(tzinfo=UTC) if around.tzinfo is None else around.astimezone(UTC)
    start, end = moment - WINDOW, moment + WINDOW
    values = {
        "workspace_id": workspace_id,
        "request_id": request_id or "",
        "start": _iso(start),
        "end": _iso(end),
        "start_ms": str(_unix_ms(start)),
        "end_ms": str(_unix_ms(end)),
    }
    named = (("Sentry", links.sentry), ("Logs", links.logs))
    return [DiagnosticLink(name=name, url=fill(template, values)) for name, template in named if template]


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _unix_ms(moment: datetime) -> int:
    # Integer arithmetic on timedeltas: a float timestamp can be off by one millisecond.
    return (moment - _EPOCH) // timedelta(milliseconds=1)

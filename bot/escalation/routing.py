"""Which team owns an escalation: CODEOWNERS-style rules over components and URL paths.

The component the agent picked names a team outright. The reported URL or endpoint is matched against every
team's `paths` globs, flattened in file order, and the last match wins, as in a CODEOWNERS file: general
patterns come first and the specific ones after them override. When both answer and disagree, the component
wins, since a person chose it, and the path rule it beat is kept so the disagreement can be shown.

Pure: no I/O, nothing raises on odd input.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from bot.core.config import Team

DEFAULT_ROUTING_KEY_ENV = "PAGERDUTY_ROUTING_KEY"

_METHOD = re.compile(r"^(?:GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS|TRACE|CONNECT)\s+", re.IGNORECASE)
_SCHEME_AND_HOST = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/]*")
# "app.example.com/api/x" or "localhost:3000/api/x" as people paste them without the scheme; the last label
# must be letters so that a path such as "v1.2/items" is not taken for a host.
_BARE_HOST = re.compile(r"^(?:(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}|localhost)(?::\d+)?$", re.IGNORECASE)
_SLASHES = re.compile(r"/{2,}")
_GLOB = re.compile(r"[*?]")


@dataclass(frozen=True)
class RouteRule:
    """One rule that named a team: the component it owns, or the glob among its paths that matched."""

    team: Team
    by: Literal["component", "path"]
    pattern: str  # the component's name as the configuration spells it, or the glob


@dataclass(frozen=True)
class Route:
    """The team an escalation goes to, the rule that chose it, and the path rule a component overruled."""

    team: Team | None  # None: nobody owns it, the agent picks the team
    winner: RouteRule | None
    overruled: RouteRule | None  # the path rule that named a different team than the component (the component wins)

    @property
    def conflict(self) -> bool:
        """True when the component and the path named different teams."""
        return self.overruled is not None


def components(teams: Sequence[Team]) -> list[tuple[str, Team]]:
    """Every component of every team in file order, for the modal's select; a name two teams list stays with
    the first, the one `route` would pick."""
    seen: set[str] = set()
    found: list[tuple[str, Team]] = []
    for team in teams:
        for name in team.components:
            if name.casefold() not in seen:
                seen.add(name.casefold())
                found.append((name, team))
    return found


def route(teams: Sequence[Team], *, component: str | None, url: str | None) -> Route:
    """The owning team: the component's team, else the team of the last path glob matching the URL, else None."""
    by_component = _component_rule(teams, component)
    by_path = _path_rule(teams, url)
    if by_component is not None:
        overruled = by_path if by_path is not None and by_path.team != by_component.team else None
        return Route(team=by_component.team, winner=by_component, overruled=overruled)
    if by_path is not None:
        return Route(team=by_path.team, winner=by_path, overruled=None)
    return Route(team=None, winner=None, overruled=None)


def _component_rule(teams: Sequence[Team], component: str | None) -> RouteRule | None:
    wanted = (component or "").strip().casefold()
    if not wanted:
        return None
    for name, team in components(teams):
        if name.casefold() == wanted:
            return RouteRule(team=team, by="component", pattern=name)
    return None


def _path_rule(teams: Sequence[Team], url: str | None) -> RouteRule | None:
    if url is None or not url.strip():
        return None
    path = path_of(url)
    last: RouteRule | None = None
    for team in teams:
        for pattern in team.paths:
            if match(pattern, path):
                last = RouteRule(team=team, by="path", pattern=pattern)
    return last


def path_of(url: str) -> str:
    """The path of a URL or endpoint as people report it: no scheme, host, query, fragment or HTTP method.

    "https://app.example.com/api/billing/invoices?x=1#f" and "GET /api/billing/invoices" both give
    "/api/billing/invoices"; "api/x" gives "/api/x"; empty text gives "/". Percent-escapes are kept as typed.
    """
    text = _METHOD.sub("", url.strip(), count=1)
    # A request line ("GET /x HTTP/1.1") or a URL followed by words: the path is the first word.
    text = text.split(maxsplit=1)[0] if text.split() else ""
    text = re.split(r"[?#]", text, maxsplit=1)[0]
    host = _SCHEME_AND_HOST.match(text)
    if host is not None:
        text = text[host.end():]
    elif text.startswith("//"):  # a scheme-relative URL: "//host/path"
        text = text[2:].partition("/")[2]
    elif _BARE_HOST.match(text.partition("/")[0]):
        text = text.partition("/")[2]
    return _normal(text)


def _normal(path: str) -> str:
    """A leading slash, no repeated or trailing ones; the root is "/"."""
    path = _SLASHES.sub("/", "/" + path)
    return path.rstrip("/") or "/"


def match(pattern: str, path: str) -> bool:
    """True when a CODEOWNERS-style glob matches a URL path.

    "**" is any number of segments (none included), "*" any text within one segment, "?" one character.
    A pattern with a leading "/" is anchored at the root; one without it matches at any depth. A pattern
    whose last segment has no wildcard (or that ends in "/") also owns everything below it, as a directory
    does in CODEOWNERS: "/api/**" and "/api" both match "/api" and "/api/x/y", "/api/*" only "/api/x".
    A trailing slash on the path is ignored; matching is case-sensitive, as URL paths are.
    """
    return _compiled(pattern).fullmatch(_normal(path).rstrip("/")) is not None


@functools.lru_cache(maxsize=1024)
def _compiled(pattern: str) -> re.Pattern[str]:
    anchored = pattern.startswith("/")
    body = pattern.strip("/")
    segments = [s for s in body.split("/") if s] if body else []
    if not anchored:
        segments.insert(0, "**")
    owns_below = pattern.endswith("/") or not segments or not _GLOB.search(segments[-1])
    # The path is matched as "" (the root) or "/a/b": every segment carries its leading slash, so "**" can
    # stand for no segments at all without leaving a "//" behind.
    regex = "".join("(?:/[^/]+)*" if s == "**" else "/" + _segment(s) for s in segments)
    if owns_below:
        regex += "(?:/.*)?"
    return re.compile(regex)


def _segment(segment: str) -> str:
    # "*" and "?" never cross a "/"; a run of stars inside a segment ("a**b") is one star, as in gitignore.
    out = []
    for part in re.split(r"(\*+|\?)", segment):
        if part.startswith("*"):
            out.append("[^/]*")
        elif part == "?":
            out.append("[^/]")
        else:
            out.append(re.escape(part))
    return "".join(out)


def routing_key_env(team: Team) -> str:
    """The name of the environment variable that holds the team's PagerDuty routing key."""
    return team.pagerduty_routing_key_env or DEFAULT_ROUTING_KEY_ENV

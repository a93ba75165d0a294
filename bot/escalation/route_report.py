"""`supportbot route`: what an escalation would do, worked out from the configuration alone.

Nothing here talks to Slack, PagerDuty or a database; the environment is read only to say whether a routing
key variable is set, and a key's value is never part of the text.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from bot.core.config import BotConfig, Team
from bot.domain import Severity
from bot.escalation.routing import (
    DEFAULT_ROUTING_KEY_ENV,
    Route,
    RouteRule,
    components,
    path_of,
    route,
    routing_key_env,
)

_PAGED = (Severity.SEV1, Severity.SEV2)


class UnknownComponent(ValueError):
    """The component names no team's component; the message lists the ones the configuration knows."""

    def __init__(self, component: str, known: list[str]) -> None:
        listed = ", ".join(known) if known else "none: no team lists components"
        super().__init__(f"unknown component {component!r} (known: {listed})")
        self.component = component
        self.known = known


def explain(config: BotConfig, *, severity: Severity, component: str | None, url: str | None,
            environ: Mapping[str, str]) -> list[str]:
    """The lines saying which team an escalation goes to and why, where it posts, how it pages, and its ladder.

    Raises UnknownComponent when `component` is given and no team lists it.
    """
    if component is not None and component.strip():
        known = [name for name, _ in components(config.teams)]
        if component.strip().casefold() not in {name.casefold() for name in known}:
            raise UnknownComponent(component, known)
    found = route(config.teams, component=component, url=url)
    return [
        _heading(severity, component, url),
        *_team_lines(found, config, url),
        _channel_line(found.team),
        *_notify_lines(found.team, severity, environ),
        *_ladder(found.team, severity, config.ack_within[severity]),
    ]


def describe(rule: RouteRule) -> str:
    """The rule as the configuration file would show it: `path "/api/billing/**" of teams.payments`."""
    return f'{rule.by} "{rule.pattern}" of teams.{rule.team.name}'


def _heading(severity: Severity, component: str | None, url: str | None) -> str:
    parts = [f'component "{component.strip()}"' if component and component.strip() else "no component"]
    if url and url.strip():
        parts.append(f'URL "{url.strip()}" (path {path_of(url)})')
    else:
        parts.append("no URL")
    return f"{severity.value} escalation, {', '.join(parts)}:"


def _team_lines(found: Route, config: BotConfig, url: str | None) -> list[str]:
    if found.team is None or found.winner is None:
        teams = ", ".join(team.name for team in config.teams) or "none are configured"
        why = f" (no path rule matches {path_of(url)})" if url and url.strip() else ""
        return [f"team: no team owns this{why}: the agent picks the team in the escalation modal (teams: {teams})"]
    lines = [f"team: {found.team.name}, by {describe(found.winner)}"]
    if found.overruled is not None:
        lines.append(f"  conflict: {describe(found.overruled)} names {found.overruled.team.name}; "
                     "the component wins")
    return lines


def _channel_line(team: Team | None) -> str:
    if team is None:
        return "channel: posts in the chosen team's channel"
    return f"channel: posts in {team.channel} (teams.{team.name} channel)"


def _notify_lines(team: Team | None, severity: Severity, environ: Mapping[str, str]) -> list[str]:
    if severity in _PAGED:
        if team is None:
            line = (f"notify: pages the chosen team through PagerDuty with the routing key in that team's "
                    f"pagerduty_routing_key_env (default ${DEFAULT_ROUTING_KEY_ENV})")
        else:
            name = routing_key_env(team)
            line = f"notify: pages the owning team through PagerDuty with the routing key in ${name}"
            # Only whether a variable is set: its value is a secret and is never printed.
            if not _is_set(environ, name):
                line += " (not set in this environment)"
                if name != DEFAULT_ROUTING_KEY_ENV:
                    # The bot falls back to the default key when a team's own is unset.
                    fallback = "set" if _is_set(environ, DEFAULT_ROUTING_KEY_ENV) else "not set either"
                    line += f", falling back to ${DEFAULT_ROUTING_KEY_ENV} ({fallback})"
        lines = [line]
        if severity is Severity.SEV1:
            lines.append("  SEV1 also opens an incident: its own channel and a status-page incident")
        return lines
    where = f"{team.oncall_usergroup} in {team.channel}" if team else "the chosen team's on-call group in its channel"
    if severity is Severity.SEV3:
        return [f"notify: mentions {where}"]
    return [f"notify: posts without a mention in {team.channel if team else 'the chosen team channel'}"]


def _is_set(environ: Mapping[str, str], name: str) -> bool:
    return bool(environ.get(name, "").strip())


def _ladder(team: Team | None, severity: Severity, ack_within: timedelta) -> list[str]:
    if severity in _PAGED:
        repage = "re-page: a new PagerDuty trigger with an 'Unacknowledged:' summary"
    else:
        group = team.oncall_usergroup if team else "the chosen team's on-call group"
        repage = f"re-page: mention {group}" + (" again" if severity is Severity.SEV3 else "")
    manager = team.manager if team else "of the chosen team"
    return [
        f"ladder, while nobody acknowledges (ack within {_span(ack_within)}):",
        f"  at +{_span(ack_within)}: {repage}",
        f"  at +{_span(ack_within * 2)}: call in the manager {manager}",
        f"  then every {_span(ack_within)}: remind the agent in the ticket's thread, until someone acknowledges",
    ]


def _span(duration: timedelta) -> str:
    """A duration the way the configuration writes it: "15m", "4h", "1d", "1h30m", "500ms"."""
    ms = duration // timedelta(milliseconds=1)
    parts = []
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)):
        count, ms = divmod(ms, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"

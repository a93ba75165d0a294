"""Reads the TOML tables into the configuration, refusing unknown keys and bad values with one line each."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from datetime import time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.core.config.model import (
    DEFAULT_ACK_WITHIN,
    DEFAULT_FIRST_RESPONSE,
    AutomationRule,
    BotConfig,
    BusinessHours,
    ConfigError,
    CustomerConnectionSettings,
    IncidentSettings,
    JiraSettings,
    Links,
    SlackSettings,
    Spikes,
    Team,
    Webhook,
    parse_duration,
)
from bot.core.formats import is_web_link
from bot.core.url_template import template_problem
from bot.domain import PlanTier, Severity

_SLACK_CHANNEL = re.compile(r"^[CG][A-Z0-9]{2,}$")
_SLACK_USERGROUP = re.compile(r"^S[A-Z0-9]{2,}$")
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class _Section:
    """Reads one TOML table, remembering which keys were used so that leftovers are refused."""

    def __init__(self, data: object, name: str, allowed: tuple[str, ...] = ()) -> None:
        if not isinstance(data, Mapping):
            raise ConfigError(f"[{name}]", f"expected a table, got {type(data).__name__}")
        self.data: Mapping[str, Any] = data
        self.name = name
        self.used: set[str] = set()
        # Checked first, so a typo is named as the typo rather than as a missing key.
        for key in data if allowed else ():
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else f" (expected one of: {', '.join(allowed)})"
                raise ConfigError(self.key(key), f"unknown key{hint}")

    def key(self, key: str) -> str:
        return f"[{self.name}] {key}" if self.name else key

    def get(self, key: str, default: Any = None) -> Any:
        self.used.add(key)
        return self.data.get(key, default)

    def required(self, key: str) -> Any:
        self.used.add(key)
        if key not in self.data:
            raise ConfigError(self.key(key), "is required")
        return self.data[key]

    def string(self, key: str, default: str | None = None, *, pattern: re.Pattern[str] | None = None,
               what: str = "") -> str:
        value = self.required(key) if default is None else self.get(key, default)
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(self.key(key), f"expected a non-empty string, got {value!r}")
        if pattern is not None and not pattern.match(value):
            raise ConfigError(self.key(key), f"{value!r} is not {what}")
        return value

    def duration(self, key: str, default: str) -> timedelta:
        return parse_duration(self.get(key, default), self.key(key))

    def strings(self, key: str, default: list[str] | None = None) -> tuple[str, ...]:
        value = self.get(key, default if default is not None else [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ConfigError(self.key(key), f"expected a list of strings, got {value!r}")
        return tuple(value)

    def done(self) -> None:
        extra = sorted(set(self.data) - self.used)
        if extra:
            raise ConfigError(self.key(extra[0]), "unknown key")


def parse_config(raw: Mapping[str, Any]) -> BotConfig:
    """The configuration from parsed TOML, defaults filled in; raises ConfigError on the first bad or unknown key."""
    top = _Section(raw, "", ("slack", "sla", "incident", "escalation", "jira", "customer_connection",
                             "business_hours", "teams", "scheduler", "links", "spikes", "automation", "webhooks"))
    config = BotConfig(
        slack=_slack(top.required("slack")),
        first_response=_first_response(top.get("sla", {})),
        incident=_incident(top.get("incident", {})),
        ack_within=_escalation(top.get("escalation", {})),
        jira=_jira(top.get("jira", {})),
        customer_connection=_customer_connection(top.get("customer_connection", {})),
        business_hours=_business_hours(top.get("business_hours", {})),
        teams=_teams(top.get("teams", {})),
        **_scheduler(top.get("scheduler", {})),
        links=_links(top.get("links", {})),
        spikes=_spikes(top.get("spikes", {})),
        automation=_automation(top.get("automation", [])),
        webhooks=_webhooks(top.get("webhooks", [])),
    )
    top.done()
    return config


def _slack(data: object) -> SlackSettings:
    s = _Section(data, "slack", ("triage_channel", "support_leads", "support_agents", "incident_commanders"))
    settings = SlackSettings(
        triage_channel=s.string("triage_channel", pattern=_SLACK_CHANNEL, what="a Slack channel ID (C…)"),
        support_leads=s.string("support_leads", pattern=_SLACK_USERGROUP, what="a Slack user group ID (S…)"),
        support_agents=s.string("support_agents", pattern=_SLACK_USERGROUP, what="a Slack user group ID (S…)"),
        incident_commanders=s.string("incident_commanders", pattern=_SLACK_USERGROUP,
                                     what="a Slack user group ID (S…)"),
    )
    s.done()
    return settings


def _first_response(data: object) -> dict[PlanTier, timedelta]:
    sla = _Section(data, "sla", ("first_response",))
    section = _Section(sla.get("first_response", {}), "sla.first_response", tuple(t.value for t in PlanTier))
    sla.done()
    windows = {tier: section.duration(tier.value, default) for tier, default in DEFAULT_FIRST_RESPONSE.items()}
    section.done()
    return windows


def _incident(data: object) -> IncidentSettings:
    s = _Section(data, "incident", ("channel_prefix", "status_update_every"))
    prefix = s.string("channel_prefix", "incident-")
    if not re.fullmatch(r"[a-z0-9_-]{1,60}", prefix):
        raise ConfigError(s.key("channel_prefix"),
                          f"{prefix!r} is not a valid channel-name start (lowercase letters, digits, - and _)")
    settings = IncidentSettings(channel_prefix=prefix,
                                status_update_every=s.duration("status_update_every", "30m"))
    s.done()
    return settings


def _escalation(data: object) -> dict[Severity, timedelta]:
    s = _Section(data, "escalation", ("ack_within",))
    ack = _Section(s.get("ack_within", {}), "escalation.ack_within", tuple(v.value for v in Severity))
    s.done()
    windows = {sev: ack.duration(sev.value, default) for sev, default in DEFAULT_ACK_WITHIN.items()}
    ack.done()
    return windows


_JIRA_PROJECT = re.compile(r"^[A-Z][A-Z0-9_]{1,9}$")  # Jira Cloud's default project-key rule


def _jira(data: object) -> JiraSettings:
    s = _Section(data, "jira", ("project", "issue_type", "acknowledge_statuses"))
    d = JiraSettings()
    settings = JiraSettings(
        project=s.string("project", d.project, pattern=_JIRA_PROJECT,
                         what="a Jira project key (2-10 capital letters, digits or _, starting with a letter)"),
        issue_type=s.string("issue_type", d.issue_type),
        acknowledge_statuses=s.strings("acknowledge_statuses", list(d.acknowledge_statuses)),
    )
    if not settings.acknowledge_statuses:
        raise ConfigError(s.key("acknowledge_statuses"), "needs at least one status name")
    s.done()
    return settings


def _holidays(value: object, key: str) -> str | None:
    # Imported here: the holiday tables are large and only a configuration that names a country needs them.
    import holidays

    if value is None or value == "":
        return None
    if not isinstance(value, str) or value.upper() not in holidays.list_supported_countries():
        raise ConfigError(key, f"{value!r} is not a country code the holidays library knows (for example \"US\")")
    return value.upper()


def _customer_connection(data: object) -> CustomerConnectionSettings:
    s = _Section(data, "customer_connection",
                 ("plan_path", "authorized_contacts_path", "compliance_path", "timeout"))
    d = CustomerConnectionSettings()
    settings = CustomerConnectionSettings(
        plan_path=s.string("plan_path", d.plan_path),
        authorized_contacts_path=s.string("authorized_contacts_path", d.authorized_contacts_path),
        compliance_path=s.string("compliance_path", d.compliance_path),
        timeout=s.duration("timeout", "2s"),
    )
    s.done()
    return settings


def _clock_time(value: object, key: str) -> time:
    if not isinstance(value, str) or not re.fullmatch(r"\d{2}:\d{2}", value):
        raise ConfigError(key, f"expected a time as \"HH:MM\", got {value!r}")
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise ConfigError(key, f"{value!r} is not a time of day") from None


def _business_hours(data: object) -> BusinessHours:
    s = _Section(data, "business_hours", ("timezone", "days", "start", "end", "holidays"))
    zone = s.string("timezone", "America/New_York")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(s.key("timezone"), f"{zone!r} is not an IANA time zone") from None
    days = s.strings("days", ["mon", "tue", "wed", "thu", "fri"])
    for day in days:
        if day not in _WEEKDAYS:
            raise ConfigError(s.key("days"), f"{day!r} is not one of {', '.join(_WEEKDAYS)}")
    start = _clock_time(s.get("start", "09:00"), s.key("start"))
    end = _clock_time(s.get("end", "17:00"), s.key("end"))
    if end <= start:
        raise ConfigError(s.key("end"), "must be later than start")
    country = _holidays(s.get("holidays", BusinessHours.holidays), s.key("holidays"))
    s.done()
    return BusinessHours(timezone=zone, days=days, start=start, end=end, holidays=country)


def _teams(data: object) -> tuple[Team, ...]:
    teams_section = _Section(data, "teams")
    teams = []
    for name in teams_section.data:
        s = _Section(teams_section.get(name), f"teams.{name}", ("channel", "oncall_usergroup", "manager",
                     "components", "paths", "pagerduty_routing_key_env"))
        env_name = s.get("pagerduty_routing_key_env")
        if env_name is not None and (not isinstance(env_name, str) or not re.fullmatch(r"[A-Z_][A-Z0-9_]*", env_name)):
            raise ConfigError(s.key("pagerduty_routing_key_env"), f"{env_name!r} is not an environment variable name")
        teams.append(Team(
            name=name,
            channel=s.string("channel", pattern=_SLACK_CHANNEL, what="a Slack channel ID (C…)"),
            oncall_usergroup=s.string("oncall_usergroup", pattern=_SLACK_USERGROUP, what="a Slack user group ID (S…)"),
            manager=s.string("manager", pattern=_SLACK_USER, what="a Slack user ID (U…)"),
            components=s.strings("components"),
            paths=s.strings("paths"),
            pagerduty_routing_key_env=env_name,
        ))
        s.done()
    return tuple(teams)


def _scheduler(data: object) -> dict[str, timedelta]:
    s = _Section(data, "scheduler", ("tick", "lease", "keep_history"))
    tick = s.duration("tick", "15s")
    lease = s.duration("lease", "120s")
    keep_history = s.duration("keep_history", "30d")
    if lease < timedelta(seconds=1):
        raise ConfigError(s.key("lease"), "must be at least 1s: an attempt at a step needs time to reach Slack")
    s.done()
    return {"scheduler_tick": tick, "scheduler_lease": lease, "scheduler_keep_history": keep_history}


# What an escalation can fill in; bot/ticket_card/links.py gives a value for each.
_LINK_PLACEHOLDERS = frozenset({"workspace_id", "request_id", "start", "end", "start_ms", "end_ms"})


def _links(data: object) -> Links:
    s = _Section(data, "links", ("sentry", "logs"))
    found: dict[str, str | None] = {}
    for name in ("sentry", "logs"):
        value = s.get(name)
        if value is None:
            found[name] = None
            continue
        problem = template_problem(value, _LINK_PLACEHOLDERS)
        if problem is not None:
            raise ConfigError(s.key(name), problem)
        found[name] = value
    s.done()
    return Links(sentry=found["sentry"], logs=found["logs"])


def _spikes(data: object) -> Spikes:
    s = _Section(data, "spikes", ("window", "threshold"))
    threshold = s.get("threshold", 5)
    if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold < 1:
        raise ConfigError(s.key("threshold"), f"expected a whole number of at least 1, got {threshold!r}")
    spikes = Spikes(window=s.duration("window", "60m"), threshold=threshold)
    s.done()
    return spikes


def _automation(data: object) -> tuple[AutomationRule, ...]:
    if not isinstance(data, list):
        raise ConfigError("[[automation]]", "expected an array of tables")
    rules = []
    for i, item in enumerate(data):
        rule = _Section(item, f"automation.{i}", ("when", "then"))
        when = _Section(rule.required("when"), f"automation.{i}.when", ("path", "equals", "is", "in"))
        then = _Section(rule.required("then"), f"automation.{i}.then",
                        ("severity_floor", "label", "post_to", "plan_tier"))
        rule.done()
        path = when.string("path")
        tests = [k for k in ("equals", "is", "in") if k in when.data]
        if len(tests) != 1:
            raise ConfigError(when.key("equals"), "a rule needs exactly one of `equals`, `in` or `is`")
        if "is" in when.data and not isinstance(when.get("is"), bool):
            raise ConfigError(when.key("is"), f"expected true or false, got {when.get('is')!r}")
        if "in" in when.data and not isinstance(when.get("in"), list):
            raise ConfigError(when.key("in"), f"expected a list of values, got {when.get('in')!r}")
        tier = then.get("plan_tier")
        if tier is not None and tier not in PlanTier._value2member_map_:
            raise ConfigError(then.key("plan_tier"), f"{tier!r} is not one of "
                              + ", ".join(t.value for t in PlanTier))
        if not then.data:
            raise ConfigError(then.key("label"), "a rule needs at least one action")
        floor = then.get("severity_floor")
        if floor is not None and floor not in Severity.__members__:
            raise ConfigError(then.key("severity_floor"), f"{floor!r} is not one of SEV1, SEV2, SEV3, SEV4")
        post_to = then.get("post_to")
        if post_to is not None and (not isinstance(post_to, str) or not _SLACK_CHANNEL.match(post_to)):
            raise ConfigError(then.key("post_to"), f"{post_to!r} is not a Slack channel ID (C…)")
        label = then.get("label")
        if label is not None and (not isinstance(label, str) or not label):
            raise ConfigError(then.key("label"), f"expected a non-empty string, got {label!r}")
        listed = when.get("in")
        rules.append(AutomationRule(path=path, equals=when.get("equals"), is_=when.get("is"),
                                    in_=tuple(listed) if isinstance(listed, list) else None,
                                    severity_floor=Severity(floor) if floor else None, label=label, post_to=post_to,
                                    plan_tier=PlanTier(tier) if tier else None))
        when.done()
        then.done()
    return tuple(rules)


def _webhooks(data: object) -> tuple[Webhook, ...]:
    if not isinstance(data, list):
        raise ConfigError("[[webhooks]]", "expected an array of tables")
    hooks = []
    for i, item in enumerate(data):
        s = _Section(item, f"webhooks.{i}", ("url", "secret_env"))
        url = s.string("url")
        if not is_web_link(url):
            raise ConfigError(s.key("url"), f"{url!r} is not an http(s) URL")
        secret_env = s.get("secret_env")
        if secret_env is not None and not isinstance(secret_env, str):
            raise ConfigError(s.key("secret_env"), "expected an environment variable name")
        hooks.append(Webhook(url=url, secret_env=secret_env))
        s.done()
    return tuple(hooks)

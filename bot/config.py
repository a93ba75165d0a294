"""One validated configuration object: policies from TOML, secrets and endpoints from the environment.

Every problem is reported as one line naming the key, so `supportbot check-config` and start-up
can refuse a bad file before the bot talks to anyone.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain import PlanTier, Severity

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
_SLACK_CHANNEL = re.compile(r"^[CG][A-Z0-9]{2,}$")
_SLACK_USERGROUP = re.compile(r"^S[A-Z0-9]{2,}$")
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ConfigError(ValueError):
    """A configuration problem, worded as one line that names the key."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


def parse_duration(text: object, key: str) -> timedelta:
    if not isinstance(text, str):
        raise ConfigError(key, f"expected a duration string such as \"30m\", got {text!r}")
    match = _DURATION.match(text)
    if not match:
        raise ConfigError(key, f"bad duration {text!r} (use a number and a unit: 90s, 30m, 4h, 1d)")
    duration = timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])
    if duration < timedelta(milliseconds=1):  # checked after rounding: "0.0001ms" is zero to timedelta
        raise ConfigError(key, f"duration {text!r} must be more than zero (at least 1ms)")
    return duration


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


@dataclass(frozen=True)
class SlackSettings:
    triage_channel: str
    support_leads: str
    support_agents: str
    incident_commanders: str


@dataclass(frozen=True)
class IncidentSettings:
    channel_prefix: str = "incident-"
    status_update_every: timedelta = timedelta(minutes=30)


@dataclass(frozen=True)
class CustomerConnectionSettings:
    plan_path: str = "customer.plan_type"
    authorized_contacts_path: str = "customer.authorized_contacts"
    compliance_path: str = "customer.compliance"
    timeout: timedelta = timedelta(seconds=2)


@dataclass(frozen=True)
class BusinessHours:
    timezone: str = "America/New_York"
    days: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")
    start: time = time(9, 0)
    end: time = time(17, 0)


@dataclass(frozen=True)
class Team:
    name: str
    channel: str
    oncall_usergroup: str
    manager: str
    components: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    pagerduty_routing_key_env: str | None = None


@dataclass(frozen=True)
class Links:
    sentry: str | None = None
    logs: str | None = None


@dataclass(frozen=True)
class Spikes:
    window: timedelta = timedelta(minutes=60)
    threshold: int = 5


@dataclass(frozen=True)
class AutomationRule:
    path: str
    equals: Any = None
    is_: Any = None
    severity_floor: Severity | None = None
    label: str | None = None
    post_to: str | None = None


@dataclass(frozen=True)
class Webhook:
    url: str
    secret_env: str | None = None


_DEFAULT_FIRST_RESPONSE = {
    PlanTier.ENTERPRISE: "1h", PlanTier.BUSINESS: "1h", PlanTier.PRO: "1h",
    PlanTier.TRIAL: "4h", PlanTier.FREE: "4h",
}
_DEFAULT_ACK_WITHIN = {Severity.SEV1: "5m", Severity.SEV2: "15m", Severity.SEV3: "4h", Severity.SEV4: "1d"}


@dataclass(frozen=True)
class BotConfig:
    """Everything the TOML file says; see ../shared/contract/supportbot.toml for the schema."""

    slack: SlackSettings
    first_response: Mapping[PlanTier, timedelta]
    incident: IncidentSettings = field(default_factory=IncidentSettings)
    ack_within: Mapping[Severity, timedelta] = field(
        default_factory=lambda: {s: parse_duration(v, "") for s, v in _DEFAULT_ACK_WITHIN.items()})
    customer_connection: CustomerConnectionSettings = field(default_factory=CustomerConnectionSettings)
    business_hours: BusinessHours = field(default_factory=BusinessHours)
    teams: tuple[Team, ...] = ()
    scheduler_tick: timedelta = timedelta(seconds=15)
    links: Links = field(default_factory=Links)
    spikes: Spikes = field(default_factory=Spikes)
    automation: tuple[AutomationRule, ...] = ()
    webhooks: tuple[Webhook, ...] = ()


def load_config(path: str | Path) -> BotConfig:
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(str(path), "file not found (set SUPPORTBOT_CONFIG)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"not valid TOML: {exc}") from None
    return parse_config(raw)


def parse_config(raw: Mapping[str, Any]) -> BotConfig:
    top = _Section(raw, "", ("slack", "sla", "incident", "escalation", "customer_connection", "business_hours",
                             "teams", "scheduler", "links", "spikes", "automation", "webhooks"))
    config = BotConfig(
        slack=_slack(top.required("slack")),
        first_response=_first_response(top.get("sla", {})),
        incident=_incident(top.get("incident", {})),
        ack_within=_escalation(top.get("escalation", {})),
        customer_connection=_customer_connection(top.get("customer_connection", {})),
        business_hours=_business_hours(top.get("business_hours", {})),
        teams=_teams(top.get("teams", {})),
        scheduler_tick=_scheduler(top.get("scheduler", {})),
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
    windows = {tier: section.duration(tier.value, default) for tier, default in _DEFAULT_FIRST_RESPONSE.items()}
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
    windows = {sev: ack.duration(sev.value, default) for sev, default in _DEFAULT_ACK_WITHIN.items()}
    ack.done()
    return windows


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
    s = _Section(data, "business_hours", ("timezone", "days", "start", "end"))
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
    s.done()
    return BusinessHours(timezone=zone, days=days, start=start, end=end)


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


def _scheduler(data: object) -> timedelta:
    s = _Section(data, "scheduler", ("tick",))
    tick = s.duration("tick", "15s")
    s.done()
    return tick


_LINK_PLACEHOLDERS = {"workspace_id", "request_id", "start", "end", "start_ms", "end_ms"}


def _links(data: object) -> Links:
    s = _Section(data, "links", ("sentry", "logs"))
    found: dict[str, str | None] = {}
    for name in ("sentry", "logs"):
        value = s.get(name)
        if value is None:
            found[name] = None
            continue
        if not isinstance(value, str) or not value.startswith(("https://", "http://")):
            raise ConfigError(s.key(name), f"expected an http(s) URL template, got {value!r}")
        unknown = set(re.findall(r"\{(\w+)\}", value)) - _LINK_PLACEHOLDERS
        if unknown:
            raise ConfigError(s.key(name), f"unknown placeholder {{{sorted(unknown)[0]}}}")
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
        when = _Section(rule.required("when"), f"automation.{i}.when", ("path", "equals", "is"))
        then = _Section(rule.required("then"), f"automation.{i}.then", ("severity_floor", "label", "post_to"))
        rule.done()
        path = when.string("path")
        if "equals" not in when.data and "is" not in when.data:
            raise ConfigError(when.key("equals"), "a rule needs `equals` or `is`")
        floor = then.get("severity_floor")
        if floor is not None and floor not in Severity.__members__:
            raise ConfigError(then.key("severity_floor"), f"{floor!r} is not one of SEV1, SEV2, SEV3, SEV4")
        post_to = then.get("post_to")
        if post_to is not None and (not isinstance(post_to, str) or not _SLACK_CHANNEL.match(post_to)):
            raise ConfigError(then.key("post_to"), f"{post_to!r} is not a Slack channel ID (C…)")
        label = then.get("label")
        if label is not None and (not isinstance(label, str) or not label):
            raise ConfigError(then.key("label"), f"expected a non-empty string, got {label!r}")
        rules.append(AutomationRule(path=path, equals=when.get("equals"), is_=when.get("is"),
                                    severity_floor=Severity(floor) if floor else None, label=label, post_to=post_to))
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
        if not url.startswith(("https://", "http://")):
            raise ConfigError(s.key("url"), f"{url!r} is not an http(s) URL")
        secret_env = s.get("secret_env")
        if secret_env is not None and not isinstance(secret_env, str):
            raise ConfigError(s.key("secret_env"), "expected an environment variable name")
        hooks.append(Webhook(url=url, secret_env=secret_env))
        s.done()
    return tuple(hooks)


@dataclass(frozen=True)
class EnvSettings:
    """Secrets and endpoints, read from the environment only (never from the TOML file)."""

    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = "https://slack.com/api/"
    database_url: str = "sqlite+aiosqlite:///supportbot.db"
    port: int = 3000
    config_path: str = "./supportbot.toml"
    pagerduty_routing_key: str | None = None
    pagerduty_events_url: str = "https://events.pagerduty.com"
    statuspage_api_key: str | None = None
    statuspage_page_id: str | None = None
    statuspage_api_url: str = "https://api.statuspage.io/v1"
    customer_connection_url: str | None = None
    customer_connection_secret: str | None = None
    public_url: str | None = None

    def __repr__(self) -> str:  # secrets must never reach a log line through repr()
        return "EnvSettings(<redacted>)"

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> EnvSettings:
        env = os.environ if environ is None else environ

        def opt(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        port_text = opt("PORT") or "3000"
        if not (port_text.isascii() and port_text.isdigit()) or not 0 <= int(port_text) < 65536:
            raise ConfigError("PORT", f"{port_text!r} is not a TCP port number")
        api_url = opt("SLACK_API_URL") or cls.slack_api_url
        settings = cls(
            slack_bot_token=opt("SLACK_BOT_TOKEN"),
            slack_signing_secret=opt("SLACK_SIGNING_SECRET"),
            slack_app_token=opt("SLACK_APP_TOKEN"),
            slack_api_url=api_url if api_url.endswith("/") else api_url + "/",
            database_url=opt("DATABASE_URL") or cls.database_url,
            port=int(port_text),
            config_path=opt("SUPPORTBOT_CONFIG") or cls.config_path,
            pagerduty_routing_key=opt("PAGERDUTY_ROUTING_KEY"),
            pagerduty_events_url=(opt("PAGERDUTY_EVENTS_URL") or cls.pagerduty_events_url).rstrip("/"),
            statuspage_api_key=opt("STATUSPAGE_API_KEY"),
            statuspage_page_id=opt("STATUSPAGE_PAGE_ID"),
            statuspage_api_url=(opt("STATUSPAGE_API_URL") or cls.statuspage_api_url).rstrip("/"),
            customer_connection_url=opt("CUSTOMER_CONNECTION_URL"),
            customer_connection_secret=opt("CUSTOMER_CONNECTION_SECRET"),
            public_url=(opt("SUPPORTBOT_PUBLIC_URL") or "").rstrip("/") or None,
        )
        for name in ("SLACK_API_URL", "PAGERDUTY_EVENTS_URL", "STATUSPAGE_API_URL", "CUSTOMER_CONNECTION_URL"):
            value = opt(name)
            if value and not value.startswith(("http://", "https://")):
                raise ConfigError(name, f"{value!r} is not an http(s) URL")
        if settings.statuspage_api_key and not settings.statuspage_page_id:
            raise ConfigError("STATUSPAGE_PAGE_ID", "is required when STATUSPAGE_API_KEY is set")
        return settings

    def require_slack_credentials(self) -> None:
        if not self.slack_bot_token:
            raise ConfigError("SLACK_BOT_TOKEN", "is required to run the bot")
        if not self.slack_signing_secret and not self.slack_app_token:
            raise ConfigError("SLACK_SIGNING_SECRET", "is required for HTTP mode (or set SLACK_APP_TOKEN)")


@dataclass(frozen=True)
class Settings:
    config: BotConfig
    env: EnvSettings

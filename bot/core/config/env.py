"""Secrets and endpoints, from the environment only."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from bot.core.config.model import ConfigError
from bot.core.formats import is_web_link


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
    jira_base_url: str | None = None
    jira_email: str | None = None
    jira_api_token: str | None = None
    jira_webhook_secret: str | None = None
    helpscout_secret: str | None = None
    # Each team's PagerDuty routing key, read from the variable its `pagerduty_routing_key_env` names.
    team_routing_keys: Mapping[str, str] = field(default_factory=dict)
    # Each webhook's signing secret, by the name of the variable its `secret_env` names.
    webhook_secrets: Mapping[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:  # secrets must never reach a log line through repr()
        return "EnvSettings(<redacted>)"

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> EnvSettings:
        """Settings from the environment; raises ConfigError for a bad port, URL, or half-set Jira/Statuspage."""
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
            jira_base_url=(opt("JIRA_BASE_URL") or "").rstrip("/") or None,
            jira_email=opt("JIRA_EMAIL"),
            jira_api_token=opt("JIRA_API_TOKEN"),
            jira_webhook_secret=opt("JIRA_WEBHOOK_SECRET"),
            helpscout_secret=opt("HELPSCOUT_SECRET"),
        )
        for name in ("SLACK_API_URL", "PAGERDUTY_EVENTS_URL", "STATUSPAGE_API_URL", "CUSTOMER_CONNECTION_URL",
                     "JIRA_BASE_URL"):
            value = opt(name)
            if value and not is_web_link(value):
                raise ConfigError(name, f"{value!r} is not an http(s) URL")
        if settings.jira_base_url and not (settings.jira_email and settings.jira_api_token):
            missing = "JIRA_EMAIL" if not settings.jira_email else "JIRA_API_TOKEN"
            raise ConfigError(missing, "is required when JIRA_BASE_URL is set (Jira Cloud uses Basic auth)")
        if settings.customer_connection_url and not settings.customer_connection_secret:
            raise ConfigError("CUSTOMER_CONNECTION_SECRET", "is required when CUSTOMER_CONNECTION_URL is set (every "
                              "request is signed with it, so the endpoint can refuse anyone else)")
        if settings.statuspage_api_key and not settings.statuspage_page_id:
            raise ConfigError("STATUSPAGE_PAGE_ID", "is required when STATUSPAGE_API_KEY is set")
        return settings

    def with_team_routing_keys(self, teams: Iterable[tuple[str, str | None]],
                               environ: Mapping[str, str] | None = None) -> EnvSettings:
        """These settings with the routing key of each (team, variable name) that is set in the environment."""
        env = os.environ if environ is None else environ
        keys = {team: env[name].strip() for team, name in teams if name and env.get(name, "").strip()}
        return replace(self, team_routing_keys=keys)

    def with_webhook_secrets(self, webhooks: Iterable[tuple[str, str | None]],
                             environ: Mapping[str, str] | None = None) -> EnvSettings:
        """These settings with the secret of each (webhook URL, variable name); raises ConfigError naming the
        variable when one is unset (or the webhook names none): every delivery is signed, never sent bare."""
        env = os.environ if environ is None else environ
        secrets: dict[str, str] = {}
        for i, (url, name) in enumerate(webhooks):
            if not name:
                raise ConfigError(f"webhooks.{i}.secret_env", f"is required for {url}: every delivery is signed")
            value = env.get(name, "").strip()
            if not value:
                raise ConfigError(name, f"is not set; [[webhooks]] {url} signs every delivery with it")
            secrets[name] = value
        return replace(self, webhook_secrets=secrets)

    def routing_key_for(self, team: str) -> str | None:
        """The team's own routing key, else the default PAGERDUTY_ROUTING_KEY, else None (no paging)."""
        return self.team_routing_keys.get(team) or self.pagerduty_routing_key

    def warnings(self) -> list[str]:
        """What works but is probably not what an operator wants; `check-config` prints these, `run` logs them."""
        found = []
        if not self.public_url and not (self.statuspage_api_key and self.statuspage_page_id):
            found.append("SUPPORTBOT_PUBLIC_URL is not set: Slack messages name the built-in status page (/status) "
                         "but cannot link to it, since Slack links must be absolute")
        return found

    def require_slack_credentials(self) -> None:
        """Raises ConfigError unless a bot token and a signing secret (or Socket Mode app token) are set."""
        if not self.slack_bot_token:
            raise ConfigError("SLACK_BOT_TOKEN", "is required to run the bot")
        if not self.slack_signing_secret and not self.slack_app_token:
            raise ConfigError("SLACK_SIGNING_SECRET", "is required for HTTP mode (or set SLACK_APP_TOKEN)")

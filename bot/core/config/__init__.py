"""One validated configuration object: policies from TOML, secrets and endpoints from the environment.

Every problem is reported as one line naming the key, so `supportbot check-config` and start-up
can refuse a bad file before the bot talks to anyone.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from bot.core.config.env import EnvSettings
from bot.core.config.model import (
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
from bot.core.config.parse import parse_config

__all__ = ["AutomationRule", "BotConfig", "BusinessHours", "ConfigError", "CustomerConnectionSettings",
           "EnvSettings", "IncidentSettings", "JiraSettings", "Links", "Settings", "SlackSettings", "Spikes", "Team",
           "Webhook", "load_config", "parse_config", "parse_duration"]


def load_config(path: str | Path) -> BotConfig:
    """The parsed TOML configuration; raises ConfigError naming the file or key when it is missing or wrong."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(str(path), "file not found (set SUPPORTBOT_CONFIG)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"not valid TOML: {exc}") from None
    return parse_config(raw)


@dataclass(frozen=True)
class Settings:
    """The workspace's configuration file and the process environment, read once at start."""

    config: BotConfig
    env: EnvSettings

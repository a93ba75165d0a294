"""bot/config.py: the contract file, the defaults, one-line errors naming the key, the CLI and the environment."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import time, timedelta
from pathlib import Path

import pytest

from bot.core.config import (
    AutomationRule,
    ConfigError,
    EnvSettings,
    JiraSettings,
    Team,
    Webhook,
    load_config,
    parse_config,
)
from bot.domain import PlanTier, Severity

CONTRACT = Path(__file__).parents[4] / "shared/contract/supportbot.toml"
REPO = Path(__file__).parents[3]
SUPPORTBOT = REPO / ".venv" / "bin" / "supportbot"
SLACK = """\
[slack]
triage_channel = "C0TRIAGE01"
support_leads = "S0LEADS01"
support_agents = "S0AGENTS01"
incident_commanders = "S0COMMAND1"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "supportbot.toml"
    path.write_text(text, encoding="utf-8")
    return path


# The contract ------------------------------------------------------------------------------------------

def test_contract_loads_with_its_values() -> None:
    config = load_config(CONTRACT)
    assert config.slack.triage_channel == "C0TRIAGE01"
    assert config.slack.support_leads == "S0LEADS01"
    assert config.slack.incident_commanders == "S0COMMAND1"
    assert dict(config.first_response) == {
        PlanTier.ENTERPRISE: timedelta(hours=1), PlanTier.BUSINESS: timedelta(hours=1),
        PlanTier.PRO: timedelta(hours=1), PlanTier.TRIAL: timedelta(hours=4), PlanTier.FREE: timedelta(hours=4)}
    assert dict(config.ack_within) == {Severity.SEV1: timedelta(minutes=5), Severity.SEV2: timedelta(minutes=15),
                                       Severity.SEV3: timedelta(hours=4), Severity.SEV4: timedelta(days=1)}
    assert config.incident.channel_prefix == "incident-"
    assert config.incident.status_update_every == timedelta(minutes=30)
    assert config.scheduler_tick == timedelta(seconds=15)
    assert config.customer_connection.timeout == timedelta(seconds=2)
    assert config.customer_connection.plan_path == "customer.plan_type"
    assert config.business_hours.timezone == "America/New_York"
    assert config.business_hours.days == ("mon", "tue", "wed", "thu", "fri")
    assert (config.business_hours.start, config.business_hours.end) == (time(9), time(17))
    assert config.business_hours.holidays == "US"
    assert config.jira == JiraSettings(project="SUP", issue_type="Bug", acknowledge_statuses=("In Progress",))
    # In file order: routing's "last matching pattern wins" depends on it.
    assert config.teams == (
        Team(name="platform", channel="C0PLATFRM1", oncall_usergroup="S0PLTONCL1", manager="U0PLTMGR01",
             components=("auth", "sso", "api"), paths=("/api/**", "/login/**", "/sso/**")),
        Team(name="payments", channel="C0PAYMENT1", oncall_usergroup="S0PAYONCL1", manager="U0PAYMGR01",
             components=("billing", "payments", "webhooks"), paths=("/api/billing/**", "/api/webhooks/**"),
             pagerduty_routing_key_env="PAGERDUTY_ROUTING_KEY_PAYMENTS"),
    )
    assert config.automation == (
        AutomationRule(path="customer.plan_type", equals="Enterprise", severity_floor=Severity.SEV2,
                       label="enterprise"),
        AutomationRule(path="customer.is_suspended", is_=True, post_to="C0BILLING1", label="suspended-account"),
    )
    assert config.webhooks == (Webhook(url="https://bi.example.com/hooks/supportbot",
                                       secret_env="SUPPORTBOT_WEBHOOK_SECRET"),)
    assert config.links.sentry is not None and "{workspace_id}" in config.links.sentry
    assert config.links.logs is not None and "{start_ms}" in config.links.logs
    assert (config.spikes.window, config.spikes.threshold) == (timedelta(minutes=60), 5)


def test_only_slack_gets_the_contract_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, SLACK))
    assert {tier: config.first_response[tier] for tier in PlanTier} == {
        PlanTier.ENTERPRISE: timedelta(hours=1), PlanTier.BUSINESS: timedelta(hours=1),
        PlanTier.PRO: timedelta(hours=1), PlanTier.TRIAL: timedelta(hours=4), PlanTier.FREE: timedelta(hours=4)}
    assert config.incident.status_update_every == timedelta(minutes=30)
    assert config.scheduler_tick == timedelta(seconds=15)
    assert config.ack_within[Severity.SEV1] == timedelta(minutes=5)
    assert config.teams == () and config.automation == () and config.webhooks == ()
    assert config.links.sentry is None and config.links.logs is None
    assert config.business_hours.timezone == "America/New_York"
    assert config.business_hours.holidays == "US"
    assert config.jira == JiraSettings()


def test_jira_and_holidays_are_read(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, SLACK + '[jira]\nproject = "ENG"\nissue_type = "Task"\n'
                               'acknowledge_statuses = ["In Progress", "Triaged"]\n'
                               '[business_hours]\nholidays = "gb"\n'))
    assert config.jira == JiraSettings(project="ENG", issue_type="Task",
                                       acknowledge_statuses=("In Progress", "Triaged"))
    assert config.business_hours.holidays == "GB"
    assert load_config(write(tmp_path, SLACK + '[business_hours]\nholidays = ""\n')).business_hours.holidays is None


@pytest.mark.parametrize(("text", "expected"), [
    ("90s", timedelta(seconds=90)), ("30m", timedelta(minutes=30)), ("4h", timedelta(hours=4)),
    ("1d", timedelta(days=1)), ("1.5h", timedelta(minutes=90)), (" 500ms ", timedelta(milliseconds=500)),
])
def test_durations(tmp_path: Path, text: str, expected: timedelta) -> None:
    config = load_config(write(tmp_path, SLACK + f'[scheduler]\ntick = "{text}"\n'))
    assert config.scheduler_tick == expected


# Every kind of bad input: one ConfigError naming the key --------------------------------------------------

BAD = {
    "typo key": ('[incident]\nstatus_update_evry = "30m"\n', "[incident] status_update_evry",
                 "did you mean 'status_update_every'"),
    "typo tier": ('[sla.first_response]\nenterprize = "1h"\n', "[sla.first_response] enterprize",
                  "did you mean 'enterprise'"),
    "bad duration": ('[incident]\nstatus_update_every = "30 minutes"\n', "[incident] status_update_every",
                     "bad duration '30 minutes'"),
    "zero duration": ('[scheduler]\ntick = "0s"\n', "[scheduler] tick", "more than zero"),
    # 1e-7 s passes the "> 0" check on the float, then timedelta rounds it to zero.
    "duration rounding to zero": ('[scheduler]\ntick = "0.0001ms"\n', "[scheduler] tick", "more than zero"),
    "number as duration": ("[scheduler]\ntick = 15\n", "[scheduler] tick", "expected a duration string"),
    "unknown section": ('[slakc]\nx = 1\n', "slakc", "did you mean 'slack'"),
    "unknown far section": ('[pagerduty]\nkey = "x"\n', "pagerduty", "unknown key"),
    "bad triage channel": (None, "[slack] triage_channel", "is not a Slack channel ID"),
    "bad team channel": ('[teams.x]\nchannel = "#payments"\noncall_usergroup = "S0X1"\nmanager = "U0X1"\n',
                         "[teams.x] channel", "'#payments' is not a Slack channel ID"),
    "bad team manager": ('[teams.x]\nchannel = "C0X1"\noncall_usergroup = "S0X1"\nmanager = "dana"\n',
                         "[teams.x] manager", "is not a Slack user ID"),
    "bad routing env": ('[teams.x]\nchannel = "C0X1"\noncall_usergroup = "S0X1"\nmanager = "U0X1"\n'
                        'pagerduty_routing_key_env = "pd-key"\n', "[teams.x] pagerduty_routing_key_env",
                        "not an environment variable name"),
    "bad time zone": ('[business_hours]\ntimezone = "Mars/Olympus"\n', "[business_hours] timezone",
                      "not an IANA time zone"),
    "bad weekday": ('[business_hours]\ndays = ["mon", "funday"]\n', "[business_hours] days", "'funday'"),
    "bad clock time": ('[business_hours]\nstart = "9am"\n', "[business_hours] start", "HH:MM"),
    "impossible clock time": ('[business_hours]\nend = "25:00"\n', "[business_hours] end", "not a time of day"),
    "end before start": ('[business_hours]\nstart = "17:00"\nend = "09:00"\n', "[business_hours] end",
                         "must be later than start"),
    "bad channel prefix": ('[incident]\nchannel_prefix = "Incident "\n', "[incident] channel_prefix",
                           "not a valid channel-name start"),
    "bad severity_floor": ('[[automation]]\nwhen = { path = "customer.plan_type", equals = "Enterprise" }\n'
                           'then = { severity_floor = "critical" }\n', "[automation.0.then] severity_floor",
                           "'critical' is not one of SEV1"),
    "rule without condition": ('[[automation]]\nwhen = { path = "customer.plan_type" }\nthen = { label = "x" }\n',
                               "[automation.0.when] equals", "exactly one of `equals`, `in` or `is`"),
    "rule posts to a name": ('[[automation]]\nwhen = { path = "a", is = true }\nthen = { post_to = "billing" }\n',
                             "[automation.0.then] post_to", "not a Slack channel ID"),
    "automation not an array": ('[automation]\nwhen = 1\n', "[[automation]]", "array of tables"),
    "non-integer threshold": ('[spikes]\nthreshold = "five"\n', "[spikes] threshold", "whole number"),
    "fractional threshold": ("[spikes]\nthreshold = 2.5\n", "[spikes] threshold", "whole number"),
    "boolean threshold": ("[spikes]\nthreshold = true\n", "[spikes] threshold", "whole number"),
    "unknown link placeholder": ('[links]\nsentry = "https://sentry.example.com/?q={customer_id}"\n',
                                 "[links] sentry", "unknown placeholder {customer_id}"),
    "link not a URL": ('[links]\nlogs = "datadog"\n', "[links] logs", "http(s) URL template"),
    "link placeholder in the host": ('[links]\nsentry = "https://{workspace_id}.sentry.io/issues"\n',
                                     "[links] sentry", "placeholder {workspace_id} is in the scheme or host"),
    "link placeholder in the port": ('[links]\nlogs = "https://logs.example.com:{start_ms}/"\n', "[links] logs",
                                     "placeholder {start_ms} is in the scheme or host"),
    "link over ftp": ('[links]\nlogs = "ftp://logs.example.com/{workspace_id}"\n', "[links] logs",
                      "http(s) URL template"),
    "link is only a placeholder": ('[links]\nsentry = "{workspace_id}"\n', "[links] sentry",
                                   "placeholder {workspace_id} is in the scheme or host"),
    "link without a host": ('[links]\nsentry = "https:///issues?q={workspace_id}"\n', "[links] sentry",
                            "http(s) URL template"),
    "link not a string": ("[links]\nlogs = 7\n", "[links] logs", "http(s) URL template"),
    "jira typo": ('[jira]\nprojet = "SUP"\n', "[jira] projet", "did you mean 'project'"),
    "jira project not a key": ('[jira]\nproject = "support desk"\n', "[jira] project", "not a Jira project key"),
    "jira no statuses": ('[jira]\nacknowledge_statuses = []\n', "[jira] acknowledge_statuses", "at least one"),
    "jira statuses not a list": ('[jira]\nacknowledge_statuses = "In Progress"\n', "[jira] acknowledge_statuses",
                                 "list of strings"),
    "unknown holiday country": ('[business_hours]\nholidays = "Atlantis"\n', "[business_hours] holidays",
                                "not a country code"),
    "webhook not a URL": ('[[webhooks]]\nurl = "ftp://x"\n', "[webhooks.0] url", "not an http(s) URL"),
    "webhook typo": ('[[webhooks]]\nurl = "https://x"\nsecret = "s"\n', "[webhooks.0] secret",
                     "did you mean 'secret_env'"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_one_config_error_naming_the_key(tmp_path: Path, case: str) -> None:
    extra, key, problem = BAD[case]
    slack = SLACK if extra is not None else SLACK.replace('"C0TRIAGE01"', '"triage"')
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, slack + (extra or "")))
    assert caught.value.key == key
    assert problem in caught.value.problem
    assert str(caught.value) == f"{key}: {caught.value.problem}"
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("missing", ["triage_channel", "support_leads", "support_agents", "incident_commanders"])
def test_missing_slack_key(tmp_path: Path, missing: str) -> None:
    text = "\n".join(line for line in SLACK.splitlines() if not line.startswith(missing))
    with pytest.raises(ConfigError, match=rf"^\[slack\] {missing}: is required$"):
        load_config(write(tmp_path, text))


def test_missing_slack_section_and_bad_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^slack: is required$"):
        parse_config({})
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[slack\n"))
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "absent.toml")
    with pytest.raises(ConfigError, match=r"^\[slack\]: expected a table"):
        parse_config({"slack": "C0TRIAGE01"})


# The CLI ------------------------------------------------------------------------------------------------

def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STATUSPAGE_", "SLACK_", "PORT", "PAGERDUTY_"))}
    command = [str(SUPPORTBOT)] if SUPPORTBOT.exists() else [sys.executable, "-m", "bot.cli"]
    return subprocess.run([*command, *args], capture_output=True, text=True, env=env, cwd=REPO, timeout=60,
                          check=False)


def test_cli_accepts_the_contract() -> None:
    result = run_cli("check-config", str(CONTRACT))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"ok: {CONTRACT} (2 teams, 2 automation rules, 1 webhooks)"


def test_cli_warns_when_the_builtin_status_page_cannot_be_linked() -> None:
    warned = run_cli("check-config", str(CONTRACT))
    assert warned.returncode == 0
    assert "warning: SUPPORTBOT_PUBLIC_URL is not set" in warned.stderr
    assert EnvSettings.from_environ({"SUPPORTBOT_PUBLIC_URL": "https://bot.acme.com"}).warnings() == []
    assert EnvSettings.from_environ({"STATUSPAGE_API_KEY": "k", "STATUSPAGE_PAGE_ID": "p"}).warnings() == []


def test_cli_refuses_a_typo_with_one_line_naming_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, SLACK + '[incident]\nstatus_update_evry = "30m"\n')
    result = run_cli("check-config", str(path))
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "[incident] status_update_evry" in lines[0]
    assert "did you mean 'status_update_every'" in lines[0]
    assert result.stdout == ""


# The environment ----------------------------------------------------------------------------------------

def test_env_defaults() -> None:
    env = EnvSettings.from_environ({})
    assert env.slack_api_url == "https://slack.com/api/"
    assert env.database_url == "sqlite+aiosqlite:///supportbot.db"
    assert env.port == 3000
    assert env.pagerduty_events_url == "https://events.pagerduty.com"
    assert env.statuspage_api_url == "https://api.statuspage.io/v1"
    assert env.slack_bot_token is None and env.statuspage_api_key is None and env.public_url is None


def test_env_values_are_read_and_normalised() -> None:
    env = EnvSettings.from_environ({
        "SLACK_API_URL": "http://127.0.0.1:9000/api", "PORT": " 8080 ", "DATABASE_URL": "postgresql+asyncpg://db/x",
        "PAGERDUTY_EVENTS_URL": "http://127.0.0.1:9001/", "STATUSPAGE_API_KEY": "k", "STATUSPAGE_PAGE_ID": "p1",
        "SUPPORTBOT_PUBLIC_URL": "https://bot.acme.com/", "SLACK_BOT_TOKEN": "  "})
    assert env.slack_api_url == "http://127.0.0.1:9000/api/"
    assert env.port == 8080
    assert env.database_url == "postgresql+asyncpg://db/x"
    assert env.pagerduty_events_url == "http://127.0.0.1:9001"
    assert env.public_url == "https://bot.acme.com"
    assert env.slack_bot_token is None


@pytest.mark.parametrize("port", ["http", "-1", "65536", "80.5", "3 000", "²"])
def test_bad_port_is_a_config_error(port: str) -> None:
    # "²" passes str.isdigit() but not int(): it must still be a ConfigError, not a bare ValueError.
    with pytest.raises(ConfigError) as caught:
        EnvSettings.from_environ({"PORT": port})
    assert caught.value.key == "PORT"


def test_statuspage_key_without_page_id_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        EnvSettings.from_environ({"STATUSPAGE_API_KEY": "sp-secret"})
    assert caught.value.key == "STATUSPAGE_PAGE_ID"
    assert "sp-secret" not in str(caught.value)


def test_jira_environment() -> None:
    env = EnvSettings.from_environ({"JIRA_BASE_URL": "https://acme.atlassian.net/", "JIRA_EMAIL": "bot@acme.com",
                                    "JIRA_API_TOKEN": "jira-s3cret", "JIRA_WEBHOOK_SECRET": "hook-s3cret"})
    assert (env.jira_base_url, env.jira_email) == ("https://acme.atlassian.net", "bot@acme.com")
    assert (env.jira_api_token, env.jira_webhook_secret) == ("jira-s3cret", "hook-s3cret")
    assert "jira-s3cret" not in repr(env)
    with pytest.raises(ConfigError) as caught:
        EnvSettings.from_environ({"JIRA_BASE_URL": "https://acme.atlassian.net", "JIRA_EMAIL": "bot@acme.com"})
    assert caught.value.key == "JIRA_API_TOKEN"


@pytest.mark.parametrize("name", ["SLACK_API_URL", "PAGERDUTY_EVENTS_URL", "STATUSPAGE_API_URL",
                                  "CUSTOMER_CONNECTION_URL", "JIRA_BASE_URL"])
def test_endpoint_urls_must_be_http(name: str) -> None:
    with pytest.raises(ConfigError) as caught:
        EnvSettings.from_environ({name: "localhost:9000"})
    assert caught.value.key == name


def test_repr_hides_secrets() -> None:
    secrets = {"SLACK_BOT_TOKEN": "xoxb-1234567890-secret", "SLACK_SIGNING_SECRET": "signing-s3cret",
               "SLACK_APP_TOKEN": "xapp-1-secret", "PAGERDUTY_ROUTING_KEY": "pd-routing-s3cret",
               "STATUSPAGE_API_KEY": "statuspage-s3cret", "STATUSPAGE_PAGE_ID": "page1",
               "CUSTOMER_CONNECTION_SECRET": "cc-s3cret",
               "DATABASE_URL": "postgresql+asyncpg://bot:db-pa55word@db/x"}
    env = EnvSettings.from_environ(secrets)
    assert env.slack_bot_token == "xoxb-1234567890-secret"
    shown = repr(env) + str(env) + f"{env}" + repr([env])
    for name, value in secrets.items():
        if name != "STATUSPAGE_PAGE_ID":
            assert value not in shown, name
    assert "db-pa55word" not in shown

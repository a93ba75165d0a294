"""The webhook secrets are read at start and a missing one refuses it, naming the variable; the status report
reads as an operator needs it."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.config import ConfigError, EnvSettings
from bot.webhooks.status import age, render, shown_url
from storage.repositories.outbox import Backlog
from tests.conftest import CONTRACT, ROOT

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
HOOK = "https://bi.example.com/hooks/supportbot"


def test_each_webhook_secret_is_read_from_the_variable_it_names() -> None:
    env = EnvSettings().with_webhook_secrets([(HOOK, "SUPPORTBOT_WEBHOOK_SECRET")],
                                             {"SUPPORTBOT_WEBHOOK_SECRET": " s3cret "})
    assert env.webhook_secrets == {"SUPPORTBOT_WEBHOOK_SECRET": "s3cret"}
    assert "s3cret" not in repr(env)


def test_an_unset_secret_refuses_to_start_naming_the_variable() -> None:
    with pytest.raises(ConfigError) as refused:
        EnvSettings().with_webhook_secrets([(HOOK, "SUPPORTBOT_WEBHOOK_SECRET")], {})
    assert "SUPPORTBOT_WEBHOOK_SECRET" in str(refused.value) and HOOK in str(refused.value)
    with pytest.raises(ConfigError, match=r"webhooks\.0\.secret_env"):
        EnvSettings().with_webhook_secrets([(HOOK, None)], {})


def test_the_status_report() -> None:
    backlogs = [Backlog(url=HOOK + "?token=abc", undelivered=3, delivered=40, oldest_undelivered_at=NOW - timedelta(
                        minutes=12, seconds=5), last_error="HTTP 503 Service Unavailable",
                        last_error_at=NOW - timedelta(minutes=1)),
                Backlog(url="https://other.example/h", undelivered=0, delivered=2, oldest_undelivered_at=None,
                        last_error=None, last_error_at=None)]
    assert render(backlogs, now=NOW) == [
        HOOK,  # the query, which can carry a token, is not printed
        "  backlog: 3 undelivered, oldest 12m 5s old (since 2026-12-03 11:47:55 UTC); 40 delivered",
        "  last error: 2026-12-03 11:59:00 UTC: HTTP 503 Service Unavailable",
        "https://other.example/h",
        "  backlog: none; 2 delivered",
        "  last error: none"]
    assert render([], now=NOW) == ["no webhook events recorded"]
    assert shown_url("https://user:pw@h.example:8443/p?q=1") == "https://h.example:8443/p"
    assert [age(timedelta(seconds=s)) for s in (5, 65, 3700, 90000)] == ["5s", "1m 5s", "1h 1m", "1d 1h"]


def test_check_config_and_run_refuse_without_the_secret() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SUPPORTBOT_"))}
    env.update(SLACK_BOT_TOKEN="xoxb-test", SLACK_SIGNING_SECRET="s", SUPPORTBOT_CONFIG=str(CONTRACT),
               DATABASE_URL="sqlite+aiosqlite:///:memory:")
    for command in (["check-config"], ["run"]):
        result = subprocess.run([sys.executable, "-m", "bot.cli", *command], capture_output=True, text=True,
                                env=env, cwd=ROOT, timeout=60, check=False)
        assert result.returncode == 2, result.stderr
        assert result.stderr.strip().splitlines()[-1] == (
            "supportbot: configuration error: SUPPORTBOT_WEBHOOK_SECRET: is not set; [[webhooks]] "
            "https://bi.example.com/hooks/supportbot signs every delivery with it")

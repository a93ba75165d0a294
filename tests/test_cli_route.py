"""`supportbot route`: what an escalation would do, printed from the configuration alone."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.core.config import load_config
from bot.domain import Severity
from bot.escalation.route_report import UnknownComponent, explain

CONTRACT = Path(__file__).resolve().parent.parent / ".." / "shared" / "contract" / "supportbot.toml"
PAYMENTS_KEY = "pd-payments-routing-s3cret-value"
DEFAULT_KEY = "pd-default-routing-s3cret-value"


@pytest.fixture(autouse=True)
def no_routing_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PAGERDUTY_ROUTING_KEY", "PAGERDUTY_ROUTING_KEY_PAYMENTS", "SUPPORTBOT_CONFIG"):
        monkeypatch.delenv(name, raising=False)


def route(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["route", *args, "--config", str(CONTRACT)])
    out, err = capsys.readouterr()
    return code, out, err


def test_sev2_by_component_pages_payments_with_its_variable_name_only(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAGERDUTY_ROUTING_KEY_PAYMENTS", PAYMENTS_KEY)
    monkeypatch.setenv("PAGERDUTY_ROUTING_KEY", DEFAULT_KEY)
    code, out, err = route(capsys, "--severity", "SEV2", "--component", "billing", "--url", "/api/billing/invoices")
    assert code == 0, err
    assert 'team: payments, by component "billing" of teams.payments' in out
    assert "conflict" not in out
    assert "C0PAYMENT1" in out
    assert "pages the owning team through PagerDuty with the routing key in $PAGERDUTY_ROUTING_KEY_PAYMENTS" in out
    assert "not set" not in out
    assert PAYMENTS_KEY not in out + err and DEFAULT_KEY not in out + err
    assert "at +15m: re-page: a new PagerDuty trigger with an 'Unacknowledged:' summary" in out
    assert "at +30m: call in the manager U0PAYMGR01" in out
    assert "then every 15m: remind the agent in the ticket's thread, until someone acknowledges" in out
    assert "S0PAYONCL1" not in out  # a page, not a mention


def test_sev1_by_path_says_when_the_variable_is_unset(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = route(capsys, "--severity", "sev1", "--url", "https://app.example.com/api/billing/x?y=1#z")
    assert code == 0
    assert 'team: payments, by path "/api/billing/**" of teams.payments' in out
    assert "(path /api/billing/x)" in out
    assert "$PAGERDUTY_ROUTING_KEY_PAYMENTS (not set in this environment)" in out
    assert "falling back to $PAGERDUTY_ROUTING_KEY (not set either)" in out
    assert "incident" in out
    assert "at +5m: re-page" in out and "at +10m: call in the manager U0PAYMGR01" in out
    assert "then every 5m:" in out


def test_the_default_key_for_a_team_without_its_own(capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAGERDUTY_ROUTING_KEY", DEFAULT_KEY)
    code, out, err = route(capsys, "--severity", "SEV2", "--url", "/api/users")
    assert code == 0
    assert 'team: platform, by path "/api/**" of teams.platform' in out
    assert "with the routing key in $PAGERDUTY_ROUTING_KEY\n" in out
    assert DEFAULT_KEY not in out + err


def test_sev3_mentions_the_on_call_group(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = route(capsys, "--severity", "SEV3", "--component", "AUTH")
    assert code == 0
    assert 'team: platform, by component "auth" of teams.platform' in out
    assert "notify: mentions S0PLTONCL1 in C0PLATFRM1" in out
    assert "PagerDuty" not in out
    assert "at +4h: re-page: mention S0PLTONCL1 again" in out
    assert "at +8h: call in the manager U0PLTMGR01" in out
    assert "then every 4h:" in out


def test_sev4_posts_without_a_mention(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = route(capsys, "--severity", "SEV4", "--component", "webhooks")
    assert code == 0
    assert "notify: posts without a mention in C0PAYMENT1" in out
    assert "PagerDuty" not in out
    assert "at +1d:" in out and "at +2d: call in the manager U0PAYMGR01" in out


def test_a_conflict_says_which_rule_lost(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = route(capsys, "--severity", "SEV2", "--component", "auth", "--url", "/api/billing/x")
    assert code == 0
    assert 'team: platform, by component "auth" of teams.platform' in out
    assert 'conflict: path "/api/billing/**" of teams.payments names payments; the component wins' in out
    assert "C0PLATFRM1" in out and "C0PAYMENT1" not in out


def test_no_team_owns_it(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = route(capsys, "--severity", "SEV2", "--url", "/dashboard")
    assert code == 0
    assert "no team owns this" in out
    assert "the agent picks the team in the escalation modal" in out
    assert "teams: platform, payments" in out
    code, out, _ = route(capsys, "--severity", "SEV3")
    assert code == 0 and "no team owns this: the agent picks the team in the escalation modal" in out


def test_an_unknown_component_is_an_error_naming_the_known_ones(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = route(capsys, "--severity", "SEV2", "--component", "search")
    assert code == 2
    assert out == ""
    assert err.strip() == ("supportbot: unknown component 'search' "
                           "(known: auth, sso, api, billing, payments, webhooks)")


def test_severity_is_required_and_checked(capsys: pytest.CaptureFixture[str]) -> None:
    for args in (["route", "--config", str(CONTRACT)], ["route", "--severity", "SEV5"]):
        with pytest.raises(SystemExit) as exited:
            main(args)
        assert exited.value.code == 2
    assert "SEV5" in capsys.readouterr().err


def test_a_bad_config_goes_through_the_config_error(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPORTBOT_CONFIG", str(tmp_path / "absent.toml"))
    code = main(["route", "--severity", "SEV2"])
    _, err = capsys.readouterr()
    assert code == 2
    assert err.startswith("supportbot: configuration error: ") and "absent.toml" in err


def test_the_config_path_comes_from_the_environment(capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPORTBOT_CONFIG", str(CONTRACT))
    assert main(["route", "--severity", "SEV4", "--component", "sso"]) == 0
    assert "teams.platform" in capsys.readouterr().out


def test_explain_with_odd_durations_and_no_teams() -> None:
    config = load_config(CONTRACT)
    config = replace(config, ack_within={**config.ack_within, Severity.SEV2: timedelta(minutes=90, seconds=30)})
    lines = explain(config, severity=Severity.SEV2, component=None, url="/api/x", environ={})
    assert "  at +1h30m30s: re-page: a new PagerDuty trigger with an 'Unacknowledged:' summary" in lines
    assert "  at +3h1m: call in the manager U0PLTMGR01" in lines
    empty = replace(config, teams=())
    lines = explain(empty, severity=Severity.SEV2, component=None, url=None, environ={})
    assert any("no team owns this" in line and "none are configured" in line for line in lines)
    with pytest.raises(UnknownComponent, match="none: no team lists components"):
        explain(empty, severity=Severity.SEV2, component="billing", url=None, environ={})

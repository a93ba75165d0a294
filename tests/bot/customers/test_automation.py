"""[[automation]] rules: one condition of each kind and one action of each kind, merged across rules, and the
configuration refusing rules it could not run."""

from __future__ import annotations

import pytest

from bot.core.config import AutomationRule, ConfigError, parse_config
from bot.customers.automation import evaluate, matches
from bot.domain import PlanTier, Severity

DOCUMENT = {"customer": {"plan_type": "Enterprise", "is_suspended": True, "region": "eu-west-1",
                         "organization": {"seats": 40}}}


def test_each_condition() -> None:
    assert matches(AutomationRule(path="customer.plan_type", equals="Enterprise"), DOCUMENT)
    assert not matches(AutomationRule(path="customer.plan_type", equals="enterprise"), DOCUMENT)
    assert matches(AutomationRule(path="customer.region", in_=("eu-west-1", "eu-central-1")), DOCUMENT)
    assert not matches(AutomationRule(path="customer.region", in_=("us-east-1",)), DOCUMENT)
    assert matches(AutomationRule(path="customer.is_suspended", is_=True), DOCUMENT)
    assert not matches(AutomationRule(path="customer.is_suspended", is_=False), DOCUMENT)
    assert matches(AutomationRule(path="data.customer.organization.seats", equals=40), DOCUMENT)
    # A missing path matches nothing, and `is true` is not satisfied by a truthy string or 1.
    assert not matches(AutomationRule(path="customer.nope", equals="Enterprise"), {"customer": {}})
    assert not matches(AutomationRule(path="customer.nope", is_=False), {"customer": {}})
    assert not matches(AutomationRule(path="customer.flag", is_=True), {"customer": {"flag": 1}})


def test_actions_are_merged_across_rules() -> None:
    rules = (AutomationRule(path="customer.plan_type", equals="Enterprise", severity_floor=Severity.SEV2,
                            label="enterprise"),
             AutomationRule(path="customer.is_suspended", is_=True, post_to="C0BILLING1", label="suspended-account",
                            severity_floor=Severity.SEV3),
             AutomationRule(path="customer.region", in_=("eu-west-1",), plan_tier=PlanTier.BUSINESS,
                            label="enterprise"),
             AutomationRule(path="customer.plan_type", equals="Free", severity_floor=Severity.SEV1))
    outcome = evaluate(rules, DOCUMENT)
    assert outcome.matched == (0, 1, 2)
    assert outcome.severity_floor is Severity.SEV2  # the worst floor of those that matched
    assert outcome.labels == ("enterprise", "suspended-account") and outcome.post_to == ("C0BILLING1",)
    assert outcome.plan_tier is PlanTier.BUSINESS
    assert "Enterprise" not in str(outcome.audit_view())  # the rule's words, not the customer's values


@pytest.mark.parametrize(("rule", "key"), [
    ({"when": {"path": "customer.x"}, "then": {"label": "x"}}, "automation.0.when"),
    ({"when": {"path": "customer.x", "is": "yes"}, "then": {"label": "x"}}, "[automation.0.when] is"),
    ({"when": {"path": "customer.x", "in": "a"}, "then": {"label": "x"}}, "[automation.0.when] in"),
    ({"when": {"path": "customer.x", "equals": 1, "is": True}, "then": {"label": "x"}}, "automation.0.when"),
    ({"when": {"path": "customer.x", "equals": 1}, "then": {"plan_tier": "gold"}}, "[automation.0.then] plan_tier"),
    ({"when": {"path": "customer.x", "equals": 1}, "then": {}}, "automation.0.then"),
])
def test_rules_the_bot_could_not_run_are_refused_by_name(rule: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_config({"slack": {"triage_channel": "C0TRIAGE01", "support_leads": "S0LEADS01",
                                "support_agents": "S0AGENTS01", "incident_commanders": "S0COMMAND1"},
                      "automation": [rule]})
    assert key in str(refused.value)

"""`[[automation]]` rules on live customer data: which rules match a fresh document, and what together they
ask for. Pure: the document is read here and nowhere kept; what a rule did is described by the rule itself
(its index, label, floor, channel, plan), never by the customer values that made it match."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.core.config import AutomationRule
from bot.customers.document import value_at
from bot.domain import PlanTier, Severity


@dataclass(frozen=True)
class AutomationOutcome:
    """What the matching rules ask for, merged: the worst severity floor, the last plan tier, every label and
    channel once, and which rules (by position in the file) matched."""

    matched: tuple[int, ...] = ()
    severity_floor: Severity | None = None
    plan_tier: PlanTier | None = None
    labels: tuple[str, ...] = field(default_factory=tuple)
    post_to: tuple[str, ...] = field(default_factory=tuple)

    def audit_view(self) -> dict[str, Any]:
        """The outcome as the audit log keeps it: the rules' own words, no customer data."""
        return {"rules": list(self.matched), "severity_floor": self.severity_floor,
                "plan_tier": self.plan_tier.value if self.plan_tier else None, "labels": list(self.labels),
                "post_to": list(self.post_to)}


def _path(rule_path: str) -> str:
    # The contract writes paths as "customer.plan_type"; "data.customer.plan_type" (as in templates) works too.
    return rule_path.removeprefix("data.")


def matches(rule: AutomationRule, document: Mapping[str, Any]) -> bool:
    """Whether the rule's condition holds for the document (`equals` a value, `in` a list, `is` true/false)."""
    value = value_at(document, _path(rule.path))
    if rule.in_ is not None:
        return any(_same(value, v) for v in rule.in_)
    if rule.is_ is not None:
        return value is rule.is_
    return _same(value, rule.equals)


def _same(value: object, wanted: object) -> bool:
    if isinstance(value, bool) or isinstance(wanted, bool):
        return value is wanted
    return value == wanted


def evaluate(rules: Sequence[AutomationRule], document: Mapping[str, Any]) -> AutomationOutcome:
    """Every matching rule's actions, merged."""
    matched: list[int] = []
    floor: Severity | None = None
    tier: PlanTier | None = None
    labels: list[str] = []
    channels: list[str] = []
    for index, rule in enumerate(rules):
        if not matches(rule, document):
            continue
        matched.append(index)
        if rule.severity_floor is not None and (floor is None or rule.severity_floor.rank < floor.rank):
            floor = rule.severity_floor
        tier = rule.plan_tier or tier
        if rule.label and rule.label not in labels:
            labels.append(rule.label)
        if rule.post_to and rule.post_to not in channels:
            channels.append(rule.post_to)
    return AutomationOutcome(tuple(matched), floor, tier, tuple(labels), tuple(channels))

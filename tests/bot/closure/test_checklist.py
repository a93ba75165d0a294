"""Which closure items each plan tier requires, with and without an escalation and a novel path."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.closure.checklist import required_items
from bot.domain import ClosureItem as I
from bot.domain import PlanTier
from tests.blocks.test_builders import make_ticket

ALWAYS = [I.CUSTOMER_CONFIRMED, I.ROOT_CAUSE]


@pytest.mark.parametrize(("plan", "expected"), [
    (PlanTier.ENTERPRISE, [*ALWAYS, I.CSM_CALL, I.INCIDENT_SUMMARY]),
    (PlanTier.BUSINESS, [*ALWAYS, I.CSM_CALL]),
    (PlanTier.PRO, ALWAYS),
    (PlanTier.TRIAL, ALWAYS),
    (PlanTier.FREE, ALWAYS),
])
def test_each_plan_tier(plan: PlanTier, expected: list[I]) -> None:
    assert list(required_items(replace(make_ticket(), plan_tier=plan), escalated=False, novel_path=False)) == expected


def test_an_escalation_adds_the_ids_and_a_novel_path_the_runbook_entry() -> None:
    items = required_items(replace(make_ticket(), plan_tier=PlanTier.FREE), escalated=True, novel_path=True)
    assert list(items) == [*ALWAYS, I.ESCALATION_IDS, I.RUNBOOK_ENTRY]

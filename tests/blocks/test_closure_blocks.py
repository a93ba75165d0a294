"""blocks/closure.py: the resolve modal and the checklist's modals are valid views; the checklist on the card
is valid Block Kit with one action ID per button (Slack refuses duplicates within a block)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from blocks import closure as closure_blocks
from bot.domain import Closure, ClosureItem, PlanTier
from tests.blocks.test_builders import NOW, assert_valid_blocks, assert_valid_view, make_ticket

TICKET = replace(make_ticket(), plan_tier=PlanTier.ENTERPRISE)


def test_the_modals_are_valid_views() -> None:
    assert_valid_view(closure_blocks.resolve_modal(TICKET, escalated=True, jira_key="SUP-9", sentry_id="4711"))
    assert_valid_view(closure_blocks.resolve_modal(TICKET, escalated=False, jira_key=None, sentry_id=None))
    assert_valid_view(closure_blocks.csm_modal(TICKET, latest=NOW + timedelta(days=1)))
    assert_valid_view(closure_blocks.summary_modal(TICKET, "Impact: …\nRoot cause: Billing."))
    assert_valid_view(closure_blocks.runbook_modal(TICKET))


def test_the_checklist_has_a_unique_action_per_button_and_says_closed() -> None:
    closure = Closure(ticket_number=42, resolved_at=NOW, resolved_by="U0AGENT1", required=tuple(ClosureItem),
                      done={ClosureItem.ROOT_CAUSE: "billing"}, customer_reminders=2)
    blocks = closure_blocks.checklist(closure, now=NOW)
    assert_valid_blocks(blocks)
    ids = [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert len(ids) == len(set(ids)) == 6  # five open items, and "unresponsive" after two reminders
    closed = closure_blocks.checklist(replace(closure, closed_at=NOW), now=NOW)
    assert "Closed" in str(closed)

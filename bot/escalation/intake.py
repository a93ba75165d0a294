"""Turns the escalation modal's state into the hand-off's facts, or into Slack's inline field errors.

Pure: no I/O. An incomplete hand-off is refused here, because one that bounces back costs hours.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from blocks.escalation import IMPACT_MAX, REQUEST_ID_HINT
from blocks.ids import EscalationField as E
from blocks.ticket_modal import URL_MAX
from bot.core.formats import is_time_zone, is_web_link
from bot.core.redaction import redact
from bot.core.views import has_broken_characters, state_value
from bot.domain import EscalationFacts, PlanTier, ReproResult
from bot.tickets.intake import FieldReader, picked_moment

FIELD_MAX = {E.WORKSPACE_ID: 100, E.CUSTOMER_TIMEZONE: 64, E.REQUEST_ID: 200, E.SENTRY_URL: URL_MAX,
             E.JIRA: URL_MAX, E.CUSTOMER_IMPACT: IMPACT_MAX}
COMPONENT_MAX = 64  # the stored round's column
_SENTRY_ISSUE = re.compile(r"/issues/(\d+)(?:/|$|\?|#)")



def sentry_issue_of(url: str) -> str | None:
    """The Sentry issue ID in an issue link (`…/issues/4711/`), which relates tickets with the same error."""
    match = _SENTRY_ISSUE.search(url)
    return match.group(1) if match else None


@dataclass(frozen=True)
class EscalationForm:
    """The modal's answers: the facts, the team the agent picked (if any), and an inline error per block."""

    facts: EscalationFacts | None
    team_choice: str | None = None
    jira_text: str | None = None
    errors: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, view: Mapping[str, Any], *, jira_key_of: Any) -> EscalationForm:
        """The form from a submitted modal; never raises. `jira_key_of(text)` reads a Jira key or link."""
        reader = FieldReader(view, {block.value: limit for block, limit in FIELD_MAX.items()})
        errors = reader.errors

        def checked(block: E) -> str:
            return reader.checked(block.value)

        def required(block: E, message: str) -> str:
            return reader.required(block.value, message)

        impact = required(E.CUSTOMER_IMPACT, "Say in one sentence what the customer cannot do")
        workspace_id = required(E.WORKSPACE_ID, "Enter the customer's workspace ID")
        expected = required(E.EXPECTED, "Say what the customer expected")
        actual = required(E.ACTUAL, "Say what actually happened")
        request_id = required(E.REQUEST_ID, "Add the request ID. " + REQUEST_ID_HINT)
        sentry_url = required(E.SENTRY_URL, "Add the Sentry link for this error")
        if sentry_url and E.SENTRY_URL.value not in errors and not is_web_link(sentry_url):
            errors[E.SENTRY_URL.value] = "Enter the Sentry link as an http(s) URL (https://sentry.io/…)"
        steps = required(E.REPRO_STEPS, "Write the steps that reproduce it (or what was tried)")
        result_value = state_value(view, E.REPRO_RESULT.value)
        result = ReproResult(result_value) if result_value in ReproResult._value2member_map_ else None
        if result is None:
            errors[E.REPRO_RESULT.value] = "Choose the reproduction result"
        plan_value = state_value(view, E.PLAN_TIER.value)
        plan = PlanTier(plan_value) if plan_value in PlanTier._value2member_map_ else None
        if plan is None:
            errors[E.PLAN_TIER.value] = "Choose the customer's plan tier"
        zone = checked(E.CUSTOMER_TIMEZONE) or None
        if zone and E.CUSTOMER_TIMEZONE.value not in errors and not is_time_zone(zone):
            errors[E.CUSTOMER_TIMEZONE.value] = f"“{zone[:60]}” is not an IANA time zone such as Europe/Berlin"
        occurred_at = None
        raw_time = state_value(view, E.OCCURRED_AT.value)
        if raw_time is not None:
            occurred_at = picked_moment(raw_time)
            if occurred_at is None:
                errors[E.OCCURRED_AT.value] = "Pick the time again: this one could not be read"
        jira_text = checked(E.JIRA) or None
        jira_key = None
        if jira_text and E.JIRA.value not in errors:
            jira_key = jira_key_of(jira_text)
            if jira_key is None:
                errors[E.JIRA.value] = "Enter an existing Jira key such as SUP-123, or its link, or leave it empty"
        component = state_value(view, E.COMPONENT.value)
        # Only a forged option is this long or broken: it would reach the 64-character column unchecked.
        if isinstance(component, str) and (len(component) > COMPONENT_MAX or has_broken_characters(component)):
            errors[E.COMPONENT.value] = "Choose the component from the list"
        team = state_value(view, E.TEAM.value)
        if errors or result is None or plan is None:
            return cls(facts=None, errors=errors)
        facts = EscalationFacts(
            workspace_id=workspace_id, plan_tier=plan, occurred_at=occurred_at, customer_timezone=zone,
            expected=expected, actual=actual, request_id=request_id, sentry_url=sentry_url, repro_steps=steps,
            repro_result=result, component=component if isinstance(component, str) else None,
            customer_impact=impact, jira_key=jira_key)
        return cls(facts=_redacted(facts), team_choice=team if isinstance(team, str) else None,
                   jira_text=jira_text)


def _redacted(facts: EscalationFacts) -> EscalationFacts:
    """Credentials pasted into the free text are removed exactly as at intake, and named for the agent."""
    found: list[str] = []

    def clean(text: str) -> str:
        result = redact(text)
        found.extend(result.kinds)
        return result.text

    return replace(facts, expected=clean(facts.expected), actual=clean(facts.actual),
                   repro_steps=clean(facts.repro_steps), customer_impact=clean(facts.customer_impact),
                   request_id=clean(facts.request_id), workspace_id=clean(facts.workspace_id),
                   sentry_url=clean(facts.sentry_url),
                   redactions=tuple(dict.fromkeys(found)))

"""Turns the intake modal's state into a typed form, or into Slack's inline field errors.

Pure: no I/O, so every rule here is tested without Slack.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from blocks.ids import SeverityField
from blocks.ids import TicketField as F
from blocks.refusals import BROKEN_CHARACTERS, too_long
from blocks.ticket_modal import REASON_MAX, TEXT_MAX, URL_MAX
from bot.core.formats import is_email, is_time_zone, is_web_link
from bot.core.views import has_broken_characters, state_value, text_value
from bot.domain import Category, Environment, Impact, PlanTier

_ENDPOINT = re.compile(r"^(?:(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)\s+)?(/\S*)$", re.IGNORECASE)
SUMMARY_MAX = 150
FIELD_MAX = {F.WORKSPACE_ID: 100, F.BROWSER: 200, F.OS: 200, F.REQUEST_ID: 200,
             F.URL: URL_MAX, F.ATTACHMENT_LINK: URL_MAX, F.HELPDESK_LINK: URL_MAX}
# The datetimepicker's range is far narrower; these bounds only keep a forged number from crashing the parse.
EARLIEST, LATEST = 946_684_800, 4_102_444_800  # 2000-01-01 and 2100-01-01, UTC
# A clock a few seconds ahead of Slack's should not turn "just now" into "in the future".
FUTURE_TOLERANCE = timedelta(minutes=2)


def picked_moment(raw: object) -> datetime | None:
    """A datetimepicker's Unix seconds as a moment; None for anything Slack would not send (1e20, "soon")."""
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not EARLIEST <= raw <= LATEST:
        return None
    return datetime.fromtimestamp(int(raw), UTC)


def is_api_endpoint(url: str) -> bool:
    """True when the reported URL is an API call (a method and path, an api. host or an /api/ path)."""
    if _ENDPOINT.match(url):
        return True
    try:
        parts = urlsplit(url)
        return parts.hostname is not None and (parts.hostname.startswith("api.") or parts.path.startswith("/api/"))
    except ValueError:
        return False


def url_problem(url: str) -> str | None:
    """The inline error for a URL field that is neither a full http(s) URL nor an API path; None when fine."""
    if _ENDPOINT.match(url) or is_web_link(url):
        return None
    return "Enter a full URL (https://…) or an API path such as POST /api/v2/invoices"


def link_problem(url: str) -> str | None:
    """The inline error for a screenshot or help desk link that is not an http(s) link; None when fine."""
    return None if is_web_link(url) else "Enter a link that starts with https://"


def severity_errors(impact: object, reason: str) -> dict[str, str]:
    """Inline errors for the change-severity modal (its trimmed reason); empty when the change may be made."""
    if not reason:
        return {SeverityField.REASON.value: "Say why the severity changes"}
    if len(reason) > REASON_MAX:
        return {SeverityField.REASON.value: too_long(REASON_MAX, len(reason))}
    if has_broken_characters(reason):
        return {SeverityField.REASON.value: BROKEN_CHARACTERS}
    if impact not in Impact._value2member_map_:
        return {SeverityField.IMPACT.value: "Choose the impact"}
    return {}


class FieldReader:
    """Reads a modal's text inputs into `errors` as it goes: a value past its block's limit, or with broken
    characters, is refused whole (Slack's client enforces the limits, so such a value came from elsewhere)."""

    def __init__(self, view: Mapping[str, Any], limits: Mapping[str, int], default_limit: int = TEXT_MAX) -> None:
        self._view = view
        self._limits = limits
        self._default = default_limit
        self.errors: dict[str, str] = {}

    def checked(self, block_id: str) -> str:
        """The trimmed value; an error recorded when it is too long or broken."""
        value = text_value(self._view, block_id)
        limit = self._limits.get(block_id, self._default)
        if len(value) > limit:
            self.errors[block_id] = too_long(limit, len(value))
        elif has_broken_characters(value):
            self.errors[block_id] = BROKEN_CHARACTERS
        return value

    def required(self, block_id: str, message: str) -> str:
        """The value, with `message` as its error when it is empty."""
        value = self.checked(block_id)
        if not value and block_id not in self.errors:
            self.errors[block_id] = message
        return value

    def optional(self, block_id: str) -> str | None:
        """The value, or None when empty."""
        return self.checked(block_id) or None


@dataclass(frozen=True)
class TicketForm:
    """The intake modal's answers, trimmed and typed, with an inline error per block ID that failed a rule."""

    workspace_id: str = ""
    requester_email: str = ""
    summary: str = ""
    what_happened: str = ""
    expected: str = ""
    impact: Impact | None = None
    plan_tier: PlanTier | None = None
    environment: Environment = field(default_factory=Environment)
    attachment_link: str | None = None
    helpdesk_link: str | None = None
    category: Category | None = None
    errors: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, view: Mapping[str, Any], *, now: datetime) -> TicketForm:
        """The form from a submitted modal; never raises: every problem becomes an entry in `errors`."""
        reader = FieldReader(view, {block.value: limit for block, limit in FIELD_MAX.items()})
        errors = reader.errors

        def required(block: F, what: str) -> str:
            return reader.required(block.value, f"Enter the {what}")

        def optional(block: F) -> str | None:
            return reader.optional(block.value)

        workspace_id = required(F.WORKSPACE_ID, "customer's workspace ID")
        email = required(F.REQUESTER_EMAIL, "requester's email")
        if email and not is_email(email):
            errors[F.REQUESTER_EMAIL.value] = f"“{email[:60]}” is not an email address, e.g. dana@customer.com"
        summary = required(F.SUMMARY, "summary")
        if len(summary) > SUMMARY_MAX:
            errors[F.SUMMARY.value] = f"Keep the summary to {SUMMARY_MAX} characters (it has {len(summary)})"
        what_happened = required(F.WHAT_HAPPENED, "what happened")
        expected = required(F.EXPECTED, "what was expected")

        impact_value = state_value(view, F.IMPACT.value)
        impact = Impact(impact_value) if impact_value in Impact._value2member_map_ else None
        if impact is None:
            errors[F.IMPACT.value] = "Choose the impact: it decides the severity"
        plan_value = state_value(view, F.PLAN_TIER.value)
        plan = PlanTier(plan_value) if plan_value in PlanTier._value2member_map_ else None
        if plan is None:
            errors[F.PLAN_TIER.value] = "Choose the customer's plan tier: it sets the first-response SLA"
        category_value = state_value(view, F.CATEGORY.value)
        category = Category(category_value) if category_value in Category._value2member_map_ else None

        url = optional(F.URL)
        if url and (problem := url_problem(url)):
            errors[F.URL.value] = problem
        request_id = optional(F.REQUEST_ID)
        if url and F.URL.value not in errors and is_api_endpoint(url) and not request_id:
            errors[F.REQUEST_ID.value] = ("Add the request ID (the X-Request-Id response header): "
                                          "the URL is an API endpoint")

        occurred_at = None
        raw_time = state_value(view, F.OCCURRED_AT.value)
        if raw_time is not None:
            occurred_at = picked_moment(raw_time)
            if occurred_at is None:
                errors[F.OCCURRED_AT.value] = "Pick the time again: this one could not be read"
            elif occurred_at > now + FUTURE_TOLERANCE:
                errors[F.OCCURRED_AT.value] = "That time is in the future: when did the customer see it?"

        zone = optional(F.CUSTOMER_TIMEZONE)
        if zone and not is_time_zone(zone):
            errors[F.CUSTOMER_TIMEZONE.value] = f"“{zone[:60]}” is not an IANA time zone such as Europe/Berlin"

        links: dict[F, str | None] = {}
        for block in (F.ATTACHMENT_LINK, F.HELPDESK_LINK):
            links[block] = optional(block)
            if links[block] and (problem := link_problem(links[block] or "")):
                errors[block.value] = problem

        return cls(
            workspace_id=workspace_id, requester_email=email, summary=summary, what_happened=what_happened,
            expected=expected, impact=impact, plan_tier=plan,
            environment=Environment(browser=optional(F.BROWSER), os=optional(F.OS), url=url,
                                    occurred_at=occurred_at, customer_timezone=zone, request_id=request_id),
            attachment_link=links[F.ATTACHMENT_LINK], helpdesk_link=links[F.HELPDESK_LINK], category=category,
            errors=errors,
        )

"""bot/intake.py: the intake modal's submitted state becomes a typed form or Slack's inline field errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from blocks.ids import TicketField as F
from bot.domain import Category, Impact, PlanTier
from bot.tickets.intake import SUMMARY_MAX, TicketForm, is_api_endpoint

NOW = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)
SELECTS = {F.IMPACT: "radio_buttons", F.PLAN_TIER: "static_select", F.CATEGORY: "static_select",
           F.CUSTOMER_TIMEZONE: "external_select"}
TEXT_FIELDS = [f for f in F if f not in SELECTS and f is not F.OCCURRED_AT]
VALID = {F.WORKSPACE_ID: "ws_4f2a9c", F.REQUESTER_EMAIL: "dana@customer.com",
         F.SUMMARY: "Invoices page returns 500", F.WHAT_HAPPENED: "Billing > Invoices shows HTTP 500",
         F.EXPECTED: "The invoice list", F.IMPACT: "major_broken", F.PLAN_TIER: "business"}


def element_state(field: F, value: Any) -> dict[str, Any]:
    """One action's state, shaped as Slack sends it, including the empty shapes of untouched inputs."""
    if field in SELECTS:
        option = None if value is None else {"text": {"type": "plain_text", "text": str(value)}, "value": value}
        return {"type": SELECTS[field], "selected_option": option}
    if field is F.OCCURRED_AT:
        return {"type": "datetimepicker", "selected_date_time": value}
    kind = "email_text_input" if field is F.REQUESTER_EMAIL else "plain_text_input"
    return {"type": kind, "value": value}


def view(**changes: Any) -> dict[str, Any]:
    """A submitted view: VALID plus `changes` (by TicketField value); None leaves a field empty."""
    given_values = {**{f.value: v for f, v in VALID.items()}, **changes}
    values = {}
    for field in F:
        value = given_values.get(field.value)
        if field is F.OCCURRED_AT and isinstance(value, datetime):
            value = int(value.timestamp())
        values[field.value] = {field.value: element_state(field, value)}
    return {"id": "V0123", "callback_id": "ticket_submit", "state": {"values": values}}


def parse(**changes: Any) -> TicketForm:
    return TicketForm.parse(view(**changes), now=NOW)


# Required fields ----------------------------------------------------------------------------------------

def test_a_minimal_valid_submission() -> None:
    form = parse()
    assert form.errors == {}
    assert form.workspace_id == "ws_4f2a9c" and form.requester_email == "dana@customer.com"
    assert form.impact is Impact.MAJOR_BROKEN and form.plan_tier is PlanTier.BUSINESS
    assert form.category is None and form.attachment_link is None and form.helpdesk_link is None
    assert form.environment.url is None and form.environment.occurred_at is None


def test_a_full_valid_submission() -> None:
    form = parse(browser=" Chrome 131 ", os="macOS 15.1", url="https://app.acme.com/billing",
                 occurred_at=NOW - timedelta(hours=1), customer_timezone="Europe/Berlin", request_id="req_91ab",
                 attachment_link="https://www.loom.com/share/abc", helpdesk_link="https://acme.zendesk.com/t/981",
                 category="billing", impact="production_down", plan_tier="enterprise")
    assert form.errors == {}
    env = form.environment
    assert (env.browser, env.os, env.url) == ("Chrome 131", "macOS 15.1", "https://app.acme.com/billing")
    assert env.occurred_at == NOW - timedelta(hours=1)
    assert env.customer_timezone == "Europe/Berlin" and env.request_id == "req_91ab"
    assert form.category is Category.BILLING and form.impact is Impact.PRODUCTION_DOWN
    assert form.helpdesk_link == "https://acme.zendesk.com/t/981"


@pytest.mark.parametrize("field", ["workspace_id", "requester_email", "summary", "what_happened", "expected"])
@pytest.mark.parametrize("empty", [None, "", "   \n\t "])
def test_required_text_fields(field: str, empty: str | None) -> None:
    form = parse(**{field: empty})
    assert list(form.errors) == [field]
    assert form.errors[field].startswith("Enter the ")


@pytest.mark.parametrize("field", ["impact", "plan_tier"])
@pytest.mark.parametrize("value", [None, "sev0", ""])
def test_required_choices(field: str, value: str | None) -> None:
    form = parse(**{field: value})
    assert list(form.errors) == [field]
    assert getattr(form, field) is None


def test_an_empty_view_names_every_required_field() -> None:
    form = TicketForm.parse({}, now=NOW)
    assert set(form.errors) == {"workspace_id", "requester_email", "summary", "what_happened", "expected",
                                "impact", "plan_tier"}


def test_an_unknown_category_is_left_empty_not_refused() -> None:
    form = parse(category="astrology")
    assert form.errors == {} and form.category is None


# Email ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("email", ["dana@customer.com", "dana+ops@customer.co.uk", "D.Ng@sub.customer.io"])
def test_good_emails(email: str) -> None:
    assert parse(requester_email=email).errors == {}


@pytest.mark.parametrize("email", ["dana", "dana@", "dana@customer", "dana@customer.c", "<dana@customer.com>",
                                   "dana @customer.com", "dana@@customer.com", "dana@customer.com, lee@x.com"])
def test_bad_emails(email: str) -> None:
    errors = parse(requester_email=email).errors
    assert list(errors) == ["requester_email"]
    assert "is not an email address" in errors["requester_email"]


# URL or API endpoint, and the request ID -----------------------------------------------------------------

@pytest.mark.parametrize(("url", "api"), [
    ("POST /api/v2/invoices", True), ("get /api/v2/invoices?page=2", True), ("/api/v2/invoices", True),
    ("https://api.acme.com/x", True), ("https://app.acme.com/api/v2/invoices", True),
    ("https://app.acme.com/billing", False), ("https://app.acme.com/", False),
    ("https://apiary.acme.com/x", False), ("https://app.acme.com/billing/api", False),
])
def test_is_api_endpoint(url: str, api: bool) -> None:
    assert is_api_endpoint(url) is api


@pytest.mark.parametrize("url", ["POST /api/v2/invoices", "https://api.acme.com/x",
                                 "https://app.acme.com/api/v2/invoices"])
def test_api_endpoints_need_a_request_id(url: str) -> None:
    errors = parse(url=url).errors
    assert list(errors) == ["request_id"]
    assert "X-Request-Id" in errors["request_id"]
    assert parse(url=url, request_id="req_91ab7c").errors == {}


def test_a_page_url_needs_no_request_id() -> None:
    form = parse(url="https://app.acme.com/billing")
    assert form.errors == {}
    assert form.environment.url == "https://app.acme.com/billing"


@pytest.mark.parametrize("url", ["app.acme.com/billing", "ftp://files.acme.com/x", "https://", "billing page",
                                 "POST api/v2/invoices"])
def test_bad_urls_are_refused_without_a_request_id_error(url: str) -> None:
    errors = parse(url=url).errors
    assert list(errors) == ["url"]
    assert "Enter a full URL" in errors["url"]


@pytest.mark.parametrize(("field", "value"), [("url", "https://[oops"), ("url", "http://[::1/api"),
                                              ("attachment_link", "http://[::1"),
                                              ("helpdesk_link", "https://[zendesk.com/t/1")])
def test_malformed_bracket_urls_are_field_errors_not_crashes(field: str, value: str) -> None:
    # urlsplit raises ValueError("Invalid IPv6 URL") on these; the form must answer with an inline error.
    form = parse(**{field: value})
    assert field in form.errors


# When it happened ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("offset", "ok"), [
    (timedelta(days=-3), True), (timedelta(0), True), (timedelta(minutes=1, seconds=59), True),
    (timedelta(minutes=2), True), (timedelta(minutes=3), False), (timedelta(days=1), False),
])
def test_occurred_at_may_not_be_in_the_future(offset: timedelta, ok: bool) -> None:
    form = parse(occurred_at=NOW + offset)
    assert form.environment.occurred_at == NOW + offset
    assert ("occurred_at" not in form.errors) is ok
    if not ok:
        assert "in the future" in form.errors["occurred_at"]


# Summary, time zone and links ----------------------------------------------------------------------------

def test_summary_length() -> None:
    assert parse(summary="s" * SUMMARY_MAX).errors == {}
    errors = parse(summary="s" * (SUMMARY_MAX + 1)).errors
    assert errors == {"summary": "Keep the summary to 150 characters (it has 151)"}
    assert parse(summary="  " + "s" * SUMMARY_MAX + "  ").summary == "s" * SUMMARY_MAX


@pytest.mark.parametrize(("zone", "ok"), [("Europe/Berlin", True), ("America/New_York", True), ("UTC", True),
                                          ("Europe/Berln", False), ("CET+1", False), ("berlin", False)])
def test_customer_time_zone(zone: str, ok: bool) -> None:
    errors = parse(customer_timezone=zone).errors
    assert ("customer_timezone" not in errors) is ok
    if not ok:
        assert "is not an IANA time zone" in errors["customer_timezone"]


@pytest.mark.parametrize("field", ["attachment_link", "helpdesk_link"])
@pytest.mark.parametrize(("link", "ok"), [("https://www.loom.com/share/abc", True), ("http://har.acme.com/1", True),
                                          ("www.loom.com/share/abc", False), ("javascript:alert(1)", False),
                                          ("https:///nohost", False), ("see the Zendesk ticket", False)])
def test_link_fields(field: str, link: str, ok: bool) -> None:
    form = parse(**{field: link})
    assert (field not in form.errors) is ok
    if ok:
        assert getattr(form, field) == link
    else:
        assert form.errors[field] == "Enter a link that starts with https://"


# Properties ---------------------------------------------------------------------------------------------

# Any text Slack can send but NUL, which PostgreSQL cannot store in text and so is refused as "characters that
# are not text". Lone surrogates are left out: Slack's payloads are UTF-8, which cannot carry them (the intake
# refuses them too: test_a_lone_surrogate_is_a_field_error_not_a_crash).
@given(st.text(st.characters(codec="utf-8", blacklist_characters="\x00"), min_size=1, max_size=SUMMARY_MAX)
       .filter(lambda s: s == s.strip()))
def test_any_trimmed_summary_up_to_150_characters_is_accepted(summary: str) -> None:
    form = parse(summary=summary)
    assert "summary" not in form.errors
    assert form.summary == summary


# Arbitrary text, and arbitrary text behind the starts that send a value down the URL-parsing paths.
ANY_TEXT = st.none() | st.text(max_size=300) | st.builds(
    str.__add__, st.sampled_from(["https://", "http://", "https://api.", "POST /api/", "/"]), st.text(max_size=40))


@given(st.fixed_dictionaries({}, optional={f.value: ANY_TEXT for f in TEXT_FIELDS}),
       st.none() | st.text(max_size=60))
@example({"url": "https://[oops"}, None)
@example({"helpdesk_link": "http://[::1"}, None)
def test_parse_never_raises_on_any_text(texts: dict[str, str | None], zone: str | None) -> None:
    form = TicketForm.parse(view(**texts, customer_timezone=zone), now=NOW)
    assert set(form.errors) <= {f.value for f in F}
    assert all(isinstance(message, str) and message for message in form.errors.values())


# Values Slack would never send inside a valid envelope --------------------------------------------------

@pytest.mark.parametrize("field", [F.URL, F.ATTACHMENT_LINK, F.HELPDESK_LINK])
def test_a_link_past_the_inputs_max_length_is_a_field_error(field: F) -> None:
    errors = parse(**{field.value: "https://help.acme.com/" + "a" * 2000}).errors
    assert errors == {field.value: "Keep this to 1000 characters (it has 2022)"}


@pytest.mark.parametrize("field", [F.WHAT_HAPPENED, F.BROWSER, F.REQUEST_ID, F.WORKSPACE_ID])
def test_a_lone_surrogate_is_a_field_error_not_a_crash(field: F) -> None:
    errors = parse(**{field.value: "broken \ud83d emoji"}).errors
    assert set(errors) == {field.value} and "not text" in errors[field.value]


@pytest.mark.parametrize("raw", [1e20, -1, "soon", "1700000000", True, [1]])
def test_an_unreadable_time_is_a_field_error_not_a_crash(raw: object) -> None:
    errors = parse(occurred_at=raw).errors
    assert errors == {"occurred_at": "Pick the time again: this one could not be read"}


def test_an_option_given_as_a_string_is_a_field_error() -> None:
    state = view()
    state["state"]["values"]["impact"]["impact"] = {"type": "radio_buttons", "selected_option": "outage"}
    errors = TicketForm.parse(state, now=NOW).errors
    assert set(errors) == {"impact"}

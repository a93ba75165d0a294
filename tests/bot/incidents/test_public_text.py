"""bot/public_text.py: what may go on the public status page, and the check that refuses internal details."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.domain import Category, Environment, Impact, PlanTier, Severity, Ticket
from bot.incidents.public_text import investigating_message, leak_problem, public_title

NOW = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)


def make_ticket(**changes: Any) -> Ticket:
    ticket = Ticket(
        number=42, workspace_id="acme-prod-eu", requester_email="dana@customer.com",
        summary="Acme Corp cannot pay invoices", what_happened="Dana at Acme gets HTTP 500 on /billing",
        expected="Invoices load", impact=Impact.PRODUCTION_DOWN, severity=Severity.SEV1,
        severity_reason="Impact reported at intake: production down or data loss", plan_tier=PlanTier.ENTERPRISE,
        environment=Environment(url="https://app.acme.com/billing", request_id="7f3c9e21abcd",
                                customer_timezone="Europe/Berlin"),
        attachment_link=None, helpdesk_link="https://acme.zendesk.com/agent/tickets/981",
        category=Category.BILLING, filed_by="U0AGENT1", filed_at=NOW, first_response_due=NOW + timedelta(hours=1))
    return replace(ticket, **changes)


# Refused ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("message", "what"), [
    ("Customer acme-prod-eu is affected.", "Remove the workspace ID (acme-prod-eu)"),
    ("Workspace ACME-PROD-EU is affected.", "Remove the workspace ID (acme-prod-eu)"),
    ("We traced request 7f3c9e21abcd to a failing node.", "Remove the request ID (7f3c9e21abcd)"),
    ("Dana (dana@customer.com) reported it.", "Remove the requester's email (dana@customer.com)"),
])
def test_the_tickets_own_details_are_refused(message: str, what: str) -> None:
    problem = leak_problem(message, ticket=make_ticket())
    assert problem == f"{what}: status updates are public"


@pytest.mark.parametrize(("message", "what"), [
    ("Reported by ops@bigco.io this morning.", "the email address (ops@bigco.io)"),
    ("Rotated the bot token xoxb-1234567890-abcdefghijkl.", "a Slack token"),
    ("Use Authorization: Bearer abcdefgh12345678 to test.", "an Authorization header"),
    ("See https://status.internal/x?api_key=s3cr3t for details.", "an API key in a URL"),
    ("The outage hit ws_4f2a9c first.", "the internal ID (ws_4f2a9c)"),
    ("Request req-91ab7c3d failed.", "the internal ID (req-91ab7c3d)"),
    ("Trace 3f2b8c1e-9a4d-4e2f-8b7a-1c2d3e4f5a6b shows the failure.",
     "the internal ID (3f2b8c1e-9a4d-4e2f-8b7a-1c2d3e4f5a6b)"),
])
def test_internal_details_are_refused_without_a_ticket(message: str, what: str) -> None:
    problem = leak_problem(message)
    assert problem == f"Remove {what}: status updates are public"


def test_a_long_secret_is_quoted_short() -> None:
    ticket = make_ticket(workspace_id="w" * 100)
    problem = leak_problem(f"{'w' * 100} is down", ticket=ticket)
    assert problem == f"Remove the workspace ID ({'w' * 40}): status updates are public"


# Internal details of every class ------------------------------------------------------------------------

@pytest.mark.parametrize(("message", "what"), [
    ("Rotated sk_live_4eC39HqLyjWDarjtT1zdp7dc already.", "a Stripe key"),
    ("The restricted key rk_live_4eC39HqLyjWDarjtT1zdp7dc was revoked.", "a Stripe key"),
    ("Connecting with password=hunter2 failed.", "a password"),
    ("Our webhook https://hooks.slack.com/services/T0000/B0000/abcdefghijklmnop broke.", "a Slack webhook URL"),
    ("ghp_" + "A1b2" * 9 + " was leaked.", "a GitHub token"),
    ("Rejected X-Api-Key: 0123abcd4567ef for every call.", "an API key header"),
    ("The database db-1.internal failed over.", "the internal host name (db-1.internal)"),
    ("vpn.corp is unreachable.", "the internal host name (vpn.corp)"),
    ("The printer.local queue is stuck.", "the internal host name (printer.local)"),
    ("payments.default.svc.cluster.local restarted.", "the internal host name (payments.default.svc.cluster.local)"),
    ("Calls to localhost:8080 time out.", "the internal host name (localhost)"),
    ("Traffic to 10.0.0.5 is dropped.", "a private IP address (10.0.0.5)"),
    ("Node 172.20.4.1:5432 is down.", "a private IP address (172.20.4.1)"),
    ("The router 192.168.1.1.", "a private IP address (192.168.1.1)"),
    ("Health checks on 127.0.0.1 fail.", "a private IP address (127.0.0.1)"),
    ("Metadata at 169.254.169.254 is slow.", "a private IP address (169.254.169.254)"),
    ("The host fd12:3456:789a::1 is down.", "a private IP address (fd12:3456:789a::1)"),
    ("Link-local fe80::1ff:fe23:4567:890a answers.", "a private IP address (fe80::1ff:fe23:4567:890a)"),
    ("See /var/log/nginx/error.log for the errors.", "the file path (/var/log/nginx/error.log)"),
    ("The key at ~/.ssh/id_rsa expired.", "the file path (~/.ssh/id_rsa)"),
    (r"Logs in C:\ProgramData\Acme\app.log grew.", r"the file path (C:\ProgramData\Acme\app.log)"),
    (r"The share \\fileserver01\exports is full.", r"the file path (\\fileserver01\exports)"),
    ("<@U0CMDR0001> is looking into it.", "the Slack mention (<@U0CMDR0001>)"),
    ("Discussed in <#C0TRIAGE01>.", "the Slack mention (<#C0TRIAGE01>)"),
    ("<!channel> we are down.", "the Slack mention (<!channel>)"),
    ("@here the fix is out.", "the Slack mention (@here)"),
    ("@dana deployed the fix.", "the Slack mention (@dana)"),
    ("Follow along in #incident-3.", "the Slack channel name (#incident-3)"),
    ("This is #12 in our queue.", "the ticket number (#12)"),
    ("As reported in ticket 12, invoices fail.", "the ticket number (ticket 12)"),
    ("Ticket #981 is resolved.", "the ticket number (Ticket #981)"),
])
def test_every_class_of_internal_detail_is_refused_and_named(message: str, what: str) -> None:
    assert leak_problem(message) == f"Remove {what}: status updates are public"


@pytest.mark.parametrize(("message", "secret"), [
    ("Rotated sk_live_4eC39HqLyjWDarjtT1zdp7dc already.", "4eC39HqLyjWDarjtT1zdp7dc"),
    ("Connecting with password=hunter2 failed.", "hunter2"),
    ("Rejected X-Api-Key: 0123abcd4567ef for every call.", "0123abcd4567ef"),
])
def test_a_secret_is_named_never_quoted(message: str, secret: str) -> None:
    problem = leak_problem(message)
    assert problem is not None and secret not in problem


@pytest.mark.parametrize("message", [
    "Traffic from 8.8.8.8 and 2001:4860:4860::8888 is served normally.",  # public addresses
    "Version 2.14.1 is rolling out; 99.9% of requests succeed.",
    "Between 18:30:05 and 19:05 UTC some requests failed.",
    "See https://status.acme.com/incidents/12#updates for the history.",
    "The POST /api/v2/invoices endpoint and/or the 24/7 hotline work again.",
    "Local teams in the corp. office and the internal review found the cause.",
    "Email notifications (C# and F# SDKs) are delayed.",
    "The @ sign in usernames is handled again.",
])
def test_near_misses_of_internal_details_pass(message: str) -> None:
    assert leak_problem(message) is None


# Passed -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("message", [
    "We are investigating reports that some customers cannot pay invoices. Next update in 30 minutes.",
    "We have identified the cause: a database failover. A fix is being deployed.",
    "The fix is deployed and we are monitoring. Customers' invoices load again.",
    "Resolved. We're sorry for the disruption; a follow-up report will be posted at https://status.acme.com.",
    "Some API requests returned errors between 18:30 and 19:05 UTC.",
    "",
])
def test_a_normal_customer_message_passes(message: str) -> None:
    assert leak_problem(message, ticket=make_ticket()) is None
    assert leak_problem(message) is None


@pytest.mark.parametrize("message", [
    "Some workspace-level settings cannot be saved right now.",
    "Request-level retries are delayed; we are working on it.",
])
def test_hyphenated_english_words_are_not_internal_ids(message: str) -> None:
    # "workspace-level" and "Request-level" are ordinary English, not identifiers like ws_4f2a9c.
    assert leak_problem(message) is None


def test_a_ticket_without_request_id_checks_the_rest() -> None:
    ticket = make_ticket(environment=Environment())
    assert leak_problem("Everything is fine again.", ticket=ticket) is None
    assert leak_problem("acme-prod-eu recovered", ticket=ticket) is not None


# Drafts -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("category", "area"), [
    (Category.AUTH, "sign-in"), (Category.BILLING, "billing"), (Category.INTEGRATION, "integrations"),
    (Category.PERFORMANCE, "performance"), (Category.UI, "the web app"), (None, None),
])
def test_public_drafts_contain_no_ticket_internals(category: Category | None, area: str | None) -> None:
    ticket = make_ticket(category=category)
    title = public_title(ticket)
    message = investigating_message(ticket, cadence_minutes=30)
    assert title == (f"Service disruption affecting {area}" if area else "Service disruption")
    assert message.startswith("We are investigating reports that some customers cannot use parts of the service")
    assert message.endswith("we will post an update within 30 minutes.")
    assert (f"({area})" in message) is bool(area)
    for public in (title, message):
        assert leak_problem(public, ticket=ticket) is None
        for internal in ("acme", "Acme", "Dana", "dana", "42", "7f3c9e21abcd", "invoice", "500", "zendesk",
                         "Enterprise", "SEV1"):
            assert internal not in public

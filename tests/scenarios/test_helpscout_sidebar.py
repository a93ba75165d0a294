"""`POST /helpscout/sidebar` on a running bot, with the customer endpoint stand-in behind it: Help Scout's
signature checked first (403, and the customer endpoint never asked), the card as escaped sidebar markup, and
an honest message in time when the customer is unknown or the endpoint fails."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from bot.app import SupportBot
from bot.customers.document import render_card
from bot.customers.helpscout import ANSWER_WITHIN_SECONDS, sidebar_html, verify_helpscout_signature
from bot.sandbox.customer_endpoint import CustomerEndpointStandIn, example_document

HELPSCOUT_SECRET = "helpscout-app-secret"
HOSTILE_NAME = "<script>alert('x')</script> Tom's & Co"


def conversation(email: str | None = "ops@tom.example", *, emails: list[str] | None = None) -> bytes:
    """A request body shaped like Help Scout's dynamic app data."""
    customer: dict[str, Any] = {"id": 1, "fname": "Ops", "lname": "Team", "email": email, "emails": emails or []}
    return json.dumps({"ticket": {"id": 9, "number": 1042, "subject": "Invoices fail"}, "customer": customer,
                       "user": {"fname": "Ana", "lname": "Agent", "id": 7, "role": "user", "convRedirect": 0},
                       "mailbox": {"id": 3, "email": "help@acme.example"}}).encode()


def signed(body: bytes, secret: str = HELPSCOUT_SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha1).digest()).decode()


@pytest_asyncio.fixture
async def sidebar_endpoint() -> AsyncIterator[CustomerEndpointStandIn]:
    standin = CustomerEndpointStandIn()
    document = example_document("ws_777", name=HOSTILE_NAME, compliance=("HIPAA",))
    document["sections"].append({"type": "link", "title": "Sneaky", "href": "javascript:alert(1)"})
    standin.add(document, workspace_id="ws_777", emails=("ops@tom.example",))
    await standin.start()
    yield standin
    await standin.stop()


@pytest_asyncio.fixture
async def helpscout_bot(start_bot: Callable[..., Any], vendor_env: dict[str, Any],
                        sidebar_endpoint: CustomerEndpointStandIn) -> SupportBot:
    env = {**vendor_env, "customer_connection_url": sidebar_endpoint.url,
           "customer_connection_secret": sidebar_endpoint.secret, "helpscout_secret": HELPSCOUT_SECRET}
    bot: SupportBot = await start_bot(**env)
    return bot


async def post(bot: SupportBot, body: bytes, signature: str | None) -> tuple[int, dict[str, Any], float]:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-HelpScout-Signature"] = signature
    started = time.monotonic()
    async with aiohttp.ClientSession() as http, \
            http.post(f"http://127.0.0.1:{bot.port}/helpscout/sidebar", data=body, headers=headers) as answer:
        return answer.status, await answer.json(), time.monotonic() - started


async def test_a_signed_request_gets_the_card_with_every_value_escaped(
        helpscout_bot: SupportBot, sidebar_endpoint: CustomerEndpointStandIn) -> None:
    body = conversation()
    status, answer, _ = await post(helpscout_bot, body, signed(body))
    assert status == 200 and set(answer) == {"html"}
    html = answer["html"]
    assert "<script>" not in html and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; Tom&#x27;s &amp; Co" in html
    assert '<ul class="c-sb-list c-sb-list--two-line">' in html and 'class="c-sb-list-item__label"' in html
    assert '<a href="https://example.com/customer/customer_ws_777" target="_blank"' in html
    assert 'href="javascript:' not in html and "Not a web link, shown as text: Sneaky" in html
    # ops@ is not on the authorized contacts and the customer is under HIPAA: the agent is told to hold back.
    assert "Not an authorized contact" in html and "Under HIPAA: share no account details" in html
    [request] = sidebar_endpoint.requests
    assert request.body is not None and request.body["why"] == "lookup"
    assert request.body["email"] == "ops@tom.example"


async def test_the_first_of_emails_is_used_when_email_is_null(
        helpscout_bot: SupportBot, sidebar_endpoint: CustomerEndpointStandIn) -> None:
    body = conversation(None, emails=["not an email", "OPS@tom.example"])
    status, answer, _ = await post(helpscout_bot, body, signed(body))
    assert status == 200 and "Tom&#x27;s" in answer["html"]


@pytest.mark.parametrize("signature", [None, "", "bm90IGl0", signed(b"another body")])
async def test_a_missing_or_bad_signature_is_403_and_asks_nobody(
        helpscout_bot: SupportBot, sidebar_endpoint: CustomerEndpointStandIn, signature: str | None) -> None:
    status, answer, _ = await post(helpscout_bot, conversation(), signature)
    assert status == 403 and "html" not in answer
    assert sidebar_endpoint.requests == []


async def test_a_signature_by_another_secret_is_403(helpscout_bot: SupportBot,
                                                   sidebar_endpoint: CustomerEndpointStandIn) -> None:
    body = conversation()
    status, _, _ = await post(helpscout_bot, body, signed(body, "someone-else"))
    assert status == 403 and sidebar_endpoint.requests == []


async def test_without_helpscout_secret_everything_is_403(
        start_bot: Callable[..., Any], vendor_env: dict[str, Any],
        sidebar_endpoint: CustomerEndpointStandIn) -> None:
    bot: SupportBot = await start_bot(**{**vendor_env, "customer_connection_url": sidebar_endpoint.url,
                                         "customer_connection_secret": sidebar_endpoint.secret})
    body = conversation()
    for signature in (signed(body), signed(body, ""), None):
        status, _, _ = await post(bot, body, signature)
        assert status == 403
    assert sidebar_endpoint.requests == []


async def test_an_unknown_customer_gets_an_honest_message(
        helpscout_bot: SupportBot, sidebar_endpoint: CustomerEndpointStandIn) -> None:
    body = conversation("stranger@nowhere.example")
    status, answer, elapsed = await post(helpscout_bot, body, signed(body))
    assert status == 200
    assert "The customer endpoint does not know stranger@nowhere.example." in answer["html"]
    assert elapsed < ANSWER_WITHIN_SECONDS


async def test_a_conversation_without_a_customer_email_says_so(
        helpscout_bot: SupportBot, sidebar_endpoint: CustomerEndpointStandIn) -> None:
    body = conversation(None)
    status, answer, _ = await post(helpscout_bot, body, signed(body))
    assert status == 200 and "no customer email" in answer["html"]
    assert sidebar_endpoint.requests == []


@pytest.mark.parametrize(("fault", "reason"), [
    ("500", "the customer endpoint answered HTTP 500"),
    ("html", "the customer endpoint&#x27;s answer is not JSON"),
    ("hang", "the customer endpoint did not answer within 2 s"),
])
async def test_a_failing_endpoint_gets_an_honest_message_in_time(
        helpscout_bot: SupportBot, sidebar_endpoint: CustomerEndpointStandIn, fault: str, reason: str) -> None:
    if fault == "500":
        sidebar_endpoint.fail_next(500)
    elif fault == "html":
        sidebar_endpoint.raw_answer = (200, "text/html", b"<html>maintenance</html>")
    else:
        sidebar_endpoint.set_latency(3)  # past the connection's 2 s
    body = conversation()
    status, answer, elapsed = await post(helpscout_bot, body, signed(body))
    assert status == 200 and "Customer data unavailable" in answer["html"] and reason in answer["html"]
    assert elapsed < ANSWER_WITHIN_SECONDS
    sidebar_endpoint.set_latency(0)


async def test_the_sidebar_answers_in_time_even_when_the_connection_would_wait_longer(
        helpscout_bot: SupportBot, sidebar_endpoint: CustomerEndpointStandIn) -> None:
    assert helpscout_bot.customer_connection is not None
    helpscout_bot.customer_connection._timeout = 10.0  # as `[customer_connection] timeout = "10s"` would set it
    sidebar_endpoint.set_latency(5)
    body = conversation()
    status, answer, elapsed = await post(helpscout_bot, body, signed(body))
    assert status == 200 and f"did not answer within {ANSWER_WITHIN_SECONDS:g} s" in answer["html"]
    assert elapsed < ANSWER_WITHIN_SECONDS + 1
    sidebar_endpoint.set_latency(0)


# The pure parts ----------------------------------------------------------------------------------------

def test_signature_check_is_base64_hmac_sha1_of_the_raw_body() -> None:
    body = conversation()
    assert verify_helpscout_signature(HELPSCOUT_SECRET, body, signed(body))
    assert not verify_helpscout_signature(HELPSCOUT_SECRET, body + b" ", signed(body))
    assert not verify_helpscout_signature(None, body, signed(body, ""))
    assert not verify_helpscout_signature("", body, signed(body, ""))
    assert not verify_helpscout_signature(HELPSCOUT_SECRET, body, None)
    assert not verify_helpscout_signature(HELPSCOUT_SECRET, body, "é")  # not even ASCII: False, no exception


def test_sidebar_html_escapes_every_value_and_links_only_http() -> None:
    document = example_document("ws_1", name='"><img src=x onerror=alert(1)>')
    document["sections"] = [
        {"type": "link", "title": "<b>T</b>", "description": "<i>d</i>", "href": 'https://ok.example/"><x'},
        {"type": "link", "title": "Data", "href": "data:text/html,<script>alert(1)</script>"},
        {"type": "list", "title": "L", "items": [{"description": "<u>k</u>", "value": "{{ data.customer.name }}"},
                                                  {"description": "Empty", "value": "{{ data.nope }}"}]},
        {"type": "action", "title": "<Reset>", "action": "reset", "description": "a & b"},
    ]
    html = sidebar_html(render_card(document), None)
    for raw in ("<b>", "<i>", "<u>", "<img", "<script>", "<Reset>", '"><x'):
        assert raw not in html, raw
    assert 'href="https://ok.example/&quot;&gt;&lt;x"' in html
    assert 'href="data:' not in html and "data:text/html,&lt;script&gt;" in html
    assert "Missing in the data: data.nope" in html and "Not a web link, shown as text: Data" in html
    assert "a &amp; b" in html and "Run it from Slack" in html


def test_sidebar_html_without_a_card_says_why() -> None:
    html = sidebar_html(None, "the customer endpoint answered <HTTP 500>")
    assert "Customer data unavailable" in html and "&lt;HTTP 500&gt;" in html and "<HTTP" not in html


async def test_a_signed_body_that_is_not_json_is_400(helpscout_bot: SupportBot,
                                                    sidebar_endpoint: CustomerEndpointStandIn) -> None:
    body = b"customer=ops@tom.example"
    status, answer, _ = await post(helpscout_bot, body, signed(body))
    assert status == 400 and "html" not in answer and sidebar_endpoint.requests == []


def test_helpscout_secret_is_read_from_the_environment_and_never_shown() -> None:
    from bot.core.config import EnvSettings

    settings = EnvSettings.from_environ({"HELPSCOUT_SECRET": "  hs-secret  "})
    assert settings.helpscout_secret == "hs-secret" and "hs-secret" not in repr(settings)
    assert EnvSettings.from_environ({}).helpscout_secret is None

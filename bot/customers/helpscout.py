"""`POST /helpscout/sidebar`: the live customer card in Help Scout's conversation sidebar (a dynamic content app).

What Help Scout documents for its (legacy) dynamic apps, https://developer.helpscout.com/apps/legacy-custom-apps/dynamic/
(and the helpscout/helpscout-apps-php reference client):
- it POSTs a JSON body about the open conversation: `ticket` (id, number, subject; `false` for a draft),
  `customer` (id, fname, lname, `email` (may be null) and `emails` (a list)), `user` and `mailbox`; fields
  without a value are left out;
- `X-HelpScout-Signature` is the base64 HMAC-SHA1 of the raw body with the app's secret key;
- the answer is a JSON object `{"html": "..."}`, and "making sure your HTML is properly escaped is very
  important";
- sidebar markup as Help Scout's own apps use it: `<h4>`, `<p class="muted">`, `c-sb-section` /
  `c-sb-section__body`, `<ul class="c-sb-list c-sb-list--two-line">` of `c-sb-list-item`, each a
  `c-sb-list-item__label` holding its `c-sb-list-item__text`, and `badge` spans (`success`, `error`, ...).
Help Scout's pages we found name no number for how long it waits for the answer, so the sidebar answers within
ANSWER_WITHIN_SECONDS (3 s, above the customer connection's own 2 s default so its reason is usually the one
shown, and well inside any sidebar's patience); a lookup still running then goes on in the background, so the
Slack lookups sharing its request (single-flight) are not cut off.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from html import escape
from typing import Any

from bot.core.formats import is_email, is_web_link
from bot.customer_data import ActionSection, CustomerCard, LinkSection, ListSection, Verification
from bot.customers.service import CustomerService, Lookup

log = logging.getLogger(__name__)
ANSWER_WITHIN_SECONDS = 3.0
NO_EMAIL = "This conversation has no customer email to look up."
REFUSED = {"error": "the X-HelpScout-Signature header does not verify"}


def verify_helpscout_signature(secret: str | None, body: bytes, header: str | None) -> bool:
    """Whether `header` is the base64 HMAC-SHA1 of the raw body with `secret`, compared in constant time; always
    False without a secret or a header."""
    if not secret or not header:
        return False
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha1).digest())
    return hmac.compare_digest(expected, header.strip().encode("utf-8", "replace"))


def _item(label: str, value: str) -> str:
    return (f'<li class="c-sb-list-item"><span class="c-sb-list-item__label">{escape(label)} '
            f'<span class="c-sb-list-item__text">{escape(value) or "—"}</span></span></li>')


def _link(href: str, text: str) -> str:
    return f'<a href="{escape(href)}" target="_blank" rel="noopener noreferrer">{escape(text)}</a>'


def _section(title: str, body: str) -> str:
    heading = f"<h4>{escape(title)}</h4>" if title else ""
    return f'<div class="c-sb-section"><div class="c-sb-section__body">{heading}{body}</div></div>'


def _verification(verification: Verification) -> str:
    if verification.verified:
        line = '<span class="badge success">Verified contact</span>'
    elif verification.state == "not_authorized":
        line = ('<span class="badge error">Not an authorized contact</span> Verify who they are before '
                'discussing the account.')
    else:
        line = '<span class="badge">Verification unknown</span>'
    if verification.sensitive:
        regimes = " and ".join(escape(c) for c in verification.compliance)
        line += (f"<br>Under {regimes}: share no account details, and neither confirm nor deny that an account "
                 "exists, until the requester is verified.")
    return f"<p>{line}</p>"


def sidebar_html(card: CustomerCard | None, reason: str | None, *,
                 verification: Verification | None = None) -> str:
    """The card as Help Scout sidebar markup, every value HTML-escaped and only http(s) links clickable; without
    a card, the short honest `reason` instead."""
    if card is None:
        return (f"<h4>Customer data unavailable</h4><p>{escape(reason or 'no answer')}</p>"
                '<p class="muted">Reload the conversation to ask again.</p>')
    parts = [f"<h4>{escape(card.name or 'Customer')}</h4>"]
    if verification is not None:
        parts.append(_verification(verification))
    for section in card.sections:
        if isinstance(section, LinkSection):
            label = section.description or section.href
            shown = _link(section.href, label) if section.safe and is_web_link(section.href) else escape(
                f"{section.description} {section.href}".strip())
            parts.append(_section(section.title, f"<p>{shown}</p>"))
        elif isinstance(section, ListSection):
            items = "".join(_item(d, v) for d, v in section.items)
            parts.append(_section(section.title, f'<ul class="c-sb-list c-sb-list--two-line">{items}</ul>'))
        elif isinstance(section, ActionSection):
            description = f"{escape(section.description)} " if section.description else ""
            parts.append(_section(section.title, f'<p>{description}<span class="badge">Run it from Slack</span>'
                                                 "</p>"))
    footer = ["Live from the customer endpoint · not stored"]
    if card.missing_paths:
        footer.append("Missing in the data: " + ", ".join(escape(p) for p in card.missing_paths))
    if card.unsafe_links:
        footer.append("Not a web link, shown as text: " + ", ".join(escape(t) for t in card.unsafe_links))
    parts.extend(f'<p class="muted">{line}</p>' for line in footer)
    return "".join(parts)


def customer_email(body: Mapping[str, Any]) -> str | None:
    """The conversation's customer email: `customer.email`, else the first address in `customer.emails`."""
    customer = body.get("customer")
    if not isinstance(customer, Mapping):
        return None
    emails = customer.get("emails")
    for candidate in [customer.get("email"), *(emails if isinstance(emails, list) else [])]:
        if isinstance(candidate, str) and is_email(candidate.strip()):
            return candidate.strip()
    return None


class HelpScoutSidebar:
    """Answers Help Scout's dynamic-content requests: 403 unless signed with HELPSCOUT_SECRET, otherwise 200
    with `{"html": ...}`, the card or an honest message, within `answer_within` seconds."""

    def __init__(self, *, secret: str | None, customers: CustomerService,
                 answer_within: float = ANSWER_WITHIN_SECONDS) -> None:
        self._secret = secret
        self._customers = customers
        self._answer_within = answer_within
        self._running: set[asyncio.Task[Lookup]] = set()

    def __repr__(self) -> str:
        return "HelpScoutSidebar(<secret redacted>)"

    async def answer(self, body: bytes, signature: str | None) -> tuple[int, dict[str, Any]]:
        """The HTTP status and JSON answer for one request's raw body and its `X-HelpScout-Signature`."""
        if not verify_helpscout_signature(self._secret, body, signature):
            return 403, REFUSED
        try:
            request = json.loads(body)
        except (ValueError, RecursionError):
            return 400, {"error": "the body is not JSON"}
        email = customer_email(request) if isinstance(request, Mapping) else None
        if email is None:
            return 200, {"html": f"<p>{escape(NO_EMAIL)}</p>"}
        found = await self._look_up(email)
        if found is None:
            reason = f"the customer endpoint did not answer within {self._answer_within:g} s"
            return 200, {"html": sidebar_html(None, reason)}
        if found.card is None:
            return 200, {"html": sidebar_html(None, _plain(found.reason, email))}
        return 200, {"html": sidebar_html(found.card, None, verification=found.verification)}

    async def _look_up(self, email: str) -> Lookup | None:
        """The lookup, or None when it took longer than the sidebar may wait. It is shielded: one still running
        goes on (and is kept referenced) so other lookups sharing its request get their answer."""
        task = asyncio.create_task(self._customers.look_up(email, why="lookup"))
        self._running.add(task)
        task.add_done_callback(self._finished)
        done, _ = await asyncio.wait({task}, timeout=self._answer_within)
        if not done:
            return None
        try:
            return task.result()
        except Exception:  # the sidebar still answers; the cause is logged for the operator
            log.exception("the Help Scout sidebar's customer lookup failed")
            return Lookup(email, reason="the customer endpoint's answer could not be read")

    def _finished(self, task: asyncio.Task[Lookup]) -> None:
        self._running.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.debug("a background sidebar lookup ended with %s", type(task.exception()).__name__)


def _plain(reason: str | None, email: str) -> str:
    """The reason as the sidebar says it; an unknown customer (404) is said as such."""
    if reason and reason.endswith("HTTP 404"):
        return f"The customer endpoint does not know {email}."
    return reason or "no answer"

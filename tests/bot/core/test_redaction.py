"""bot/redaction.py: credentials are removed and reported; ordinary text is left exactly as written."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot.core.redaction import MASK, redact

SLACK_TOKEN = re.compile(r"xox[bp]-[A-Za-z0-9-]{10,}")
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkYW5hIn0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk"


@pytest.mark.parametrize(("text", "secret", "kind", "kept"), [
    ("curl -H 'Authorization: Bearer sk_live_51HxQabcDEF' https://api.acme.com",
     "sk_live_51HxQabcDEF", "an Authorization header", "Authorization: Bearer "),
    ("authorization=Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA==", "an Authorization header",
     "authorization=Basic "),
    ("the client sends bearer abcdEFGH12345678 on every call", "abcdEFGH12345678", "a bearer token",
     "the client sends bearer "),
    ("SLACK_BOT_TOKEN=xoxb-1234567890-0987654321-AbCdEfGhIjKl", "xoxb-1234567890", "a Slack token",
     "SLACK_BOT_TOKEN="),
    ("user token: xoxp-1234567890-0987654321-abcdef", "xoxp-1234567890", "a Slack token", "user token: "),
    ("socket mode app token xapp-1-A0123456789-1234567890-abcdef", "xapp-1-A0123456789", "a Slack token",
     "socket mode app token "),
    (f"the id_token was {JWT} (expired)", JWT[:20], "a JWT", " (expired)"),
    ("GET https://api.acme.com/v1/invoices?api_key=AKIAabc123&page=2", "AKIAabc123", "an API key in a URL",
     "&page=2"),
    ("https://hooks.acme.com/x?token=t0k3n-value#frag", "t0k3n-value", "an API key in a URL", "#frag"),
    ("https://files.acme.com/a.pdf?X-Amz-Credential=x&signature=abcd1234", "abcd1234", "an API key in a URL",
     "X-Amz-Credential=x"),
    ("DATABASE_URL=postgres://admin:hunter2@db.acme.com:5432/prod", "hunter2", "a password in a URL",
     "postgres://admin:" + MASK + "@db.acme.com"),
    ("Cookie: session=abc123; csrftoken=xyz\nnext line", "session=abc123", "a cookie", "\nnext line"),
    ("Set-Cookie: sid=s3cr3t; Path=/; HttpOnly", "sid=s3cr3t", "a cookie", "Set-Cookie: "),
])
def test_each_credential_is_removed_and_reported(text: str, secret: str, kind: str, kept: str) -> None:
    result = redact(text)
    assert secret not in result.text
    assert MASK in result.text
    assert kept in result.text
    assert result.kinds == (kind,)
    assert redact(text).kinds


def test_several_kinds_are_reported_once_each_in_rule_order() -> None:
    text = ("Authorization: Bearer abcdefgh12345678\nxoxb-1234567890-abcdefghij and xoxb-0987654321-abcdefghij\n"
            "https://u:pw@host.example/?key=k123")
    result = redact(text)
    assert result.kinds == ("an Authorization header", "a Slack token", "a password in a URL",
                            "an API key in a URL")
    assert result.text == (f"Authorization: Bearer {MASK}\n{MASK} and {MASK}\n"
                           f"https://u:{MASK}@host.example/?key={MASK}")


def test_a_jwt_inside_an_authorization_header_is_reported_as_the_header() -> None:
    result = redact(f"Authorization: Bearer {JWT}")
    assert result.kinds == ("an Authorization header",)
    assert JWT[:20] not in result.text


@pytest.mark.parametrize("text", [
    "It's broken since Tuesday's deploy, can't log in",
    "<@U123> says the invoice page is blank for <!subteam^S0AGENTS01>",
    "See https://app.acme.com/billing/invoices?page=2&sort=desc#top",
    "We have a token budget of 5 per minute; the key point is the cookie banner.",
    "Bearer of bad news: the author's password field is greyed out",
    "monkey=banana&donkey=1 in the form, and a JWT-looking eyJ word",
    "mailto:dana@customer.com or https://dana@customer.com/profile",
    "",
])
def test_ordinary_text_is_unchanged(text: str) -> None:
    result = redact(text)
    assert result.text == text
    assert result.kinds == ()
    assert not redact(text).kinds


@pytest.mark.parametrize("text", [
    r'{"text": "deploy failed\nxoxb-1234567890-abcdefghij"}',  # a JSON log line with an escaped newline
    "token_xoxp-1234567890-abcdefghij",
    "callback?payload=token%3Dxoxb-1234567890-abcdefghij",  # URL-encoded "token=xoxb-…"
])
def test_slack_tokens_glued_to_a_word_are_still_removed(text: str) -> None:
    result = redact(text)
    assert not SLACK_TOKEN.search(result.text), result.text
    assert "a Slack token" in result.kinds


# Properties ---------------------------------------------------------------------------------------------

FRAGMENTS = st.sampled_from([
    "Authorization: ", "Bearer ", "bearer ", "Cookie: ", "Set-Cookie: ", "xoxb-", "xoxp-", "xapp-", "eyJ",
    "https://", "postgres://", "user:", "@", "?api_key=", "&token=", "=", ":", ".", "-", " ", "\n", "'", "\"",
    "1234567890", "abcdefghij", "[redacted]", "_", "\\n",
])
TEXTS = st.text(max_size=200) | st.lists(FRAGMENTS | st.text(max_size=12), max_size=25).map("".join)


@given(TEXTS)
def test_redact_is_idempotent(text: str) -> None:
    once = redact(text).text
    assert redact(once).text == once


@given(TEXTS)
@example(r'{"text": "deploy failed\nxoxb-1234567890-abcdefghij"}')
def test_redact_leaves_no_slack_token(text: str) -> None:
    assert not SLACK_TOKEN.search(redact(text).text)


@given(TEXTS)
def test_every_change_is_reported(text: str) -> None:
    result = redact(text)
    if result.text != text:
        assert result.kinds
        assert MASK in result.text

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


# The catalogue (ported from gitleaks) ------------------------------------------------------------------
# Every fake token is assembled from pieces, so secret scanners reading this repository see no live-looking key.

def _k(*parts: str) -> str:
    return "".join(parts)


UUID = "0f8fad5b-d9cb-469f-a165-70867728950e"
PEM_BODY = "MIIEowIBAAKCAQEA" + "q1w2e3r4t5y6u7i8" * 5

# (kind, a token of that kind, a near miss: the same shape one step short, or a look-alike that is no secret)
CATALOGUE = [
    ("an AWS access key", _k("AKIA", "IOSFODNN7EXAMPLE"), _k("AKIA", "IOSFODNN7EXAMPL")),
    ("an AWS access key", _k("ASIA", "Y34FZKBOKMUTVV7A"), _k("ASIA", "y34fzkbokmutvv7a")),
    ("a GitHub token", _k("ghp_", "A1b2" * 9), _k("ghp_", "A1b2" * 8)),
    ("a GitHub token", _k("gho_", "Z9y8" * 9), _k("gho_", "Z9y8" * 8, "-x")),
    ("a GitHub token", _k("github_", "pat_", "11ABCDE0Y0", "a1" * 36), _k("github_", "pat_", "a1" * 20)),
    ("a GitLab token", _k("glpat-", "x1Y2z3" * 3, "ab"), _k("glpat-", "x1Y2z3" * 3, "a")),
    ("a GitLab token", _k("gldt-", "Q7w8E9r0" * 3), _k("gldt-", "Q7w8E9r0")),
    ("a Slack token", _k("xapp-", "1-A0123456789-1234567890-abcdef"), "xapp-1"),
    ("a Slack webhook URL", _k("https://hooks.slack.com/services/", "T00000000/B00000000/", "X1y2" * 6),
     "https://hooks.slack.com/services/T0"),
    ("a Microsoft Teams webhook URL",
     _k("https://acme.webhook.office.com/webhookb2/", UUID, "@", UUID, "/IncomingWebhook/", "ab12" * 8, "/", UUID),
     "https://acme.webhook.office.com/webhookb2/"),
    ("a Stripe key", _k("sk_", "live_", "4eC39HqLyjWDarjtT1zdp7dc"), _k("pk_", "live_", "4eC39HqLyjWDarjtT1zdp7dc")),
    ("a Stripe key", _k("rk_", "live_", "4eC39HqLyjWDarjtT1zdp7dc"), _k("rk_", "live_", "short12")),
    ("a Stripe key", _k("sk_", "test_", "4eC39HqLyjWDarjtT1zdp7dc"), _k("sk_", "demo_", "4eC39HqLyjWDarjtT1zdp7dc")),
    ("a Stripe key", _k("whsec_", "Ab12Cd34" * 4), _k("whsec_", "Ab12")),
    ("a Google API key", _k("AIza", "Sy", "A1b2C3d4" * 4, "A"), _k("AIza", "Sy", "A1b2C3d4" * 4)),
    ("an OpenAI API key", _k("sk-", "proj-", "A1" * 10, "T3BlbkFJ", "B2" * 10), _k("sk-", "A1" * 10, "B2" * 10)),
    ("an Anthropic API key", _k("sk-ant-", "api03-", "a" * 93, "AA"), _k("sk-ant-", "api02-", "a" * 93, "AA")),
    ("a Twilio API key", _k("SK", "0123456789abcdef" * 2), _k("SK", "0123456789abcdef", "0123456789abcde")),
    ("a SendGrid API key", _k("SG.", "a1B2" * 5, "cd", ".", "e3F4" * 10, "ghi"), _k("SG.", "a1B2" * 5, "cd")),
    ("a Brevo (Sendinblue) API key", _k("xkeysib-", "a1" * 32, "-", "AbCd" * 4), _k("xkeysib-", "a1" * 31, "-AbCd")),
    ("an npm token", _k("npm_", "A1b2" * 9), _k("npm_", "A1b2" * 8, "A1b")),
    ("a PyPI token", _k("pypi-", "AgEIcHlwaS5vcmc", "x1Y2z3" * 10), _k("pypi-", "AgEIcHlwaS5vcmc", "x1Y2z3")),
    ("a RubyGems API key", _k("rubygems_", "ab12" * 12), _k("rubygems_", "ab12" * 11, "ab1")),
    ("a DigitalOcean token", _k("dop_", "v1_", "ab12" * 16), _k("dop_", "v1_", "ab12" * 15)),
    ("a Shopify token", _k("shpat_", "ab12" * 8), _k("shpat_", "ab12" * 7)),
    ("a Hugging Face token", _k("hf_", "abcdefghijklmnopqrstuvwxyzABCDEFGH"), _k("hf_", "abcdefghijklmnop")),
    ("a Heroku API key", _k("HRKU-", "AA", "a1" * 29), _k("HRKU-", "AB", "a1" * 29)),
    ("a Databricks token", _k("dapi", "ab12" * 8), _k("dapi", "ab12" * 7, "ab1")),
    ("a Linear API key", _k("lin_", "api_", "A1" * 20), _k("lin_", "api_", "A1" * 19, "A")),
    ("a Doppler token", _k("dp.pt.", "A1b" * 14, "c"), _k("dp.pt.", "A1b" * 14)),
    ("a Postman API key", _k("PMAK-", "ab12" * 6, "-", "ab12" * 8, "ab"), _k("PMAK-", "ab12" * 6, "-", "ab12" * 8)),
    ("a Pulumi token", _k("pul-", "ab12" * 10), _k("pul-", "ab12" * 9, "ab1")),
    ("a Sentry token", _k("sntryu_", "ab12" * 16), _k("sntryu_", "ab12" * 15)),
    ("a Grafana token", _k("glsa_", "A1b2" * 8, "_", "abcd1234"), _k("glsa_", "A1b2" * 8, "_", "abcd123")),
    ("a Grafana token", _k("glc_", "A1b2" * 8), _k("glc_", "A1b2" * 7)),
    ("a Vault token", _k("hvs.", "a1B2" * 25), _k("hvs.", "a1B2" * 20)),
    ("an Atlassian API token", _k("ATATT3", "xF" * 93), _k("ATATT3", "xF" * 50)),
    ("an age secret key", _k("AGE-SECRET-KEY-1", "QPZRY9X8GF" * 5, "2TVDW0S3"), _k("AGE-SECRET-KEY-1", "QPZRY9X8GF")),
    ("a Square token", _k("sq0atp-", "A1b2" * 6), _k("sq0atp-", "A1b2" * 5)),
    ("a private key", _k("-----BEGIN RSA ", "PRIVATE KEY-----\n", PEM_BODY, "\n-----END RSA ", "PRIVATE KEY-----"),
     _k("-----BEGIN ", "PUBLIC KEY-----\n", PEM_BODY, "\n-----END ", "PUBLIC KEY-----")),
    ("a private key", _k("-----BEGIN OPENSSH ", "PRIVATE KEY-----\n", PEM_BODY),  # pasted without its END line
     _k("-----BEGIN ", "CERTIFICATE-----\n", PEM_BODY, "\n-----END ", "CERTIFICATE-----")),
    ("a JWT", JWT, "eyJhbGciOiJIUzI1NiJ9 alone"),
]


@pytest.mark.parametrize(("kind", "secret", "near_miss"), CATALOGUE)
def test_each_catalogued_token_is_masked_whole(kind: str, secret: str, near_miss: str) -> None:
    result = redact(f"the customer pasted {secret} (rotated since)")
    assert result.text == f"the customer pasted {MASK} (rotated since)" or (
        kind == "a Slack webhook URL" and result.text.endswith(f"/services/{MASK} (rotated since)")) or (
        kind == "a Microsoft Teams webhook URL" and result.text.endswith(f"/webhookb2/{MASK} (rotated since)"))
    assert result.kinds == (kind,)


@pytest.mark.parametrize(("kind", "secret", "near_miss"), CATALOGUE)
def test_each_catalogued_near_miss_is_left_alone(kind: str, secret: str, near_miss: str) -> None:
    text = f"the customer pasted {near_miss} (rotated since)"
    assert redact(text) == type(redact(""))(text=text, kinds=())


@pytest.mark.parametrize(("text", "secret", "kind", "kept"), [
    # Bare keys, not behind Bearer.
    ("charge failed with key sk_live_4eC39HqLyjWDarjtT1zdp7dc in the logs", "4eC39HqLyjWDarjtT1zdp7dc",
     "a Stripe key", "in the logs"),
    # The Authorization header inside JSON.
    ('{"authorization": "Basic dXNlcjpwYXNzd29yZA==", "x": 1}', "dXNlcjpwYXNzd29yZA==", "an Authorization header",
     '"x": 1'),
    ('{"Authorization":"9f8e7d6c5b4a"}', "9f8e7d6c5b4a", "an Authorization header", '{"Authorization":"'),
    # Headers named *-key, *-token, *-secret, *-signature.
    ("curl -H 'X-Api-Key: 0123abcd4567ef' https://api.acme.com", "0123abcd4567ef", "an API key header",
     "https://api.acme.com"),
    ("X-Auth-Token: a1b2c3d4e5f6\nAccept: */*", "a1b2c3d4e5f6", "an API key header", "\nAccept: */*"),
    ("Private-Token: 9s8d7f6g5h4j3k", "9s8d7f6g5h4j3k", "an API key header", "Private-Token: "),
    ("X-Hub-Signature-256: sha256=0a1b2c3d4e5f", "0a1b2c3d4e5f", "an API key header", "X-Hub-Signature-256: "),
    # Passwords, short and plain.
    ("password: hunter2", "hunter2", "a password", "password: "),
    ("DB_PASSWORD=letmein\nDB_HOST=db", "letmein", "a password", "\nDB_HOST=db"),
    ('{"password": "correcthorse", "user": "dana"}', "correcthorse", "a password", '"user": "dana"'),
    ("Server=db;Uid=sa;Pwd=Tr0ub4dor;", "Tr0ub4dor", "a password", "Server=db;Uid=sa;Pwd="),
    # Generic API key, secret and token settings.
    ("STRIPE_API_KEY=abcd1234efgh5678", "abcd1234efgh5678", "an API key or secret", "STRIPE_API_KEY="),
    ("client_secret: 7Gh2Kd9Lm4Np", "7Gh2Kd9Lm4Np", "an API key or secret", "client_secret: "),
    ('"access_token": "ya29.a0AfH6SMBx3"', "ya29.a0AfH6SMBx3", "an API key or secret", '"access_token": "'),
    ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI", "an API key or secret",
     "aws_secret_access_key = "),
    ("secret=abcdefghijklmnopqrstuvwxyz", "abcdefghijklmnopqrstuvwxyz", "an API key or secret", "secret="),
    # Basic auth in a URL.
    ("clone https://dana:s3cr3t-pass@git.acme.com/repo.git", "s3cr3t-pass", "a password in a URL",
     f"https://dana:{MASK}@git.acme.com/repo.git"),
])
def test_credentials_without_bearer_are_removed(text: str, secret: str, kind: str, kept: str) -> None:
    result = redact(text)
    assert secret not in result.text
    assert kept in result.text
    assert result.kinds == (kind,)


@pytest.mark.parametrize("text", [
    "Reset your password: the link expired yesterday.",
    "Password: reset. Token: expired. Secret: none.",
    "The password field is greyed out; the api key page shows nothing.",
    "X-Request-Id: 0123abcd4567 and X-Api-Key: short",
    "token=abc and secret: 2024 and tokens: many",
    "Our API keys page (https://app.acme.com/settings/api-keys) lists none.",
    "pk_live_ keys are publishable; sk_live_ alone is a prefix",
    "The SKU SK-2048 and the glpat- prefix are no secrets.",
])
def test_near_misses_of_the_setting_rules_are_left_alone(text: str) -> None:
    assert redact(text).text == text
    assert redact(text).kinds == ()


# Properties ---------------------------------------------------------------------------------------------

FRAGMENTS = st.sampled_from([
    "Authorization: ", "Bearer ", "bearer ", "Cookie: ", "Set-Cookie: ", "xoxb-", "xoxp-", "xapp-", "eyJ",
    "password", "pwd=", "api_key", "_secret", "token", "X-Api-Key: ", "-Token:", '"', "sk_live_", "ghp_", "AKIA",
    "hooks.slack.com/services/", "-----BEGIN RSA PRIVATE KEY-----", "-----END RSA PRIVATE KEY-----", "a1B2c3D4",
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

"""Strips credentials out of what people paste, before anything is stored or shown.

The token shapes below are ported from the gitleaks default rule catalogue (config/gitleaks.toml, MIT License,
https://github.com/gitleaks/gitleaks, commit b58d3f1, July 2026); each rule names the gitleaks rule IDs it
comes from. Where gitleaks demands a trailing delimiter or an exact length, the shape here takes the whole
token instead, so no tail of a secret is left behind; where gitleaks scores entropy (generic-api-key), the
assignment rules here ask for a digit or a long value instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MASK = "[redacted]"
# Not glued to a longer word on the left (an underscore is allowed: `token_xoxp-…` is still a token).
_START = r"(?<![A-Za-z0-9])"
# Nothing more of the token on the right.
_END = r"(?![A-Za-z0-9])"
# What separates a setting's name from its value: `=`, `:`, `:=`, `=>`, with optional quotes (JSON, YAML, env).
_ASSIGN = r"""["']?[ \t]*(?::=|=>|=|:)[ \t]*["']?"""


@dataclass(frozen=True)
class _Rule:
    kind: str
    pattern: re.Pattern[str]
    replacement: str


def _token(kind: str, shape: str) -> _Rule:
    """A credential recognised by its own shape (a vendor prefix), masked whole."""
    return _Rule(kind, re.compile(f"{_START}(?:{shape}){_END}"), MASK)


# Order matters: a JWT inside "Authorization: Bearer" is reported once, as the Authorization header, and the
# specific shapes run before the generic `name = value` settings that would otherwise claim them.
_RULES = (
    # gitleaks: private-key (also taken when the END line was not pasted).
    _Rule("a private key", re.compile(
        r"(?i)-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----"
        r"(?:[\s\S]*?-----END[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----|(?:\s*[A-Za-z0-9+/=]{16,})*)"), MASK),
    # JSON ("authorization": "…") as well as header and query forms.
    _Rule("an Authorization header", re.compile(
        r"""(?i)\b(authorization["']?\s*[:=]\s*["']?\s*(?:bearer|basic|token|digest)?\s*)[^\s"',;]+"""),
          r"\1" + MASK),
    _Rule("a bearer token", re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"), r"\1" + MASK),
    _Rule("a cookie", re.compile(r"(?im)\b((?:set-)?cookie\s*:\s*)[^\n]+"), r"\1" + MASK),
    # gitleaks: curl-auth-header (X-Api-Key, X-Auth-Token, Private-Token, X-Vault-Token, X-Hub-Signature-256…).
    _Rule("an API key header", re.compile(
        r"""(?i)(?<![\w-])((?:[a-z0-9]+-)+(?:key|token|secret|signature)(?:-\d+)?["']?[ \t]*:[ \t]*["']?)"""
        r"[\w=~@.+/-]{8,}"), r"\1" + MASK),
    # gitleaks: slack-bot-token, slack-user-token, slack-app-token, slack-legacy-*, slack-config-*.
    _Rule("a Slack token", re.compile(r"x(?:ox[abposrec]|app)-[A-Za-z0-9-]{6,}"), MASK),
    # gitleaks: slack-webhook-url.
    _Rule("a Slack webhook URL", re.compile(r"(?i)(hooks\.slack\.com/(?:services|workflows|triggers)/)"
                                            r"[A-Za-z0-9+/_-]{16,}"), r"\1" + MASK),
    # gitleaks: microsoft-teams-webhook.
    _Rule("a Microsoft Teams webhook URL", re.compile(
        r"(?i)(\.webhook\.office\.com/webhookb2/)[\w@/-]{40,}"), r"\1" + MASK),
    # gitleaks: aws-access-token.
    _token("an AWS access key", r"(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}"),
    # gitleaks: github-pat, github-oauth, github-app-token, github-refresh-token, github-fine-grained-pat.
    _token("a GitHub token", r"gh[pousr]_[A-Za-z0-9]{36,}|github_pat_\w{82,}"),
    # gitleaks: gitlab-pat(-routable), gitlab-deploy-token, gitlab-ptt, gitlab-rrt, gitlab-runner-*,
    # gitlab-cicd-job-token, gitlab-feed-token, gitlab-incoming-mail-token, gitlab-kubernetes-agent-token,
    # gitlab-oauth-app-secret, gitlab-scim-token, gitlab-feature-flag-client-token.
    _token("a GitLab token",
           r"gl(?:pat|dt|rt|ptt|cbt|ft|imt|agent|oas|soat|ffct)-[\w.-]{19,}[\w-]|GR1348941[\w-]{20,}"),
    # gitleaks: stripe-access-token (sk_/rk_, test/live/prod), plus Stripe's webhook signing secret.
    _token("a Stripe key", r"(?:sk|rk)_(?:test|live|prod)_[A-Za-z0-9]{10,}|whsec_[A-Za-z0-9]{24,}"),
    # gitleaks: gcp-api-key.
    _token("a Google API key", r"AIza[\w-]{35}"),
    # gitleaks: openai-api-key, anthropic-api-key, anthropic-admin-api-key.
    _token("an OpenAI API key", r"sk-(?:(?:proj|svcacct|admin)-)?[\w-]{20,}T3BlbkFJ[\w-]{20,}"),
    _token("an Anthropic API key", r"sk-ant-(?:api03|admin01)-[\w-]{93}AA"),
    # gitleaks: twilio-api-key.
    _token("a Twilio API key", r"SK[0-9a-fA-F]{32}"),
    # gitleaks: sendgrid-api-token, sendinblue-api-token.
    _token("a SendGrid API key", r"SG\.[\w=.-]{66}"),
    _token("a Brevo (Sendinblue) API key", r"xkeysib-[a-f0-9]{64}-[A-Za-z0-9]{16}"),
    # gitleaks: npm-access-token, pypi-upload-token (pypi.org and test.pypi.org), rubygems-api-token.
    _token("an npm token", r"npm_[A-Za-z0-9]{36}"),
    _token("a PyPI token", r"pypi-(?:AgEIcHlwaS5vcmc|AgENdGVzdC5weXBpLm9yZw)[\w-]{50,}"),
    _token("a RubyGems API key", r"rubygems_[a-f0-9]{48}"),
    # gitleaks: digitalocean-pat, digitalocean-access-token, digitalocean-refresh-token.
    _token("a DigitalOcean token", r"do[por]_v1_[a-f0-9]{64}"),
    # gitleaks: shopify-access-token, shopify-custom-access-token, shopify-private-app-access-token,
    # shopify-shared-secret.
    _token("a Shopify token", r"shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}"),
    # gitleaks: huggingface-access-token, huggingface-organization-api-token.
    _token("a Hugging Face token", r"hf_[A-Za-z]{34}|api_org_[A-Za-z]{34}"),
    # gitleaks: heroku-api-key-v2, databricks-api-token, linear-api-key, doppler-api-token, postman-api-token,
    # pulumi-api-token, sentry-user-token, grafana-cloud-api-token, grafana-service-account-token,
    # vault-service-token, vault-batch-token, atlassian-api-token, age-secret-key, square-access-token.
    _token("a Heroku API key", r"HRKU-AA[\w-]{58}"),
    _token("a Databricks token", r"dapi[a-f0-9]{32}(?:-\d)?"),
    _token("a Linear API key", r"lin_api_[A-Za-z0-9]{40}"),
    _token("a Doppler token", r"dp\.pt\.[A-Za-z0-9]{43}"),
    _token("a Postman API key", r"PMAK-[a-fA-F0-9]{24}-[a-fA-F0-9]{34}"),
    _token("a Pulumi token", r"pul-[a-f0-9]{40}"),
    _token("a Sentry token", r"sntryu_[a-f0-9]{64}"),
    _token("a Grafana token", r"glc_[A-Za-z0-9+/]{32,}={0,3}|glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}"),
    _token("a Vault token", r"hvs\.[\w-]{90,}|hvb\.[\w-]{138,}"),
    _token("an Atlassian API token", r"ATATT3[\w=-]{186}"),
    _token("an age secret key", r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}"),
    _token("a Square token", r"(?:EAAA|sq0atp-|sq0csp-)[\w-]{22,}"),
    # gitleaks: jwt.
    _Rule("a JWT", re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), MASK),
    # gitleaks: curl-auth-user's user:password, in any URL (https://user:pass@host, postgres://…).
    _Rule("a password in a URL", re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@]+:)[^\s@/]+(@)"),
          r"\1" + MASK + r"\2"),
    _Rule("an API key in a URL", re.compile(
        r"(?i)([?&](?:api[_-]?key|apikey|key|token|access[_-]?token|auth|secret|client[_-]?secret|password|"
        r"passwd|pwd|sig|signature|session)=)[^&\s#\"']+"), r"\1" + MASK),
    # gitleaks: generic-api-key, split in two. A password may be short and plain: `password=hunter`,
    # `"password": "hunter"`; after a colon and a space it needs a digit or a symbol, so that
    # "Reset your password: the link expired" stays English.
    _Rule("a password", re.compile(
        r"""(?i)(?<![\w.-])([\w.-]{0,50}?(?:passw(?:or)?d|pwd|passphrase)[\w.-]{0,20}"""
        r"""(?:["']?[ \t]*(?::=|=>|=)[ \t]*["']?|["'][ \t]*:[ \t]*["']?|:[ \t]*["']|:(?=\S)"""
        r"""|:[ \t]+(?=[^\s"',;&]*[0-9!@#$%^*_+=~/\\|-])))"""
        r"""[^\s"',;&=:\[][^\s"',;&]{2,}"""), r"\1" + MASK),
    # …while a key, secret or token needs a digit or 20 characters, so `token: expired` stays English.
    _Rule("an API key or secret", re.compile(
        r"(?i)(?<![\w.-])([\w.-]{0,50}?(?:api[_.-]?(?:key|secret|token)|apikey|secret|token|credentials?|creds|"
        rf"(?:access|account|auth|private|signing|encryption|master|client)[_.-]?key)[\w.-]{{0,20}}{_ASSIGN})"
        r"(?=[\w./+=~-]{0,200}?\d|[\w./+=~-]{20})[\w./+=~-]{8,}"), r"\1" + MASK),
)


@dataclass(frozen=True)
class Redacted:
    """Text with its credentials masked, and what kinds of credential were removed."""

    text: str
    kinds: tuple[str, ...]


def redact(text: str) -> Redacted:
    """The text with every credential masked, and the kinds found, each named once, in rule order."""
    kinds: list[str] = []
    for rule in _RULES:
        text, count = rule.pattern.subn(rule.replacement, text)
        if count and rule.kind not in kinds:
            kinds.append(rule.kind)
    return Redacted(text=text, kinds=tuple(kinds))

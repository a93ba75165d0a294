"""Strips credentials out of what people paste, before anything is stored or shown."""

from __future__ import annotations

import re
from dataclasses import dataclass

MASK = "[redacted]"


@dataclass(frozen=True)
class _Rule:
    kind: str
    pattern: re.Pattern[str]
    replacement: str


# Order matters: a JWT inside "Authorization: Bearer" is reported once, as the bearer token.
_RULES = (
    _Rule("an Authorization header",
          re.compile(r"(?i)\b(authorization\s*[:=]\s*(?:bearer|basic|token)?\s*)[^\s\"',;]+"), r"\1" + MASK),
    _Rule("a bearer token", re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"), r"\1" + MASK),
    _Rule("a cookie", re.compile(r"(?im)\b((?:set-)?cookie\s*:\s*)[^\n]+"), r"\1" + MASK),
    _Rule("a Slack token", re.compile(r"x(?:ox[abposrec]|app)-[A-Za-z0-9-]{6,}"), MASK),
    _Rule("a JWT", re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), MASK),
    _Rule("a password in a URL", re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@]+:)[^\s@/]+(@)"),
          r"\1" + MASK + r"\2"),
    _Rule("an API key in a URL", re.compile(
        r"(?i)([?&](?:api[_-]?key|apikey|key|token|access[_-]?token|auth|secret|client[_-]?secret|password|"
        r"passwd|pwd|sig|signature|session)=)[^&\s#\"']+"), r"\1" + MASK),
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

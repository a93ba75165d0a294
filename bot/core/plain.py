"""Plain text for outside systems (PagerDuty, Statuspage): Slack's markup spelled out as a person reads it.

`<!channel>` becomes `@channel`, `<@U123|dana>` `@dana`, `<#C123|general>` `#general`, and a disguised link
`<https://evil.example|click>` shows where it really goes: `click (https://evil.example)`. Nothing is left that
Slack (or PagerDuty's Slack app posting the summary back into a channel) would turn into a ping or a link.
"""

from __future__ import annotations

import re

# Slack's control sequences: <@U…>, <#C…>, <!here>, <!subteam^S…>, <!date^…|fallback>, <https://…|label>.
_MARKUP = re.compile(r"<([@#!][^<>|\s]*|[a-z][a-z0-9+.-]*:[^<>|\s]*)(?:\|([^<>]*))?>", re.IGNORECASE)
# Characters that make no sense outside Slack and could hide text: controls, zero-width and bidi overrides.
_INVISIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def _spelled_out(match: re.Match[str]) -> str:
    target, label = match.group(1), match.group(2)
    sigil = target[0]
    if sigil in "@#":
        return f"{sigil}{label.lstrip(sigil) if label else target[1:]}"
    if sigil == "!":
        if label:
            return label if target.startswith("!date^") else f"@{label.lstrip('@')}"
        name = target[1:].split("^", 1)
        return f"@{name[1] if name[0] == 'subteam' and len(name) > 1 else name[0]}"
    address = target.removeprefix("mailto:")
    return f"{label} ({address})" if label and label not in (target, address) else address


def plain_text(text: str) -> str:
    """The text without Slack markup or invisible characters; ordinary words, `<`, `>` and `&` stay as typed."""
    return _MARKUP.sub(_spelled_out, _INVISIBLE.sub("", text))

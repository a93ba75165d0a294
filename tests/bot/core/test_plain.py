"""bot/core/plain.py: what outside systems get instead of Slack markup."""

from __future__ import annotations

import pytest

from bot.core.plain import plain_text


@pytest.mark.parametrize(("text", "plain"), [
    ("<!channel> checkout is down", "@channel checkout is down"),
    ("<!here|here> and <!everyone>", "@here and @everyone"),
    ("ask <@U0CMDR0001> or <@U0AGENT001|ava>", "ask @U0CMDR0001 or @ava"),
    ("see <#C0TRIAGE01|support-triage> and <#C0GENERAL1>", "see #support-triage and #C0GENERAL1"),
    ("page <!subteam^S0COMMAND1|@incident-commanders> or <!subteam^S0COMMAND1>",
     "page @incident-commanders or @S0COMMAND1"),
    ("<https://evil.example|click> here", "click (https://evil.example) here"),
    ("<https://status.acme.example> and <https://a.example|https://a.example>",
     "https://status.acme.example and https://a.example"),
    ("<mailto:dana@customer.example|dana@customer.example>", "dana@customer.example"),
    ("since <!date^1700000000^{date_short}|Nov 14>", "since Nov 14"),
    ("zero\u200bwidth and \u202eoverride\x07", "zerowidth and override"),
])
def test_slack_markup_is_spelled_out_as_a_person_reads_it(text: str, plain: str) -> None:
    assert plain_text(text) == plain


@pytest.mark.parametrize("text", [
    "Checkout returns 500 when total < 0 & tax > 10%",
    "a <b> tag, an email dana@customer.example, a @ sign, <@ alone>",
    "Line one\nline two\ttabbed",
    "*bold* _italic_ `code` ~strike~",
    "",
])
def test_ordinary_text_stays_as_typed(text: str) -> None:
    assert plain_text(text) == text

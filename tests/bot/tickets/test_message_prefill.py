"""What a customer's message prefills: the workspace ID it names, its first line, its text redacted."""

from __future__ import annotations

import pytest

from bot.tickets.message_prefill import first_line, prefill_from_message, readable, workspace_id_in


@pytest.mark.parametrize(("text", "found"), [
    ("Invoices fail for ws_4f2a9c since 9am", "ws_4f2a9c"),
    ("workspace WS_AB12 again", "WS_AB12"),
    ("(ws_77aa) cannot log in", "ws_77aa"),
    ("our workspace 88123 is down", "88123"),
    ("Workspace: acme-42 broken", "acme-42"),
    ("workspace ID: acme-prod", "acme-prod"),
    ("the workspace id is `k9x8`", "k9x8"),
    ("workspace_id=ws_1b2c", "ws_1b2c"),
])
def test_a_named_workspace_is_found(text: str, found: str) -> None:
    assert workspace_id_in(text) == found


@pytest.mark.parametrize("text", [
    "our workspace is down",
    "workspace settings page crashes",
    "aws_key1 leaked",          # ws_ inside another word is no workspace ID
    "see ws_ for details",
    "nothing here",
    "",
])
def test_no_workspace_is_made_up(text: str) -> None:
    assert workspace_id_in(text) is None


def test_first_line_skips_blank_lines_and_is_cut_to_the_summary_limit() -> None:
    assert first_line("\n\n  Exports time out  \nmore") == "Exports time out"
    long = "x" * 200
    assert len(first_line(long)) == 150 and first_line(long).endswith("…")


def test_slack_markup_is_spelled_out_and_entities_unescaped() -> None:
    assert readable("<@U0AGENT001> see <https://x.example/a|the page> &lt;b&gt; &amp;") == \
        "@U0AGENT001 see the page (https://x.example/a) <b> &"


def test_prefill_is_redacted_and_within_the_limits() -> None:
    token = "xoxb-123456789012-123456789012-abcdefghijklmnopqrstuvwx"
    prefill = prefill_from_message(f"Bot broke with {token}\nworkspace ws_1a2b\n" + "y" * 3000)
    assert token not in prefill.summary and token not in prefill.what_happened
    assert prefill.redactions
    assert prefill.workspace_id == "ws_1a2b"
    assert len(prefill.what_happened) == 2500 and len(prefill.summary) <= 150


def test_an_empty_message_prefills_nothing() -> None:
    prefill = prefill_from_message("")
    assert (prefill.summary, prefill.what_happened, prefill.workspace_id) == ("", "", "")

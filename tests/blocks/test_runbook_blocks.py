"""blocks/runbook.py: `/runbook` results and the card's runbook lines parse with slack_sdk.models and stay
within Slack's limits; what people wrote in a page stays text; a workaround only when one is documented."""

from __future__ import annotations

from blocks import ticket_card as cards
from blocks.runbook import card_match, markdown_to_mrkdwn, nothing_found, runbook_results
from bot.domain import RunbookEntry, RunbookMatch
from tests.blocks.test_builders import HOSTILE, HOSTILE_ESCAPED, NOW, assert_valid_blocks, make_ticket

ENTRY = RunbookEntry(slug="sso", title=f"SSO drift {HOSTILE}", symptoms="login loop, <!here>",
                     steps="## Check\n1. Open **Security → SSO**.\n- See [the guide](https://docs.example.com/a?b=1&c=2)"
                           "\n- Not a link: [x](javascript:alert(1))\n```\n<@U1> & code\n```",
                     workaround="- Owners sign in with a **password**.", source="sso.md")


def test_results_show_steps_and_the_documented_workaround_as_valid_blocks() -> None:
    blocks = runbook_results("sso", [RunbookMatch(ENTRY, 2.0),
                                     RunbookMatch(RunbookEntry(slug="b", title="B", symptoms="", steps="1. x"), 1.0)])
    assert_valid_blocks(blocks)
    text = str(blocks)
    assert f"*SSO drift {HOSTILE_ESCAPED}*" in text and "&lt;!here&gt;" in text
    assert "*Check*" in text and "*Security → SSO*" in text
    assert "<https://docs.example.com/a?b=1&amp;c=2|the guide>" in text
    assert "<javascript" not in text and "x (javascript:alert(1))" in text
    assert "&lt;@U1&gt; &amp; code" in text
    assert text.count("Workaround") == 1  # the second entry documents none, so none is offered
    assert blocks[-1]["type"] != "divider"


def test_long_steps_are_cut_and_say_so() -> None:
    long = RunbookEntry(slug="l", title="Long", symptoms="", steps="\n".join(f"{i}. <step> & more" for i in range(600)))
    blocks = runbook_results("long", [RunbookMatch(long, 1.0)] * 3)
    assert_valid_blocks(blocks)
    assert "the whole page is in the runbook" in str(blocks)


def test_nothing_found_says_so_and_escapes_the_words() -> None:
    blocks = runbook_results("<!channel>", [])
    assert_valid_blocks(blocks)
    assert blocks[0]["text"]["text"] == nothing_found("<!channel>") and "&lt;!channel&gt;" in str(blocks)


def test_the_card_hint_is_the_workaround_when_documented_else_the_first_step() -> None:
    assert card_match(RunbookMatch(ENTRY, 1.0)) == (ENTRY.title, "Workaround: Owners sign in with a password.")
    plain = RunbookEntry(slug="p", title="P", symptoms="", steps="Intro **bold** [l](https://x.example)\n2. y")
    assert card_match(RunbookMatch(plain, 1.0)) == ("P", "First step: Intro bold l")


def test_the_ticket_card_with_runbook_matches_is_valid_and_escaped() -> None:
    blocks = cards.ticket_card(make_ticket(), now=NOW, runbook_matches=[card_match(RunbookMatch(ENTRY, 1.0)),
                                                                        ("Webhooks", "First step: <replay>")])
    assert_valid_blocks(blocks)
    runbook = next(b for b in blocks if "Runbook first" in str(b))
    assert f"• *SSO drift {HOSTILE_ESCAPED}*: Workaround" in runbook["text"]["text"]
    assert "&lt;replay&gt;" in runbook["text"]["text"]
    assert "Runbook first" not in str(cards.ticket_card(make_ticket(), now=NOW))


def test_markdown_without_markup_is_only_escaped() -> None:
    assert markdown_to_mrkdwn("a < b & c") == "a &lt; b &amp; c"

"""What the property tests throw at the bot, and the property every modal submission must keep.

Text comes from four sources mixed together: any code point but lone surrogates (control characters, NUL,
private use and unassigned included), the characters that break naive handling (right-to-left overrides,
zero-width joiners, a byte-order mark, emoji sequences, NUL), text far past any input's max_length, and
nothing at all. Submissions are forged: Slack's client-side checks (required, max_length, email) are
bypassed and option values need not be options, as an old client or an attacker could send them.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

from bot.app import SupportBot
from bot.sandbox.driver import ACK_DEADLINE, DriverResponse, SlackDriver
from bot.sandbox.slack import SlackSandbox
from bot.sandbox.slack_models import View


# One bot serves every example of a test (function-scoped fixtures): each example checks only what it changed.
# derandomize: the same examples on every run, so CI never meets a new failure by chance.
def examples(n: int) -> settings:
    return settings(max_examples=n, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                           HealthCheck.too_slow, HealthCheck.data_too_large],
                    deadline=None, derandomize=True, database=None, print_blob=False,
                    # No shrinking: with a bot behind every example it takes minutes; the first failing
                    # example is reported as drawn.
                    phases=[Phase.explicit, Phase.generate])

ODD = ["\x00", "\u202e", "\u202d", "\u200b", "\u200d", "\ufeff", "\u2066", "\u061c", "\u00ad", "\ufffd",
       "\U0001f525", "\U0001f468\u200d\U0001f469\u200d\U0001f467", "\U0001f1fa\U0001f1f8", "\u0301", "\r\n",
       "\t", "\x7f", "\x1b[31m", "\uffff", "\U0010ffff", "\U000e0041", "עברית", "العربية", "<script>",
       "*bold* _it_ `code`", "<!channel>", "<@U0AGENT001>", "&amp;", "\\", '"', "'", "%s%n", "{{x}}"]
any_char = st.characters(codec="utf-8")  # every code point but the lone surrogates
odd_piece = st.sampled_from(ODD)
# Mostly short; now and then far past every input's limit (Slack's largest is 3000 characters).
short_text = st.lists(st.one_of(any_char, odd_piece), max_size=12).map("".join)
oversized = st.builds(lambda piece, times: (piece or "x") * times, short_text,
                      st.integers(min_value=200, max_value=4000))
# Odd characters no rule refuses, to put inside otherwise good values (half the examples should be stored).
odd_but_fine = short_text.filter(lambda t: t.strip() and "\x00" not in t)
hostile_text = st.one_of(short_text, short_text, short_text, oversized, st.just(""), st.just("   "))
# Values no Slack client sends in place of a string: the bot must not crash reading them.
junk_json = st.one_of(st.none(), st.integers(min_value=-(2**70), max_value=2**70), st.booleans(),
                      st.floats(allow_nan=False), st.lists(st.integers(), max_size=3),
                      st.dictionaries(st.text(max_size=5), st.integers(), max_size=2))


def forged_option(value: Any) -> dict[str, Any]:
    """A selected option whose value is not one the bot offered."""
    return {"text": {"type": "plain_text", "text": str(value)[:75] or "x", "emoji": True}, "value": value}


def input_blocks(view: View) -> dict[str, dict[str, Any]]:
    return {str(b["block_id"]): b for b in view.view.get("blocks", []) if b.get("type") == "input"}


def forge_state(state: dict[str, Any], *, dropped: set[str], junk: Mapping[str, Any]) -> dict[str, Any]:
    """The submitted state with some blocks missing altogether and some values replaced by junk JSON."""
    forged: dict[str, Any] = {}
    for block_id, actions in state.items():
        if block_id in dropped:
            continue
        if block_id in junk:
            forged[block_id] = {action: {**entry, **_junk_entry(entry, junk[block_id])}
                                for action, entry in actions.items()}
        else:
            forged[block_id] = actions
    return forged


def _junk_entry(entry: Mapping[str, Any], junk: Any) -> dict[str, Any]:
    keys = [k for k in entry if k != "type"] or ["value"]
    return {key: junk for key in keys}


@dataclass
class Submission:
    response: DriverResponse
    state: dict[str, Any]  # state.values as sent


async def submit_forged(slack: SlackDriver, *, user_id: str, view: View, values: Mapping[str, Any],
                        dropped: set[str] | None = None, junk: Mapping[str, Any] | None = None) -> Submission:
    """Submits the modal with exactly these values, past Slack's client checks, then applies the ack the way
    Slack would (errors keep the modal open, an empty ack closes it)."""
    payload = slack.payloads.view_submission(view, user_id, values, validate=False)
    state = forge_state(payload["view"]["state"]["values"], dropped=dropped or set(), junk=junk or {})
    payload["view"]["state"]["values"] = state
    body = urlencode({"payload": json.dumps(payload, separators=(",", ":"))})
    response = await slack.post_raw(body, url=slack.interactivity_url)
    if response.acked_in_time:
        slack.sandbox.apply_view_ack(view.id, response.json if isinstance(response.json, dict) else {})
    return Submission(response, state)


def _texts(state: Mapping[str, Any]) -> dict[str, str]:
    return {block_id: entry["value"] for block_id, actions in state.items() for entry in actions.values()
            if isinstance(entry, dict) and isinstance(entry.get("value"), str)}


def refusable(submission: Submission, view: View) -> dict[str, str]:
    """The text inputs the bot must refuse whatever Slack's client let through: past the input's max_length
    (trimmed), or holding what no client types (NUL, lone surrogates)."""
    blocks = input_blocks(view)
    found: dict[str, str] = {}
    for block_id, text in _texts(submission.state).items():
        limit = (blocks.get(block_id) or {}).get("element", {}).get("max_length")
        if limit and len(text.strip()) > limit:
            found[block_id] = f"{len(text.strip())} characters past max_length {limit}"
        elif any(c == "\x00" or "\ud800" <= c <= "\udfff" for c in text):
            found[block_id] = "NUL or a lone surrogate"
    return found


def inline_errors(submission: Submission, view: View) -> dict[str, str] | None:
    """The inline errors the answer shows, checked to be ones Slack can show; None when the modal closed.

    Fails the test on anything else: a 5xx, a late answer, an error for a block the modal does not have
    (Slack refuses the whole answer then, and the person sees "We had some trouble connecting"), an empty
    error text, or a modal closed on a value the bot's own checks must refuse."""
    response = submission.response
    assert response.status == 200, (response.status, response.body[:300])
    assert response.elapsed <= ACK_DEADLINE, f"answered after {response.elapsed:.2f} s"
    answer = response.json if isinstance(response.json, dict) else None
    if not response.body.strip():
        assert not (bad := refusable(submission, view)), f"accepted what must be refused: {bad}"
        return None
    assert answer is not None, f"not JSON: {response.body[:300]!r}"
    assert answer.get("response_action") == "errors", answer
    errors = answer.get("errors")
    assert isinstance(errors, dict) and errors, answer
    blocks = input_blocks(view)
    for block_id, text in errors.items():
        assert block_id in blocks, f"error for {block_id!r}, not an input of the modal: {sorted(blocks)}"
        assert isinstance(text, str) and text.strip(), (block_id, text)
        # A healthy database refusing the write means the input reached it unchecked.
        assert "database refused" not in text, (block_id, text)
    return errors


def crashes(sandbox: SlackSandbox, seen: int = 0) -> list[str]:
    """What the bot told people after an exception it did not expect (handlers.errors.show_error)."""
    return [e.text for e in sandbox.ephemerals[seen:] if "Something went wrong on our side" in e.text]


async def open_modal(slack: SlackDriver, *, user_id: str, action_id: str, message: Any,
                     value: str | None = None) -> View:
    """Presses a button and returns the modal it opens."""
    sandbox = slack.sandbox
    before = set(sandbox.views)
    await slack.click(user_id=user_id, action_id=action_id, message=message, value=value)
    return await sandbox.wait_for(lambda: next((v for i, v in sandbox.views.items()
                                                if i not in before and v.user == user_id), None))


def labelled(view: View, values: Mapping[str, Any]) -> dict[str, Any]:
    """`values` keyed by block ID, whether given by block ID or by label."""
    blocks = input_blocks(view)
    by_label = {str(b["label"]["text"]).casefold(): block_id for block_id, b in blocks.items()}
    return {k if k in blocks else by_label[k.casefold()]: v for k, v in values.items()}


async def settled(bot: SupportBot, timeout: float = 5.0) -> None:  # noqa: ASYNC109
    """Waits for the listeners still working after their ack (the part after `ack()` that stores or posts)."""
    in_flight: set[asyncio.Task[Any]] = bot._in_flight
    while pending := [t for t in in_flight if not t.done()]:
        await asyncio.wait(pending, timeout=timeout)

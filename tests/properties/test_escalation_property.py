"""The escalation modal under arbitrary input: one stored round with its audit event and its post in the team
channel, or inline errors on blocks the modal has and no round, no audit event, no post; never a 500, never a
late answer, never a crash."""

from __future__ import annotations

from typing import Any

from hypothesis import event, given
from hypothesis import strategies as st

from bot.app import SupportBot
from bot.sandbox.driver import SlackDriver
from bot.sandbox.slack import SlackSandbox
from bot.sandbox.workspace import AGENT, escalation_values, file_ticket, ticket_card_message, ticket_values
from storage.repositories import audit
from storage.repositories import escalations as escalation_repo
from storage.repositories import tickets as ticket_repo
from tests.properties.forge import (
    crashes,
    examples,
    forged_option,
    hostile_text,
    inline_errors,
    junk_json,
    labelled,
    odd_but_fine,
    open_modal,
    settled,
    submit_forged,
)

TRIAGE = "C0TRIAGE01"
TEXTS = ["esc_customer_impact", "esc_workspace_id", "esc_customer_timezone", "esc_expected", "esc_actual",
         "esc_request_id", "esc_sentry_url", "esc_repro_steps", "esc_jira"]
SELECTS = ["esc_plan_tier", "esc_repro_result", "esc_component", "esc_team"]
BLOCKS = [*TEXTS, *SELECTS, "esc_occurred_at"]
# Free text no rule refuses when it is not empty: where odd Unicode reaches the database and the team's post.
FREE = ["esc_customer_impact", "esc_expected", "esc_actual", "esc_repro_steps", "esc_request_id",
        "esc_workspace_id"]
GOOD_CHOICES = {"esc_plan_tier": "Enterprise", "esc_repro_result": "Reproducible", "esc_component": "billing",
                "esc_team": "payments", "esc_jira": "SUP-77", "esc_customer_timezone": "Europe/Berlin"}

texts = st.dictionaries(st.sampled_from(TEXTS), hostile_text, max_size=4)
selects = st.dictionaries(st.sampled_from(SELECTS), st.one_of(
    hostile_text.map(forged_option), junk_json.map(forged_option), st.none()), max_size=2)
goods = st.lists(st.sampled_from(sorted(GOOD_CHOICES)), max_size=3, unique=True)
moments = st.one_of(st.none(), st.integers(min_value=-(2**70), max_value=2**70), st.floats(), hostile_text,
                    st.booleans(), st.integers(min_value=1_795_000_000, max_value=1_796_000_000))


async def _open_ticket(slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot) -> tuple[int, Any]:
    """The newest ticket while it has no round yet (an error answer leaves it so), else a new one. SEV4: no
    page, so the bot needs no PagerDuty here."""
    async with bot.sessions() as session:
        number = await ticket_repo.count_tickets(session)
        taken = number == 0 or await escalation_repo.latest_escalation(session, ticket_number=number) is not None
    if taken:
        await file_ticket(slack, sandbox, values=ticket_values(Impact="Cosmetic or how-to question"))
        number += 1
    return number, await sandbox.wait_for(lambda: ticket_card_message(sandbox, number, TRIAGE))


def _posts(sandbox: SlackSandbox) -> list[Any]:
    return [m for channel in ("C0PAYMENT1", "C0PLATFRM1") for m in sandbox.history(channel)
            if (m.metadata or {}).get("event_type") == "supportbot_escalation"]


@examples(40)
@given(text=texts, select=selects, good=goods, moment=moments,
       dropped=st.sets(st.sampled_from(BLOCKS), max_size=2),
       junk=st.dictionaries(st.sampled_from(BLOCKS), junk_json, max_size=1), gentle=st.booleans(),
       narrow=st.booleans(), odd=st.dictionaries(st.sampled_from(FREE), odd_but_fine, min_size=1, max_size=3))
async def test_every_escalation_submission_stores_one_whole_round_or_answers_inline_errors(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, text: dict[str, str], select: dict[str, Any],
        good: list[str], moment: Any, dropped: set[str], junk: dict[str, Any], gentle: bool, narrow: bool,
        odd: dict[str, str]) -> None:
    number, card = await _open_ticket(slack, sandbox, bot)
    view = await open_modal(slack, user_id=AGENT.user_id, action_id="ticket_escalate", message=card,
                            value=str(number))
    values: dict[str, Any] = labelled(view, escalation_values())
    if gentle:  # a complete hand-off, odd characters inside its free text
        values.update({k: f"{v[:40]} x" for k, v in odd.items()})
        values.update({k: GOOD_CHOICES[k] for k in good})
        dropped, junk = set(), {}
    else:
        if narrow:  # only the choices forged, the text complete: the forged option must reach the checks
            text, dropped, junk = {}, set(), {}
        values.update({**text, **select})
        if moment is not None:
            values["esc_occurred_at"] = moment
    values = {k: v for k, v in values.items() if v is not None}
    posts_before = len(_posts(sandbox))
    seen = len(sandbox.ephemerals)

    submission = await submit_forged(slack, user_id=AGENT.user_id, view=view, values=values, dropped=dropped,
                                     junk=junk)

    errors = inline_errors(submission, view)
    event("inline errors" if errors is not None else "escalated")
    await settled(bot)
    async with bot.sessions() as session:
        stored = await escalation_repo.latest_escalation(session, ticket_number=number)
        actions = [e.action for e in await audit.audit_trail(session, ticket_number=number)]
    if errors is not None:
        assert stored is None, f"a round was stored although the modal answered {errors}"
        assert "escalated" not in actions
        assert len(_posts(sandbox)) == posts_before
    else:
        assert stored is not None and stored.round == 1, "the modal closed but no round was stored"
        assert actions.count("escalated") == 1
        await bot.background.settle(timeout=5)
        post = await sandbox.wait_for(lambda: next((m for m in _posts(sandbox)[posts_before:] if (
            m.metadata or {}).get("event_payload", {}).get("escalation") == stored.id), None))
        assert f"#{number}" in str(post.blocks)
    assert crashes(sandbox, seen) == []

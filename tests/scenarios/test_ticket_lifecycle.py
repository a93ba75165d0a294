"""A ticket's life after filing: what is stored and shown, its SLA timers, the card's buttons, App Home, restarts."""

from __future__ import annotations

import asyncio
import copy
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from bot.app import SupportBot
from bot.sandbox.clock import ManualClock
from bot.sandbox.driver import SlackDriver
from bot.sandbox.slack import SlackSandbox
from bot.sandbox.slack_models import Message
from bot.sandbox.workspace import AGENT, LEAD, OUTSIDER, file_ticket, ticket_values
from storage.repositories import audit
from storage.repositories import tickets as ticket_repo
from tests.conftest import SIGNING_SECRET

TRIAGE = "C0TRIAGE01"
LEADS = "S0LEADS01"


# -- helpers ---------------------------------------------------------------------------------------------------
def _text_objects(node: Any) -> Iterator[tuple[str, str]]:
    """Every (type, text) composition object inside some blocks, however deeply nested."""
    if isinstance(node, dict):
        if node.get("type") in ("mrkdwn", "plain_text") and isinstance(node.get("text"), str):
            yield node["type"], node["text"]
        for value in node.values():
            yield from _text_objects(value)
    elif isinstance(node, list):
        for item in node:
            yield from _text_objects(item)


def _mrkdwn(blocks: list[dict[str, Any]]) -> str:
    return "\n".join(text for kind, text in _text_objects(blocks) if kind == "mrkdwn")


def _action_ids(blocks: list[dict[str, Any]]) -> set[str]:
    return {e["action_id"] for b in blocks if b.get("type") == "actions" for e in b.get("elements", [])
            if "action_id" in e}


async def _card(sandbox: SlackSandbox) -> Message:
    """The first ticket's card, once announcing is over (the draft reply is posted after the card is recorded;
    a SEV2 then pages on-call and says so in the thread, which is covered in test_sev2_paging.py)."""
    card = await sandbox.wait_for(lambda: next(iter(sandbox.history(TRIAGE)), None))
    await sandbox.wait_for(lambda: sandbox.history(TRIAGE, thread_ts=card.ts))
    if card.text.startswith("SEV2"):
        await sandbox.wait_for(lambda: any("Paged on-call" in m.text
                                           for m in sandbox.history(TRIAGE, thread_ts=card.ts)))
    return card


async def _thread_reply(sandbox: SlackSandbox, card: Message, needle: str) -> Message:
    return await sandbox.wait_for(lambda: next((m for m in sandbox.history(TRIAGE, thread_ts=card.ts)
                                                if needle in _mrkdwn(m.blocks) or needle in m.text), None))


async def _ticket(bot: SupportBot, number: int = 1) -> Any:
    async with bot.sessions() as session:
        return await ticket_repo.get_ticket(session, number=number)


async def _trail(bot: SupportBot, number: int = 1) -> list[audit.AuditEvent]:
    """The ticket's audit trail, less the SEV2 page (test_sev2_paging.py covers that)."""
    async with bot.sessions() as session:
        trail = await audit.audit_trail(session, ticket_number=number)
    return [e for e in trail if not e.action.startswith("sev2_page")]


async def _count(bot: SupportBot) -> int:
    async with bot.sessions() as session:
        return await ticket_repo.count_tickets(session)


# -- 1. redaction ----------------------------------------------------------------------------------------------
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk"
PASTED = (
    "The customer pasted their request:\n"
    "Authorization: Bearer abc.def.ghi123456\n"
    "Their integration uses xoxb-1234-5678-abcdefgh and a session token " + JWT + "\n"
    "They call https://api.x.com/v1?api_key=SECRET123 from a worker whose DSN is postgres://bob:hunter2@db/x\n"
    "Cookie: session=abc\n"
    "and then the page stays blank."
)
SECRETS = ("abc.def.ghi123456", "xoxb-1234-5678-abcdefgh", JWT, "SECRET123", "hunter2", "session=abc")


async def test_credentials_are_removed_before_storage_and_display(slack: SlackDriver, sandbox: SlackSandbox,
                                                                   bot: SupportBot) -> None:
    await file_ticket(slack, sandbox, values=ticket_values(**{"What happened": PASTED}))
    card = await _card(sandbox)
    notice = await _thread_reply(sandbox, card, "removed credentials")

    ticket = await _ticket(bot)
    assert ticket is not None
    for secret in SECRETS:
        assert secret not in ticket.what_happened, secret
    # What is not a secret survives, so the engineer still learns what the customer did.
    assert "and then the page stays blank." in ticket.what_happened
    assert "https://api.x.com/v1?api_key=" in ticket.what_happened and "postgres://bob:" in ticket.what_happened

    shown = str(card.blocks) + card.text
    thread = "".join(str(m.blocks) + m.text for m in sandbox.history(TRIAGE, thread_ts=card.ts))
    trail = await _trail(bot)
    for secret in SECRETS:
        assert secret not in shown, secret
        assert secret not in thread, secret
        assert all(secret not in str(event.after) for event in trail), secret

    told = _mrkdwn(notice.blocks)
    assert f"<@{AGENT.user_id}>" in told
    for kind in ("an Authorization header", "a Slack token", "a JWT", "an API key in a URL",
                 "a password in a URL", "a cookie"):
        assert kind in told, kind
        assert any(kind in r for r in ticket.redactions), kind


async def test_credentials_in_other_fields_are_removed_too(slack: SlackDriver, sandbox: SlackSandbox,
                                                          bot: SupportBot) -> None:
    values = ticket_values(**{
        "Summary": "Webhook fails with token xoxb-1234-5678-abcdefgh",
        "What was expected": "A 200 for Authorization: Bearer abc.def.ghi123456",
        "URL or API endpoint": "https://app.acme.example/billing?api_key=SECRET123&page=2",
        "Screenshot, Loom or HAR link": "https://files.acme.example/har?token=SECRET456",
    })
    await file_ticket(slack, sandbox, values=values)
    card = await _card(sandbox)
    notice = await _thread_reply(sandbox, card, "removed credentials")
    ticket = await _ticket(bot)
    stored = " ".join(str(v) for v in (ticket.summary, ticket.expected, ticket.environment.url,
                                       ticket.attachment_link))
    everything = stored + str(card.blocks) + card.text + "".join(
        str(m.blocks) + m.text for m in sandbox.history(TRIAGE, thread_ts=card.ts))
    for secret in ("xoxb-1234-5678-abcdefgh", "abc.def.ghi123456", "SECRET123", "SECRET456"):
        assert secret not in everything, secret
    assert ticket.summary.startswith("Webhook fails with token")
    assert ticket.environment.url is not None and ticket.environment.url.endswith("&page=2")
    told = _mrkdwn(notice.blocks)
    for where in ("Summary", "What was expected", "URL", "Screenshot"):
        assert f"in {where}" in told, where


# -- 2. escaping -----------------------------------------------------------------------------------------------
async def test_user_text_reaches_slack_escaped_without_live_mentions(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, clock: ManualClock) -> None:
    values = ticket_values(**{
        "Summary": "<!channel> Tom & Jerry's invoices vanish, ask <@U0LEAD0001>",
        "What happened": "The customer's note said: <!channel> & <@U0LEAD0001> it's broken again",
    })
    await file_ticket(slack, sandbox, values=values)
    card = await _card(sandbox)
    draft = await _thread_reply(sandbox, card, "first reply")
    clock.advance(timedelta(hours=1))
    await bot.timers.fire_due()
    breach = await sandbox.wait_for(lambda: next((m for m in sandbox.history(TRIAGE)
                                                  if "breached" in _mrkdwn(m.blocks)), None))
    await slack.app_home_opened(user_id=AGENT.user_id)
    home = await sandbox.wait_for(lambda: sandbox.home_views.get(AGENT.user_id))

    card_text = _mrkdwn(card.blocks)
    assert "&lt;!channel&gt;" in card_text and "&lt;@U0LEAD0001&gt;" in card_text
    assert "Tom &amp; Jerry's invoices vanish" in card.text  # the notification fallback too
    assert "The customer's note said: &lt;!channel&gt; &amp; &lt;@U0LEAD0001&gt; it's broken again" in card_text
    assert "&lt;!channel&gt; Tom &amp; Jerry's invoices vanish" in _mrkdwn(draft.blocks)
    assert "&lt;!channel&gt; Tom &amp; Jerry's" in _mrkdwn(breach.blocks)
    assert "&lt;!channel&gt; Tom &amp; Jerry's" in _mrkdwn(home["blocks"])

    for where, mrkdwn, fallback in [("card", card_text, card.text), ("draft", _mrkdwn(draft.blocks), draft.text),
                                    ("breach", _mrkdwn(breach.blocks), breach.text),
                                    ("home", _mrkdwn(home["blocks"]), "")]:
        for text in (mrkdwn, fallback):
            assert "<!channel>" not in text, where
            assert "<@U0LEAD0001>" not in text, where
            assert "&#39;" not in text and "&#x27;" not in text and "&apos;" not in text, where
            # Every ampersand left is one of Slack's three entities: nothing was escaped twice or not at all.
            assert not re.search(r"&(?!amp;|lt;|gt;)", text), where
            assert "&amp;amp;" not in text and "&amp;lt;" not in text, where

    ticket = await _ticket(bot)
    assert ticket.summary == "<!channel> Tom & Jerry's invoices vanish, ask <@U0LEAD0001>"  # stored as typed


# -- 3. validation ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("overrides", "block_id"), [
    ({"URL or API endpoint": "app dot acme slash billing"}, "url"),
    ({"URL or API endpoint": "ftp://files.acme.example/invoices"}, "url"),
    ({"When it happened": "in an hour"}, "occurred_at"),
    ({"Summary": "x" * 151}, "summary"),
    ({"URL or API endpoint": "https://api.acme.example/v2/invoices"}, "request_id"),
    ({"URL or API endpoint": "https://app.acme.example/api/v2/invoices"}, "request_id"),
    ({"URL or API endpoint": "GET /api/v2/invoices"}, "request_id"),
], ids=["not-a-url", "ftp-url", "future-time", "long-summary", "api-host-no-request-id",
        "api-path-no-request-id", "bare-endpoint-no-request-id"])
async def test_a_bad_field_gets_an_inline_error_and_nothing_is_stored(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, clock: ManualClock,
        overrides: dict[str, Any], block_id: str) -> None:
    if overrides.get("When it happened") == "in an hour":
        overrides = {"When it happened": clock.now() + timedelta(hours=1)}
    view_id, response = await file_ticket(slack, sandbox, values=ticket_values(**overrides), validate=False)
    assert response.status == 200
    assert response.json is not None and response.json["response_action"] == "errors"
    assert set(response.json["errors"]) == {block_id}
    assert response.json["errors"][block_id].strip()
    assert not sandbox.views[view_id].closed  # the agent keeps what they typed
    assert await _count(bot) == 0
    assert sandbox.calls_to("chat.postMessage") == []


async def test_a_time_just_past_and_an_api_endpoint_with_its_request_id_are_accepted(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, clock: ManualClock) -> None:
    values = ticket_values(**{"When it happened": clock.now() - timedelta(minutes=10),
                              "URL or API endpoint": "https://api.acme.example/v2/invoices",
                              "Request ID": "req_1a2b3c", "Summary": "y" * 150})
    _, response = await file_ticket(slack, sandbox, values=values)
    assert response.status == 200 and not response.body
    assert await _count(bot) == 1
    ticket = await _ticket(bot)
    assert ticket.environment.occurred_at == clock.now() - timedelta(minutes=10)
    assert ticket.environment.request_id == "req_1a2b3c"


# -- 4. first-response SLA -------------------------------------------------------------------------------------
async def test_business_ticket_reminds_at_48_minutes_and_breaches_at_one_hour(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, clock: ManualClock) -> None:
    await file_ticket(slack, sandbox)
    card = await _card(sandbox)
    ticket = await _ticket(bot)
    assert ticket.first_response_due - ticket.filed_at == timedelta(hours=1)

    clock.advance(timedelta(minutes=47, seconds=59))
    assert await bot.timers.fire_due() == 0
    clock.advance(timedelta(seconds=1))
    assert await bot.timers.fire_due() == 1
    reminder = await _thread_reply(sandbox, card, "is due")
    assert f"<@{AGENT.user_id}>" in _mrkdwn(reminder.blocks)
    assert "#1" in _mrkdwn(reminder.blocks) and "12 min" in _mrkdwn(reminder.blocks)
    assert len(sandbox.history(TRIAGE)) == 1  # the reminder is in the thread, not the channel
    assert await bot.timers.fire_due() == 0  # a reminder fires once

    clock.advance(timedelta(minutes=11, seconds=59))
    assert await bot.timers.fire_due() == 0
    clock.advance(timedelta(seconds=1))
    assert await bot.timers.fire_due() == 1
    top_level = sandbox.history(TRIAGE)
    assert len(top_level) == 2
    breach = top_level[-1]
    assert breach.thread_ts is None
    text = _mrkdwn(breach.blocks)
    assert f"<!subteam^{LEADS}>" in text and "#1" in text and "breached" in text
    assert "Invoices page shows a blank screen" in text

    actions = [e.action for e in await _trail(bot)]
    assert actions == ["ticket_filed", "customer_checked", "first_response_warning_fired",
                       "first_response_breach_fired"]
    clock.advance(timedelta(hours=5))
    assert await bot.timers.fire_due() == 0


async def test_trial_ticket_gets_four_hours_and_a_reminder_at_3h12m(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, clock: ManualClock) -> None:
    await file_ticket(slack, sandbox, values=ticket_values(**{"Plan tier": "Trial"}))
    card = await _card(sandbox)
    ticket = await _ticket(bot)
    assert ticket.first_response_due - ticket.filed_at == timedelta(hours=4)

    clock.advance(timedelta(hours=3, minutes=11))
    assert await bot.timers.fire_due() == 0
    clock.advance(timedelta(minutes=1))
    assert await bot.timers.fire_due() == 1
    reminder = await _thread_reply(sandbox, card, "is due")
    assert f"<@{AGENT.user_id}>" in _mrkdwn(reminder.blocks) and "48 min" in _mrkdwn(reminder.blocks)

    clock.advance(timedelta(minutes=47))
    assert await bot.timers.fire_due() == 0
    clock.advance(timedelta(minutes=1))
    assert await bot.timers.fire_due() == 1
    assert f"<!subteam^{LEADS}>" in _mrkdwn(sandbox.history(TRIAGE)[-1].blocks)


# -- 5. "First response sent" ----------------------------------------------------------------------------------
async def test_first_response_button_records_who_and_when_and_stops_the_timers(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, clock: ManualClock) -> None:
    await file_ticket(slack, sandbox)
    card = await _card(sandbox)
    stale = copy.deepcopy(card)  # what a second browser tab still shows
    thread_before = len(sandbox.history(TRIAGE, thread_ts=card.ts))

    clock.advance(timedelta(minutes=20))
    answered_at = clock.now()
    response = await slack.click(user_id=AGENT.user_id, action_id="ticket_first_response", message=card)
    assert response.status == 200
    await sandbox.wait_for(lambda: "First response sent by" in _mrkdwn(card.blocks))

    assert f"First response sent by <@{AGENT.user_id}>" in _mrkdwn(card.blocks)
    assert "ticket_first_response" not in _action_ids(card.blocks)
    assert "ticket_change_severity" in _action_ids(card.blocks)
    assert "First response due" not in _mrkdwn(card.blocks)
    assert len(sandbox.calls_to("chat.update")) == 1 and card.edits  # edited in place
    assert len(sandbox.history(TRIAGE)) == 1
    ticket = await _ticket(bot)
    assert ticket.first_response_by == AGENT.user_id and ticket.first_response_at == answered_at

    clock.advance(timedelta(hours=2))
    assert await bot.timers.fire_due() == 0
    assert len(sandbox.history(TRIAGE)) == 1
    assert len(sandbox.history(TRIAGE, thread_ts=card.ts)) == thread_before

    # A second press from the stale card, by someone else, later: it changes nothing.
    await slack.click(user_id=LEAD.user_id, action_id="ticket_first_response", message=stale)
    await sandbox.wait_for(lambda: len(sandbox.calls_to("chat.update")) >= 2 or None)
    ticket = await _ticket(bot)
    assert ticket.first_response_by == AGENT.user_id and ticket.first_response_at == answered_at
    assert f"First response sent by <@{AGENT.user_id}>" in _mrkdwn(card.blocks)
    events = [e for e in await _trail(bot) if e.action == "first_response_sent"]
    assert len(events) == 1
    assert events[0].actor == AGENT.user_id
    assert events[0].after == {"first_response_at": answered_at.isoformat(), "first_response_by": AGENT.user_id}


# -- 6. "Change severity" --------------------------------------------------------------------------------------
async def _open_severity_modal(slack: SlackDriver, sandbox: SlackSandbox, card: Message, user_id: str) -> Any:
    await slack.click(user_id=user_id, action_id="ticket_change_severity", message=card)
    return await sandbox.wait_for(lambda: next((v for v in sandbox.views.values() if v.user == user_id
                                                and v.view.get("callback_id") == "severity_submit"
                                                and not v.closed), None))


async def test_change_severity_updates_the_card_audits_and_notes_it_in_the_thread(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot) -> None:
    await file_ticket(slack, sandbox)
    card = await _card(sandbox)
    view = await _open_severity_modal(slack, sandbox, card, AGENT.user_id)
    assert "SEV2" in _mrkdwn(view.view["blocks"])

    # Without a reason: an inline error, and the ticket is untouched.
    response = await slack.submit_view(user_id=AGENT.user_id, view_id=view.id,
                                       values={"Impact": "Cosmetic or how-to question"}, validate=False)
    assert response.json is not None and response.json["response_action"] == "errors"
    assert set(response.json["errors"]) == {"severity_reason"}
    response = await slack.submit_view(user_id=AGENT.user_id, view_id=view.id,
                                       values={"Impact": "Cosmetic or how-to question", "Reason": "   "})
    assert response.json is not None and set(response.json["errors"]) == {"severity_reason"}
    assert (await _ticket(bot)).severity == "SEV2"
    assert [e.action for e in await _trail(bot)] == ["ticket_filed", "customer_checked"]

    reason = "Customer confirmed it's a how-to question & found the export menu"
    response = await slack.submit_view(user_id=AGENT.user_id, view_id=view.id,
                                       values={"Impact": "Cosmetic or how-to question", "Reason": reason})
    assert response.status == 200 and not response.body
    assert sandbox.views[view.id].closed
    await sandbox.wait_for(lambda: "SEV4 · #1" in str(card.blocks))

    header = card.blocks[0]["text"]["text"]
    assert header.endswith("SEV4 · #1 Invoices page shows a blank screen")
    assert "SEV2" not in str(card.blocks)
    assert len(sandbox.history(TRIAGE)) == 1 and sandbox.calls_to("chat.update")
    ticket = await _ticket(bot)
    assert ticket.severity == "SEV4" and ticket.impact == "cosmetic"

    changed = [e for e in await _trail(bot) if e.action == "severity_changed"]
    assert len(changed) == 1
    assert changed[0].actor == AGENT.user_id
    assert changed[0].before is not None and changed[0].after is not None
    assert changed[0].before["severity"] == "SEV2" and changed[0].before["impact"] == "major_broken"
    assert changed[0].after["severity"] == "SEV4" and changed[0].after["impact"] == "cosmetic"
    assert reason in changed[0].after["reason"]

    note = await _thread_reply(sandbox, card, "changed the severity")
    text = _mrkdwn(note.blocks)
    assert f"<@{AGENT.user_id}>" in text and "*SEV2*" in text and "*SEV4*" in text
    assert "it's a how-to question &amp; found the export menu" in text


async def test_the_card_names_who_changed_the_severity_as_a_mention(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot) -> None:
    await file_ticket(slack, sandbox)
    card = await _card(sandbox)
    view = await _open_severity_modal(slack, sandbox, card, AGENT.user_id)
    await slack.submit_view(user_id=AGENT.user_id, view_id=view.id,
                            values={"Impact": "Cosmetic or how-to question", "Reason": "A how-to question"})
    await sandbox.wait_for(lambda: "SEV4 · #1" in str(card.blocks))
    # The card says who changed it; that is a person, rendered as a mention, not a literal "<@U0AGENT001>".
    reason_line = card.blocks[1]["text"]["text"]
    assert f"<@{AGENT.user_id}>" in reason_line, reason_line
    assert "&lt;@" not in reason_line, reason_line


async def test_outsider_pressing_card_buttons_is_told_why_and_nothing_changes(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot) -> None:
    # Someone from sales who joined the triage channel but is not in the support-agents group.
    sandbox.channels[TRIAGE].members.append(OUTSIDER.user_id)
    await file_ticket(slack, sandbox)
    card = await _card(sandbox)
    before = copy.deepcopy(card.blocks)

    responses = await asyncio.gather(
        slack.click(user_id=OUTSIDER.user_id, action_id="ticket_change_severity", message=card),
        slack.click(user_id=OUTSIDER.user_id, action_id="ticket_first_response", message=card))

    def explanations() -> list[str] | None:
        texts = [e.text for e in sandbox.ephemerals if e.user == OUTSIDER.user_id and e.channel == TRIAGE]
        return texts if len(texts) >= 2 else None

    told = await sandbox.wait_for(explanations)
    assert len(told) == 2 and all("Only members of <!subteam^S0AGENTS01>" in text for text in told)
    assert any("change a ticket's severity" in text for text in told)
    assert any("mark a first response" in text for text in told)

    assert [v for v in sandbox.views.values() if v.user == OUTSIDER.user_id] == []
    assert card.blocks == before and sandbox.calls_to("chat.update") == []
    ticket = await _ticket(bot)
    assert ticket.severity == "SEV2" and ticket.first_response_at is None
    assert [e.action for e in await _trail(bot)] == ["ticket_filed", "customer_checked"]
    # Slack must get its 200 within 3 seconds, or the outsider also sees a "didn't respond" warning.
    assert [(r.status, r.acked_in_time) for r in responses] == [(200, True), (200, True)], \
        [(r.status, r.body, round(r.elapsed, 2)) for r in responses]


# -- 7. App Home -----------------------------------------------------------------------------------------------
async def test_app_home_lists_the_agents_open_tickets_with_their_countdown(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, clock: ManualClock) -> None:
    await file_ticket(slack, sandbox)
    await _card(sandbox)
    clock.advance(timedelta(minutes=15))
    response = await slack.app_home_opened(user_id=AGENT.user_id)
    assert response.status == 200
    home = await sandbox.wait_for(lambda: sandbox.home_views.get(AGENT.user_id))
    assert home["type"] == "home"
    text = _mrkdwn(home["blocks"])
    assert "*SEV2*" in text and "*#1*" in text and "Invoices page shows a blank screen" in text
    assert "first response due in 45 min" in text
    assert "Business" in text and "ws_4f2a9c" in text

    # Someone who filed nothing sees an empty list, not the agent's tickets.
    await slack.app_home_opened(user_id=LEAD.user_id)
    lead_home = await sandbox.wait_for(lambda: sandbox.home_views.get(LEAD.user_id))
    assert "#1" not in _mrkdwn(lead_home["blocks"]) and "no open tickets" in _mrkdwn(lead_home["blocks"])


async def test_app_home_says_plainly_when_a_first_response_is_overdue(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, clock: ManualClock) -> None:
    await file_ticket(slack, sandbox)
    await _card(sandbox)
    clock.advance(timedelta(hours=1, minutes=10))
    await slack.app_home_opened(user_id=AGENT.user_id)
    home = await sandbox.wait_for(lambda: sandbox.home_views.get(AGENT.user_id))
    text = _mrkdwn(home["blocks"])
    assert "overdue by 10 min" in text
    # Reads as English: not "first response due overdue by 10 min".
    assert "due overdue" not in text, text


# -- 8. restart ------------------------------------------------------------------------------------------------
async def test_timers_and_numbering_survive_a_restart(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, clock: ManualClock,
        start_bot: Callable[..., Any], vendor_env: dict[str, Any]) -> None:
    await file_ticket(slack, sandbox)
    card = await _card(sandbox)
    await slack.close()
    await bot.stop()

    restarted: SupportBot = await start_bot(**vendor_env)
    clock.advance(timedelta(minutes=48))
    assert await restarted.timers.fire_due() == 1
    reminder = await _thread_reply(sandbox, card, "is due")
    assert f"<@{AGENT.user_id}>" in _mrkdwn(reminder.blocks)

    driver = SlackDriver(events_url=f"http://127.0.0.1:{restarted.port}/slack/events",
                         signing_secret=SIGNING_SECRET, sandbox=sandbox)
    try:
        await file_ticket(driver, sandbox, values=ticket_values(Summary="Second ticket after the restart"))
    finally:
        await driver.close()
    second = await sandbox.wait_for(lambda: next((m for m in sandbox.history(TRIAGE)
                                                  if "Second ticket" in m.text), None))
    assert "#2 Second ticket after the restart" in second.text
    await _thread_reply(sandbox, second, "first reply")
    assert (await _ticket(restarted, 2)).card_ts == second.ts
    assert await _count(restarted) == 2


# -- 9. duplicate event delivery -------------------------------------------------------------------------------
async def test_a_redelivered_home_event_publishes_again_and_creates_nothing(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot) -> None:
    await file_ticket(slack, sandbox)
    await _card(sandbox)
    messages, trail = len(sandbox.messages), await _trail(bot)

    event = {"type": "app_home_opened", "user": AGENT.user_id, "channel": "D0AGENTDM1", "tab": "home",
             "event_ts": "1795464000.000100"}
    first = await slack.event(event, event_id="Ev0HOME0001")
    retry = await slack.event(event, event_id="Ev0HOME0001", retry_num=1)
    other = await slack.event(event, event_id="Ev0HOME0002")
    assert [first.status, retry.status, other.status] == [200, 200, 200]
    await sandbox.wait_for(lambda: len(sandbox.calls_to("views.publish")) >= 1 or None)
    await asyncio.sleep(0.3)  # give the redeliveries the time a duplicate would need to show itself
    assert "*#1*" in _mrkdwn(sandbox.home_views[AGENT.user_id]["blocks"])

    assert await _count(bot) == 1
    assert len(sandbox.messages) == messages
    assert await _trail(bot) == trail
    assert sandbox.calls_to("chat.postMessage") and all(c.ok for c in sandbox.calls_to("views.publish"))

"""One conversation, not two: thread replies cross between the escalation post and the ticket card, marked
with who wrote them; relayed copies, edits and bot messages never cross again; a duplicate event crosses once."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.app import SupportBot
from bot.sandbox.driver import SlackDriver
from bot.sandbox.slack import SlackSandbox
from bot.sandbox.workspace import AGENT, ENGINEER, escalate, file_ticket, ticket_card_message, ticket_values

TRIAGE = "C0TRIAGE01"
PAYMENTS = "C0PAYMENT1"


async def _escalated(slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot) -> tuple[Any, Any]:
    await file_ticket(slack, sandbox, values=ticket_values())
    await escalate(slack, sandbox, number=1, triage=TRIAGE)
    post = await sandbox.wait_for(lambda: next((m for m in sandbox.history(PAYMENTS) if (m.metadata or {})
                                                .get("event_type") == "supportbot_escalation"), None))
    # The post's redraw with its Jira issue comes after its place is recorded, which the relay looks up.
    await sandbox.wait_for(lambda: "SUP-1" in str(sandbox.find_message(PAYMENTS, post.ts).blocks))
    await bot.background.settle(timeout=5)
    return post, ticket_card_message(sandbox, 1, TRIAGE)


def _relayed(sandbox: SlackSandbox, channel: str, thread: str, needle: str) -> list[Any]:
    return [m for m in sandbox.history(channel, thread_ts=thread) if "💬" in m.text and needle in m.text]


async def test_an_engineers_question_reaches_the_card_and_the_answer_comes_back(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot) -> None:
    post, card = await _escalated(slack, sandbox, bot)
    question, _ = await slack.user_message(user_id=ENGINEER.user_id, channel_id=PAYMENTS, thread_ts=post.ts,
                                           text="Which browser extensions does the customer run? <!channel>")
    copied = await sandbox.wait_for(lambda: next(iter(_relayed(sandbox, TRIAGE, card.ts, "browser extensions")),
                                                 None))
    assert f"<@{ENGINEER.user_id}>" in copied.text and f"<#{PAYMENTS}>" in copied.text
    assert "<!channel>" not in copied.text  # a relayed @channel must not ping triage
    answer, _ = await slack.user_message(user_id=AGENT.user_id, channel_id=TRIAGE, thread_ts=card.ts,
                                         text="Only 1Password; it also fails in a private window")
    back = await sandbox.wait_for(lambda: next(iter(_relayed(sandbox, PAYMENTS, post.ts, "1Password")), None))
    assert f"<@{AGENT.user_id}>" in back.text

    # Slack delivers the bot's own relayed copies as message events too: they never cross back.
    await slack.event(slack.payloads.message_event(copied))
    await slack.event(slack.payloads.message_event(back))
    # A duplicate delivery of the question (a retry), and an edit of the answer: neither crosses again.
    await slack.event(slack.payloads.message_event(question), retry_num=1)
    await slack.event(slack.payloads.message_changed_event(answer, "Only 1Password, edited"))
    await asyncio.sleep(0.3)
    await bot.background.settle(timeout=5)
    assert len(_relayed(sandbox, TRIAGE, card.ts, "browser extensions")) == 1
    assert len(_relayed(sandbox, PAYMENTS, post.ts, "1Password")) == 1
    assert not _relayed(sandbox, PAYMENTS, post.ts, "browser extensions")
    assert not _relayed(sandbox, TRIAGE, card.ts, "1Password")
    assert not [m for m in sandbox.messages if "edited" in m.text and "💬" in m.text]


async def test_messages_outside_the_two_threads_are_not_relayed(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot) -> None:
    await _escalated(slack, sandbox, bot)
    await slack.user_message(user_id=ENGINEER.user_id, channel_id=PAYMENTS, text="Standup in 5")
    await slack.user_message(user_id=AGENT.user_id, channel_id=TRIAGE, text="Anyone free for #2?")
    await asyncio.sleep(0.3)
    assert not [m for m in sandbox.messages if "💬" in m.text]

"""Filing a ticket from a customer's message: the message shortcut, a support agent's :ticket: reaction and its
private offer, once per message (also when two modals race), the card linking back and the thread reply."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.app import SupportBot
from bot.sandbox.driver import SlackDriver
from bot.sandbox.slack import SlackSandbox
from bot.sandbox.slack_models import Message, View
from bot.sandbox.workspace import AGENT, AGENT_2, GENERAL, OUTSIDER, ticket_card_message
from storage.repositories import tickets as ticket_repo

TRIAGE = "C0TRIAGE01"
CUSTOMER_TEXT = ("Invoices page is blank for us since this morning\n"
                 "Our workspace ws_9z8y7x, admin login. We sent Authorization: Bearer abcdefghijklmnopqrstu12345 "
                 "to your API &amp; got a 500.")
# What the agent adds to the prefilled form: the fields a message cannot tell.
ADDED = {"Requester email": "dana@customer.example", "What was expected": "The list of invoices",
         "Impact": "Major feature broken, no workaround", "Plan tier": "Business"}


async def _customer_message(sandbox: SlackSandbox, text: str = CUSTOMER_TEXT) -> Message:
    return sandbox.record_message(GENERAL, text, [], None, OUTSIDER.user_id)


async def _new_view(sandbox: SlackSandbox, user_id: str, before: set[str]) -> View:
    return await sandbox.wait_for(lambda: next((v for v in sandbox.views.values()
                                                if v.id not in before and v.user == user_id), None))


def _initial(view: View, block_id: str) -> Any:
    block = next(b for b in view.view["blocks"] if b.get("block_id") == block_id)
    return block["element"].get("initial_value")


def _replies(sandbox: SlackSandbox, message: Message) -> list[Message]:
    return [m for m in sandbox.history(GENERAL, thread_ts=message.ts) if m.user == sandbox.bot_user_id]


def _ephemerals_for(sandbox: SlackSandbox, user_id: str) -> list[Any]:
    return [e for e in sandbox.ephemerals if e.user == user_id]


async def _count(bot: SupportBot) -> int:
    async with bot.sessions() as session:
        return await ticket_repo.count_tickets(session)


async def test_shortcut_prefills_files_links_back_and_replies_once(slack: SlackDriver, sandbox: SlackSandbox,
                                                                   bot: SupportBot) -> None:
    message = await _customer_message(sandbox)
    before = set(sandbox.views)
    response = await slack.message_shortcut(AGENT.user_id, message)
    assert response.status == 200
    view = await _new_view(sandbox, AGENT.user_id, before)

    assert _initial(view, "summary") == "Invoices page is blank for us since this morning"
    assert _initial(view, "workspace_id") == "ws_9z8y7x"
    happened = _initial(view, "what_happened")
    assert "abcdefghijklmnopqrstu12345" not in happened and "your API & got a 500" in happened
    permalink = next(c for c in sandbox.calls if c.method == "chat.getPermalink" and c.ok)
    assert permalink.params["message_ts"] == message.ts
    link = f"https://sandbox.slack.local/archives/{GENERAL}/p{message.ts.replace('.', '')}"
    assert _initial(view, "helpdesk_link") == link
    assert "From a message in" in str(view.view["blocks"])

    response = await slack.submit_view(user_id=AGENT.user_id, view_id=view.id, values=ADDED)
    assert response.status == 200 and not response.body
    card = await sandbox.wait_for(lambda: ticket_card_message(sandbox, 1, TRIAGE))
    assert f"From <{link}|a message> in <#{GENERAL}>" in str(card.blocks)
    reply = await sandbox.wait_for(lambda: _replies(sandbox, message))
    assert len(reply) == 1 and "Ticket #1 was filed from this message" in reply[0].text
    async with bot.sessions() as session:
        ticket = await ticket_repo.ticket_for_message(session, GENERAL, message.ts)
    assert ticket is not None and ticket.number == 1 and ticket.source is not None
    assert ticket.workspace_id == "ws_9z8y7x"

    # Announcing again (a duplicate submission, the recovery sweep) replies no second time.
    await bot.tickets.announce(ticket)
    await asyncio.sleep(0.1)
    assert len(_replies(sandbox, message)) == 1


async def test_second_shortcut_points_to_the_first_ticket(slack: SlackDriver, sandbox: SlackSandbox,
                                                          bot: SupportBot) -> None:
    message = await _customer_message(sandbox)
    before = set(sandbox.views)
    await slack.message_shortcut(AGENT.user_id, message)
    view = await _new_view(sandbox, AGENT.user_id, before)
    await slack.submit_view(user_id=AGENT.user_id, view_id=view.id, values=ADDED)
    await sandbox.wait_for(lambda: ticket_card_message(sandbox, 1, TRIAGE))

    before = set(sandbox.views)
    await slack.message_shortcut(AGENT_2.user_id, message)
    note = await sandbox.wait_for(lambda: _ephemerals_for(sandbox, AGENT_2.user_id))
    assert "Ticket #1 was filed from this message" in note[0].text and "its card" in note[0].text
    assert not [v for v in sandbox.views.values() if v.id not in before]
    assert await _count(bot) == 1


async def test_an_agents_reaction_offers_a_button_that_opens_the_form_and_files(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot) -> None:
    message = await _customer_message(sandbox)
    response = await slack.reaction_added(AGENT.user_id, message, "ticket")
    assert response is not None and response.status == 200
    offers = await sandbox.wait_for(lambda: _ephemerals_for(sandbox, AGENT.user_id))
    assert len(offers) == 1 and offers[0].channel == GENERAL

    before = set(sandbox.views)
    await slack.click(user_id=AGENT.user_id, action_id="ticket_file_from_message", message=offers[0])
    view = await _new_view(sandbox, AGENT.user_id, before)
    assert _initial(view, "workspace_id") == "ws_9z8y7x"
    await slack.submit_view(user_id=AGENT.user_id, view_id=view.id, values=ADDED)
    await sandbox.wait_for(lambda: ticket_card_message(sandbox, 1, TRIAGE))
    await sandbox.wait_for(lambda: _replies(sandbox, message))

    # A second agent's :ticket: now points to the ticket instead of offering another.
    await slack.reaction_added(AGENT_2.user_id, message, "ticket")
    note = await sandbox.wait_for(lambda: _ephemerals_for(sandbox, AGENT_2.user_id))
    assert "Ticket #1 was filed from this message" in note[0].text
    assert "ticket_file_from_message" not in str(note[0].blocks)


async def test_reactions_by_others_other_emoji_and_duplicate_deliveries_are_ignored(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot) -> None:
    message = await _customer_message(sandbox)
    await slack.reaction_added(OUTSIDER.user_id, message, "ticket")
    await slack.reaction_added(AGENT.user_id, message, "eyes")
    await asyncio.sleep(0.2)
    assert not sandbox.ephemerals

    event = slack.payloads.reaction_added_event(user_id=AGENT.user_id, message=message, reaction="ticket")
    await slack.event(event, event_id="Ev0DUPLICATE")
    await slack.event(event, event_id="Ev0DUPLICATE", retry_num=1, retry_reason="http_timeout")
    await sandbox.wait_for(lambda: _ephemerals_for(sandbox, AGENT.user_id))
    await asyncio.sleep(0.2)
    assert len(_ephemerals_for(sandbox, AGENT.user_id)) == 1
    assert await _count(bot) == 0


async def test_two_modals_for_one_message_store_one_ticket(slack: SlackDriver, sandbox: SlackSandbox,
                                                           bot: SupportBot) -> None:
    message = await _customer_message(sandbox)
    before = set(sandbox.views)
    await slack.message_shortcut(AGENT.user_id, message)
    first = await _new_view(sandbox, AGENT.user_id, before)
    before = set(sandbox.views)
    await slack.message_shortcut(AGENT_2.user_id, message)
    second = await _new_view(sandbox, AGENT_2.user_id, before)

    answers = await asyncio.gather(slack.submit_view(user_id=AGENT.user_id, view_id=first.id, values=ADDED),
                                   slack.submit_view(user_id=AGENT_2.user_id, view_id=second.id, values=ADDED))
    refused = [a for a in answers if a.json and a.json.get("response_action") == "errors"]
    assert len(refused) == 1
    assert "was already filed from this message" in refused[0].json["errors"]["summary"]
    assert "Ticket #1" in refused[0].json["errors"]["summary"]
    assert await _count(bot) == 1
    await sandbox.wait_for(lambda: _replies(sandbox, message))
    await asyncio.sleep(0.2)
    assert len(_replies(sandbox, message)) == 1


async def test_an_outsiders_shortcut_gets_the_explanation(slack: SlackDriver, sandbox: SlackSandbox) -> None:
    message = await _customer_message(sandbox)
    await slack.message_shortcut(OUTSIDER.user_id, message)
    view = await sandbox.wait_for(lambda: sandbox.latest_view_for(OUTSIDER.user_id))
    assert view.view["callback_id"] == "not_allowed"

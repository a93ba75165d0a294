"""Live customer data as Block Kit: `/customer`, the ticket card's "Customer" button, failures said plainly with
Try again, and one-click actions for support agents only, run once."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.app import SupportBot
from bot.sandbox.customer_endpoint import CustomerEndpointStandIn, example_document
from bot.sandbox.driver import SlackDriver
from bot.sandbox.slack import SlackSandbox
from bot.sandbox.workspace import AGENT, GENERAL, OUTSIDER, file_ticket, ticket_card_message

TRIAGE = "C0TRIAGE01"


def _ephemerals(sandbox: SlackSandbox, user: str) -> list[Any]:
    return [e for e in sandbox.ephemerals if e.user == user]


async def _customer(slack: SlackDriver, sandbox: SlackSandbox, text: str, user: str = AGENT.user_id) -> Any:
    before = len(_ephemerals(sandbox, user))
    await slack.slash_command(user_id=user, command="/customer", text=text, channel_id=GENERAL)
    return await sandbox.wait_for(lambda: _ephemerals(sandbox, user)[before]
                                  if len(_ephemerals(sandbox, user)) > before else None)


async def test_customer_shows_the_live_card_to_the_agent_who_asked(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot,
        customer_endpoint: CustomerEndpointStandIn) -> None:
    document = example_document("ws_777", name="Tom's <!channel> & <@U0LEAD0001> Co")
    document["sections"].append({"type": "link", "title": "Sneaky", "href": "javascript:alert(1)"})
    document["sections"][1]["items"].append({"description": "Region", "value": "{{ data.customer.region.name }}"})
    customer_endpoint.add(document, workspace_id="ws_777", emails=("ops@tom.example",))
    card = await _customer(slack, sandbox, "ws_777")
    text = str(card.blocks)
    assert "Tom's &lt;!channel&gt; &amp; &lt;@U0LEAD0001&gt; Co" in text  # text, never markup; ' stays '
    assert "<https://example.com/customer/customer_ws_777|Application data>" in text
    assert "javascript:alert(1)" in text and "<javascript:" not in text
    assert "Not a web link, shown as text: Sneaky" in text
    assert "Missing in the data: `data.customer.region`" in text
    assert "Regenerate report" in text and "confirm" in text
    body = customer_endpoint.requests[-1].body
    assert body is not None and len(body.pop("nonce")) == 32
    assert body == {"why": "lookup", "workspace_id": "ws_777"}
    by_email = await _customer(slack, sandbox, "OPS@tom.example")
    assert "Tom's" in str(by_email.blocks)
    asked = len(customer_endpoint.requests)
    refused = await _customer(slack, sandbox, "ws_777", user=OUTSIDER.user_id)
    assert "S0AGENTS01" in refused.text and len(customer_endpoint.requests) == asked


async def test_a_failing_endpoint_says_so_and_try_again_asks_again(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot,
        customer_endpoint: CustomerEndpointStandIn) -> None:
    customer_endpoint.raw_answer = (200, "text/html", b"<html>maintenance</html>")
    card = await _customer(slack, sandbox, "ws_4f2a9c")
    assert "Customer data unavailable" in str(card.blocks) and "not JSON" in str(card.blocks)
    customer_endpoint.raw_answer = None
    await slack.click(user_id=AGENT.user_id, action_id="customer_try_again", message=card)
    await sandbox.wait_for(lambda: any("Link to customer details" in str(e.blocks)
                                       for e in _ephemerals(sandbox, AGENT.user_id)))


async def test_the_ticket_cards_customer_button_posts_the_live_card_in_its_thread(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot,
        customer_endpoint: CustomerEndpointStandIn) -> None:
    await file_ticket(slack, sandbox)
    card = await sandbox.wait_for(lambda: ticket_card_message(sandbox, 1, TRIAGE))
    asked = len(customer_endpoint.requests)
    await slack.click(user_id=AGENT.user_id, action_id="ticket_customer", message=card)
    live = await sandbox.wait_for(lambda: next((m for m in sandbox.history(TRIAGE, thread_ts=card.ts)
                                                if "Customer ·" in str(m.blocks)), None))
    assert "Verified contact" in str(live.blocks)  # dana@customer.example is on the list
    assert len(customer_endpoint.requests) == asked + 1  # fetched at that moment


async def test_an_action_runs_once_for_an_agent_and_never_for_anyone_else(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot,
        customer_endpoint: CustomerEndpointStandIn) -> None:
    customer_endpoint.action_answers["regenerate_report"] = {"ok": True, "message": "Report queued for October"}
    await file_ticket(slack, sandbox)
    card = await sandbox.wait_for(lambda: ticket_card_message(sandbox, 1, TRIAGE))
    await slack.click(user_id=AGENT.user_id, action_id="ticket_customer", message=card)
    live = await sandbox.wait_for(lambda: next((m for m in sandbox.history(TRIAGE, thread_ts=card.ts)
                                                if "Regenerate report" in str(m.blocks)), None))
    await slack.click(user_id=OUTSIDER.user_id, action_id="customer_action", message=live)
    refusal = await sandbox.wait_for(lambda: next(iter(_ephemerals(sandbox, OUTSIDER.user_id)), None))
    assert "nothing was run" in refusal.text and customer_endpoint.actions_run == []
    await asyncio.gather(*(slack.click(user_id=AGENT.user_id, action_id="customer_action", message=live)
                           for _ in range(3)))
    outcome = await sandbox.wait_for(lambda: next((m for m in sandbox.history(TRIAGE, thread_ts=card.ts)
                                                   if "Report queued" in m.text), None))
    assert f"<@{AGENT.user_id}>" in outcome.text
    await asyncio.sleep(0.3)
    assert len(customer_endpoint.actions_run) == 1
    run = customer_endpoint.actions_run[0]
    assert run["action"] == "regenerate_report" and run["workspace_id"] == "ws_4f2a9c"
    assert run["slack_user"] == AGENT.user_id
    async with bot.sessions() as session:
        from sqlalchemy import select

        from storage.models import AuditEventRow
        rows = (await session.scalars(select(AuditEventRow).where(AuditEventRow.action == "customer_action"))).all()
    assert len(rows) == 1 and rows[0].after == {"workspace_id": "ws_4f2a9c", "action": "regenerate_report",
                                                "ok": True}


async def _open_intake(slack: SlackDriver, sandbox: SlackSandbox) -> Any:
    before = {v.id for v in sandbox.views.values()}
    await slack.slash_command(user_id=AGENT.user_id, command="/ticket", channel_id=GENERAL)
    return await sandbox.wait_for(lambda: next((v for v in sandbox.views.values() if v.id not in before), None))


async def test_entering_the_workspace_id_updates_the_open_modal_and_keeps_what_was_typed(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot,
        customer_endpoint: CustomerEndpointStandIn) -> None:
    customer_endpoint.set_latency(0.5)
    view = await _open_intake(slack, sandbox)  # opens at once: no customer fetch before the modal
    assert customer_endpoint.requests == []
    await slack.type_in_view(user_id=AGENT.user_id, view_id=view.id, values={
        "Summary": "Exports time out", "Requester email": "DANA@customer.example",
        "What happened": "The CSV export spins for minutes"})
    await slack.type_in_view(user_id=AGENT.user_id, view_id=view.id, values={"Customer workspace ID": "ws_4f2a9c"})
    await sandbox.wait_for(lambda: "customer_context" in str(sandbox.views[view.id].view["blocks"]), timeout=5)
    shown = sandbox.views[view.id]
    text = str(shown.view["blocks"])
    assert "Example Co" in text and "Business plan" in text and "Verified contact" in text
    plan = next(b for b in shown.view["blocks"] if b.get("block_id") == "plan_tier")
    assert plan["element"]["initial_option"]["value"] == "business"
    assert customer_endpoint.requests[-1].body["why"] == "ticket"  # type: ignore[index]
    assert shown.typed["summary"] == "Exports time out"  # nothing typed was lost by the update
    values = {"What was expected": "A CSV file", "Impact": "Minor feature broken, or a workaround exists"}
    response = await slack.submit_view(user_id=AGENT.user_id, view_id=view.id, values=values)
    assert not (response.json or {}).get("errors"), response.json
    ticket = await bot.tickets.get(1)
    assert ticket.summary == "Exports time out" and ticket.plan_tier.value == "business"
    assert ticket.what_happened == "The CSV export spins for minutes"


async def test_an_unreachable_endpoint_never_stops_filing(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot,
        customer_endpoint: CustomerEndpointStandIn) -> None:
    customer_endpoint.fail_next(503, times=5)
    view = await _open_intake(slack, sandbox)
    await slack.type_in_view(user_id=AGENT.user_id, view_id=view.id, values={"Customer workspace ID": "ws_4f2a9c"})
    await sandbox.wait_for(lambda: "Customer data unavailable" in str(sandbox.views[view.id].view["blocks"]))
    from bot.sandbox.workspace import ticket_values
    response = await slack.submit_view(user_id=AGENT.user_id, view_id=view.id, values=ticket_values())
    assert not (response.json or {}).get("errors")
    await sandbox.wait_for(lambda: ticket_card_message(sandbox, 1, TRIAGE))

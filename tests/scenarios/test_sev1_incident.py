"""SEV1: one page, one channel, one status-page incident, a kickoff that says what happened; also when duplicated."""

from __future__ import annotations

import asyncio
import json
import re

from bot.app import SupportBot
from bot.domain import StepState
from bot.sandbox.driver import SlackDriver
from bot.sandbox.pagerduty import PagerDutyStandIn
from bot.sandbox.slack import SlackSandbox
from bot.sandbox.statuspage import StatuspageStandIn
from bot.sandbox.workspace import AGENT, COMMANDER, COMMANDER_2, file_ticket, ticket_values
from storage.repositories import incidents as incident_repo

SEV1 = ticket_values(**{"Impact": "Production down or data loss", "Summary": "Checkout returns 500 for everyone",
                        "Plan tier": "Enterprise", "Request ID": "req_8c1d2e3f"})


async def _wait_for_kickoff(sandbox: SlackSandbox, name: str = "incident-1") -> object:
    channel = await sandbox.wait_for(lambda: sandbox.channel_by_name(name))
    return await sandbox.wait_for(lambda: next((m for m in sandbox.history(channel.id)
                                                if "What the bot did" in str(m.blocks)), None))


async def test_sev1_pages_opens_a_channel_and_posts_the_status_page(
        slack: SlackDriver, sandbox: SlackSandbox, pagerduty: PagerDutyStandIn, statuspage: StatuspageStandIn,
        bot: SupportBot) -> None:
    await file_ticket(slack, sandbox, values=SEV1)
    kickoff = await _wait_for_kickoff(sandbox)

    events = pagerduty.accepted_events("trigger")
    assert len(events) == 1
    event = events[0]
    assert event["payload"]["severity"] == "critical"
    assert event["dedup_key"] == "supportbot-ticket-1-1"
    assert "#1" in event["payload"]["summary"] and "ws_4f2a9c" in event["payload"]["summary"]
    details = event["payload"]["custom_details"]
    assert details["workspace_id"] == "ws_4f2a9c" and details["plan_tier"] == "Enterprise"
    assert event["links"][0]["href"].startswith("https://slack.com/archives/C0TRIAGE01")

    channel = sandbox.channel_by_name("incident-1")
    assert channel is not None and channel.created_by == sandbox.bot_user_id
    assert {AGENT.user_id, COMMANDER.user_id, COMMANDER_2.user_id} <= set(channel.members)
    assert "SEV1" in channel.topic and "Investigating" in channel.topic

    assert len(statuspage.incidents) == 1
    public = next(iter(statuspage.incidents.values()))
    assert public.status == "investigating"
    for internal in ("ws_4f2a9c", "req_8c1d2e3f", "dana@customer.example", "Checkout returns 500"):
        assert internal not in public.name and internal not in public.body_history[-1]["body"]

    # The kickoff links to the card once the card is up (after the live customer check).
    await sandbox.wait_for(lambda: "Ticket card #1" in str(kickoff.blocks))  # type: ignore[attr-defined]
    text = str(kickoff.blocks)  # type: ignore[attr-defined]
    assert "paged on-call through PagerDuty" in text and "opened <#" in text and "Investigating" in text
    assert "Take command" in text and "Post status update" in text and "Ticket card #1" in text

    await sandbox.wait_for(lambda: f"<#{channel.id}>" in str(sandbox.history("C0TRIAGE01")[0].blocks))
    async with bot.sessions() as session:
        incident = await incident_repo.latest_incident(session, ticket_number=1)
    assert incident is not None
    assert {incident.page.state, incident.channel.state, incident.statuspage.state} == {StepState.DONE}


async def test_a_duplicated_submission_pages_once_and_opens_one_channel(
        slack: SlackDriver, sandbox: SlackSandbox, pagerduty: PagerDutyStandIn,
        statuspage: StatuspageStandIn) -> None:
    await slack.slash_command(user_id=AGENT.user_id, command="/ticket")
    view = await sandbox.wait_for(lambda: sandbox.latest_view_for(AGENT.user_id))
    # A double click and a redelivery: three submissions of one view arrive before the first is answered.
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    responses = await asyncio.gather(
        slack.submit_view(user_id=AGENT.user_id, view_id=view.id, values=SEV1),
        slack.submit_view(user_id=AGENT.user_id, view_id=view.id, values=SEV1),
        slack.submit_view(user_id=AGENT.user_id, view_id=view.id, values=SEV1, extra_headers=retry))
    assert [r.status for r in responses] == [200, 200, 200]
    await _wait_for_kickoff(sandbox)
    await asyncio.sleep(0.3)  # give any duplicate the time it would need to show itself
    assert len(pagerduty.accepted_events("trigger")) == 1
    assert len(sandbox.calls_to("conversations.create")) == 1
    assert len(statuspage.incidents) == 1
    assert len(sandbox.history("C0TRIAGE01")) == 1


async def test_without_a_routing_key_the_kickoff_says_nobody_was_paged(
        start_bot: object, vendor_env: dict[str, str], sandbox: SlackSandbox, pagerduty: PagerDutyStandIn) -> None:
    from tests.conftest import SIGNING_SECRET

    bot = await start_bot(**{**vendor_env, "pagerduty_routing_key": None})  # type: ignore[operator]
    driver = SlackDriver(events_url=f"http://127.0.0.1:{bot.port}/slack/events", signing_secret=SIGNING_SECRET,
                         sandbox=sandbox)
    try:
        await file_ticket(driver, sandbox, values=SEV1)
        kickoff = await _wait_for_kickoff(sandbox)
    finally:
        await driver.close()
    text = str(kickoff.blocks)  # type: ignore[attr-defined]
    assert "nobody was paged" in text and "<!subteam^S0COMMAND1>" in text
    assert pagerduty.events == []


# Slack links are `<https://…|text>`, `<mailto:…>` or mentions; anything else in angle brackets is a dead link.
RELATIVE_LINK = re.compile(r"<(?!https?://|mailto:|[@#!])[^>]*>")


async def _sev1_on_the_builtin_page(start_bot: object, vendor_env: dict[str, str], sandbox: SlackSandbox,
                                    **env: str | None) -> str:
    from tests.conftest import SIGNING_SECRET

    bot = await start_bot(**{**vendor_env, "statuspage_api_key": None, "statuspage_page_id": None,  # type: ignore[operator]
                             **env})
    driver = SlackDriver(events_url=f"http://127.0.0.1:{bot.port}/slack/events", signing_secret=SIGNING_SECRET,
                         sandbox=sandbox)
    try:
        await file_ticket(driver, sandbox, values=SEV1)
        kickoff = await _wait_for_kickoff(sandbox)
        await sandbox.wait_for(lambda: "Investigating" in str(kickoff.blocks))  # type: ignore[attr-defined]
    finally:
        await driver.close()
    # Every message, thread note and edit as Slack last saw it, and every call's arguments.
    return json.dumps([[m.text, m.blocks] for m in sandbox.messages] + [c.params for c in sandbox.calls], default=str)


async def test_without_a_public_url_the_builtin_page_is_named_not_linked(
        start_bot: object, vendor_env: dict[str, str], sandbox: SlackSandbox) -> None:
    posted = await _sev1_on_the_builtin_page(start_bot, vendor_env, sandbox, public_url=None)
    assert "the built-in status page (/status on this bot)" in posted
    assert RELATIVE_LINK.findall(posted) == []
    assert "/status#" not in posted


async def test_with_a_public_url_the_builtin_page_is_linked(
        start_bot: object, vendor_env: dict[str, str], sandbox: SlackSandbox) -> None:
    posted = await _sev1_on_the_builtin_page(start_bot, vendor_env, sandbox, public_url="https://bot.acme.example")
    assert "<https://bot.acme.example/status#incident-1|" in posted
    assert RELATIVE_LINK.findall(posted) == []

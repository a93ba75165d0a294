"""`supportbot demo`: the real bot against the local Slack sandbox and the PagerDuty and Jira stand-ins, telling
a story.

Nothing leaves the machine: SQLite in a temporary folder, no tokens, every server on 127.0.0.1.
Time is a manual clock, so "30 minutes later" takes no time at all.
"""

from __future__ import annotations

import asyncio
import socket
import tempfile
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp

from bot.app import SupportBot
from bot.core.config import EnvSettings, Settings, load_config
from bot.sandbox.clock import ManualClock
from bot.sandbox.customer_endpoint import CustomerEndpointStandIn, example_document
from bot.sandbox.driver import SlackDriver
from bot.sandbox.jira import JiraStandIn, JiraUser
from bot.sandbox.pagerduty import PagerDutyStandIn
from bot.sandbox.slack import SlackSandbox
from bot.sandbox.webhook_receiver import WebhookReceiver
from bot.sandbox.workspace import (
    AGENT,
    AGENT_2,
    COMMANDER,
    ENGINEER,
    GENERAL,
    LEAD,
    escalate,
    escalation_values,
    file_ticket,
    populate,
    ticket_values,
)
from bot.trend_figures import Month
from bot.trends.service import build_report, write_report

CONFIG = Path(__file__).with_name("supportbot.toml")
STARTER_RUNBOOK = Path(__file__).resolve().parents[3] / "runbook"
SECRET = "demo-signing-secret"
TOKEN = "xoxb-demo-token"
ROUTING_KEY = "D3M0R0UT1NGKEY000000000000000001"
PAYMENTS_KEY = "D3M0R0UT1NGKEYPAYMENTS0000000002"
JIRA_SECRET = "demo-jira-webhook-secret"
PAYMENTS = "C0PAYMENT1"


class Story:
    def __init__(self, sandbox: SlackSandbox, clock: ManualClock) -> None:
        self.sandbox = sandbox
        self.clock = clock
        self._seen = 0

    def chapter(self, title: str) -> None:
        print(f"\n━━ {self.clock.now():%H:%M} UTC · {title} " + "━" * max(4, 60 - len(title)))

    def show_slack(self) -> None:
        lines = self.sandbox.transcript_lines(self._seen)
        self._seen += len(lines)
        for line in lines:
            print("  " + line.replace("\n", "\n    "))

    async def later(self, bot: SupportBot, delta: timedelta, title: str) -> None:
        self.clock.advance(delta)
        self.chapter(title)
        await bot.timers.fire_due()
        await asyncio.sleep(0.05)
        self.show_slack()


async def _settle(sandbox: SlackSandbox, predicate: Any) -> Any:
    return await sandbox.wait_for(predicate, timeout=10.0)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def run_demo() -> int:
    receiver = WebhookReceiver()
    await receiver.start()
    try:
        return await _run(receiver)
    finally:
        await receiver.stop()


async def _run(receiver: WebhookReceiver) -> int:
    # The contract's [[webhooks]] entry, pointed at a local receiver that checks the signature.
    config = load_config(CONFIG)
    config = replace(config, webhooks=tuple(replace(hook, url=receiver.url) for hook in config.webhooks))
    secrets = {hook.secret_env: receiver.secret for hook in config.webhooks if hook.secret_env}
    clock = ManualClock()
    with tempfile.TemporaryDirectory(prefix="supportbot-demo-") as folder:
        async with SlackSandbox(bot_token=TOKEN) as sandbox, PagerDutyStandIn() as pagerduty, JiraStandIn() as jira, \
                CustomerEndpointStandIn() as customers:
            _customers(customers)
            populate(sandbox, config)
            # The status page's links are absolute, so the bot must know its own address before it starts.
            port = _free_port()
            env_url = f"http://127.0.0.1:{port}"
            env = EnvSettings(slack_bot_token=TOKEN, slack_signing_secret=SECRET, slack_api_url=sandbox.api_url,
                              database_url=f"sqlite+aiosqlite:///{folder}/demo.db", pagerduty_routing_key=ROUTING_KEY,
                              pagerduty_events_url=pagerduty.url, public_url=env_url,
                              team_routing_keys={"payments": PAYMENTS_KEY}, jira_base_url=jira.base_url,
                              jira_email=jira.email, jira_api_token=jira.api_token, jira_webhook_secret=JIRA_SECRET,
                              customer_connection_url=customers.url, customer_connection_secret=customers.secret,
                              webhook_secrets=secrets)
            bot = await SupportBot.create(Settings(config=config, env=env), clock=clock)
            await bot.start(host="127.0.0.1", port=port, scheduler=False)
            jira.register_webhook(f"{env_url}/jira/webhook", JIRA_SECRET)
            try:
                async with SlackDriver(events_url=f"{env_url}/slack/events", signing_secret=SECRET,
                                       sandbox=sandbox) as slack:
                    story = Story(sandbox, clock)
                    await _tell(story, bot, slack, sandbox, pagerduty, env_url, jira, customers)
                    await bot.timers.fire_due()  # the tick's sweep sends what the outbox holds
                    await bot.background.settle(timeout=5)
                    events = receiver.accepted_events()
                    actions = sorted({str(e.get("action")) for e in events.values()})
                    print(f"\n  Activity webhooks: {len(events)} signed events delivered to the local receiver "
                          f"({', '.join(actions[:6])}, …)")
                    print("\nThe end. Every message above went through the real bot over signed HTTP.")
            finally:
                await bot.stop()
    return 0


async def _tell(story: Story, bot: SupportBot, slack: SlackDriver, sandbox: SlackSandbox,
                pagerduty: PagerDutyStandIn, url: str, jira: JiraStandIn, customers: CustomerEndpointStandIn) -> None:
    print("supportbot demo: the real bot, a local Slack sandbox, PagerDuty and Jira stand-ins and the built-in "
          "status page")
    story.chapter("Ava files a ticket from #general with /ticket")
    await file_ticket(slack, sandbox, user_id=AGENT.user_id, summary="Invoices page shows a blank screen",
                      values=ticket_values(**{"What happened": "Billing > Invoices spins, then goes blank. "
                                              "Customer pasted: curl -H 'Authorization: Bearer sk_live_51Habc123456'"}))
    card = await _settle(sandbox, lambda: next(iter(sandbox.history("C0TRIAGE01")), None))
    # A SEV2 pages on-call after the card is up; wait for that note so it stays in this chapter.
    await _settle(sandbox, lambda: any("Paged on-call" in str(m.blocks)
                                       for m in sandbox.history("C0TRIAGE01", thread_ts=card.ts)))
    story.show_slack()

    await story.later(bot, timedelta(minutes=48), "48 minutes later: 80% of the 1-hour first-response window")
    story.chapter("Ava sends the drafted reply and presses “First response sent”")
    await slack.click(user_id=AGENT.user_id, action_id="ticket_first_response", message=card)
    await _settle(sandbox, lambda: "First response sent by" in str(sandbox.history("C0TRIAGE01")[0].blocks))
    story.show_slack()

    await _escalation(story, bot, slack, sandbox, pagerduty, jira)
    await _customer_story(story, bot, slack, sandbox, customers)

    story.chapter("Sam files a SEV1: checkout is down for an Enterprise customer")
    await file_ticket(slack, sandbox, user_id=AGENT_2.user_id, values=ticket_values(**{
        "Summary": "Checkout returns 500 for every customer", "Impact": "Production down or data loss",
        "Plan tier": "Enterprise", "URL or API endpoint": "POST /api/billing/checkout",
        "Request ID": "req_7f3a9c21", "Category": "Billing",
        "What happened": "Every checkout attempt fails with HTTP 500 since 14:02.",
        "What was expected": "Orders complete as usual."}))
    channel = await _settle(sandbox, lambda: sandbox.channel_by_name("incident-3"))
    kickoff = await _settle(sandbox, lambda: next((m for m in sandbox.history(channel.id)
                                                   if "What the bot did" in str(m.blocks)), None))
    await asyncio.sleep(0.2)
    story.show_slack()
    for alert in pagerduty.open_alerts():
        print(f"  [PagerDuty] alert #{alert.number} {alert.status} · {alert.severity} · {alert.summary[:70]}")

    story.chapter("Cora takes command")
    await slack.click(user_id=COMMANDER.user_id, action_id="incident_take_command", message=kickoff)
    await _settle(sandbox, lambda: any("is now the incident commander" in str(m.blocks)
                                       for m in sandbox.history(channel.id)))
    story.show_slack()

    await story.later(bot, timedelta(minutes=30), "30 minutes without a public update")
    for status, words in (("Identified", "We found the cause: a faulty release of our payment service. A fix is "
                                         "being deployed."),
                          ("Monitoring", "The fix is live and checkouts succeed again. We are watching closely."),
                          ("Resolved", "Checkout has worked normally for 30 minutes. We are sorry for the "
                                       "disruption.")):
        story.chapter(f"Cora posts “{status}” with the Post status update button")
        await _publish(slack, sandbox, kickoff, status, words)
        await _settle(sandbox, lambda s=status: any(f"*{s}*" in str(m.blocks) for m in sandbox.history(channel.id)))
        await asyncio.sleep(0.1)
        story.show_slack()
        story.clock.advance(timedelta(minutes=12))

    await asyncio.sleep(0.2)
    story.show_slack()
    story.chapter("What customers saw on the built-in status page")
    async with aiohttp.ClientSession() as http, http.get(f"{url}/status.json") as response:
        page = await response.json()
    print(f"  GET {url}/status.json → {page['status']}")
    for incident in page["incidents"]:
        print(f"  “{incident['name']}” ({incident['status']})")
        for update in reversed(incident["updates"]):
            print(f"    {update['status']:<13} {update['body']}")
    print("\n  PagerDuty, at the end:")
    for alert in pagerduty.alerts:
        print(f"    alert #{alert.number} `{alert.dedup_key}` ({alert.severity}): {alert.status}")
    print("  The SEV2 alerts stay open until their tickets are resolved.")
    await _closure_story(story, bot, slack, sandbox)



async def _closure_story(story: Story, bot: SupportBot, slack: SlackDriver, sandbox: SlackSandbox) -> None:
    number = 3
    card = next(m for m in sandbox.history("C0TRIAGE01") if (m.metadata or {}).get("event_payload", {})
                .get("ticket") == number)
    story.chapter(f"Sam resolves #{number}: the Enterprise checklist opens on the card")
    view = await _open_from(slack, sandbox, "ticket_resolve", card, AGENT_2.user_id)
    await slack.submit_view(user_id=AGENT_2.user_id, view_id=view.id, values={
        "Root-cause category": "Billing",
        "Customer confirmation": ["The customer retried the original steps and confirmed the fix"]})
    await _settle(sandbox, lambda: "Resolved, checklist open" in str(card.blocks))
    for button_text, values in (("Schedule CSM call", {"CSM": LEAD.user_id,
                                                       "Call time": int((story.clock.now() + timedelta(hours=3))
                                                                        .timestamp())}),
                                ("Write incident summary", {})):
        action_id = next(e["action_id"] for b in card.blocks for e in b.get("elements", [])
                         if e.get("type") == "button" and e["text"]["text"] == button_text)
        view = await _open_from(slack, sandbox, action_id, card, AGENT_2.user_id)
        await slack.submit_view(user_id=AGENT_2.user_id, view_id=view.id, values=values)
        await _settle(sandbox, lambda t=button_text: t not in str(card.blocks))
    await _settle(sandbox, lambda: "Closed" in str(card.blocks))
    await asyncio.sleep(0.1)
    story.show_slack()

    story.chapter("Ava searches the runbook for an SSO problem")
    await bot.runbook.import_folder(STARTER_RUNBOOK)
    await slack.slash_command(user_id=AGENT.user_id, command="/runbook", text="SSO login fails after IdP rotation",
                              channel_id=GENERAL)
    await _settle(sandbox, lambda: any(e.user == AGENT.user_id and "runbook" in str(e.blocks).lower()
                                       for e in sandbox.ephemerals))
    story.show_slack()

    story.chapter("The month's report, written beside the transcript")
    month = Month.of(story.clock.now())
    files = await build_report(bot.sessions, month, clock=story.clock)
    # Beside the transcript but outside the repository: the system's temporary folder.
    written = write_report(files, Path(tempfile.gettempdir()) / "supportbot-demo-report")
    for path in written:
        print(f"  wrote {path} ({path.stat().st_size} bytes)")
    for line in files.markdown.splitlines()[:12]:
        print(f"    {line}")


async def _open_from(slack: SlackDriver, sandbox: SlackSandbox, action_id: str, message: Any, user_id: str) -> Any:
    before = {v.id for v in sandbox.views.values()}
    await slack.click(user_id=user_id, action_id=action_id, message=message)
    return await _settle(sandbox, lambda: next((v for v in sandbox.views.values() if v.id not in before), None))


async def _escalation(story: Story, bot: SupportBot, slack: SlackDriver, sandbox: SlackSandbox,
                      pagerduty: PagerDutyStandIn, jira: JiraStandIn) -> None:
    story.chapter("Ava escalates #1 to engineering: component billing, so the payments team owns it")
    await escalate(slack, sandbox, number=1, triage="C0TRIAGE01", values=escalation_values())
    post = await _settle(sandbox, lambda: next((m for m in sandbox.history(PAYMENTS) if (m.metadata or {})
                                                .get("event_type") == "supportbot_escalation"), None))
    await _settle(sandbox, lambda: "SUP-1" in str(sandbox.find_message(PAYMENTS, post.ts).blocks))  # type: ignore[union-attr]
    await bot.background.settle(timeout=5)
    story.show_slack()
    print(f"  [Jira] {jira.issues[0]['key']} created: {jira.issues[0]['fields']['summary']}")
    for alert in pagerduty.open_alerts():
        print(f"  [PagerDuty] alert #{alert.number} {alert.status} · `{alert.dedup_key}` · {alert.summary[:60]}")

    await story.later(bot, timedelta(minutes=15), "15 minutes (SEV2's ack_within) and nobody acknowledged")
    await bot.background.settle(timeout=5)
    await pagerduty.wait_for(lambda s: any("repage" in a.dedup_key for a in s.alerts), timeout=5)
    story.show_slack()
    repage = next(a for a in pagerduty.alerts if "repage" in a.dedup_key)
    print(f"  [PagerDuty] alert #{repage.number} {repage.status} · `{repage.dedup_key}` · {repage.summary[:60]}")

    story.chapter("Eli asks a question in the escalation's thread; Ava answers under the ticket card")
    card = sandbox.history("C0TRIAGE01")[0]
    await slack.user_message(user_id=ENGINEER.user_id, channel_id=PAYMENTS, thread_ts=post.ts,
                             text="Does it fail for every invoice, or only this month's?")
    await _settle(sandbox, lambda: any("every invoice" in m.text and "💬" in m.text
                                       for m in sandbox.history("C0TRIAGE01", thread_ts=card.ts)))
    await slack.user_message(user_id=AGENT.user_id, channel_id="C0TRIAGE01", thread_ts=card.ts,
                             text="Only November's: October's open fine.")
    await _settle(sandbox, lambda: any("November" in m.text and "💬" in m.text
                                       for m in sandbox.history(PAYMENTS, thread_ts=post.ts)))
    story.show_slack()

    story.chapter("Eli moves SUP-1 to In Progress in Jira: that acknowledges the escalation")
    await jira.transition("SUP-1", "In Progress", by=JiraUser("5b10a2844c20165700ede21g", ENGINEER.real_name,
                                                               f"{ENGINEER.name}@acme.example"))
    await _settle(sandbox, lambda: "Acknowledged by" in str(sandbox.find_message(PAYMENTS, post.ts).blocks))  # type: ignore[union-attr]
    await pagerduty.wait_for(lambda s: all(a.status != "triggered" for a in s.alerts
                                           if "escalation" in a.dedup_key), timeout=5)
    await asyncio.sleep(0.1)
    story.show_slack()
    for alert in pagerduty.alerts:
        if "escalation" in alert.dedup_key:
            print(f"  [PagerDuty] `{alert.dedup_key}`: {alert.status}")


def _customers(endpoint: CustomerEndpointStandIn) -> None:
    endpoint.add(example_document("ws_4f2a9c", name="Acme Billing Co"), workspace_id="ws_4f2a9c")
    endpoint.add(example_document("ws_clinic7", name="Riverside Clinic", plan="Enterprise", compliance=("HIPAA",),
                                  contacts=("it@riverside.example",)), workspace_id="ws_clinic7")
    endpoint.action_answers["regenerate_report"] = {"ok": True, "message": "November's report is being rebuilt; "
                                                                           "ready in about 5 minutes."}


async def _customer_story(story: Story, bot: SupportBot, slack: SlackDriver, sandbox: SlackSandbox,
                          customers: CustomerEndpointStandIn) -> None:
    story.chapter("A customer's words land in #general; Ava files them with the “File a ticket” shortcut")
    message, _ = await slack.user_message(
        user_id=ENGINEER.user_id, channel_id=GENERAL,
        text="Forwarding from Riverside Clinic (workspace ws_clinic7): the appointment export button does "
             "nothing since this morning.")
    before = {v.id for v in sandbox.views.values()}
    await slack.message_shortcut(AGENT.user_id, message)
    view = await _settle(sandbox, lambda: next((v for v in sandbox.views.values() if v.id not in before), None))
    await slack.type_in_view(user_id=AGENT.user_id, view_id=view.id, values={
        "Requester email": "front.desk@gmail.example", "Customer workspace ID": "ws_clinic7"})
    await _settle(sandbox, lambda: "customer_context" in str(sandbox.views[view.id].view["blocks"]))
    print("  [modal] the live customer appears under the workspace ID, the plan preselected:")
    for block in sandbox.views[view.id].view["blocks"]:
        if block.get("block_id") == "customer_context":
            for element in block["elements"]:
                print("    " + element["text"].replace("\n", "\n    "))
    await slack.submit_view(user_id=AGENT.user_id, view_id=view.id, values={
        "What was expected": "A CSV of the day's appointments.",
        "Impact": "Minor feature broken, or a workaround exists"})
    number = max(t.number for t in [await bot.tickets.get(n) for n in range(1, 4) if await _exists(bot, n)])
    await _settle(sandbox, lambda: "Automation rule" in str(sandbox.history("C0TRIAGE01")[-1].blocks)
                  if sandbox.history("C0TRIAGE01") else None)
    await bot.background.settle(timeout=5)
    await asyncio.sleep(0.2)
    story.show_slack()
    print(f"  (ticket #{number}: filed SEV3, raised to SEV2 by the Enterprise automation rule; the requester is "
          "not an authorized contact of a HIPAA customer, so the drafted reply confirms nothing)")

    story.chapter("Ava opens the customer card from the ticket and presses “Regenerate report”")
    card = next(m for m in sandbox.history("C0TRIAGE01") if f"#{number} " in str(m.blocks)[:400])
    await slack.click(user_id=AGENT.user_id, action_id="ticket_customer", message=card)
    live = await _settle(sandbox, lambda: next((m for m in sandbox.history("C0TRIAGE01", thread_ts=card.ts)
                                                if "Regenerate report" in str(m.blocks)), None))
    await slack.click(user_id=AGENT.user_id, action_id="customer_action", message=live)
    await _settle(sandbox, lambda: any("being rebuilt" in m.text
                                       for m in sandbox.history("C0TRIAGE01", thread_ts=card.ts)))
    story.show_slack()
    print(f"  [customer endpoint] {len(customers.requests)} signed requests; action run: "
          f"{customers.actions_run[-1]['action']} for {customers.actions_run[-1]['workspace_id']}")


async def _exists(bot: SupportBot, number: int) -> bool:
    try:
        await bot.tickets.get(number)
    except Exception:
        return False
    return True


async def _publish(slack: SlackDriver, sandbox: SlackSandbox, message: Any, status: str, words: str) -> None:
    await slack.click(user_id=COMMANDER.user_id, action_id="incident_post_status", message=message)
    view = await _settle(sandbox, lambda: next((v for v in sandbox.views.values() if v.user == COMMANDER.user_id
                                                and v.view.get("callback_id") == "status_submit" and not v.closed),
                                               None))
    await slack.submit_view(user_id=COMMANDER.user_id, view_id=view.id,
                            values={"Status": status, "Message to customers": words})

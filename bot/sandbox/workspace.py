"""A believable Slack workspace for the sandbox: the people and groups the tests and the demo use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.core.config import BotConfig
from bot.sandbox.driver import DriverResponse, SlackDriver
from bot.sandbox.slack import SlackSandbox
from bot.sandbox.slack_install import load_manifest


@dataclass(frozen=True)
class Person:
    user_id: str
    name: str
    real_name: str


AGENT = Person("U0AGENT001", "ava", "Ava Agent")
AGENT_2 = Person("U0AGENT002", "sam", "Sam Support")
LEAD = Person("U0LEAD0001", "lee", "Lee Lead")
COMMANDER = Person("U0CMDR0001", "cora", "Cora Commander")
COMMANDER_2 = Person("U0CMDR0002", "ian", "Ian Incident")
ENGINEER = Person("U0ENG00001", "eli", "Eli Engineer")
OUTSIDER = Person("U0SALES001", "oscar", "Oscar Outsider")
EVERYONE = (AGENT, AGENT_2, LEAD, COMMANDER, COMMANDER_2, ENGINEER, OUTSIDER)
GENERAL = "C0GENERAL1"


def populate(sandbox: SlackSandbox, config: BotConfig) -> None:
    # The app is installed from manifest.yml, so the bot gets its scopes and commands and nothing more.
    sandbox.install_app(load_manifest())
    for person in EVERYONE:
        sandbox.add_user(person.user_id, person.name, real_name=person.real_name,
                         email=f"{person.name}@acme.example")
    slack = config.slack
    sandbox.add_usergroup(slack.support_agents, "support-agents", [AGENT.user_id, AGENT_2.user_id, LEAD.user_id])
    sandbox.add_usergroup(slack.support_leads, "support-leads", [LEAD.user_id])
    sandbox.add_usergroup(slack.incident_commanders, "incident-commanders",
                          [COMMANDER.user_id, COMMANDER_2.user_id])
    sandbox.add_channel(slack.triage_channel, "support-triage",
                        members=[AGENT.user_id, AGENT_2.user_id, LEAD.user_id, sandbox.bot_user_id])
    sandbox.add_channel(GENERAL, "general", members=[p.user_id for p in EVERYONE] + [sandbox.bot_user_id])
    for rule in config.automation:
        if rule.post_to and rule.post_to not in sandbox.channels:
            sandbox.add_channel(rule.post_to, f"auto-{rule.post_to.lower()}",
                                members=[LEAD.user_id, sandbox.bot_user_id])
    for team in config.teams:
        sandbox.add_usergroup(team.oncall_usergroup, f"{team.name}-oncall", [ENGINEER.user_id])
        sandbox.add_user(team.manager, f"{team.name}-manager", real_name=f"{team.name.title()} Manager")
        sandbox.add_channel(team.channel, f"team-{team.name}", members=[ENGINEER.user_id, sandbox.bot_user_id])


def ticket_values(**overrides: Any) -> dict[str, Any]:
    """A complete, valid intake form keyed by the labels an agent reads."""
    values: dict[str, Any] = {
        "Customer workspace ID": "ws_4f2a9c",
        "Requester email": "dana@customer.example",
        "Summary": "Invoices page shows a blank screen",
        "What happened": "Opening Billing > Invoices shows a spinner, then a blank page.",
        "What was expected": "The list of invoices for the last 12 months.",
        "Impact": "Major feature broken, no workaround",
        "Plan tier": "Business",
        "Browser and version": "Chrome 131",
        "Operating system": "macOS 15.1",
        "URL or API endpoint": "https://app.acme.example/billing/invoices",
        "Customer's time zone": "Europe/Berlin",
        "Category": "Billing",
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


async def file_ticket(driver: SlackDriver, sandbox: SlackSandbox, *, user_id: str = AGENT.user_id,
                      summary: str = "", values: dict[str, Any] | None = None,
                      channel_id: str = GENERAL, validate: bool = True) -> tuple[str, DriverResponse]:
    """Types `/ticket`, waits for the modal, fills it in and submits it; returns (view_id, response)."""
    before = {v.id for v in sandbox.views.values()}
    await driver.slash_command(user_id=user_id, command="/ticket", text=summary, channel_id=channel_id)
    view = await sandbox.wait_for(lambda: next((v for v in sandbox.views.values()
                                                if v.id not in before and v.user == user_id), None))
    response = await driver.submit_view(user_id=user_id, view_id=view.id, values=values or ticket_values(),
                                         validate=validate)
    return view.id, response


def escalation_values(**overrides: Any) -> dict[str, Any]:
    """A complete escalation hand-off keyed by the labels an agent reads (the prefilled fields as Slack keeps
    them, and the ones the agent adds)."""
    values: dict[str, Any] = {
        "Customer impact, in one sentence": "Finance cannot download any invoice before month-end close",
        "Request ID": "req_7f3a9b21",
        "Sentry link": "https://sentry.example.com/organizations/acme/issues/4711/",
        "Reproduction steps": "1. Sign in as an admin of ws_4f2a9c\n2. Open Billing > Invoices\n3. Blank page",
        "Reproduction result": "Reproducible",
        "Component": "billing",
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


def button_action_id(message: Any, text: str) -> str:
    """The action_id of the button labelled `text` on a posted message (a card); AssertionError when none is."""
    for block in message.blocks:
        for element in block.get("elements", []):
            if element.get("type") == "button" and element["text"]["text"] == text:
                return str(element["action_id"])
    raise AssertionError(f"no {text!r} button on the card")


def ticket_card_message(sandbox: SlackSandbox, number: int, triage: str) -> Any:
    """The card of ticket `number` in triage, or None while it is not posted."""
    return next((m for m in sandbox.history(triage)
                 if (m.metadata or {}).get("event_payload", {}).get("ticket") == number
                 and (m.metadata or {}).get("event_type") == "supportbot_ticket_card"), None)


async def escalate(driver: SlackDriver, sandbox: SlackSandbox, *, number: int, triage: str,
                   user_id: str = AGENT.user_id, values: dict[str, Any] | None = None,
                   validate: bool = True) -> tuple[str, DriverResponse]:
    """Presses "Escalate to engineering" on the ticket's card, fills in the hand-off and submits it; returns
    (view_id, response)."""
    view_id = await open_escalation_modal(driver, sandbox, number=number, triage=triage, user_id=user_id)
    response = await driver.submit_view(user_id=user_id, view_id=view_id, values=values or escalation_values(),
                                         validate=validate)
    return view_id, response


async def open_escalation_modal(driver: SlackDriver, sandbox: SlackSandbox, *, number: int, triage: str,
                                user_id: str = AGENT.user_id) -> str:
    """Presses "Escalate to engineering" on the ticket's card; returns the modal's view ID once it is open."""
    card = await sandbox.wait_for(lambda: ticket_card_message(sandbox, number, triage))
    before = {v.id for v in sandbox.views.values()}
    await driver.click(user_id=user_id, action_id="ticket_escalate", message=card)
    view = await sandbox.wait_for(lambda: next((v for v in sandbox.views.values()
                                                if v.id not in before and v.user == user_id), None))
    return str(view.id)

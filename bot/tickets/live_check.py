"""`supportbot check-config --live`: the scopes the installed app was granted, as Slack states them in the
X-OAuth-Scopes header of every answer, against those the manifest's features need."""

from __future__ import annotations

from collections.abc import Mapping

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

# Every bot scope manifest.yml asks for, and what stops working without it (tests/test_manifest.py keeps the
# two lists equal).
NEEDED_SCOPES: dict[str, str] = {
    "commands": "/ticket and /incident-status never reach the bot",
    "chat:write": "no ticket card, reminder, kickoff, status or escalation message can be posted",
    "channels:manage": "a SEV1 cannot open, name or invite people to #incident-<n>",
    "usergroups:read": "nobody counts as a support agent, lead, incident commander or on-call engineer",
    "channels:read": "after a stop mid-way a SEV1 cannot find the #incident-<n> it opened and opens another",
    "channels:history": ("after a stop mid-way cards and notes may be posted twice, escalation thread replies are "
                         "not relayed, and the offer of a :ticket: reaction cannot read the message"),
    "users:read": "users:read.email is not granted without it",
    "users:read.email": "a Jira user who acknowledges an escalation is not named as their Slack user",
    "files:write": "/support-report cannot attach its chart and CSV",
    "reactions:read": "a support agent's :ticket: reaction never offers to file a ticket from the message",
}


def _granted(headers: Mapping[str, object]) -> frozenset[str] | None:
    for name, value in headers.items():
        if name.lower() == "x-oauth-scopes":
            return frozenset(s.strip() for s in str(value).split(",") if s.strip())
    return None


async def scope_problems(slack: AsyncWebClient) -> list[str]:
    """One line per needed scope the bot token lacks, naming what stops working; empty when all are granted or
    when Slack does not say which are."""
    try:
        answer = await slack.auth_test()
    except SlackApiError as exc:
        return [f"SLACK_BOT_TOKEN: Slack refused auth.test ({exc.response.get('error')}): nothing would work"]
    granted = _granted(answer.headers or {})
    if granted is None:
        return []
    return [f"scope {scope} is not granted: {effect}; add it to the app (manifest.yml) and reinstall"
            for scope, effect in NEEDED_SCOPES.items() if scope not in granted]

"""`supportbot check-config --live`: what the file names, checked against Slack before anyone escalates: every
team channel (it exists, is not archived, the bot is in it) and every user group (it exists)."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.config import BotConfig


async def live_problems(config: BotConfig, slack: AsyncWebClient) -> list[str]:
    """One line per problem found, naming the configuration key; empty when Slack agrees with the file."""
    problems: list[str] = []
    channels = [("slack.triage_channel", config.slack.triage_channel)]
    channels += [(f"teams.{t.name}.channel", t.channel) for t in config.teams]
    for key, channel_id in channels:
        try:
            channel = (await slack.conversations_info(channel=channel_id))["channel"]
        except SlackApiError as exc:
            problems.append(f"{key}: {channel_id} cannot be read ({exc.response.get('error')}): the bot cannot "
                            "post there; invite it, or fix the ID")
            continue
        if channel.get("is_archived"):
            problems.append(f"{key}: {channel_id} is archived")
        elif not channel.get("is_member"):
            problems.append(f"{key}: the bot is not a member of {channel_id} (#{channel.get('name')}): "
                            "posts there fail with not_in_channel; /invite @supportbot")
    groups = [("slack.support_agents", config.slack.support_agents),
              ("slack.support_leads", config.slack.support_leads),
              ("slack.incident_commanders", config.slack.incident_commanders)]
    groups += [(f"teams.{t.name}.oncall_usergroup", t.oncall_usergroup) for t in config.teams]
    for key, group_id in groups:
        try:
            members = (await slack.usergroups_users_list(usergroup=group_id)).get("users") or []
        except SlackApiError as exc:
            problems.append(f"{key}: user group {group_id} cannot be read ({exc.response.get('error')})")
            continue
        if not members:
            problems.append(f"{key}: user group {group_id} has nobody in it: nobody could be reached or allowed")
    return problems

"""`supportbot check-config --live` against the Slack sandbox: a channel the bot is not in, an archived one
and an empty user group are named by their configuration key; a workspace that matches passes."""

from __future__ import annotations

import asyncio
import os
import sys

from bot.core.config import BotConfig
from bot.sandbox.slack import SlackSandbox
from tests.conftest import BOT_TOKEN, CONTRACT


async def _check(sandbox: SlackSandbox) -> tuple[int, str, str]:
    env = {**os.environ, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": "s", "SLACK_API_URL": sandbox.api_url,
           "SUPPORTBOT_CONFIG": str(CONTRACT)}
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", "check-config", "--live",
                                                   env=env, stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    return process.returncode or 0, out.decode(), err.decode()


async def test_a_workspace_that_matches_the_file_passes(sandbox: SlackSandbox) -> None:
    code, out, err = await _check(sandbox)
    assert code == 0, err
    assert "checked against Slack" in out


async def test_missing_membership_archived_channel_and_empty_group_are_named(
        sandbox: SlackSandbox, config: BotConfig) -> None:
    payments = sandbox.channels["C0PAYMENT1"]
    payments.members.remove(sandbox.bot_user_id)
    sandbox.channels["C0PLATFRM1"].is_archived = True
    sandbox.usergroups["S0PAYONCL1"]["users"] = []
    code, _, err = await _check(sandbox)
    assert code == 1
    assert "teams.payments.channel: the bot is not a member of C0PAYMENT1" in err
    assert "teams.platform.channel: C0PLATFRM1 is archived" in err
    assert "teams.payments.oncall_usergroup: user group S0PAYONCL1 has nobody in it" in err
    assert BOT_TOKEN not in err


async def test_a_scope_the_installed_app_lacks_is_named(sandbox: SlackSandbox) -> None:
    from bot.sandbox.slack_install import load_manifest

    manifest = load_manifest()
    manifest["oauth_config"]["scopes"]["bot"].remove("reactions:read")
    sandbox.install_app(manifest)
    code, _, err = await _check(sandbox)
    assert code == 1
    assert "supportbot: scope reactions:read is not granted: a support agent's :ticket: reaction never offers" in err
    assert BOT_TOKEN not in err

"""Every HTTP endpoint under arbitrary bodies: never a 5xx, unsigned refused (401/403), answered within
Slack's 3 seconds."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode

import aiohttp
from hypothesis import given
from hypothesis import strategies as st

from bot.app import SupportBot
from bot.sandbox.driver import ACK_DEADLINE, SlackDriver
from tests.properties.conftest import JIRA_WEBHOOK_SECRET
from tests.properties.forge import examples, hostile_text

json_values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), hostile_text),
                           lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                   st.dictionaries(hostile_text, inner, max_size=3)), max_leaves=8)
jira_bodies = st.one_of(
    json_values.map(lambda v: json.dumps(v).encode()),
    st.builds(lambda key, event, status: json.dumps({"webhookEvent": event, "issue": {"key": key},
                                                      "changelog": {"items": [{"field": "status",
                                                                               "toString": status}]}}).encode(),
              st.sampled_from(["SUP-1", "SUP-99"]), st.sampled_from(["jira:issue_updated", "comment_created"]),
              hostile_text),
    st.binary(max_size=50), st.just(b"[" * 5000 + b"]" * 5000))


async def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, float]:
    started = time.monotonic()
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=headers) as answer:
        await answer.read()
        return answer.status, time.monotonic() - started


@examples(20)
@given(body=jira_bodies, signed=st.booleans())
async def test_the_jira_webhook_never_fails_and_refuses_what_is_not_signed(
        jira_bot: SupportBot, body: bytes, signed: bool) -> None:
    signature = "sha256=" + hmac.new((JIRA_WEBHOOK_SECRET if signed else "wrong").encode(), body,
                                     hashlib.sha256).hexdigest()
    status, elapsed = await _post(f"http://127.0.0.1:{jira_bot.port}/jira/webhook", body,
                                  {"Content-Type": "application/json", "X-Hub-Signature": signature})
    assert status < 500 and elapsed <= ACK_DEADLINE
    assert (status == 401) if not signed else (status in (200, 400)), status


@examples(20)
@given(fields=st.dictionaries(st.sampled_from(["payload", "command", "text", "user_id", "type", "trigger_id",
                                               "team_id", "x"]), hostile_text, max_size=4),
       event=st.one_of(st.none(), json_values), signed=st.booleans())
async def test_slack_events_never_fail_and_refuse_what_is_not_signed(
        slack: SlackDriver, fields: dict[str, str], event: Any, signed: bool) -> None:
    if event is None:
        response = await slack.post_raw(urlencode(fields), sign=signed)
    else:
        response = await slack.post_raw(json.dumps(event), content_type="application/json", sign=signed)
    assert response.status < 500 and response.elapsed <= ACK_DEADLINE, (response.status, response.body[:200])
    if not signed:
        assert response.status in (401, 403)


@examples(10)
@given(body=json_values.map(lambda v: json.dumps(v).encode()))
async def test_the_helpscout_sidebar_refuses_what_is_not_signed(bot: SupportBot, body: bytes) -> None:
    status, elapsed = await _post(f"http://127.0.0.1:{bot.port}/helpscout/sidebar", body,
                                  {"Content-Type": "application/json", "X-HelpScout-Signature": "forged"})
    assert status == 403 and elapsed <= ACK_DEADLINE


async def test_a_signed_jira_webhook_nested_too_deep_is_a_400_not_a_500(jira_bot: SupportBot) -> None:
    body = b"[" * 5000 + b"]" * 5000
    signature = "sha256=" + hmac.new(JIRA_WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    status, _ = await _post(f"http://127.0.0.1:{jira_bot.port}/jira/webhook", body,
                            {"Content-Type": "application/json", "X-Hub-Signature": signature})
    assert status == 400

"""conversations.history, conversations.replies and conversations.list in the Slack sandbox, and its two extra
faults (a slow answer to a call it has carried out; a call it loses), driven by the real slack_sdk client."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.slack_outages import LOST, UnreliableSlackSandbox

TOKEN = "xoxb-sandbox-token"
TRIAGE, SECRET_ROOM, ELSEWHERE = "C0TRIAGE01", "G0SECRET01", "C0OTHER001"
MARK = {"event_type": "supportbot_ticket_card", "event_payload": {"ticket": 7}}


@pytest_asyncio.fixture
async def sandbox() -> AsyncIterator[UnreliableSlackSandbox]:
    slack = UnreliableSlackSandbox(bot_token=TOKEN)
    slack.add_user("U0ALICE001", "alice")
    slack.add_channel(TRIAGE, "support-triage")
    slack.add_channel(SECRET_ROOM, "secret", is_private=True, bot_member=False)
    slack.add_channel(ELSEWHERE, "elsewhere", bot_member=False)
    await slack.start()
    yield slack
    await slack.stop()


@pytest_asyncio.fixture
async def client(sandbox: UnreliableSlackSandbox) -> AsyncIterator[AsyncWebClient]:
    web = AsyncWebClient(token=TOKEN, base_url=sandbox.api_url)
    yield web


async def test_history_is_newest_first_top_level_only_and_metadata_only_when_asked(client: AsyncWebClient) -> None:
    first = await client.chat_postMessage(channel=TRIAGE, text="card", metadata=MARK)
    await client.chat_postMessage(channel=TRIAGE, text="note", thread_ts=first["ts"])
    second = await client.chat_postMessage(channel=TRIAGE, text="later")

    plain = await client.conversations_history(channel=TRIAGE)
    assert [m["ts"] for m in plain["messages"]] == [second["ts"], first["ts"]]
    assert "metadata" not in plain["messages"][1] and plain["messages"][1]["reply_count"] == 1
    with_metadata = await client.conversations_history(channel=TRIAGE, include_all_metadata=True)
    assert with_metadata["messages"][1]["metadata"] == MARK


async def test_history_pages_through_next_cursor(client: AsyncWebClient) -> None:
    posted = [(await client.chat_postMessage(channel=TRIAGE, text=f"m{i}"))["ts"] for i in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        page = await client.conversations_history(channel=TRIAGE, limit=2, cursor=cursor)
        seen += [m["ts"] for m in page["messages"]]
        cursor = page["response_metadata"]["next_cursor"] or None
        assert page["has_more"] is (cursor is not None)
        if cursor is None:
            break
    assert seen == posted[::-1]


async def test_reading_a_channel_needs_the_bot_in_it(client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as outside:
        await client.conversations_history(channel=ELSEWHERE)
    assert outside.value.response["error"] == "not_in_channel"
    with pytest.raises(SlackApiError) as private:
        await client.conversations_history(channel=SECRET_ROOM)
    assert private.value.response["error"] == "channel_not_found"


async def test_replies_are_the_parent_then_the_thread_oldest_first(client: AsyncWebClient) -> None:
    parent = await client.chat_postMessage(channel=TRIAGE, text="card")
    one = await client.chat_postMessage(channel=TRIAGE, text="one", thread_ts=parent["ts"], metadata=MARK)
    two = await client.chat_postMessage(channel=TRIAGE, text="two", thread_ts=parent["ts"])
    replies = await client.conversations_replies(channel=TRIAGE, ts=parent["ts"], include_all_metadata=True)
    assert [m["ts"] for m in replies["messages"]] == [parent["ts"], one["ts"], two["ts"]]
    assert replies["messages"][1]["metadata"] == MARK
    with pytest.raises(SlackApiError) as missing:
        await client.conversations_replies(channel=TRIAGE, ts="1.000001")
    assert missing.value.response["error"] == "thread_not_found"


async def test_list_shows_public_channels_and_private_ones_only_to_members(client: AsyncWebClient) -> None:
    created = await client.conversations_create(name="incident-7")
    public = await client.conversations_list(exclude_archived=True)
    names = {c["name"]: c for c in public["channels"]}
    assert {"support-triage", "elsewhere", "incident-7"} <= set(names) and "secret" not in names
    assert names["incident-7"]["creator"] == (await client.auth_test())["user_id"] == created["channel"]["creator"]
    both = await client.conversations_list(types="public_channel,private_channel")
    assert "secret" not in {c["name"] for c in both["channels"]}  # private, and the bot is not in it
    with pytest.raises(SlackApiError) as bad:
        await client.conversations_list(types="everything")
    assert bad.value.response["error"] == "invalid_types"


async def test_a_slowed_call_is_carried_out_at_once_and_answered_late(sandbox: UnreliableSlackSandbox,
                                                                     client: AsyncWebClient) -> None:
    sandbox.slow_down("chat.postMessage", 0.5)
    started = time.monotonic()
    posting = asyncio.ensure_future(client.chat_postMessage(channel=TRIAGE, text="card"))
    await sandbox.wait_for(lambda: sandbox.history(TRIAGE), timeout=0.4)  # in Slack before the answer comes
    await posting
    assert time.monotonic() - started >= 0.5


async def test_a_lost_call_is_never_carried_out_nor_answered(sandbox: UnreliableSlackSandbox,
                                                            client: AsyncWebClient) -> None:
    sandbox.lose_next("chat.postMessage")
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(client.chat_postMessage(channel=TRIAGE, text="card"), 0.5)
    await sandbox.wait_for(lambda: sandbox.hanging == 0, timeout=2)  # the caller gave up: so does the sandbox
    assert sandbox.history(TRIAGE) == [] and sandbox.calls_to("chat.postMessage")[0].error == LOST
    await client.chat_postMessage(channel=TRIAGE, text="card")  # only the next call was lost
    assert len(sandbox.history(TRIAGE)) == 1

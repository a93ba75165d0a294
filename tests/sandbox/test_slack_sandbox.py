"""The Slack sandbox, driven by the real slack_sdk client, and the driver, checked by Slack's own verifier."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.sandbox import SlackDriver, SlackSandbox
from bot.sandbox.driver import DriverResponse, sign_request
from bot.sandbox.transcript import blocks_to_text
from bot.sandbox.view_state import ViewSubmissionBlocked

TOKEN = "xoxb-sandbox-token"
SECRET = "driver-test-secret"
ALICE, BOB, CAROL = "U0ALICE001", "U0BOB00001", "U0CAROL001"
TRIAGE = "C0TRIAGE01"


def section(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **extra}


def button(label: str, action_id: str, value: str = "v") -> dict[str, Any]:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": label},
        "action_id": action_id,
        "value": value,
    }


def modal(blocks: list[dict[str, Any]], *, title: str = "New ticket", **extra: Any) -> dict[str, Any]:
    view: dict[str, Any] = {"type": "modal", "title": {"type": "plain_text", "text": title}, "blocks": blocks}
    if any(b["type"] == "input" for b in blocks):
        view["submit"] = {"type": "plain_text", "text": "Submit"}
    view.update(extra)
    return view


def text_input(label: str, block_id: str, **element: Any) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": label},
        "element": {"type": "plain_text_input", "action_id": "value", **element},
    }


def options(*labels: str) -> list[dict[str, Any]]:
    return [{"text": {"type": "plain_text", "text": t}, "value": t.lower()} for t in labels]


@pytest_asyncio.fixture
async def sandbox() -> AsyncIterator[SlackSandbox]:
    slack = SlackSandbox(bot_token=TOKEN, trigger_ttl=0.2)
    await slack.start()
    slack.add_user(ALICE, "alice", real_name="Alice Agent", email="alice@example.com", tz="Europe/Berlin")
    slack.add_user(BOB, "bob")
    slack.add_user(CAROL, "carol")
    slack.add_usergroup("S0AGENTS01", "support-agents", [ALICE, BOB])
    slack.add_channel(TRIAGE, "support-triage", members=[ALICE, BOB])
    slack.add_channel("C0NOBOT001", "no-bot", members=[ALICE], bot_member=False)
    slack.add_channel("C0SECRET01", "secret", members=[ALICE], is_private=True, bot_member=False)
    yield slack
    await slack.stop()


async def api_error(call: Awaitable[AsyncSlackResponse]) -> AsyncSlackResponse:
    with pytest.raises(SlackApiError) as caught:
        await call
    response: AsyncSlackResponse = caught.value.response
    return response


async def error_of(call: Awaitable[AsyncSlackResponse]) -> str:
    return str((await api_error(call))["error"])


async def open_modal(
    client: AsyncWebClient, sandbox: SlackSandbox, view: dict[str, Any], user: str = ALICE
) -> dict[str, Any]:
    response = await client.views_open(trigger_id=sandbox.issue_trigger_id(user), view=view)
    opened: dict[str, Any] = response["view"]
    return opened


# -- auth, transport, unknown methods ------------------------------------------------------------------
async def test_auth_test_identifies_the_bot(client: AsyncWebClient, sandbox: SlackSandbox) -> None:
    response = await client.auth_test()
    assert response["user_id"] == sandbox.bot_user_id
    assert response["team_id"] == "T0SANDBOX"


async def test_wrong_or_missing_token_is_rejected(sandbox: SlackSandbox) -> None:
    wrong = AsyncWebClient(token="xoxb-wrong", base_url=sandbox.api_url)
    missing = AsyncWebClient(token=None, base_url=sandbox.api_url)
    assert await error_of(wrong.auth_test()) == "invalid_auth"
    assert await error_of(missing.auth_test()) == "not_authed"


async def test_unknown_method_is_rejected_with_http_200(client: AsyncWebClient) -> None:
    response = await api_error(client.api_call("chat.teleport", params={"channel": TRIAGE}))
    assert response.status_code == 200
    assert response["error"] == "unknown_method"


async def test_form_encoded_body_with_token_param_and_json_blocks(sandbox: SlackSandbox) -> None:
    blocks = json.dumps([section("from a form")])
    async with aiohttp.ClientSession() as http:
        form = {"token": TOKEN, "channel": TRIAGE, "text": "fallback", "blocks": blocks}
        async with http.post(sandbox.api_url + "chat.postMessage", data=form) as response:
            body = await response.json()
        async with http.get(
            sandbox.api_url + "users.info", params={"token": TOKEN, "user": ALICE}
        ) as response:
            user = await response.json()
    assert body["ok"] is True
    assert sandbox.messages[-1].blocks[0]["text"]["text"] == "from a form"
    assert user["user"]["tz"] == "Europe/Berlin"


# -- chat --------------------------------------------------------------------------------------------------
async def test_post_message_records_history_threads_and_permalinks(
    client: AsyncWebClient, sandbox: SlackSandbox
) -> None:
    first = await client.chat_postMessage(channel=TRIAGE, text="hello", blocks=[section("*hello*")])
    reply = await client.chat_postMessage(channel=TRIAGE, text="in thread", thread_ts=first["ts"])
    second = await client.chat_postMessage(channel=TRIAGE, text="again")
    assert first["ts"] < reply["ts"] < second["ts"]
    assert first["message"]["blocks"][0]["block_id"]  # Slack fills in block ids
    assert [m.text for m in sandbox.history(TRIAGE)] == ["hello", "again"]
    assert [m.text for m in sandbox.history(TRIAGE, thread_ts=first["ts"])] == ["in thread"]
    link = await client.chat_getPermalink(channel=TRIAGE, message_ts=first["ts"])
    assert (
        link["permalink"] == f"https://sandbox.slack.local/archives/{TRIAGE}/p{first['ts'].replace('.', '')}"
    )
    assert [c.method for c in sandbox.calls] == ["chat.postMessage"] * 3 + ["chat.getPermalink"]


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing:UserWarning")
@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"channel": "C0MISSING1", "text": "x"}, "channel_not_found"),
        ({"channel": "C0NOBOT001", "text": "x"}, "not_in_channel"),
        ({"channel": TRIAGE}, "no_text"),
        ({"channel": TRIAGE, "text": "x" * 40_001}, "msg_too_long"),
    ],
)
async def test_post_message_errors(client: AsyncWebClient, kwargs: dict[str, Any], error: str) -> None:
    assert await error_of(client.chat_postMessage(**kwargs)) == error


async def test_post_message_to_a_user_id_opens_a_dm(client: AsyncWebClient, sandbox: SlackSandbox) -> None:
    response = await client.chat_postMessage(channel=BOB, text="psst")
    dm = sandbox.channels[response["channel"]]
    assert dm.is_im and set(dm.members) == {BOB, sandbox.bot_user_id}


def _big_block_cases() -> list[tuple[list[dict[str, Any]], str, str]]:
    long_button = {"type": "actions", "elements": [button("x" * 76, "go")]}
    twin_buttons = {"type": "actions", "elements": [button("A", "same"), button("B", "same")]}
    fields = {"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}
    return [
        ([section("x")] * 51, "no more than 50 items allowed", "/blocks"),
        ([section("x" * 3001)], "must be less than 3001 characters", "/blocks/0/text/text"),
        (
            [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}],
            "151",
            "/blocks/0/text/text",
        ),
        ([section("ok"), long_button], "must be less than 76 characters", "/blocks/1/elements/0/text/text"),
        ([fields], "no more than 10 items allowed", "/blocks/0/fields"),
        (
            [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]}],
            "2001",
            "/blocks/0/fields/0/text",
        ),
        ([section("x", block_id="b" * 256)], "256", "/blocks/0/block_id"),
        (
            [{"type": "actions", "elements": [button("x", "a" * 256)]}],
            "256",
            "/blocks/0/elements/0/action_id",
        ),
        (
            [{"type": "sektion", "text": {"type": "mrkdwn", "text": "x"}}],
            "unsupported type",
            "/blocks/0/type",
        ),
        (
            [section("a", block_id="dup"), section("b", block_id="dup")],
            "duplicate block_id",
            "/blocks/1/block_id",
        ),
        ([twin_buttons], "action_id must be unique", "/blocks/0/elements/1/action_id"),
        ([section("")], "more than 0 characters", "/blocks/0/text/text"),
    ]


@pytest.mark.parametrize(("blocks", "detail", "pointer"), _big_block_cases())
async def test_message_block_limits(
    client: AsyncWebClient, blocks: list[dict[str, Any]], detail: str, pointer: str
) -> None:
    response = await api_error(client.chat_postMessage(channel=TRIAGE, text="t", blocks=blocks))
    assert response["error"] == "invalid_blocks"
    [message] = response["response_metadata"]["messages"]
    assert message.startswith("[ERROR]") and detail in message
    assert message.endswith(f"[json-pointer:{pointer}]")


async def test_block_limits_are_inclusive(client: AsyncWebClient) -> None:
    blocks = [section("x" * 3000)] + [section(str(i)) for i in range(49)]
    assert (await client.chat_postMessage(channel=TRIAGE, text="t", blocks=blocks))["ok"]


async def test_update_keeps_edit_history_and_only_touches_own_messages(
    client: AsyncWebClient, sandbox: SlackSandbox
) -> None:
    posted = await client.chat_postMessage(channel=TRIAGE, text="v1", blocks=[section("v1")])
    await client.chat_update(channel=TRIAGE, ts=posted["ts"], text="v2", blocks=[section("v2")])
    message = sandbox.messages[0]
    assert (message.text, message.blocks[0]["text"]["text"]) == ("v2", "v2")
    assert [e["text"] for e in message.edits] == ["v1"]
    human = sandbox.record_message(TRIAGE, "mine", [], None, ALICE)
    assert await error_of(client.chat_update(channel=TRIAGE, ts=human.ts, text="x")) == (
        "cant_update_message"
    )
    missing = await api_error(client.chat_update(channel=TRIAGE, ts="1.000100", text="x"))
    assert missing["error"] == "message_not_found"


async def test_ephemeral_needs_a_member_recipient(client: AsyncWebClient, sandbox: SlackSandbox) -> None:
    response = await client.chat_postEphemeral(channel=TRIAGE, user=ALICE, text="just you")
    assert sandbox.ephemerals[0].user == ALICE and sandbox.ephemerals[0].ts == response["message_ts"]
    outsider = await api_error(client.chat_postEphemeral(channel=TRIAGE, user=CAROL, text="x"))
    assert outsider["error"] == "user_not_in_channel"


# -- views ---------------------------------------------------------------------------------------------------
async def test_views_open_fills_defaults_and_binds_the_user(
    client: AsyncWebClient, sandbox: SlackSandbox
) -> None:
    view = await open_modal(client, sandbox, modal([text_input("Summary", "summary")]))
    assert view["id"].startswith("V") and len(view["id"]) == 11
    assert view["state"] == {"values": {}} and view["private_metadata"] == "" and view["callback_id"] == ""
    assert view["root_view_id"] == view["id"] and view["hash"]
    assert view["blocks"][0]["element"]["action_id"] == "value"
    assert sandbox.latest_view_for(ALICE) is sandbox.views[view["id"]]


async def test_trigger_ids_are_single_use_and_expire(client: AsyncWebClient, sandbox: SlackSandbox) -> None:
    view = modal([section("hi")])
    trigger = sandbox.issue_trigger_id(ALICE)
    await client.views_open(trigger_id=trigger, view=view)
    assert await error_of(client.views_open(trigger_id=trigger, view=view)) == "expired_trigger_id"
    stale = sandbox.issue_trigger_id(ALICE)
    await asyncio.sleep(0.3)
    assert await error_of(client.views_open(trigger_id=stale, view=view)) == "expired_trigger_id"
    assert await error_of(client.views_open(trigger_id="1.2.abc", view=view)) == "invalid_trigger_id"


@pytest.mark.parametrize(
    ("view", "pointer"),
    [
        (modal([section("x")], title="t" * 25), "/view/title/text"),
        (modal([text_input("S", "s")], submit={"type": "plain_text", "text": "s" * 25}), "/view/submit/text"),
        (modal([section(str(i)) for i in range(101)]), "/view/blocks"),
        (modal([text_input("L" * 2001, "s")]), "/view/blocks/0/label/text"),
        (
            modal([text_input("S", "s", initial_value="abcdef", max_length=3)]),
            "/view/blocks/0/element/initial_value",
        ),
        (
            {"type": "modal", "title": {"type": "plain_text", "text": "t"}, "blocks": [text_input("S", "s")]},
            "/view",
        ),
    ],
)
async def test_view_limits(
    client: AsyncWebClient, sandbox: SlackSandbox, view: dict[str, Any], pointer: str
) -> None:
    response = await api_error(client.views_open(trigger_id=sandbox.issue_trigger_id(ALICE), view=view))
    assert response["error"] == "invalid_arguments"
    assert response["response_metadata"]["messages"][0].endswith(f"[json-pointer:{pointer}]")


async def test_views_update_by_id_and_external_id_with_hash_checks(
    client: AsyncWebClient, sandbox: SlackSandbox
) -> None:
    opened = await open_modal(client, sandbox, modal([section("step 1")], external_id="ticket-1"))
    updated = await client.views_update(
        view_id=opened["id"], hash=opened["hash"], view=modal([section("step 2")])
    )
    assert updated["view"]["hash"] != opened["hash"]
    stale = await api_error(
        client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal([section("x")]))
    )
    assert stale["error"] == "hash_conflict"
    await client.views_update(external_id="ticket-1", view=modal([section("step 3")]))
    assert sandbox.views[opened["id"]].view["blocks"][0]["text"]["text"] == "step 3"
    assert await error_of(client.views_update(view_id="V0NOPE0000", view=modal([section("x")]))) == (
        "not_found"
    )


async def test_views_push_stacks_at_most_three(client: AsyncWebClient, sandbox: SlackSandbox) -> None:
    root = await open_modal(client, sandbox, modal([section("root")]))
    pushed = await client.views_push(trigger_id=sandbox.issue_trigger_id(ALICE), view=modal([section("2")]))
    assert pushed["view"]["previous_view_id"] == root["id"] and pushed["view"]["root_view_id"] == root["id"]
    await client.views_push(trigger_id=sandbox.issue_trigger_id(ALICE), view=modal([section("3")]))
    too_deep = await api_error(
        client.views_push(trigger_id=sandbox.issue_trigger_id(ALICE), view=modal([section("4")]))
    )
    assert too_deep["error"] == "push_limit_reached"


async def test_views_publish_home_tab(client: AsyncWebClient, sandbox: SlackSandbox) -> None:
    home = {"type": "home", "blocks": [section("Your tickets")]}
    await client.views_publish(user_id=ALICE, view=home)
    assert sandbox.home_views[ALICE]["blocks"][0]["text"]["text"] == "Your tickets"
    too_big = {"type": "home", "blocks": [section(str(i)) for i in range(101)]}
    assert await error_of(client.views_publish(user_id=ALICE, view=too_big)) == "invalid_arguments"
    wrong_type = await api_error(client.views_publish(user_id=ALICE, view=modal([section("x")])))
    assert wrong_type["error"] == "invalid_arguments"


# -- conversations -----------------------------------------------------------------------------------------
async def test_conversations_create_makes_the_bot_a_member(
    client: AsyncWebClient, sandbox: SlackSandbox
) -> None:
    response = await client.conversations_create(name="inc-42-checkout", is_private=False)
    channel = sandbox.channels[response["channel"]["id"]]
    assert channel.id.startswith("C") and len(channel.id) == 11 and channel.id.isupper()
    assert channel.members == [sandbox.bot_user_id] and channel.created_by == sandbox.bot_user_id
    assert sandbox.channel_by_name("inc-42-checkout") is channel
    assert await error_of(client.conversations_create(name="inc-42-checkout")) == "name_taken"


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("", "invalid_name_required"),
        ("a" * 81, "invalid_name_maxlength"),
        ("Inc-42", "invalid_name_specials"),
        ("inc 42", "invalid_name_specials"),
        ("inc#42", "invalid_name_specials"),
        ("--__", "invalid_name_punctuation"),
    ],
)
async def test_channel_name_rules(client: AsyncWebClient, name: str, error: str) -> None:
    assert await error_of(client.conversations_create(name=name)) == error


async def test_channel_name_of_exactly_80_is_fine(client: AsyncWebClient) -> None:
    assert (await client.conversations_create(name="a" * 80))["channel"]["name"] == "a" * 80


async def test_conversations_invite_and_its_errors(client: AsyncWebClient, sandbox: SlackSandbox) -> None:
    await client.conversations_invite(channel=TRIAGE, users=[CAROL])
    assert CAROL in sandbox.channels[TRIAGE].members
    cases: list[tuple[dict[str, Any], str]] = [
        ({"channel": "C0MISSING1", "users": [CAROL]}, "channel_not_found"),
        ({"channel": "C0NOBOT001", "users": [CAROL]}, "not_in_channel"),
        ({"channel": TRIAGE, "users": ["U0NOBODY01"]}, "user_not_found"),
        ({"channel": TRIAGE, "users": [ALICE, BOB]}, "already_in_channel"),
        ({"channel": TRIAGE, "users": [sandbox.bot_user_id]}, "cant_invite_self"),
    ]
    for kwargs, error in cases:
        assert await error_of(client.conversations_invite(**kwargs)) == error, kwargs


async def test_topic_info_join_members(client: AsyncWebClient, sandbox: SlackSandbox) -> None:
    await client.conversations_setTopic(channel=TRIAGE, topic="SEV1: checkout")
    info = await client.conversations_info(channel=TRIAGE)
    assert info["channel"]["topic"]["value"] == "SEV1: checkout" and info["channel"]["is_member"] is True
    assert await error_of(client.conversations_setTopic(channel="C0NOBOT001", topic="x")) == (
        "not_in_channel"
    )
    await client.conversations_join(channel="C0NOBOT001")
    assert sandbox.bot_user_id in sandbox.channels["C0NOBOT001"].members
    assert await error_of(client.conversations_info(channel="C0SECRET01")) == "channel_not_found"
    first = await client.conversations_members(channel=TRIAGE, limit=2)
    rest = await client.conversations_members(
        channel=TRIAGE, cursor=first["response_metadata"]["next_cursor"]
    )
    assert first["members"] + rest["members"] == sandbox.channels[TRIAGE].members
    assert rest["response_metadata"]["next_cursor"] == ""


async def test_directory_lookups(client: AsyncWebClient) -> None:
    group = await client.usergroups_users_list(usergroup="S0AGENTS01")
    assert group["users"] == [ALICE, BOB]
    assert await error_of(client.usergroups_users_list(usergroup="S0NOPE0001")) == "no_such_subteam"
    user = (await client.users_info(user=ALICE))["user"]
    assert user["profile"]["email"] == "alice@example.com" and user["real_name"] == "Alice Agent"
    assert await error_of(client.users_info(user="U0NOBODY01")) == "user_not_found"


# -- faults and latency ------------------------------------------------------------------------------------
async def test_ratelimited_answers_429_with_retry_after(
    client: AsyncWebClient, sandbox: SlackSandbox
) -> None:
    sandbox.fail_next("chat.postMessage", retry_after=7)
    response = await api_error(client.chat_postMessage(channel=TRIAGE, text="x"))
    assert response.status_code == 429 and response["error"] == "ratelimited"
    assert response.headers["Retry-After"] in ("7", ["7"])
    assert (await client.chat_postMessage(channel=TRIAGE, text="x"))["ok"]


async def test_rate_limit_retry_handler_recovers(sandbox: SlackSandbox) -> None:
    sandbox.fail_next("chat.postMessage", times=2, retry_after=0)
    retrying = AsyncWebClient(
        token=TOKEN,
        base_url=sandbox.api_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)],
    )
    assert (await retrying.chat_postMessage(channel=TRIAGE, text="eventually"))["ok"]
    assert [c.error for c in sandbox.calls_to("chat.postMessage")] == ["ratelimited", "ratelimited", None]
    assert len(sandbox.messages) == 1


async def test_other_injected_errors_are_http_200(client: AsyncWebClient, sandbox: SlackSandbox) -> None:
    sandbox.fail_next("views.open", "internal_error")
    response = await api_error(client.views_open(trigger_id=sandbox.issue_trigger_id(ALICE), view=modal([])))
    assert response.status_code == 200 and response["error"] == "internal_error"


async def test_latency_applies_per_method(client: AsyncWebClient, sandbox: SlackSandbox) -> None:
    sandbox.set_latency(0.3, "users.info")
    started = time.monotonic()
    await client.auth_test()
    fast = time.monotonic() - started
    await client.users_info(user=ALICE)
    slow = time.monotonic() - started - fast
    assert fast < 0.25 <= 0.3 <= slow + 0.01


async def test_wait_for_returns_the_value_or_explains_the_timeout(
    client: AsyncWebClient, sandbox: SlackSandbox
) -> None:
    async def post_later() -> None:
        await asyncio.sleep(0.05)
        await client.chat_postMessage(channel=TRIAGE, text="late")

    task = asyncio.create_task(post_later())
    message = await sandbox.wait_for(lambda: next(iter(sandbox.history(TRIAGE)), None))
    await task
    assert message.text == "late"
    with pytest.raises(AssertionError, match=r"not met within 0.05s.*chat.postMessage"):
        await sandbox.wait_for(lambda: sandbox.channel_by_name("never"), timeout=0.05)


# -- rendering -----------------------------------------------------------------------------------------------
def test_blocks_to_text_reads_like_the_slack_client() -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "SUP-7 Checkout down"}},
        section("Reported by <@U0ALICE001|alice>", accessory=button("Claim", "claim")),
        {"type": "section", "fields": [{"type": "mrkdwn", "text": "*Severity*\nSEV1"}]},
        {"type": "divider"},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "Opened 5m ago"}]},
        {"type": "actions", "elements": [button("Escalate", "esc"), button("Resolve", "res")]},
    ]
    assert blocks_to_text(blocks, "fallback").splitlines() == [
        "SUP-7 CHECKOUT DOWN",
        "Reported by @alice  [Claim]",
        "*Severity* SEV1",
        "─" * 40,
        "Opened 5m ago",
        "[Escalate] [Resolve]",
    ]
    assert blocks_to_text([], "plain <https://x.example|link>") == "plain link"


async def test_transcript_lines(client: AsyncWebClient, sandbox: SlackSandbox) -> None:
    root = await client.chat_postMessage(channel=TRIAGE, text="Ticket SUP-1")
    await client.chat_postMessage(channel=TRIAGE, text="details", thread_ts=root["ts"])
    await client.chat_update(channel=TRIAGE, ts=root["ts"], text="Ticket SUP-1 (claimed)")
    await client.chat_postEphemeral(channel=TRIAGE, user=ALICE, text="only you")
    lines = sandbox.transcript_lines()
    assert lines == [
        "#support-triage  supportbot: Ticket SUP-1",
        "    ↳ #support-triage  supportbot: details",
        "#support-triage  supportbot: Ticket SUP-1 (claimed)  (edited)",
        "#support-triage  supportbot → alice: only you  (only visible to you)",
    ]
    assert sandbox.transcript_lines(since=3) == lines[3:]


# -- driver ----------------------------------------------------------------------------------------------
@dataclass
class Received:
    headers: dict[str, str]
    body: str

    @property
    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body, keep_blank_values=True).items()}

    @property
    def payload(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.form["payload"])
        return parsed


@dataclass
class FakeBot:
    url: str
    received: list[Received] = field(default_factory=list)
    reply: Callable[[Received], web.Response] = lambda _: web.Response(status=200)


@pytest_asyncio.fixture
async def fake_bot() -> AsyncIterator[FakeBot]:
    verifier = SignatureVerifier(SECRET)
    bot = FakeBot(url="")

    async def handle(request: web.Request) -> web.Response:
        raw = await request.text()
        if not verifier.is_valid_request(raw, dict(request.headers)):
            return web.Response(status=401, text="invalid signature")
        got = Received(dict(request.headers), raw)
        bot.received.append(got)
        return bot.reply(got)

    app = web.Application()
    app.router.add_post("/slack/events", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    bot.url = f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
    yield bot
    await runner.cleanup()


@pytest_asyncio.fixture
async def driver(sandbox: SlackSandbox, fake_bot: FakeBot) -> AsyncIterator[SlackDriver]:
    slack_driver = SlackDriver(events_url=fake_bot.url, signing_secret=SECRET, sandbox=sandbox)
    yield slack_driver
    await slack_driver.close()


async def test_slash_command_is_signed_and_shaped_like_slack(
    driver: SlackDriver, fake_bot: FakeBot, sandbox: SlackSandbox, client: AsyncWebClient
) -> None:
    fake_bot.reply = lambda _: web.json_response({"text": "On it!"})
    response = await driver.slash_command(user_id=ALICE, command="/ticket", text="checkout is down")
    assert response.status == 200 and response.json == {"text": "On it!"}
    form = fake_bot.received[0].form
    assert fake_bot.received[0].headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert {k: form[k] for k in ("command", "text", "user_id", "user_name", "channel_id", "team_id")} == {
        "command": "/ticket",
        "text": "checkout is down",
        "user_id": ALICE,
        "user_name": "alice",
        "channel_id": "C0GENERAL1",
        "team_id": "T0SANDBOX",
    }
    assert form["response_url"].startswith(sandbox.base_url)
    # The ack body is what Slack shows the invoking user.
    assert sandbox.ephemerals[-1].text == "On it!" and sandbox.ephemerals[-1].user == ALICE
    view = await client.views_open(trigger_id=form["trigger_id"], view=modal([section("hi")]))
    assert sandbox.views[view["view"]["id"]].user == ALICE


async def test_response_url_posts_land_where_slack_puts_them(
    driver: SlackDriver, fake_bot: FakeBot, sandbox: SlackSandbox
) -> None:
    await driver.slash_command(user_id=ALICE, command="/ticket")
    url = fake_bot.received[0].form["response_url"]
    async with aiohttp.ClientSession() as http:
        async with http.post(url, json={"response_type": "in_channel", "text": "Filed SUP-9"}) as response:
            assert response.status == 200
        async with http.post(url, json={"text": "psst"}) as response:
            assert response.status == 200
    assert sandbox.history("C0GENERAL1")[-1].text == "Filed SUP-9"
    assert sandbox.ephemerals[-1].text == "psst"


async def _submit_form(
    client: AsyncWebClient, sandbox: SlackSandbox, driver: SlackDriver, values: dict[str, Any]
) -> tuple[str, DriverResponse]:
    blocks = [
        text_input("Summary", "summary"),
        {
            "type": "input",
            "block_id": "sev",
            "label": {"type": "plain_text", "text": "Severity"},
            "element": {"type": "radio_buttons", "action_id": "pick", "options": options("Low", "High")},
        },
        {
            "type": "input",
            "block_id": "when",
            "label": {"type": "plain_text", "text": "Started at"},
            "element": {"type": "datetimepicker", "action_id": "at"},
        },
        {
            "type": "input",
            "block_id": "area",
            "optional": True,
            "label": {"type": "plain_text", "text": "Area"},
            "element": {"type": "static_select", "action_id": "area", "options": options("Billing", "Login")},
        },
        {
            "type": "input",
            "block_id": "tags",
            "optional": True,
            "label": {"type": "plain_text", "text": "Tags"},
            "element": {"type": "checkboxes", "action_id": "tags", "options": options("VIP", "Churn risk")},
        },
    ]
    view = await open_modal(client, sandbox, modal(blocks, callback_id="ticket", private_metadata="m"))
    return view["id"], await driver.submit_view(user_id=ALICE, view_id=view["id"], values=values)


async def test_view_submission_state_is_built_from_labels(
    driver: SlackDriver, fake_bot: FakeBot, sandbox: SlackSandbox, client: AsyncWebClient
) -> None:
    started = datetime(2026, 11, 23, 14, 30, tzinfo=UTC)
    values = {"summary": "Checkout down", "Severity": "high", "start": started, "tags": ["VIP"]}
    view_id, response = await _submit_form(client, sandbox, driver, values)
    assert response.status == 200
    payload = fake_bot.received[-1].payload
    assert payload["type"] == "view_submission" and payload["user"]["id"] == ALICE
    assert payload["view"]["id"] == view_id and payload["view"]["callback_id"] == "ticket"
    assert (
        payload["view"]["private_metadata"] == "m" and payload["view"]["hash"] == sandbox.views[view_id].hash
    )
    state = payload["view"]["state"]["values"]
    assert state["summary"]["value"] == {"type": "plain_text_input", "value": "Checkout down"}
    assert state["sev"]["pick"] == {
        "type": "radio_buttons",
        "selected_option": {"text": {"type": "plain_text", "text": "High"}, "value": "high"},
    }
    assert state["when"]["at"] == {"type": "datetimepicker", "selected_date_time": int(started.timestamp())}
    assert state["area"]["area"] == {"type": "static_select", "selected_option": None}
    assert [o["value"] for o in state["tags"]["tags"]["selected_options"]] == ["vip"]
    assert sandbox.views[view_id].closed  # an empty ack closes the modal


async def test_view_submission_errors_keep_the_modal_open(
    driver: SlackDriver, fake_bot: FakeBot, sandbox: SlackSandbox, client: AsyncWebClient
) -> None:
    fake_bot.reply = lambda _: web.json_response(
        {"response_action": "errors", "errors": {"summary": "Too vague"}}
    )
    view_id, response = await _submit_form(
        client, sandbox, driver, {"Summary": "x", "Severity": "Low", "Started at": 1_700_000_000}
    )
    assert response.json == {"response_action": "errors", "errors": {"summary": "Too vague"}}
    assert not sandbox.views[view_id].closed


async def test_view_submission_rejects_unknown_ambiguous_and_incomplete_input(
    driver: SlackDriver, sandbox: SlackSandbox, client: AsyncWebClient
) -> None:
    with pytest.raises(KeyError, match="'Summary'"):
        await _submit_form(client, sandbox, driver, {"Priority": "high"})
    with pytest.raises(KeyError, match="ambiguous"):
        await _submit_form(client, sandbox, driver, {"s": "x"})
    with pytest.raises(ViewSubmissionBlocked, match="Severity"):
        await _submit_form(client, sandbox, driver, {"Summary": "x", "Started at": 1_700_000_000})
    with pytest.raises(ValueError, match="not an option"):
        await _submit_form(client, sandbox, driver, {"Severity": "Medium"})


async def test_update_ack_replaces_the_modal(
    driver: SlackDriver, fake_bot: FakeBot, sandbox: SlackSandbox, client: AsyncWebClient
) -> None:
    fake_bot.reply = lambda _: web.json_response(
        {"response_action": "update", "view": modal([section("Thanks")])}
    )
    view_id, _ = await _submit_form(
        client, sandbox, driver, {"Summary": "x", "Severity": "Low", "Started at": 1_700_000_000}
    )
    view = sandbox.views[view_id]
    assert not view.closed and view.view["blocks"][0]["text"]["text"] == "Thanks"


async def test_click_on_a_message_button(
    driver: SlackDriver, fake_bot: FakeBot, sandbox: SlackSandbox, client: AsyncWebClient
) -> None:
    blocks = [
        section("SUP-1", block_id="head"),
        {"type": "actions", "block_id": "acts", "elements": [button("Claim", "claim", "SUP-1")]},
    ]
    await client.chat_postMessage(channel=TRIAGE, text="SUP-1", blocks=blocks)
    await driver.click(user_id=BOB, action_id="claim")
    payload = fake_bot.received[-1].payload
    message = sandbox.messages[-1]
    assert payload["type"] == "block_actions" and payload["user"]["id"] == BOB
    [action] = payload["actions"]
    assert (action["action_id"], action["block_id"], action["value"], action["type"]) == (
        "claim",
        "acts",
        "SUP-1",
        "button",
    )
    assert action["text"]["text"] == "Claim" and float(action["action_ts"]) > 0
    assert payload["container"] == {
        "type": "message",
        "message_ts": message.ts,
        "channel_id": TRIAGE,
        "is_ephemeral": False,
    }
    assert payload["message"]["ts"] == message.ts and payload["message"]["blocks"] == message.blocks
    assert payload["channel"] == {"id": TRIAGE, "name": "support-triage"}
    assert payload["response_url"].startswith(sandbox.base_url) and payload["trigger_id"]
    with pytest.raises(KeyError, match="action_id"):
        await driver.click(user_id=BOB, action_id="missing", message=message)


async def test_click_inside_a_modal(
    driver: SlackDriver, fake_bot: FakeBot, sandbox: SlackSandbox, client: AsyncWebClient
) -> None:
    view = await open_modal(
        client,
        sandbox,
        modal(
            [
                text_input("Summary", "summary", initial_value="draft"),
                {"type": "actions", "elements": [button("Add detail", "more")]},
            ]
        ),
    )
    await driver.click(user_id=ALICE, action_id="more", view_id=view["id"], value="override")
    payload = fake_bot.received[-1].payload
    assert payload["container"] == {"type": "view", "view_id": view["id"]}
    assert payload["actions"][0]["value"] == "override"
    assert payload["view"]["state"]["values"]["summary"]["value"]["value"] == "draft"
    pushed = await client.views_push(trigger_id=payload["trigger_id"], view=modal([section("more")]))
    assert pushed["view"]["previous_view_id"] == view["id"]


async def test_event_envelope_and_retry_headers(driver: SlackDriver, fake_bot: FakeBot) -> None:
    await driver.event(
        {"type": "app_mention", "user": ALICE, "text": "<@U0SUPPORTBOT> help", "ts": "1.000100"},
        event_id="Ev0TEST0001",
        retry_num=1,
    )
    got = fake_bot.received[-1]
    body = json.loads(got.body)
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["X-Slack-Retry-Num"] == "1" and got.headers["X-Slack-Retry-Reason"] == "http_timeout"
    assert body["type"] == "event_callback" and body["event_id"] == "Ev0TEST0001"
    assert body["event"]["type"] == "app_mention" and body["event"]["event_ts"] == "1.000100"
    await driver.event({"type": "app_home_opened", "user": ALICE})
    fresh = fake_bot.received[-1]
    assert "X-Slack-Retry-Num" not in fresh.headers and json.loads(fresh.body)["event_id"].startswith("Ev")


async def test_post_raw_signature_failures(driver: SlackDriver, fake_bot: FakeBot) -> None:
    assert (await driver.post_raw("a=1")).status == 200
    assert (await driver.post_raw("a=1", sign=False)).status == 401
    assert (await driver.post_raw("a=1", signing_secret="wrong")).status == 401
    assert (await driver.post_raw("a=1", timestamp=int(time.time()) - 600)).status == 401
    assert len(fake_bot.received) == 1


def test_signature_matches_slack_sdk() -> None:
    body, ts = b"token=x&text=hi", 1_700_000_000
    expected = SignatureVerifier(SECRET).generate_signature(timestamp=str(ts), body=body.decode())
    assert sign_request(SECRET, ts, body) == expected


async def test_a_real_bolt_app_round_trip(sandbox: SlackSandbox) -> None:
    """Slash command -> modal -> submission -> message -> button -> respond(), all through slack_bolt."""
    bolt_client = AsyncWebClient(token=TOKEN, base_url=sandbox.api_url)
    app = AsyncApp(client=bolt_client, signing_secret=SECRET)

    @app.command("/ticket")
    async def command(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await client.views_open(
            trigger_id=body["trigger_id"],
            view=modal([text_input("Summary", "summary")], callback_id="ticket"),
        )

    @app.view("ticket")
    async def submitted(ack: AsyncAck, view: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        summary = view["state"]["values"]["summary"]["value"]["value"]
        await client.chat_postMessage(
            channel=TRIAGE,
            text=summary,
            blocks=[section(summary), {"type": "actions", "elements": [button("Claim", "claim")]}],
        )

    @app.action("claim")
    async def claim(ack: AsyncAck, respond: AsyncRespond, body: dict[str, Any]) -> None:
        await ack()
        await respond(replace_original=True, text=f"Claimed by <@{body['user']['id']}>")

    runner = web.AppRunner(app.web_app(path="/slack/events"))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
    driver = SlackDriver(events_url=url, signing_secret=SECRET, sandbox=sandbox)
    try:
        assert (await driver.slash_command(user_id=ALICE, command="/ticket")).status == 200
        view = await sandbox.wait_for(lambda: sandbox.latest_view_for(ALICE))
        assert (
            await driver.submit_view(user_id=ALICE, view_id=view.id, values={"Summary": "Cart empty"})
        ).status == 200
        message = await sandbox.wait_for(lambda: next(iter(sandbox.history(TRIAGE)), None))
        assert message.text == "Cart empty" and view.closed
        await driver.click(user_id=BOB, action_id="claim")
        await sandbox.wait_for(lambda: message.edits)
        assert message.text == f"Claimed by <@{BOB}>"
        assert sandbox.transcript_lines()[-1] == "#support-triage  supportbot: Claimed by @bob  (edited)"
    finally:
        await driver.close()
        await runner.cleanup()
        if bolt_client.session is not None:
            await bolt_client.session.close()


async def test_a_rejected_view_does_not_burn_the_trigger(
    client: AsyncWebClient, sandbox: SlackSandbox
) -> None:
    trigger = sandbox.issue_trigger_id(ALICE)
    bad = modal([section("x")], title="t" * 25)
    assert await error_of(client.views_open(trigger_id=trigger, view=bad)) == "invalid_arguments"
    assert (await client.views_open(trigger_id=trigger, view=modal([section("x")])))["ok"]


async def test_malformed_arguments_are_invalid_arguments(client: AsyncWebClient) -> None:
    error = await error_of(client.conversations_members(channel=TRIAGE, limit="lots"))  # type: ignore[arg-type]
    assert error == "invalid_arguments"


async def test_push_and_clear_acks_and_closing_notifications(
    driver: SlackDriver, fake_bot: FakeBot, sandbox: SlackSandbox, client: AsyncWebClient
) -> None:
    fake_bot.reply = lambda _: web.json_response(
        {"response_action": "push", "view": modal([section("Sure?")])}
    )
    root_id, _ = await _submit_form(
        client, sandbox, driver, {"Summary": "x", "Severity": "Low", "Started at": 1_700_000_000}
    )
    pushed = sandbox.latest_view_for(ALICE)
    assert pushed is not None and pushed.previous_view_id == root_id and not sandbox.views[root_id].closed
    fake_bot.reply = lambda _: web.json_response({"response_action": "clear"})
    await driver.submit_view(user_id=ALICE, view_id=pushed.id, values={})
    assert pushed.closed and sandbox.views[root_id].closed
    with pytest.raises(ValueError, match="closed"):
        await driver.submit_view(user_id=ALICE, view_id=root_id, values={})
    quiet = await open_modal(client, sandbox, modal([section("a")]))
    assert await driver.close_view(user_id=ALICE, view_id=quiet["id"]) is None
    noisy = await open_modal(client, sandbox, modal([section("b")], notify_on_close=True))
    fake_bot.reply = lambda _: web.Response(status=200)
    closed = await driver.close_view(user_id=ALICE, view_id=noisy["id"])
    assert closed is not None and fake_bot.received[-1].payload["type"] == "view_closed"
    assert sandbox.views[noisy["id"]].closed


async def test_ephemeral_buttons_and_response_url_replace_and_delete(
    driver: SlackDriver, fake_bot: FakeBot, sandbox: SlackSandbox, client: AsyncWebClient
) -> None:
    await client.chat_postEphemeral(
        channel=TRIAGE,
        user=ALICE,
        text="pick",
        blocks=[{"type": "actions", "elements": [button("OK", "ok")]}],
    )
    await driver.click(user_id=ALICE, action_id="ok")
    payload = fake_bot.received[-1].payload
    assert payload["container"]["is_ephemeral"] is True and "message" not in payload
    async with aiohttp.ClientSession() as http:
        await http.post(payload["response_url"], json={"replace_original": True, "text": "done"})
    assert sandbox.ephemerals[-1].text == "done"
    await client.chat_postMessage(
        channel=TRIAGE, text="t", blocks=[section("go", accessory=button("Go", "go"))]
    )
    await driver.click(user_id=ALICE, action_id="go")
    async with aiohttp.ClientSession() as http:
        await http.post(fake_bot.received[-1].payload["response_url"], json={"delete_original": True})
    assert sandbox.history(TRIAGE) == []


async def test_user_message_is_recorded_and_delivered(
    driver: SlackDriver, fake_bot: FakeBot, sandbox: SlackSandbox
) -> None:
    message, response = await driver.user_message(user_id=ALICE, channel_id=TRIAGE, text="any update?")
    event = json.loads(fake_bot.received[-1].body)["event"]
    assert response.status == 200 and sandbox.history(TRIAGE) == [message]
    assert (event["type"], event["user"], event["ts"], event["channel_type"]) == (
        "message",
        ALICE,
        message.ts,
        "channel",
    )

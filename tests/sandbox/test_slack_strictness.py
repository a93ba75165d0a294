"""The Slack sandbox refuses what real Slack refuses, with Slack's own error names and shapes.

Each test sends the request Slack would refuse, through the real slack_sdk client or raw HTTP, and expects the
answer a real workspace gives; the rule's source is named in the sandbox module that enforces it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.sandbox import SlackSandbox
from bot.sandbox.slack_install import BUILT_IN_COMMANDS, ManifestRefused, load_manifest
from bot.sandbox.slack_method_rules import METHOD_RULES, needed_scope

TOKEN = "xoxb-sandbox-token"
ALICE, BOB, CAROL = "U0ALICE001", "U0BOB00001", "U0CAROL001"
TRIAGE = "C0TRIAGE01"
EVERY_SCOPE = sorted({scope for rule in METHOD_RULES.values() for scope in rule.scopes.values()})


def manifest(*, scopes: list[str] | None = None, commands: tuple[str, ...] = ("/ticket",)) -> dict[str, Any]:
    return {
        "display_information": {"name": "strict"},
        "features": {"slash_commands": [{"command": c, "description": "d"} for c in commands]},
        "oauth_config": {"scopes": {"bot": EVERY_SCOPE if scopes is None else scopes}},
    }


def section(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **extra}


def button(label: str = "Go", **extra: Any) -> dict[str, Any]:
    return {"type": "button", "text": {"type": "plain_text", "text": label}, "action_id": "go", **extra}


def actions(*elements: dict[str, Any]) -> dict[str, Any]:
    return {"type": "actions", "elements": list(elements)}


def plain_option(text: str, value: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": text}, "value": value or text.lower(), **extra}


def select(**extra: Any) -> dict[str, Any]:
    return {"type": "static_select", "action_id": "pick", **extra}


def modal(*blocks: dict[str, Any], **extra: Any) -> dict[str, Any]:
    view: dict[str, Any] = {"type": "modal", "title": {"type": "plain_text", "text": "T"}, "blocks": list(blocks)}
    if any(b["type"] == "input" for b in blocks):
        view["submit"] = {"type": "plain_text", "text": "Submit"}
    return {**view, **extra}


def input_block(element: dict[str, Any]) -> dict[str, Any]:
    return {"type": "input", "block_id": "b", "label": {"type": "plain_text", "text": "L"}, "element": element}


@pytest_asyncio.fixture
async def sandbox() -> AsyncIterator[SlackSandbox]:
    slack = SlackSandbox(bot_token=TOKEN)
    await slack.start()
    slack.install_app(manifest())
    slack.add_user(ALICE, "alice")
    slack.add_user(BOB, "bob")
    slack.add_user(CAROL, "carol")
    slack.add_channel(TRIAGE, "support-triage", members=[ALICE, BOB])
    yield slack
    await slack.stop()


async def refusal(call: Any) -> AsyncSlackResponse:
    with pytest.raises(SlackApiError) as caught:
        await call
    response: AsyncSlackResponse = caught.value.response
    return response


async def raw(sandbox: SlackSandbox, method: str, **request: Any) -> dict[str, Any]:
    """One HTTP call as the caller shapes it (json=, data=, params=, headers=), Slack's JSON answer back."""
    async with aiohttp.ClientSession() as http, http.post(sandbox.api_url + method, **request) as response:
        body: dict[str, Any] = await response.json()
    return body


BEARER = {"Authorization": f"Bearer {TOKEN}"}


async def blocks_refused(client: AsyncWebClient, blocks: list[dict[str, Any]]) -> list[str]:
    response = await refusal(client.chat_postMessage(channel=TRIAGE, text="t", blocks=blocks))
    assert response["error"] == "invalid_blocks"
    errors: list[str] = response["errors"]
    assert response["response_metadata"]["messages"] == [f"[ERROR] {e}" for e in errors]
    return errors


async def view_refused(client: AsyncWebClient, sandbox: SlackSandbox, view: dict[str, Any]) -> list[str]:
    response = await refusal(client.views_open(trigger_id=sandbox.issue_trigger_id(ALICE), view=view))
    assert response["error"] == "invalid_arguments"
    messages: list[str] = response["response_metadata"]["messages"]
    return messages


# -- 1. unknown properties -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("blocks", "expected"),
    [
        ([section("x", colour="red")], "invalid additional property: colour [json-pointer:/blocks/0]"),
        ([actions(button(tooltip="hi"))], "invalid additional property: tooltip [json-pointer:/blocks/0/elements/0]"),
        (
            [actions(select(options=[plain_option("A", icon=":a:")]))],
            "invalid additional property: icon [json-pointer:/blocks/0/elements/0/options/0]",
        ),
        (
            [{"type": "header", "text": {"type": "plain_text", "text": "h", "verbatim": True}}],
            "invalid additional property: verbatim [json-pointer:/blocks/0/text]",
        ),
    ],
)
async def test_unknown_properties_on_blocks_and_elements_are_invalid_blocks(
    client: AsyncWebClient, blocks: list[dict[str, Any]], expected: str
) -> None:
    assert expected in await blocks_refused(client, blocks)


async def test_unknown_properties_on_views_are_invalid_arguments(
    client: AsyncWebClient, sandbox: SlackSandbox
) -> None:
    messages = await view_refused(client, sandbox, modal(section("x"), subtitle={"type": "plain_text", "text": "s"}))
    assert messages == ["[ERROR] invalid additional property: subtitle [json-pointer:/view]"]
    # What Slack itself puts in a view it hands back (id, hash, state) may be sent back.
    opened = await client.views_open(trigger_id=sandbox.issue_trigger_id(ALICE), view=modal(section("x")))
    echoed = {k: opened["view"][k] for k in ("type", "title", "blocks", "id", "hash", "state")}
    assert (await client.views_update(view_id=opened["view"]["id"], view=echoed))["ok"]


# -- 2. text object types ------------------------------------------------------------------------------------
async def test_emoji_on_a_mrkdwn_text_object_is_refused_as_slack_words_it(client: AsyncWebClient) -> None:
    errors = await blocks_refused(client, [{"type": "section", "text": {"type": "mrkdwn", "text": "x", "emoji": True}}])
    assert errors == [
        "failed to match all allowed schemas [json-pointer:/blocks/0/text]",
        "invalid additional property: emoji [json-pointer:/blocks/0/text]",
    ]


@pytest.mark.parametrize("kind", ["static_select", "overflow"])
async def test_select_and_overflow_option_text_must_be_plain_text(client: AsyncWebClient, kind: str) -> None:
    option = {"text": {"type": "mrkdwn", "text": "*A*"}, "value": "a"}
    errors = await blocks_refused(client, [actions({"type": kind, "action_id": "pick", "options": [option]})])
    assert errors == ["must be one of plain_text [json-pointer:/blocks/0/elements/0/options/0/text/type]"]


async def test_radio_and_checkbox_options_may_use_mrkdwn(client: AsyncWebClient, sandbox: SlackSandbox) -> None:
    option = {"text": {"type": "mrkdwn", "text": "*A*"}, "value": "a",
              "description": {"type": "mrkdwn", "text": "_more_"}}
    for kind in ("radio_buttons", "checkboxes"):
        view = modal(input_block({"type": kind, "action_id": "pick", "options": [option]}))
        assert (await client.views_open(trigger_id=sandbox.issue_trigger_id(ALICE), view=view))["ok"]


# -- 3. options and option groups ----------------------------------------------------------------------------
async def test_option_description_over_75_characters(client: AsyncWebClient) -> None:
    option = plain_option("A", description={"type": "plain_text", "text": "d" * 76})
    errors = await blocks_refused(client, [actions(select(options=[option]))])
    assert errors == ["must be less than 76 characters [json-pointer:/blocks/0/elements/0/options/0/description/text]"]


async def test_more_than_100_option_groups(client: AsyncWebClient) -> None:
    group = {"label": {"type": "plain_text", "text": "G"}, "options": [plain_option("A")]}
    errors = await blocks_refused(client, [actions(select(option_groups=[group] * 101))])
    assert errors == ["no more than 100 items allowed [json-pointer:/blocks/0/elements/0/option_groups]"]
    ok = await client.chat_postMessage(channel=TRIAGE, text="t", blocks=[actions(select(option_groups=[group] * 100))])
    assert ok["ok"]


async def test_an_option_group_needs_a_plain_text_label(client: AsyncWebClient) -> None:
    errors = await blocks_refused(client, [actions(select(option_groups=[{"options": [plain_option("A")]}]))])
    assert errors == ["missing required field: label [json-pointer:/blocks/0/elements/0/option_groups/0]"]
    mrkdwn_label = {"label": {"type": "mrkdwn", "text": "G"}, "options": [plain_option("A")]}
    errors = await blocks_refused(client, [actions(select(option_groups=[mrkdwn_label]))])
    assert errors == ["must be one of plain_text [json-pointer:/blocks/0/elements/0/option_groups/0/label/type]"]


# -- 4. accessibility labels and confirm dialogs -------------------------------------------------------------
async def test_accessibility_label_over_75_characters(client: AsyncWebClient) -> None:
    errors = await blocks_refused(client, [actions(button(accessibility_label="a" * 76))])
    assert errors == ["must be less than 76 characters [json-pointer:/blocks/0/elements/0/accessibility_label]"]
    assert (await client.chat_postMessage(channel=TRIAGE, text="t", blocks=[actions(button(
        accessibility_label="a" * 75))]))["ok"]


async def test_confirm_style_must_be_primary_or_danger(client: AsyncWebClient) -> None:
    confirm = {
        "title": {"type": "plain_text", "text": "Sure?"},
        "text": {"type": "plain_text", "text": "Really?"},
        "confirm": {"type": "plain_text", "text": "Yes"},
        "deny": {"type": "plain_text", "text": "No"},
        "style": "warning",
    }
    errors = await blocks_refused(client, [actions(button(confirm=confirm))])
    assert errors == ["must be one of primary, danger [json-pointer:/blocks/0/elements/0/confirm/style]"]


# -- 5. section accessories ----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["plain_text_input", "email_text_input", "number_input", "datetimepicker"])
async def test_input_elements_are_not_section_accessories(client: AsyncWebClient, kind: str) -> None:
    accessory = {"type": kind, "action_id": "in", **({"is_decimal_allowed": False} if kind == "number_input" else {})}
    errors = await blocks_refused(client, [section("x", accessory=accessory)])
    assert errors == [f"unsupported element type: {kind} [json-pointer:/blocks/0/accessory/type]"]


# -- 6. image URLs and min_query_length ----------------------------------------------------------------------
async def test_image_urls_over_3000_characters(client: AsyncWebClient) -> None:
    url = "https://example.com/" + "a" * 2981
    image_block = {"type": "image", "image_url": url, "alt_text": "a"}
    image_element = {"type": "image", "image_url": url, "alt_text": "a"}
    errors = await blocks_refused(client, [image_block, {"type": "context", "elements": [image_element]}])
    assert errors == [
        "must be less than 3001 characters [json-pointer:/blocks/0/image_url]",
        "must be less than 3001 characters [json-pointer:/blocks/1/elements/0/image_url]",
    ]


async def test_min_query_length_must_be_an_integer(client: AsyncWebClient, sandbox: SlackSandbox) -> None:
    element = {"type": "external_select", "action_id": "tz", "min_query_length": "2"}
    messages = await view_refused(client, sandbox, modal(input_block(element)))
    assert messages == ["[ERROR] must be an integer [json-pointer:/view/blocks/0/element/min_query_length]"]


# -- 7. Home tabs ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("field", ["title", "submit", "close"])
async def test_a_home_view_has_no_title_submit_or_close(client: AsyncWebClient, field: str) -> None:
    home = {"type": "home", "blocks": [section("x")], field: {"type": "plain_text", "text": "X"}}
    response = await refusal(client.views_publish(user_id=ALICE, view=home))
    assert response["error"] == "invalid_arguments"
    assert response["response_metadata"]["messages"] == [
        f"[ERROR] invalid additional property: {field} [json-pointer:/view]"
    ]


# -- 8. booleans -----------------------------------------------------------------------------------------------
async def test_boolean_arguments_must_be_booleans(client: AsyncWebClient, sandbox: SlackSandbox) -> None:
    response = await refusal(client.chat_postMessage(channel=TRIAGE, text="t", unfurl_links="maybe"))  # type: ignore[arg-type]
    assert response["error"] == "invalid_arguments"
    assert response["response_metadata"]["messages"] == ["[ERROR] must be a boolean [json-pointer:/unfurl_links]"]
    response = await refusal(client.conversations_create(name="inc-1", is_private="perhaps"))  # type: ignore[arg-type]
    assert response["response_metadata"]["messages"] == ["[ERROR] must be a boolean [json-pointer:/is_private]"]
    assert sandbox.channel_by_name("inc-1") is None  # a refused call changes nothing


async def test_boolean_spellings_slack_accepts(client: AsyncWebClient) -> None:
    spellings: tuple[Any, ...] = (False, True, "true", "false", "1", "0", 1, 0)
    for value in spellings:
        assert (await client.chat_postMessage(channel=TRIAGE, text="t", unfurl_links=value))["ok"]
    assert (await client.conversations_create(name="inc-2", is_private=False))["ok"]


# -- 9. JSON bodies and where the token goes -----------------------------------------------------------------
async def test_a_json_body_is_not_read_by_methods_that_only_take_forms(sandbox: SlackSandbox) -> None:
    # users.info and conversations.members accept only application/x-www-form-urlencoded: Slack drops the JSON
    # arguments and answers as though none were sent.
    assert (await raw(sandbox, "users.info", json={"user": ALICE}, headers=BEARER))["error"] == "user_not_found"
    members = await raw(sandbox, "conversations.members", json={"channel": TRIAGE}, headers=BEARER)
    assert members["error"] == "channel_not_found"
    assert (await raw(sandbox, "users.info", data={"user": ALICE}, headers=BEARER))["ok"] is True
    # conversations.invite is among the methods that do take JSON.
    invited = await raw(sandbox, "conversations.invite", json={"channel": TRIAGE, "users": CAROL}, headers=BEARER)
    assert invited["ok"] is True


async def test_a_json_call_must_carry_its_token_in_the_authorization_header(sandbox: SlackSandbox) -> None:
    body = {"token": TOKEN, "channel": TRIAGE, "text": "hi"}
    assert await raw(sandbox, "chat.postMessage", json=body) == {"ok": False, "error": "not_authed"}
    assert (await raw(sandbox, "chat.postMessage", json=body, params={"token": TOKEN}))["error"] == "not_authed"
    assert (await raw(sandbox, "chat.postMessage", data=body))["ok"] is True  # a form body may carry it


async def test_a_token_in_the_query_string_is_refused_for_a_new_app(sandbox: SlackSandbox) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(sandbox.api_url + "auth.test", params={"token": TOKEN}) as response:
            assert await response.json() == {"ok": False, "error": "invalid_auth"}
        async with http.get(sandbox.api_url + "auth.test", headers=BEARER) as response:
            assert (await response.json())["ok"] is True


async def test_malformed_argument_names_and_app_level_tokens(sandbox: SlackSandbox) -> None:
    answer = await raw(sandbox, "chat.postMessage", data={"channel": TRIAGE, "text": "t", "bad-name": "1"},
                       headers=BEARER)
    assert answer == {"ok": False, "error": "invalid_arg_name"}
    sandbox.app_tokens.add("xapp-1-A0SANDBOX-1-x")
    app_level = await raw(sandbox, "chat.postMessage", json={"channel": TRIAGE, "text": "t"},
                          headers={"Authorization": "Bearer xapp-1-A0SANDBOX-1-x"})
    assert app_level == {"ok": False, "error": "not_allowed_token_type"}


# -- 10. conversations.invite --------------------------------------------------------------------------------
async def test_invite_takes_at_most_1000_users(client: AsyncWebClient) -> None:
    users = [f"U{i:09d}" for i in range(1001)]
    assert (await refusal(client.conversations_invite(channel=TRIAGE, users=users)))["error"] == "too_many_users"


async def test_invite_fails_the_whole_batch_when_part_is_already_in(
    client: AsyncWebClient, sandbox: SlackSandbox
) -> None:
    response = await refusal(client.conversations_invite(channel=TRIAGE, users=[CAROL, ALICE]))
    assert response["error"] == "already_in_channel"
    assert response["errors"] == [{"user": ALICE, "ok": False, "error": "already_in_channel"}]
    assert CAROL not in sandbox.channels[TRIAGE].members  # nobody from a failed batch is invited
    everyone_in = await refusal(client.conversations_invite(channel=TRIAGE, users=[ALICE, BOB], force=True))
    assert everyone_in["error"] == "already_in_channel" and len(everyone_in["errors"]) == 2


async def test_invite_with_force_invites_the_valid_ones(client: AsyncWebClient, sandbox: SlackSandbox) -> None:
    response = await client.conversations_invite(channel=TRIAGE, users=[CAROL, ALICE, "U0NOBODY01"], force=True)
    assert response["ok"] and CAROL in sandbox.channels[TRIAGE].members


# -- 11. scopes ------------------------------------------------------------------------------------------------
async def test_a_method_outside_the_granted_scopes_is_missing_scope(
    client: AsyncWebClient, sandbox: SlackSandbox
) -> None:
    sandbox.install_app(manifest(scopes=["commands", "chat:write"]))
    response = await refusal(client.conversations_create(name="inc-3"))
    assert (response["error"], response["needed"], response["provided"]) == (
        "missing_scope",
        "channels:manage",
        "chat:write,commands",
    )
    private = await refusal(client.conversations_create(name="inc-3", is_private=True))
    assert private["needed"] == "groups:write"
    assert (await client.chat_postMessage(channel=TRIAGE, text="granted"))["ok"]
    opened = await client.views_open(trigger_id=sandbox.issue_trigger_id(ALICE), view=modal(section("x")))
    assert opened["ok"]  # views.* need no scope


async def test_the_repo_manifest_grants_exactly_its_bot_scopes(client: AsyncWebClient, sandbox: SlackSandbox) -> None:
    repo = load_manifest()
    sandbox.install_app(repo)
    granted = frozenset(repo["oauth_config"]["scopes"]["bot"])
    assert sandbox.granted_scopes == granted
    # A read method the bot never calls, so the manifest rightly does not grant its scope.
    outside = [m for m in ("users.info", "conversations.join", "conversations.members", "conversations.info")
               if m in sandbox.method_table() and (needed_scope(m, "public") or "") not in granted]
    assert outside, "every probe method's scope is granted: pick one the manifest does not grant"
    method = outside[0]
    response = await refusal(client.api_call(method, http_verb="GET", params={"channel": TRIAGE, "user": ALICE}))
    assert response["error"] == "missing_scope" and response["needed"] == needed_scope(method, "public")


# -- 12. built-in slash commands -------------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["/status", "/remind", "/away", "/Topic"])
def test_a_manifest_declaring_a_built_in_command_is_refused(command: str) -> None:
    slack = SlackSandbox(bot_token=TOKEN)
    with pytest.raises(ManifestRefused) as refused:
        slack.install_app(manifest(commands=("/ticket", command)))
    assert refused.value.body == {
        "ok": False,
        "error": "invalid_manifest",
        "errors": [{"message": "invalid name", "pointer": "/features/slash_commands/1/command"}],
    }
    assert slack.granted_scopes is None  # nothing was installed


def test_the_repo_manifest_installs() -> None:
    slack = SlackSandbox(bot_token=TOKEN)
    slack.install_app(load_manifest())
    assert slack.commands and not set(slack.commands) & BUILT_IN_COMMANDS


# -- 13. ephemerals --------------------------------------------------------------------------------------------
async def test_an_ephemeral_to_someone_outside_the_channel_is_user_not_in_channel(client: AsyncWebClient) -> None:
    for user in (CAROL, "U0NOBODY01"):
        response = await refusal(client.chat_postEphemeral(channel=TRIAGE, user=user, text="psst"))
        assert response["error"] == "user_not_in_channel"
    assert (await client.chat_postEphemeral(channel=TRIAGE, user=ALICE, text="psst"))["ok"]

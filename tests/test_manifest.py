"""manifest.yml is installable and declares exactly what the code uses: Slack's own schema, the SDK's rules,
every slash command and event, and the scopes of the Web API methods called (no more, no fewer)."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from slack_sdk.web.async_client import AsyncWebClient

from blocks.ids import Command, Shortcut
from bot.tickets.live_check import NEEDED_SCOPES

ROOT = Path(__file__).resolve().parent.parent
MANIFEST: dict[str, Any] = yaml.safe_load((ROOT / "manifest.yml").read_text())
# Slack's published manifest schema (slackapi/manifest-schema, schemas/manifest.schema.1.0.0.json, MIT).
SCHEMA = json.loads((ROOT / "tests/data/slack-manifest.schema.1.0.0.json").read_text())
PRODUCT = [p for d in ("bot", "handlers", "blocks") for p in (ROOT / d).rglob("*.py") if "sandbox" not in p.parts]

# The bot scope each Web API method needs: Slack's method reference for granular bot tokens (the OpenAPI spec,
# slackapi/slack-api-specs web-api/slack_web_openapi_v2.json, lists the classic `channels:write` where bot
# tokens now need `channels:manage`; views.* and chat.getPermalink need none).
SCOPE_OF = {"chat_postMessage": "chat:write", "chat_update": "chat:write", "chat_postEphemeral": "chat:write",
            "chat_getPermalink": None, "conversations_create": "channels:manage",
            "conversations_invite": "channels:manage", "conversations_setTopic": "channels:manage",
            "conversations_setPurpose": "channels:manage", "conversations_list": "channels:read",
            "conversations_info": "channels:read", "conversations_members": "channels:read",
            "conversations_history": "channels:history", "conversations_replies": "channels:history",
            "conversations_join": "channels:join", "auth_test": None,
            "usergroups_users_list": "usergroups:read", "users_info": "users:read",
            "users_lookupByEmail": "users:read.email",
            "views_open": None, "views_update": None, "views_push": None, "views_publish": None,
            # files_upload_v2 is files.getUploadURLExternal + the upload + files.completeUploadExternal.
            "files_upload_v2": "files:write", "files_getUploadURLExternal": "files:write",
            "files_completeUploadExternal": "files:write"}


# Scopes Slack grants only together: users:read.email is refused at install without users:read.
COMPANION = {"users:read.email": "users:read"}
# The scope each subscribed bot event needs before Slack delivers it (its event reference page).
EVENT_SCOPE = {"message.channels": "channels:history", "reaction_added": "reactions:read", "app_home_opened": None}


def web_api_methods_called() -> set[str]:
    """Every AsyncWebClient method named in product code (as `client.chat_postMessage(...)` or a reference)."""
    methods = {name for name in dir(AsyncWebClient) if "_" in name and not name.startswith("_")
               and name.split("_", 1)[0] in {"chat", "conversations", "users", "usergroups", "views", "team",
                                            "reactions", "pins", "files", "bookmarks", "auth"}}
    called: set[str] = set()
    for path in PRODUCT:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in methods:
                called.add(node.attr)
    return called


def bot_scopes() -> set[str]:
    return set(MANIFEST["oauth_config"]["scopes"]["bot"])


def test_manifest_passes_slacks_schema() -> None:
    jsonschema.validate(MANIFEST, SCHEMA)


def test_a_wrong_manifest_fails_the_schema() -> None:
    broken = {**MANIFEST, "features": {**MANIFEST["features"], "unknown_feature": True}}
    try:
        jsonschema.validate(broken, SCHEMA)
    except jsonschema.ValidationError:
        return
    raise AssertionError("the schema accepted an unknown feature: the check is toothless")


def test_read_only_messages_tab_needs_the_tab() -> None:
    # deno-slack-sdk refuses messagesTabReadOnlyEnabled without messagesTabEnabled, and so does Slack's UI.
    home = MANIFEST["features"]["app_home"]
    assert not home.get("messages_tab_read_only_enabled") or home.get("messages_tab_enabled")


def test_every_slash_command_is_declared_and_nothing_else() -> None:
    declared = {c["command"] for c in MANIFEST["features"]["slash_commands"]}
    assert declared == {c.value for c in Command}
    for command in MANIFEST["features"]["slash_commands"]:
        assert command["url"].startswith("https://") and command["url"].endswith("/slack/events")


def test_every_event_is_declared() -> None:
    listened = set()
    for path in (ROOT / "handlers").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "event"
                    and node.args and isinstance(node.args[0], ast.Constant)):
                listened.add(node.args[0].value)
    assert listened, "no event listeners found: the pattern is stale"
    # Bolt's "message" listener hears the message.* events; the manifest names each conversation kind.
    subscribed = {e.split(".")[0] for e in MANIFEST["settings"]["event_subscriptions"]["bot_events"]}
    assert listened == subscribed
    # message.channels is delivered only with channels:history granted.
    assert "message.channels" not in MANIFEST["settings"]["event_subscriptions"]["bot_events"] \
        or "channels:history" in bot_scopes()


def test_every_called_method_has_its_scope() -> None:
    called = web_api_methods_called()
    assert {"chat_postMessage", "views_open", "usergroups_users_list"} <= called, "the method scan is stale"
    for method in called:
        assert method in SCOPE_OF, f"add {method} and its scope (from the Web API spec) to SCOPE_OF"
        needed = SCOPE_OF[method]
        assert needed is None or needed in bot_scopes(), f"{method} needs {needed} in manifest.yml"


def test_every_granted_scope_is_used() -> None:
    # An app asks for what it uses: an unused scope is a permission an admin is asked for nothing.
    used = {SCOPE_OF[m] for m in web_api_methods_called() if SCOPE_OF.get(m)} | {"commands"}
    used |= {scope for e in MANIFEST["settings"]["event_subscriptions"]["bot_events"] if (scope := EVENT_SCOPE[e])}
    used |= {COMPANION[s] for s in used if s in COMPANION}
    assert bot_scopes() == used


def test_socket_mode_and_interactivity_are_on() -> None:
    assert MANIFEST["settings"]["socket_mode_enabled"] is True
    assert MANIFEST["settings"]["interactivity"]["is_enabled"] is True


def test_every_event_has_its_scope() -> None:
    for event in MANIFEST["settings"]["event_subscriptions"]["bot_events"]:
        assert event in EVENT_SCOPE, f"add {event} and the scope it needs to EVENT_SCOPE"
        assert EVENT_SCOPE[event] is None or EVENT_SCOPE[event] in bot_scopes(), f"{event} needs {EVENT_SCOPE[event]}"


def test_every_shortcut_is_declared_and_handled() -> None:
    declared = {s["callback_id"]: s for s in MANIFEST["features"].get("shortcuts") or []}
    assert set(declared) == {s.value for s in Shortcut}
    assert declared[Shortcut.FILE_TICKET]["type"] == "message"
    listened = {ast.unparse(node.args[0]) for path in (ROOT / "handlers").rglob("*.py")
                for node in ast.walk(ast.parse(path.read_text()))
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "shortcut" and node.args}
    assert listened == {f"Shortcut.{s.name}.value" for s in Shortcut}


def test_the_live_check_knows_every_scope() -> None:
    # check-config --live names what stops working for each scope the manifest asks for, and for no other.
    assert set(NEEDED_SCOPES) == bot_scopes()

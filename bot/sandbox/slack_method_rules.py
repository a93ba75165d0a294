"""What each Web API method the sandbox serves demands of a call: the bot scope, whether it reads a JSON body, and
which of its arguments are booleans.

Taken from slackapi/slack-api-specs web-api/slack_web_openapi_v2.json: `consumes` (only methods listing
application/json read a JSON body; the others answer as though its arguments were never sent),
`security.slackAuth` (the spec predates granular bot scopes, so its channels:write/groups:write pair appears as
the bot scopes docs.slack.dev/reference/methods/<method> lists now: channels:manage, groups:write, im:write,
mpim:write; channels:join for conversations.join; chat:write for chat:write:bot) and the parameters of type
boolean; conversations.invite `force` is from its method page. A method missing here (one another change adds
to the table) gets the lenient default: JSON read, no scope, no boolean arguments.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.slack_state import ApiFailure

# Conversation kinds a scope can depend on; "any" when one scope covers them all.
PUBLIC, PRIVATE, IM, MPIM, ANY = "public", "private", "im", "mpim", "any"


def _per_kind(public: str, private: str, im: str, mpim: str) -> dict[str, str]:
    return {PUBLIC: public, PRIVATE: private, IM: im, MPIM: mpim}


_MANAGE = _per_kind("channels:manage", "groups:write", "im:write", "mpim:write")
_READ = _per_kind("channels:read", "groups:read", "im:read", "mpim:read")
_HISTORY = _per_kind("channels:history", "groups:history", "im:history", "mpim:history")


@dataclass(frozen=True)
class MethodRule:
    scopes: Mapping[str, str] = field(default_factory=dict)  # conversation kind -> bot scope; empty: none needed
    reads_json: bool = True
    booleans: frozenset[str] = frozenset()


_CHAT = {ANY: "chat:write"}
METHOD_RULES: dict[str, MethodRule] = {
    "auth.test": MethodRule(),
    "chat.postMessage": MethodRule(
        _CHAT, booleans=frozenset({"link_names", "mrkdwn", "reply_broadcast", "unfurl_links", "unfurl_media"})
    ),
    "chat.update": MethodRule(_CHAT),
    "chat.postEphemeral": MethodRule(_CHAT, booleans=frozenset({"as_user", "link_names"})),
    "chat.getPermalink": MethodRule(reads_json=False),
    # views.* take no scope: the trigger_id (or the user's own Home tab) is the permission.
    "views.open": MethodRule(),
    "views.update": MethodRule(),
    "views.push": MethodRule(),
    "views.publish": MethodRule(),
    "conversations.create": MethodRule(_MANAGE, booleans=frozenset({"is_private"})),
    "conversations.setTopic": MethodRule(_MANAGE),
    "conversations.invite": MethodRule(_MANAGE, booleans=frozenset({"force"})),
    "conversations.join": MethodRule({ANY: "channels:join"}),
    "conversations.info": MethodRule(
        _READ, reads_json=False, booleans=frozenset({"include_locale", "include_num_members"})
    ),
    "conversations.members": MethodRule(_READ, reads_json=False),
    "conversations.list": MethodRule(_READ, reads_json=False, booleans=frozenset({"exclude_archived"})),
    "conversations.history": MethodRule(_HISTORY, reads_json=False, booleans=frozenset({"inclusive"})),
    "conversations.replies": MethodRule(_HISTORY, reads_json=False, booleans=frozenset({"inclusive"})),
    "usergroups.users.list": MethodRule(
        {ANY: "usergroups:read"}, reads_json=False, booleans=frozenset({"include_disabled"})
    ),
    "users.info": MethodRule({ANY: "users:read"}, reads_json=False, booleans=frozenset({"include_locale"})),
    # users.lookupByEmail needs users:read.email (and, as with every users.* read, users:read beside it).
    "users.lookupByEmail": MethodRule({ANY: "users:read.email"}, reads_json=False),
    # The upload flow (files.upload is retired): both need files:write; getUploadURLExternal consumes only a form.
    "files.getUploadURLExternal": MethodRule({ANY: "files:write"}, reads_json=False),
    "files.completeUploadExternal": MethodRule({ANY: "files:write"}),
    # Called with the app-level token, whose own connections:write is the permission, not a bot scope.
    "apps.connections.open": MethodRule(reads_json=False),
}
_DEFAULT = MethodRule()

# "An argument whose name falls outside the bounds of accepted or expected values. This includes very long names
# and names with non-alphanumeric characters other than _" (invalid_arg_name in every method's error table).
_ARG_NAME = re.compile(r"[A-Za-z0-9_]{1,255}")
# Slack reads booleans from a form as true/false or 1/0 (slack_sdk sends "1"/"0": "Slack APIs safely accept
# "0"/"1" as boolean values").
_BOOLEAN_STRINGS = frozenset({"true", "false", "1", "0"})


def rule_for(method: str) -> MethodRule:
    return METHOD_RULES.get(method, _DEFAULT)


def needed_scope(method: str, kind: str) -> str | None:
    scopes = rule_for(method).scopes
    return scopes.get(ANY) or scopes.get(kind) or scopes.get(PUBLIC)


def _is_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return True
    if isinstance(value, int):
        return value in (0, 1)
    return isinstance(value, str) and value.lower() in _BOOLEAN_STRINGS


def check_arguments(method: str, params: Mapping[str, Any]) -> None:
    """Refuse malformed argument names (invalid_arg_name) and booleans that are not booleans (invalid_arguments)."""
    if any(not _ARG_NAME.fullmatch(name) for name in params):
        raise ApiFailure("invalid_arg_name")
    booleans = sorted(rule_for(method).booleans)
    wrong = [name for name in booleans if name in params and not _is_boolean(params[name])]
    if wrong:
        messages = [f"[ERROR] must be a boolean [json-pointer:/{name}]" for name in wrong]
        raise ApiFailure("invalid_arguments", messages=messages)

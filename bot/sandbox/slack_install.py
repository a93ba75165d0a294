"""Installing the app from its manifest: what Slack then lets the bot do, and what it refuses to install.

Slack grants a bot token exactly the manifest's oauth_config.scopes.bot; a method whose scope is not among them is
answered `{"ok": false, "error": "missing_scope", "needed": "<scope>", "provided": "<granted, comma-separated>"}`.
A manifest declaring one of Slack's built-in slash commands is refused as the App Manifest APIs refuse a manifest
(docs.slack.dev/reference/methods/apps.manifest.validate): `{"ok": false, "error": "invalid_manifest", "errors":
[{"message": "invalid name", "pointer": "/features/slash_commands/0/command"}]}`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from bot.sandbox.slack_lookups import SlackLookups
from bot.sandbox.slack_method_rules import IM, PRIVATE, PUBLIC, needed_scope
from bot.sandbox.slack_params import truthy
from bot.sandbox.slack_state import ApiFailure

MANIFEST = Path(__file__).resolve().parents[2] / "manifest.yml"

# Slack's own commands, which no app may declare: the Help Center's "Use built-in slash commands" list
# (slack.com/help/articles/201259356), api.slack.com/interactivity/slash-commands ("such as /topic and /remind").
BUILT_IN_COMMANDS = frozenset(
    {
        "/active", "/apps", "/archive", "/away", "/call", "/collapse", "/dm", "/dnd", "/expand", "/feed",
        "/feedback", "/help", "/invite", "/invite_people", "/join", "/kick", "/leave", "/me", "/msg", "/mute",
        "/open", "/prefs", "/remind", "/remove", "/rename", "/search", "/shortcuts", "/shrug", "/star",
        "/status", "/topic", "/who",
    }
)


class ManifestRefused(Exception):
    """Slack would not create or install an app from this manifest; `body` is its answer."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['message']} at {e['pointer']}" for e in errors))
        self.errors = errors

    @property
    def body(self) -> dict[str, Any]:
        return {"ok": False, "error": "invalid_manifest", "errors": self.errors}


def load_manifest(path: Path = MANIFEST) -> dict[str, Any]:
    loaded = yaml.safe_load(path.read_text())
    if not isinstance(loaded, dict):
        raise ManifestRefused([{"message": "must be an object", "pointer": "/"}])
    return loaded


def _commands(manifest: Mapping[str, Any]) -> list[dict[str, Any]]:
    features = manifest.get("features") or {}
    return [c for c in features.get("slash_commands") or [] if isinstance(c, dict)]


class AppInstall(SlackLookups):
    def install_app(self, manifest: Mapping[str, Any]) -> None:
        """Install the app the manifest describes: its bot scopes, slash commands, shortcuts and bot events,
        nothing else."""
        commands = _commands(manifest)
        refused = [
            {"message": "invalid name", "pointer": f"/features/slash_commands/{i}/command"}
            for i, command in enumerate(commands)
            if str(command.get("command", "")).lower() in BUILT_IN_COMMANDS
        ]
        if refused:
            raise ManifestRefused(refused)
        scopes = ((manifest.get("oauth_config") or {}).get("scopes") or {}).get("bot") or []
        self.granted_scopes = frozenset(str(s) for s in scopes)
        self.commands = {str(c["command"]): dict(c) for c in commands if c.get("command")}
        features = manifest.get("features") or {}
        self.shortcuts = {str(s["callback_id"]): dict(s) for s in features.get("shortcuts") or []
                          if isinstance(s, dict) and s.get("callback_id")}
        events = ((manifest.get("settings") or {}).get("event_subscriptions") or {}).get("bot_events") or []
        self.bot_events = frozenset(str(e) for e in events)
        # An app created from a manifest is newer than 24 Feb 2021, after which Slack refuses tokens sent in a
        # query string (docs.slack.dev/changelog/2020-11-no-more-tokens-in-querystrings-for-newly-created-apps).
        self.query_string_tokens = False

    def _conversation_kind(self, method: str, params: Mapping[str, Any]) -> str:
        if method == "conversations.create":
            return PRIVATE if truthy(params.get("is_private")) else PUBLIC
        try:
            channel = self.resolve_channel(params.get("channel"))
        except ApiFailure:
            return PUBLIC  # the method itself will say channel_not_found once the scope is there
        return IM if channel.is_im else PRIVATE if channel.is_private else PUBLIC

    def check_scope(self, method: str, params: Mapping[str, Any]) -> None:
        if self.granted_scopes is None:
            return
        needed = needed_scope(method, self._conversation_kind(method, params))
        if needed is not None and needed not in self.granted_scopes:
            provided = ",".join(sorted(self.granted_scopes))
            raise ApiFailure("missing_scope", extra={"needed": needed, "provided": provided})

"""manifest.yml declares what the code uses: every slash command, the events, and the scopes of the calls made."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = (ROOT / "manifest.yml").read_text()
SOURCE = "\n".join(p.read_text() for d in ("bot", "handlers") for p in (ROOT / d).rglob("*.py")
                   if "sandbox" not in p.parts and "demo" not in p.parts)

# The bot scope each Web API method needs (Slack's method reference).
SCOPE_OF = {"chat_postMessage": "chat:write", "chat_update": "chat:write", "chat_postEphemeral": "chat:write",
            "conversations_create": "channels:manage", "conversations_invite": "channels:manage",
            "conversations_setTopic": "channels:manage", "usergroups_users_list": "usergroups:read"}


def test_every_slash_command_is_declared() -> None:
    for command in set(re.findall(r'app\.command\("(/[a-z]+)"\)', SOURCE)):
        assert f"command: {command}" in MANIFEST


def test_every_event_is_declared() -> None:
    for event in set(re.findall(r'app\.event\("([a-z_]+)"\)', SOURCE)):
        assert f"- {event}" in MANIFEST


def test_every_called_method_has_its_scope() -> None:
    called = set(re.findall(r"(?:client|self\._slack)\.(\w+)\(", SOURCE))
    assert called, "no Web API calls found: the pattern is stale"
    for method in called:
        if method.startswith("views_"):
            continue  # views.* need no scope
        assert method in SCOPE_OF, f"add {method} to SCOPE_OF and the manifest"
        assert f"- {SCOPE_OF[method]}" in MANIFEST, f"{method} needs {SCOPE_OF[method]}"


def test_socket_mode_and_interactivity_are_on() -> None:
    assert "socket_mode_enabled: true" in MANIFEST and "is_enabled: true" in MANIFEST

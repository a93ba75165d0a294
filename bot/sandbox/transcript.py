"""Render Slack messages the way a person reads them, for demo transcripts and readable test failures."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.sandbox.slack_models import Channel, LogEntry, User

_LINK = re.compile(r"<([^<>|]+)\|([^<>]+)>")
_BARE = re.compile(r"<([^<>|]+)>")
_MENTION = re.compile(r"@([UW][A-Z0-9]{4,})")
DIVIDER = "─" * 40


def _unlink(text: str) -> str:
    def labelled(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        return target[0] + label if target[0] in ("@", "#") else label

    def bare(match: re.Match[str]) -> str:
        target = match.group(1)
        if target.startswith("!subteam^"):
            return "@" + target.removeprefix("!subteam^")
        if target.startswith("!"):
            return "@" + target[1:]
        return target

    return _BARE.sub(bare, _LINK.sub(labelled, text))


def _text(obj: Any) -> str:
    if isinstance(obj, dict) and isinstance(obj.get("text"), str):
        return _unlink(obj["text"])
    return ""


def _element(el: Any) -> str:
    if not isinstance(el, dict):
        return ""
    kind = el.get("type", "")
    if kind in ("button", "workflow_button"):
        return f"[{_text(el.get('text'))}]"
    if kind == "image":
        return f"(image: {el.get('alt_text', '')})"
    if kind == "overflow":
        return "[⋯]"
    if kind in ("checkboxes", "radio_buttons"):
        return " ".join(f"( ) {_text(o.get('text'))}" for o in el.get("options") or [])
    label = (
        _text(el.get("initial_option", {}).get("text")) if isinstance(el.get("initial_option"), dict) else ""
    )
    placeholder = _text(el.get("placeholder")) or kind.replace("_", " ")
    return f"[{label or placeholder} ▾]" if "select" in kind else f"[{placeholder}]"


def _rich_text(elements: Sequence[Any]) -> str:
    parts: list[str] = []
    for el in elements:
        if not isinstance(el, dict):
            continue
        if isinstance(el.get("elements"), list):
            parts.append(_rich_text(el["elements"]))
        elif el.get("type") == "user":
            parts.append(f"<@{el.get('user_id')}>")
        elif el.get("type") == "link":
            parts.append(str(el.get("text") or el.get("url") or ""))
        else:
            parts.append(str(el.get("text", "")))
    return "".join(parts)


def _block(block: Mapping[str, Any]) -> list[str]:
    kind = block.get("type")
    if kind == "header":
        return [_text(block.get("text")).upper()]
    if kind == "divider":
        return [DIVIDER]
    if kind == "section":
        lines = _text(block.get("text")).splitlines()
        fields = [_text(f).replace("\n", " ") for f in block.get("fields") or []]
        lines += ["    ".join(fields[i : i + 2]) for i in range(0, len(fields), 2)]
        accessory = _element(block.get("accessory"))
        if accessory and not accessory.startswith("(image"):
            lines = [*lines[:-1], f"{lines[-1]}  {accessory}"] if lines else [accessory]
        return lines
    if kind == "context":
        parts = [_text(e) if e.get("type") != "image" else "" for e in block.get("elements") or []]
        return [" · ".join(p for p in parts if p)]
    if kind == "actions":
        return [" ".join(_element(e) for e in block.get("elements") or [])]
    if kind == "input":
        return [f"{_text(block.get('label'))}: {_element(block.get('element'))}"]
    if kind == "image":
        return [f"(image: {block.get('alt_text', '')})"]
    if kind == "rich_text":
        return _unlink(_rich_text(block.get("elements") or [])).splitlines()
    if kind == "markdown":
        return str(block.get("text", "")).splitlines()
    return [f"({kind})"]


def blocks_to_text(blocks: list[dict[str, Any]], text: str = "") -> str:
    """What the message looks like in the Slack client; `text` is only the notification fallback there."""
    if not blocks:
        return _unlink(text)
    lines: list[str] = []
    for block in blocks:
        if isinstance(block, dict):
            lines += _block(block)
    return "\n".join(line.rstrip() for line in lines)


def render_log(
    entries: Sequence[LogEntry], users: Mapping[str, User], channels: Mapping[str, Channel]
) -> list[str]:
    def who(user_id: str) -> str:
        user = users.get(user_id)
        return user.name if user else user_id

    def where(channel_id: str) -> str:
        channel = channels.get(channel_id)
        if channel is None:
            return channel_id
        return f"@{who(channel.name)} (DM)" if channel.is_im else f"#{channel.name}"

    lines: list[str] = []
    for entry in entries:
        if entry.kind == "modal":
            lines.append(f'[modal "{entry.text}" {entry.note} for {who(entry.user)}]')
            continue
        rendered = _MENTION.sub(lambda m: "@" + who(m.group(1)), blocks_to_text(entry.blocks, entry.text))
        body = rendered.splitlines() or [""]
        marks = {"delete": "(deleted)", "ephemeral": "(only visible to you)"}
        mark = "(edited)" if entry.note == "edited" else marks.get(entry.kind, "")
        indent = "    ↳ " if entry.kind == "reply" or (entry.kind != "message" and entry.thread_ts) else ""
        speaker = f"{who(entry.user)} → {who(entry.note)}" if entry.kind == "ephemeral" else who(entry.user)
        head = f"{indent}{where(entry.channel)}  {speaker}: "
        lines.append(f"{head}{body[0]}{'  ' + mark if mark else ''}")
        pad = " " * len(head)
        lines += [f"{pad}{line}" for line in body[1:]]
    return lines

"""Block Kit limits as Slack enforces them server-side: blocks and views; elements are in slack_elements.py.

Each check returns Slack-style "[ERROR] ... [json-pointer:/...]" strings, so a failing test shows the same
pointer a real workspace would have reported. Which properties each block and view may carry is in
slack_block_rules.py (Slack refuses any other: "invalid additional property").
"""

from __future__ import annotations

import copy
import secrets
import string
from typing import Any

from bot.sandbox.slack_block_rules import (
    BLOCK_FIELDS,
    BLOCK_TYPES,
    INPUT_ELEMENTS,
    SECTION_ACCESSORIES,
    VIEW_FIELDS,
    check_image,
    check_str,
    check_text,
    err,
    extra_properties,
    missing,
)
from bot.sandbox.slack_elements import all_options, check_element

__all__ = ["MAX_MESSAGE_BLOCKS", "MAX_VIEW_BLOCKS", "all_options", "check_blocks", "check_view", "with_generated_ids"]

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
_ID_CHARS = string.ascii_letters + string.digits


def _check_block(block: dict[str, Any], ptr: str) -> list[str]:
    kind = block["type"]
    errors: list[str] = []
    if kind == "section":
        if block.get("text") is None and not block.get("fields"):
            errors.append(err("must provide either text or fields", ptr))
        errors += check_text(block.get("text"), f"{ptr}/text", max_len=3000, required=False)
        fields = block.get("fields") or []
        if len(fields) > 10:
            errors.append(err("no more than 10 items allowed", f"{ptr}/fields"))
        for i, item in enumerate(fields):
            errors += check_text(item, f"{ptr}/fields/{i}", max_len=2000)
        if block.get("accessory") is not None:
            errors += check_element(block["accessory"], f"{ptr}/accessory", allowed=SECTION_ACCESSORIES)
    elif kind == "header":
        errors += check_text(block.get("text"), f"{ptr}/text", max_len=150, plain_only=True)
    elif kind in ("context", "actions"):
        errors += _check_element_list(block, ptr, 10 if kind == "context" else 25, context=kind == "context")
    elif kind == "input":
        errors += check_text(block.get("label"), f"{ptr}/label", max_len=2000, plain_only=True)
        errors += check_text(block.get("hint"), f"{ptr}/hint", max_len=2000, plain_only=True, required=False)
        element = block.get("element")
        if not isinstance(element, dict) or element.get("type") not in INPUT_ELEMENTS:
            errors.append(err("must be a valid input element", f"{ptr}/element"))
        else:
            errors += check_element(element, f"{ptr}/element")
    elif kind == "image":
        errors += check_image(block, ptr)
        errors += check_text(
            block.get("title"), f"{ptr}/title", max_len=2000, plain_only=True, required=False
        )
    elif kind == "rich_text" and not isinstance(block.get("elements"), list):
        errors.append(missing(f"{ptr}/elements"))
    elif kind == "markdown":
        errors += check_str(block.get("text"), f"{ptr}/text", 12000)
    return errors


def _check_element_list(block: dict[str, Any], ptr: str, max_items: int, *, context: bool) -> list[str]:
    elements = block.get("elements")
    if not isinstance(elements, list) or not elements:
        return [err("must provide at least one element", f"{ptr}/elements")]
    errors = (
        [err(f"no more than {max_items} items allowed", f"{ptr}/elements")]
        if len(elements) > max_items
        else []
    )
    seen: set[str] = set()
    for i, element in enumerate(elements):
        sub = f"{ptr}/elements/{i}"
        if context and isinstance(element, dict) and element.get("type") in ("plain_text", "mrkdwn"):
            errors += check_text(element, sub, max_len=3000)
            continue
        if context and not (isinstance(element, dict) and element.get("type") == "image"):
            errors.append(err("context elements must be text or image", sub))
            continue
        errors += check_element(element, sub)
        action_id = element.get("action_id") if isinstance(element, dict) else None
        if isinstance(action_id, str):
            if action_id in seen:
                errors.append(
                    err(f"action_id must be unique within a block: {action_id}", f"{sub}/action_id")
                )
            seen.add(action_id)
    return errors


def check_blocks(blocks: Any, ptr: str, *, max_blocks: int) -> list[str]:
    if not isinstance(blocks, list):
        return [err("must be an array", ptr)]
    if len(blocks) > max_blocks:
        return [err(f"no more than {max_blocks} items allowed", ptr)]
    errors: list[str] = []
    block_ids: set[str] = set()
    for i, block in enumerate(blocks):
        sub = f"{ptr}/{i}"
        if not isinstance(block, dict):
            errors.append(err("must be a block object", sub))
            continue
        if block.get("type") not in BLOCK_TYPES:
            errors.append(err(f"unsupported type: {block.get('type')}", f"{sub}/type"))
            continue
        errors += extra_properties(block, BLOCK_FIELDS[block["type"]], sub)
        block_id = block.get("block_id")
        if block_id is not None:
            errors += check_str(block_id, f"{sub}/block_id", 255)
            if block_id in block_ids:
                errors.append(err(f"duplicate block_id: {block_id}", f"{sub}/block_id"))
            block_ids.add(str(block_id))
        errors += _check_block(block, sub)
    return errors


def check_view(view: Any, *, expected_type: str, ptr: str = "/view") -> list[str]:
    if not isinstance(view, dict):
        return [err("must be an object", ptr)]
    if view.get("type") != expected_type:
        return [err(f"must be {expected_type}", f"{ptr}/type")]
    errors = extra_properties(view, VIEW_FIELDS[expected_type], ptr)
    if expected_type == "modal":
        errors += check_text(view.get("title"), f"{ptr}/title", max_len=24, plain_only=True)
        errors += check_text(view.get("submit"), f"{ptr}/submit", max_len=24, plain_only=True, required=False)
        errors += check_text(view.get("close"), f"{ptr}/close", max_len=24, plain_only=True, required=False)
        blocks = view.get("blocks")
        has_input = isinstance(blocks, list) and any(
            isinstance(b, dict) and b.get("type") == "input" for b in blocks
        )
        if has_input and view.get("submit") is None:
            errors.append(err("must provide a submit property when using input blocks", ptr))
    errors += check_str(view.get("callback_id"), f"{ptr}/callback_id", 255)
    errors += check_str(view.get("private_metadata"), f"{ptr}/private_metadata", 3000)
    errors += check_str(view.get("external_id"), f"{ptr}/external_id", 255)
    errors += check_blocks(view.get("blocks"), f"{ptr}/blocks", max_blocks=MAX_VIEW_BLOCKS)
    return errors


def _short_id(length: int) -> str:
    return "".join(secrets.choice(_ID_CHARS) for _ in range(length))


def with_generated_ids(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Copy of the blocks with the block_id/action_id values Slack invents when a payload leaves them out.

    Interaction payloads key state by these ids, so the emulator must hand back the same ones it stored.
    """
    filled = copy.deepcopy(blocks)
    for block in filled:
        block.setdefault("block_id", _short_id(5))
        elements: list[Any] = []
        if block["type"] == "actions":
            elements = block.get("elements") or []
        elif block["type"] == "section" and isinstance(block.get("accessory"), dict):
            elements = [block["accessory"]]
        elif block["type"] == "input" and isinstance(block.get("element"), dict):
            elements = [block["element"]]
        for element in elements:
            if isinstance(element, dict) and element.get("type") != "image":
                element.setdefault("action_id", _short_id(4))
    return filled


"""Block Kit limits as Slack enforces them server-side.

Each check returns Slack-style "[ERROR] ... [json-pointer:/...]" strings, so a failing test shows the same
pointer a real workspace would have reported.
"""

from __future__ import annotations

import copy
import re
import secrets
import string
from typing import Any

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100

BLOCK_TYPES = frozenset(
    {
        "section",
        "header",
        "divider",
        "context",
        "actions",
        "input",
        "image",
        "rich_text",
        "file",
        "video",
        "markdown",
    }
)
INPUT_ELEMENTS = frozenset(
    {
        "plain_text_input",
        "email_text_input",
        "url_text_input",
        "number_input",
        "rich_text_input",
        "static_select",
        "external_select",
        "users_select",
        "conversations_select",
        "channels_select",
        "multi_static_select",
        "multi_external_select",
        "multi_users_select",
        "multi_conversations_select",
        "multi_channels_select",
        "checkboxes",
        "radio_buttons",
        "datepicker",
        "timepicker",
        "datetimepicker",
        "file_input",
    }
)
ELEMENTS = INPUT_ELEMENTS | {"button", "overflow", "image", "workflow_button"}
_OPTION_LIMITS = {"radio_buttons": 10, "checkboxes": 10, "overflow": 5}
_FORMATS = {
    "datepicker": ("initial_date", r"\d{4}-\d{2}-\d{2}", "YYYY-MM-DD"),
    "timepicker": ("initial_time", r"\d{2}:\d{2}", "HH:mm"),
}
_ID_CHARS = string.ascii_letters + string.digits


def _err(message: str, pointer: str) -> str:
    return f"[ERROR] {message} [json-pointer:{pointer}]"


def check_text(
    obj: Any, ptr: str, *, max_len: int, plain_only: bool = False, required: bool = True
) -> list[str]:
    if obj is None:
        return [_err("missing required field", ptr)] if required else []
    if not isinstance(obj, dict):
        return [_err("must be a text object", ptr)]
    allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if obj.get("type") not in allowed:
        return [_err(f"must be one of {', '.join(allowed)}", f"{ptr}/type")]
    text = obj.get("text")
    if not isinstance(text, str):
        return [_err("missing required field: text", f"{ptr}/text")]
    if not text:
        return [_err("must be more than 0 characters", f"{ptr}/text")]
    if len(text) > max_len:
        return [_err(f"must be less than {max_len + 1} characters", f"{ptr}/text")]
    return []


def _check_str(value: Any, ptr: str, max_len: int) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, str):
        return [_err("must be a string", ptr)]
    if len(value) > max_len:
        return [_err(f"must be less than {max_len + 1} characters", ptr)]
    return []


def _check_options(options: Any, ptr: str, max_items: int) -> list[str]:
    if not isinstance(options, list) or not options:
        return [_err("must provide at least one option", ptr)]
    errors = [_err(f"no more than {max_items} items allowed", ptr)] if len(options) > max_items else []
    for i, option in enumerate(options):
        if not isinstance(option, dict):
            errors.append(_err("must be an option object", f"{ptr}/{i}"))
            continue
        errors += check_text(option.get("text"), f"{ptr}/{i}/text", max_len=75)
        errors += _check_str(option.get("value"), f"{ptr}/{i}/value", 150)
        if option.get("value") is None:
            errors.append(_err("missing required field: value", f"{ptr}/{i}/value"))
    return errors


def _all_options(element: dict[str, Any]) -> list[dict[str, Any]]:
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options += group.get("options") or []
    return [o for o in options if isinstance(o, dict)]


def _check_plain_text_input(el: dict[str, Any], ptr: str) -> list[str]:
    errors: list[str] = []
    max_length, min_length = el.get("max_length"), el.get("min_length")
    if max_length is not None and (not isinstance(max_length, int) or not 1 <= max_length <= 3000):
        errors.append(_err("must be between 1 and 3000", f"{ptr}/max_length"))
    if min_length is not None and (not isinstance(min_length, int) or not 0 <= min_length <= 3000):
        errors.append(_err("must be between 0 and 3000", f"{ptr}/min_length"))
    if isinstance(max_length, int) and isinstance(min_length, int) and min_length > max_length:
        errors.append(_err("min_length must not exceed max_length", f"{ptr}/min_length"))
    initial = el.get("initial_value")
    if initial is not None:
        if not isinstance(initial, str):
            errors.append(_err("must be a string", f"{ptr}/initial_value"))
        elif isinstance(max_length, int) and len(initial) > max_length:
            errors.append(_err(f"must be less than {max_length + 1} characters", f"{ptr}/initial_value"))
    return errors


def check_element(el: Any, ptr: str) -> list[str]:
    if not isinstance(el, dict):
        return [_err("must be an element object", ptr)]
    kind = el.get("type")
    if kind not in ELEMENTS:
        return [_err(f"unsupported element type: {kind}", f"{ptr}/type")]
    errors = _check_str(el.get("action_id"), f"{ptr}/action_id", 255)
    if kind == "image":
        errors += _check_str(el.get("alt_text"), f"{ptr}/alt_text", 2000)
        if not el.get("image_url") and not el.get("slack_file"):
            errors.append(_err("missing required field: image_url", f"{ptr}/image_url"))
        return errors
    if "placeholder" in el:
        errors += check_text(el["placeholder"], f"{ptr}/placeholder", max_len=150, plain_only=True)
    if kind in ("button", "workflow_button"):
        errors += check_text(el.get("text"), f"{ptr}/text", max_len=75, plain_only=True)
        errors += _check_str(el.get("value"), f"{ptr}/value", 2000)
        errors += _check_str(el.get("url"), f"{ptr}/url", 3000)
        if el.get("style") not in (None, "primary", "danger"):
            errors.append(_err("must be one of primary, danger", f"{ptr}/style"))
    elif kind in ("plain_text_input", "email_text_input", "url_text_input"):
        errors += _check_plain_text_input(el, ptr)
    elif kind == "number_input" and not isinstance(el.get("is_decimal_allowed"), bool):
        errors.append(_err("missing required field: is_decimal_allowed", f"{ptr}/is_decimal_allowed"))
    elif kind in ("static_select", "multi_static_select", "radio_buttons", "checkboxes", "overflow"):
        errors += _check_select(el, ptr, kind)
    elif kind in _FORMATS:
        key, pattern, shown = _FORMATS[kind]
        if el.get(key) is not None and not re.fullmatch(pattern, str(el[key])):
            errors.append(_err(f"must be in {shown} format", f"{ptr}/{key}"))
    if isinstance(el.get("confirm"), dict):
        confirm = el["confirm"]
        errors += check_text(confirm.get("title"), f"{ptr}/confirm/title", max_len=100, plain_only=True)
        errors += check_text(confirm.get("text"), f"{ptr}/confirm/text", max_len=300)
        errors += check_text(confirm.get("confirm"), f"{ptr}/confirm/confirm", max_len=30, plain_only=True)
        errors += check_text(confirm.get("deny"), f"{ptr}/confirm/deny", max_len=30, plain_only=True)
    return errors


def _check_select(el: dict[str, Any], ptr: str, kind: str) -> list[str]:
    if "option_groups" in el and kind in ("static_select", "multi_static_select"):
        errors: list[str] = []
        for i, group in enumerate(el["option_groups"] or []):
            errors += _check_options(group.get("options"), f"{ptr}/option_groups/{i}/options", 100)
    else:
        errors = _check_options(el.get("options"), f"{ptr}/options", _OPTION_LIMITS.get(kind, 100))
    values = {o.get("value") for o in _all_options(el)}
    initial = [el["initial_option"]] if isinstance(el.get("initial_option"), dict) else []
    initial += [o for o in el.get("initial_options") or [] if isinstance(o, dict)]
    for option in initial:
        if option.get("value") not in values:
            errors.append(_err("initial option must exactly match one of the options", f"{ptr}"))
    return errors


def _check_block(block: dict[str, Any], ptr: str) -> list[str]:
    kind = block["type"]
    errors: list[str] = []
    if kind == "section":
        if block.get("text") is None and not block.get("fields"):
            errors.append(_err("must provide either text or fields", ptr))
        errors += check_text(block.get("text"), f"{ptr}/text", max_len=3000, required=False)
        fields = block.get("fields") or []
        if len(fields) > 10:
            errors.append(_err("no more than 10 items allowed", f"{ptr}/fields"))
        for i, item in enumerate(fields):
            errors += check_text(item, f"{ptr}/fields/{i}", max_len=2000)
        if block.get("accessory") is not None:
            errors += check_element(block["accessory"], f"{ptr}/accessory")
    elif kind == "header":
        errors += check_text(block.get("text"), f"{ptr}/text", max_len=150, plain_only=True)
    elif kind in ("context", "actions"):
        errors += _check_element_list(block, ptr, 10 if kind == "context" else 25, context=kind == "context")
    elif kind == "input":
        errors += check_text(block.get("label"), f"{ptr}/label", max_len=2000, plain_only=True)
        errors += check_text(block.get("hint"), f"{ptr}/hint", max_len=2000, plain_only=True, required=False)
        element = block.get("element")
        if not isinstance(element, dict) or element.get("type") not in INPUT_ELEMENTS:
            errors.append(_err("must be a valid input element", f"{ptr}/element"))
        else:
            errors += check_element(element, f"{ptr}/element")
    elif kind == "image":
        errors += _check_str(block.get("alt_text"), f"{ptr}/alt_text", 2000)
        errors += check_text(
            block.get("title"), f"{ptr}/title", max_len=2000, plain_only=True, required=False
        )
        if not block.get("image_url") and not block.get("slack_file"):
            errors.append(_err("missing required field: image_url", f"{ptr}/image_url"))
    elif kind == "rich_text" and not isinstance(block.get("elements"), list):
        errors.append(_err("missing required field: elements", f"{ptr}/elements"))
    elif kind == "markdown":
        errors += _check_str(block.get("text"), f"{ptr}/text", 12000)
    return errors


def _check_element_list(block: dict[str, Any], ptr: str, max_items: int, *, context: bool) -> list[str]:
    elements = block.get("elements")
    if not isinstance(elements, list) or not elements:
        return [_err("must provide at least one element", f"{ptr}/elements")]
    errors = (
        [_err(f"no more than {max_items} items allowed", f"{ptr}/elements")]
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
            errors.append(_err("context elements must be text or image", sub))
            continue
        errors += check_element(element, sub)
        action_id = element.get("action_id") if isinstance(element, dict) else None
        if isinstance(action_id, str):
            if action_id in seen:
                errors.append(
                    _err(f"action_id must be unique within a block: {action_id}", f"{sub}/action_id")
                )
            seen.add(action_id)
    return errors


def check_blocks(blocks: Any, ptr: str, *, max_blocks: int) -> list[str]:
    if not isinstance(blocks, list):
        return [_err("must be an array", ptr)]
    if len(blocks) > max_blocks:
        return [_err(f"no more than {max_blocks} items allowed", ptr)]
    errors: list[str] = []
    block_ids: set[str] = set()
    for i, block in enumerate(blocks):
        sub = f"{ptr}/{i}"
        if not isinstance(block, dict):
            errors.append(_err("must be a block object", sub))
            continue
        if block.get("type") not in BLOCK_TYPES:
            errors.append(_err(f"unsupported type: {block.get('type')}", f"{sub}/type"))
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            errors += _check_str(block_id, f"{sub}/block_id", 255)
            if block_id in block_ids:
                errors.append(_err(f"duplicate block_id: {block_id}", f"{sub}/block_id"))
            block_ids.add(str(block_id))
        errors += _check_block(block, sub)
    return errors


def check_view(view: Any, *, expected_type: str, ptr: str = "/view") -> list[str]:
    if not isinstance(view, dict):
        return [_err("must be an object", ptr)]
    if view.get("type") != expected_type:
        return [_err(f"must be {expected_type}", f"{ptr}/type")]
    errors: list[str] = []
    if expected_type == "modal":
        errors += check_text(view.get("title"), f"{ptr}/title", max_len=24, plain_only=True)
        errors += check_text(view.get("submit"), f"{ptr}/submit", max_len=24, plain_only=True, required=False)
        errors += check_text(view.get("close"), f"{ptr}/close", max_len=24, plain_only=True, required=False)
        blocks = view.get("blocks")
        has_input = isinstance(blocks, list) and any(
            isinstance(b, dict) and b.get("type") == "input" for b in blocks
        )
        if has_input and view.get("submit") is None:
            errors.append(_err("must provide a submit property when using input blocks", ptr))
    errors += _check_str(view.get("callback_id"), f"{ptr}/callback_id", 255)
    errors += _check_str(view.get("private_metadata"), f"{ptr}/private_metadata", 3000)
    errors += _check_str(view.get("external_id"), f"{ptr}/external_id", 255)
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


def all_options(element: dict[str, Any]) -> list[dict[str, Any]]:
    return _all_options(element)

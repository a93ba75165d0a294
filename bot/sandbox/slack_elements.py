"""Block Kit element checks (buttons, inputs, selects, options, confirm dialogs) as Slack enforces them.

Limits are those of docs.slack.dev/reference/block-kit/block-elements and .../composition-objects (option text
and description 75, value 150, url 3000; option groups: a plain_text label of at most 75 and at most 100 groups;
confirm style primary or danger; button accessibility_label 75; min_query_length an integer), as python-slack-sdk's
validators in slack_sdk/models/blocks also encode them.
"""

from __future__ import annotations

import re
from typing import Any, TypeGuard

from bot.sandbox.slack_block_rules import (
    CONFIRM_FIELDS,
    ELEMENT_FIELDS,
    ELEMENTS,
    MAX_URL,
    MRKDWN_OPTION_ELEMENTS,
    OPTION_FIELDS,
    OPTION_GROUP_FIELDS,
    check_image,
    check_str,
    check_text,
    err,
    extra_properties,
    missing,
)

_OPTION_LIMITS = {"radio_buttons": 10, "checkboxes": 10, "overflow": 5}
_MAX_OPTION_GROUPS = 100
_FORMATS = {
    "datepicker": ("initial_date", r"\d{4}-\d{2}-\d{2}", "YYYY-MM-DD"),
    "timepicker": ("initial_time", r"\d{2}:\d{2}", "HH:mm"),
}
_STYLES = ("primary", "danger")


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_options(options: Any, ptr: str, max_items: int, *, plain_only: bool) -> list[str]:
    if not isinstance(options, list) or not options:
        return [err("must provide at least one option", ptr)]
    errors = [err(f"no more than {max_items} items allowed", ptr)] if len(options) > max_items else []
    for i, option in enumerate(options):
        sub = f"{ptr}/{i}"
        if not isinstance(option, dict):
            errors.append(err("must be an option object", sub))
            continue
        errors += extra_properties(option, OPTION_FIELDS, sub)
        errors += check_text(option.get("text"), f"{sub}/text", max_len=75, plain_only=plain_only)
        errors += check_text(
            option.get("description"), f"{sub}/description", max_len=75, plain_only=plain_only, required=False
        )
        errors += check_str(option.get("value"), f"{sub}/value", 150)
        errors += check_str(option.get("url"), f"{sub}/url", MAX_URL)
        if option.get("value") is None:
            errors.append(missing(f"{sub}/value"))
    return errors


def _check_option_groups(groups: Any, ptr: str) -> list[str]:
    if not isinstance(groups, list) or not groups:
        return [err("must provide at least one option group", ptr)]
    errors = []
    if len(groups) > _MAX_OPTION_GROUPS:
        errors.append(err(f"no more than {_MAX_OPTION_GROUPS} items allowed", ptr))
    for i, group in enumerate(groups):
        sub = f"{ptr}/{i}"
        if not isinstance(group, dict):
            errors.append(err("must be an option group object", sub))
            continue
        errors += extra_properties(group, OPTION_GROUP_FIELDS, sub)
        errors += check_text(group.get("label"), f"{sub}/label", max_len=75, plain_only=True)
        errors += _check_options(group.get("options"), f"{sub}/options", 100, plain_only=True)
    return errors


def all_options(element: dict[str, Any]) -> list[dict[str, Any]]:
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        if isinstance(group, dict):
            options += group.get("options") or []
    return [o for o in options if isinstance(o, dict)]


def _check_select(el: dict[str, Any], ptr: str, kind: str) -> list[str]:
    if "option_groups" in el and kind in ("static_select", "multi_static_select"):
        errors = _check_option_groups(el["option_groups"], f"{ptr}/option_groups")
    else:
        errors = _check_options(
            el.get("options"),
            f"{ptr}/options",
            _OPTION_LIMITS.get(kind, 100),
            plain_only=kind not in MRKDWN_OPTION_ELEMENTS,
        )
    values = {o.get("value") for o in all_options(el)}
    initial = [el["initial_option"]] if isinstance(el.get("initial_option"), dict) else []
    initial += [o for o in el.get("initial_options") or [] if isinstance(o, dict)]
    for option in initial:
        if option.get("value") not in values:
            errors.append(err("initial option must exactly match one of the options", f"{ptr}"))
    return errors


def _check_text_input(el: dict[str, Any], ptr: str) -> list[str]:
    errors: list[str] = []
    max_length, min_length = el.get("max_length"), el.get("min_length")
    if max_length is not None and (not _is_int(max_length) or not 1 <= max_length <= 3000):
        errors.append(err("must be between 1 and 3000", f"{ptr}/max_length"))
    if min_length is not None and (not _is_int(min_length) or not 0 <= min_length <= 3000):
        errors.append(err("must be between 0 and 3000", f"{ptr}/min_length"))
    if _is_int(max_length) and _is_int(min_length) and min_length > max_length:
        errors.append(err("min_length must not exceed max_length", f"{ptr}/min_length"))
    initial = el.get("initial_value")
    if initial is not None:
        if not isinstance(initial, str):
            errors.append(err("must be a string", f"{ptr}/initial_value"))
        elif _is_int(max_length) and len(initial) > max_length:
            errors.append(err(f"must be less than {max_length + 1} characters", f"{ptr}/initial_value"))
    return errors


def _check_button(el: dict[str, Any], ptr: str) -> list[str]:
    errors = check_text(el.get("text"), f"{ptr}/text", max_len=75, plain_only=True)
    errors += check_str(el.get("value"), f"{ptr}/value", 2000)
    errors += check_str(el.get("url"), f"{ptr}/url", MAX_URL)
    errors += check_str(el.get("accessibility_label"), f"{ptr}/accessibility_label", 75)
    if el.get("style") not in (None, *_STYLES):
        errors.append(err(f"must be one of {', '.join(_STYLES)}", f"{ptr}/style"))
    return errors


def check_confirm(confirm: Any, ptr: str) -> list[str]:
    if not isinstance(confirm, dict):
        return [err("must be a confirm object", ptr)]
    errors = extra_properties(confirm, CONFIRM_FIELDS, ptr)
    errors += check_text(confirm.get("title"), f"{ptr}/title", max_len=100, plain_only=True)
    errors += check_text(confirm.get("text"), f"{ptr}/text", max_len=300)
    errors += check_text(confirm.get("confirm"), f"{ptr}/confirm", max_len=30, plain_only=True)
    errors += check_text(confirm.get("deny"), f"{ptr}/deny", max_len=30, plain_only=True)
    if confirm.get("style") not in (None, *_STYLES):
        errors.append(err(f"must be one of {', '.join(_STYLES)}", f"{ptr}/style"))
    return errors


def check_element(el: Any, ptr: str, *, allowed: frozenset[str] = ELEMENTS) -> list[str]:
    if not isinstance(el, dict):
        return [err("must be an element object", ptr)]
    kind = el.get("type")
    if kind not in allowed:
        return [err(f"unsupported element type: {kind}", f"{ptr}/type")]
    errors = extra_properties(el, ELEMENT_FIELDS[kind], ptr)
    errors += check_str(el.get("action_id"), f"{ptr}/action_id", 255)
    if kind == "image":
        return errors + check_image(el, ptr)
    if "placeholder" in el:
        errors += check_text(el["placeholder"], f"{ptr}/placeholder", max_len=150, plain_only=True)
    if kind in ("button", "workflow_button"):
        errors += _check_button(el, ptr)
    elif kind in ("plain_text_input", "email_text_input", "url_text_input"):
        errors += _check_text_input(el, ptr)
    elif kind == "number_input" and not isinstance(el.get("is_decimal_allowed"), bool):
        decimal = f"{ptr}/is_decimal_allowed"
        errors.append(missing(decimal) if "is_decimal_allowed" not in el else err("must be a boolean", decimal))
    elif kind in ("static_select", "multi_static_select", "radio_buttons", "checkboxes", "overflow"):
        errors += _check_select(el, ptr, kind)
    elif kind in ("external_select", "multi_external_select"):
        if "min_query_length" in el and not _is_int(el["min_query_length"]):
            errors.append(err("must be an integer", f"{ptr}/min_query_length"))
    elif kind in _FORMATS:
        key, pattern, shown = _FORMATS[kind]
        if el.get(key) is not None and not re.fullmatch(pattern, str(el[key])):
            errors.append(err(f"must be in {shown} format", f"{ptr}/{key}"))
    if "confirm" in el:
        errors += check_confirm(el["confirm"], f"{ptr}/confirm")
    return errors

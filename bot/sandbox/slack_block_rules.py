"""Which properties each Block Kit object may carry, which elements fit where, and the checks every object shares.

Slack validates blocks and views against JSON schemas that forbid additional properties, so a property outside
these sets is refused as "invalid additional property: <name>" at the object's pointer (e.g. `emoji` on a
mrkdwn text object: `{"ok": false, "error": "invalid_blocks", "errors": ["failed to match all allowed schemas
[json-pointer:/blocks/3/text]", "invalid additional property: emoji [json-pointer:/blocks/3/text]"]}`).
The sets follow the field tables of docs.slack.dev/reference/block-kit (blocks, block elements, composition
objects) and docs.slack.dev/reference/views, cross-checked with the `attributes` python-slack-sdk keeps for each
class in slack_sdk/models/blocks and slack_sdk/models/views.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

TEXT_FIELDS = {"plain_text": frozenset({"type", "text", "emoji"}), "mrkdwn": frozenset({"type", "text", "verbatim"})}

_BLOCK = {"type", "block_id"}
BLOCK_FIELDS: dict[str, frozenset[str]] = {
    "section": frozenset(_BLOCK | {"text", "fields", "accessory", "expand"}),
    "header": frozenset(_BLOCK | {"text"}),
    "divider": frozenset(_BLOCK),
    "context": frozenset(_BLOCK | {"elements"}),
    "actions": frozenset(_BLOCK | {"elements"}),
    "input": frozenset(_BLOCK | {"label", "hint", "element", "optional", "dispatch_action"}),
    "image": frozenset(_BLOCK | {"alt_text", "image_url", "title", "slack_file"}),
    "rich_text": frozenset(_BLOCK | {"elements"}),
    "file": frozenset(_BLOCK | {"external_id", "source"}),
    "video": frozenset(
        _BLOCK
        | {"alt_text", "video_url", "thumbnail_url", "title", "title_url", "description", "provider_icon_url",
           "provider_name", "author_name"}
    ),
    "markdown": frozenset(_BLOCK | {"text"}),
}

_INPUT = {"type", "action_id", "placeholder", "confirm", "focus_on_load"}
_TYPED = {"initial_value", "dispatch_action_config"}
ELEMENT_FIELDS: dict[str, frozenset[str]] = {
    "button": frozenset({"type", "action_id", "text", "url", "value", "style", "confirm", "accessibility_label"}),
    "workflow_button": frozenset({"type", "action_id", "text", "workflow", "style", "accessibility_label"}),
    "overflow": frozenset({"type", "action_id", "options", "confirm"}),
    "image": frozenset({"type", "alt_text", "image_url", "slack_file"}),
    "checkboxes": frozenset(_INPUT | {"options", "initial_options"}),
    "radio_buttons": frozenset(_INPUT | {"options", "initial_option"}),
    "datepicker": frozenset(_INPUT | {"initial_date"}),
    "timepicker": frozenset(_INPUT | {"initial_time", "timezone"}),
    "datetimepicker": frozenset(_INPUT | {"initial_date_time"}),
    "static_select": frozenset(_INPUT | {"options", "option_groups", "initial_option"}),
    "multi_static_select": frozenset(
        _INPUT | {"options", "option_groups", "initial_options", "max_selected_items"}
    ),
    "external_select": frozenset(_INPUT | {"min_query_length", "initial_option"}),
    "multi_external_select": frozenset(_INPUT | {"min_query_length", "initial_options", "max_selected_items"}),
    "users_select": frozenset(_INPUT | {"initial_user"}),
    "multi_users_select": frozenset(_INPUT | {"initial_users", "max_selected_items"}),
    "conversations_select": frozenset(
        _INPUT | {"initial_conversation", "response_url_enabled", "filter", "default_to_current_conversation"}
    ),
    "multi_conversations_select": frozenset(
        _INPUT | {"initial_conversations", "max_selected_items", "filter", "default_to_current_conversation"}
    ),
    "channels_select": frozenset(_INPUT | {"initial_channel", "response_url_enabled"}),
    "multi_channels_select": frozenset(_INPUT | {"initial_channels", "max_selected_items"}),
    "plain_text_input": frozenset(_INPUT | _TYPED | {"multiline", "min_length", "max_length"}),
    "email_text_input": frozenset(_INPUT | _TYPED),
    "url_text_input": frozenset(_INPUT | _TYPED),
    "number_input": frozenset(_INPUT | _TYPED | {"is_decimal_allowed", "min_value", "max_value"}),
    "rich_text_input": frozenset(_INPUT | _TYPED | {"min_lines", "max_lines"}),
    "file_input": frozenset(_INPUT | {"filetypes", "max_files"}),
}
BLOCK_TYPES = frozenset(BLOCK_FIELDS)
ELEMENTS = frozenset(ELEMENT_FIELDS)
INPUT_ELEMENTS = ELEMENTS - {"button", "workflow_button", "overflow", "image"}
# The section block's "compatible elements": no text, number, rich-text or file inputs and no datetimepicker
# (docs.slack.dev/reference/block-kit/blocks/section-block; @slack/types SectionBlockAccessory).
SECTION_ACCESSORIES = frozenset(
    {"button", "checkboxes", "datepicker", "image", "overflow", "radio_buttons", "timepicker", "workflow_button",
     "static_select", "external_select", "users_select", "conversations_select", "channels_select",
     "multi_static_select", "multi_external_select", "multi_users_select", "multi_conversations_select",
     "multi_channels_select"}
)
# Option text and description: "Overflow, select, and multi-select menus can only use plain_text objects, while
# radio buttons and checkboxes can use mrkdwn" (docs.slack.dev/reference/block-kit/composition-objects/option-object).
MRKDWN_OPTION_ELEMENTS = frozenset({"radio_buttons", "checkboxes"})
OPTION_FIELDS = frozenset({"text", "value", "description", "url"})
OPTION_GROUP_FIELDS = frozenset({"label", "options"})
CONFIRM_FIELDS = frozenset({"title", "text", "confirm", "deny", "style"})

# What Slack itself puts into a view it hands back; sending one back unchanged is not an error.
_VIEW_ECHOED = {"id", "hash", "state", "team_id", "app_id", "bot_id", "root_view_id", "previous_view_id",
                "app_installed_team_id"}
_VIEW = {"type", "blocks", "private_metadata", "callback_id", "external_id"}
VIEW_FIELDS = {
    "modal": frozenset(
        _VIEW | _VIEW_ECHOED | {"title", "close", "submit", "clear_on_close", "notify_on_close", "submit_disabled"}
    ),
    # A Home tab has no title bar and no buttons of its own (docs.slack.dev/reference/views/home-tab-views).
    "home": frozenset(_VIEW | _VIEW_ECHOED | {"clear_on_close", "notify_on_close"}),
}

MAX_URL = 3000


def err(message: str, pointer: str) -> str:
    return f"[ERROR] {message} [json-pointer:{pointer}]"


def missing(ptr: str) -> str:
    """Slack names the missing field and points at the object that lacks it."""
    parent, _, name = ptr.rpartition("/")
    return err(f"missing required field: {name}", parent or "/")


def extra_properties(obj: dict[str, Any], allowed: Collection[str], ptr: str) -> list[str]:
    return [err(f"invalid additional property: {key}", ptr) for key in obj if key not in allowed]


def check_str(value: Any, ptr: str, max_len: int) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, str):
        return [err("must be a string", ptr)]
    if len(value) > max_len:
        return [err(f"must be less than {max_len + 1} characters", ptr)]
    return []


def check_text(
    obj: Any, ptr: str, *, max_len: int, plain_only: bool = False, required: bool = True
) -> list[str]:
    if obj is None:
        return [missing(ptr)] if required else []
    if not isinstance(obj, dict):
        return [err("must be a text object", ptr)]
    allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    kind = obj.get("type")
    if kind not in allowed:
        return [err(f"must be one of {', '.join(allowed)}", f"{ptr}/type")]
    extra = extra_properties(obj, TEXT_FIELDS[str(kind)], ptr)
    if extra:
        # Where either text type would do, the schema is a union and Slack says so before naming the property.
        return ([] if plain_only else [err("failed to match all allowed schemas", ptr)]) + extra
    text = obj.get("text")
    if not isinstance(text, str):
        return [missing(f"{ptr}/text")]
    if not text:
        return [err("must be more than 0 characters", f"{ptr}/text")]
    if len(text) > max_len:
        return [err(f"must be less than {max_len + 1} characters", f"{ptr}/text")]
    return []


def check_image(obj: dict[str, Any], ptr: str) -> list[str]:
    """The image block and the image element share these: alt text, and a URL Slack will fetch."""
    errors = check_str(obj.get("alt_text"), f"{ptr}/alt_text", 2000)
    errors += check_str(obj.get("image_url"), f"{ptr}/image_url", MAX_URL)
    if not obj.get("image_url") and not obj.get("slack_file"):
        errors.append(missing(f"{ptr}/image_url"))
    return errors

"""The `/ticket` intake modal and the small modals around it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from blocks.ids import Callback, SeverityField, TicketField
from blocks.refusals import agents_only
from blocks.text import LINK_MAX, Block, channel, context, option, plain, section
from bot.domain import IMPACT_LABELS, Category, Impact, PlanTier, Severity

F = TicketField
# A link must fit whole in a card field and a reply's first line (longer ones are mostly tracking parameters).
# Free text leaves room for escaping inside a 3,000-character section.
URL_MAX = LINK_MAX
TEXT_MAX = 2500
REASON_MAX = 500  # the change-severity modal's reason


def _text_input(field: TicketField, label: str, *, optional: bool = False, multiline: bool = False,
                placeholder: str | None = None, initial: str | None = None, max_length: int | None = None,
                hint: str | None = None, kind: str = "plain_text_input") -> Block:
    element: dict[str, Any] = {"type": kind, "action_id": field.value}
    if multiline:
        element["multiline"] = True
    if placeholder:
        element["placeholder"] = plain(placeholder, 150)
    if initial:
        element["initial_value"] = initial
    if max_length:
        element["max_length"] = max_length
    block: Block = {"type": "input", "block_id": field.value, "label": plain(label, 2000), "element": element,
                    "optional": optional}
    if hint:
        block["hint"] = plain(hint, 2000)
    return block


def impact_options() -> list[dict[str, Any]]:
    """The impact choices, each showing the severity it leads to."""
    return [{**option(label, impact.value), "description": plain(str(impact.severity), 75)}
            for impact, label in IMPACT_LABELS.items()]


def ticket_modal(*, summary: str = "", private_metadata: dict[str, Any] | None = None, workspace_id: str = "",
                 what_happened: str = "", helpdesk_link: str = "", source_channel: str | None = None,
                 removed: Sequence[str] = ()) -> dict[str, Any]:
    """The intake modal: its summary prefilled from `/ticket`'s text or, filed from a message in
    `source_channel`, summary, workspace ID, what happened and help desk link prefilled from it (`removed`: the
    credentials taken out of the message's text)."""
    plan_options = [option(tier.label, tier.value) for tier in PlanTier]
    category_options = [option(c.label, c.value) for c in Category]
    blocks: list[Block] = []
    if source_channel:
        cleaned = f" · I removed {', '.join(removed)} from its text" if removed else ""
        blocks.append(context(f"💬 From a message in {channel(source_channel)}: check what I filled in{cleaned}"))
    blocks += [
        {**_text_input(F.WORKSPACE_ID, "Customer workspace ID", placeholder="e.g. ws_4f2a9c", max_length=100,
                       initial=workspace_id[:100] or None,
                       hint="Press Enter to look the customer up: their live card appears here"),
         # Enter sends the value at once, so the customer card can come while the agent types on.
         "dispatch_action": True},
        _text_input(F.REQUESTER_EMAIL, "Requester email", kind="email_text_input",
                    placeholder="who reported it, e.g. dana@customer.com"),
        _text_input(F.SUMMARY, "Summary", initial=summary[:150] or None, max_length=150,
                    placeholder="One line an engineer can scan"),
        _text_input(F.WHAT_HAPPENED, "What happened", multiline=True, max_length=TEXT_MAX,
                    initial=what_happened[:TEXT_MAX] or None,
                    placeholder="Steps the customer took and what they saw (error text, codes)"),
        _text_input(F.EXPECTED, "What was expected", multiline=True, max_length=TEXT_MAX),
        {"type": "input", "block_id": F.IMPACT.value, "label": plain("Impact"),
         "element": {"type": "radio_buttons", "action_id": F.IMPACT.value, "options": impact_options()}},
        {"type": "input", "block_id": F.PLAN_TIER.value, "label": plain("Plan tier"),
         "element": {"type": "static_select", "action_id": F.PLAN_TIER.value, "options": plan_options,
                     "placeholder": plain("Choose the customer's plan")}},
        section("*Environment*  ·  everything below is optional, and each answer saves a round trip"),
        _text_input(F.BROWSER, "Browser and version", optional=True, placeholder="e.g. Chrome 131", max_length=200),
        _text_input(F.OS, "Operating system", optional=True, placeholder="e.g. macOS 15.1", max_length=200),
        _text_input(F.URL, "URL or API endpoint", optional=True, max_length=URL_MAX,
                    placeholder="https://app.example.com/… or POST /api/v2/invoices"),
        {"type": "input", "block_id": F.OCCURRED_AT.value, "label": plain("When it happened"), "optional": True,
         "element": {"type": "datetimepicker", "action_id": F.OCCURRED_AT.value}},
        {"type": "input", "block_id": F.CUSTOMER_TIMEZONE.value, "label": plain("Customer's time zone"),
         "optional": True,
         "element": {"type": "external_select", "action_id": F.CUSTOMER_TIMEZONE.value, "min_query_length": 2,
                     "placeholder": plain("Type a city, e.g. Berlin")}},
        _text_input(F.REQUEST_ID, "Request ID", optional=True, placeholder="X-Request-Id response header",
                    max_length=200, hint="Required when the URL is an API endpoint"),
        _text_input(F.ATTACHMENT_LINK, "Screenshot, Loom or HAR link", optional=True, max_length=URL_MAX),
        _text_input(F.HELPDESK_LINK, "Help desk ticket link", optional=True, max_length=URL_MAX,
                    initial=helpdesk_link if len(helpdesk_link) <= URL_MAX else None,
                    placeholder="The Zendesk or Help Scout conversation"),
        {"type": "input", "block_id": F.CATEGORY.value, "label": plain("Category"), "optional": True,
         "element": {"type": "static_select", "action_id": F.CATEGORY.value, "options": category_options,
                     "placeholder": plain("auth, billing, integration, performance or UI")}},
    ]
    return {
        "type": "modal",
        "callback_id": Callback.TICKET_SUBMIT.value,
        "title": plain("New support ticket", 24),
        "submit": plain("File ticket", 24),
        "close": plain("Cancel", 24),
        "private_metadata": json.dumps(private_metadata or {}),
        "blocks": blocks,
    }


def not_allowed_modal(*, group_id: str, action: str) -> dict[str, Any]:
    """The modal shown instead of the form to someone outside the support agents group."""
    return {
        "type": "modal",
        "callback_id": Callback.NOT_ALLOWED.value,
        "title": plain("Not available", 24),
        "close": plain("Close", 24),
        "blocks": [section(f"{agents_only(group_id, action)} "
                           "Ask a support lead to add you to the group.")],
    }


def severity_modal(*, ticket_number: int, current: Severity, current_impact: Impact,
                   channel_id: str | None = None) -> dict[str, Any]:
    """The change-severity modal: impact (current preselected) and a required reason."""
    options = impact_options()
    initial = next(o for o in options if o["value"] == current_impact.value)
    return {
        "type": "modal",
        "callback_id": Callback.SEVERITY_SUBMIT.value,
        "title": plain(f"Severity of #{ticket_number}", 24),
        "submit": plain("Change severity", 24),
        "close": plain("Cancel", 24),
        "private_metadata": json.dumps({"ticket": ticket_number, "channel": channel_id}),
        "blocks": [
            section(f"Ticket #{ticket_number} is *{current}* now."),
            {"type": "input", "block_id": SeverityField.IMPACT.value, "label": plain("Impact"),
             "element": {"type": "radio_buttons", "action_id": SeverityField.IMPACT.value, "options": options,
                         "initial_option": initial}},
            {"type": "input", "block_id": SeverityField.REASON.value, "label": plain("Reason for the change"),
             "element": {"type": "plain_text_input", "action_id": SeverityField.REASON.value, "multiline": True,
                         "max_length": REASON_MAX}},
        ],
    }


def timezone_options(query: str, zones: Sequence[str], limit: int = 100) -> list[dict[str, Any]]:
    """Options for the searchable time-zone select: matches on any part of the IANA name."""
    needle = query.strip().lower().replace(" ", "_")
    matches = [z for z in zones if needle in z.lower()]  # a new list: the caller's stays as it was
    matches.sort(key=lambda z: (not z.lower().split("/")[-1].startswith(needle), z))
    return [option(z.replace("_", " "), z) for z in matches[:limit]]


CUSTOMER_CONTEXT = "customer_context"
_VIEW_KEYS = ("type", "callback_id", "title", "submit", "close", "private_metadata", "notify_on_close",
              "clear_on_close", "external_id", "submit_disabled")


def with_customer(view: dict[str, Any], lines: Sequence[str], *, plan: PlanTier | None) -> dict[str, Any]:
    """The open intake modal with the live customer context under the workspace ID (replacing any earlier
    one) and the plan tier preselected; every input keeps its block and action ID, so what the agent typed
    stays (Slack keeps input across views.update for unchanged blocks)."""
    blocks = [b for b in view.get("blocks", []) if b.get("block_id") != CUSTOMER_CONTEXT]
    updated: list[Block] = []
    for block in blocks:
        if block.get("block_id") == F.PLAN_TIER.value and plan is not None:
            element = dict(block["element"])
            element["initial_option"] = next(o for o in element["options"] if o["value"] == plan.value)
            block = {**block, "element": element}
        updated.append(block)
        if block.get("block_id") == F.WORKSPACE_ID.value and lines:
            updated.append(context(*lines, block_id=CUSTOMER_CONTEXT))
    return {**{k: view[k] for k in _VIEW_KEYS if k in view}, "blocks": updated}

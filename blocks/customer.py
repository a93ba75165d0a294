"""The live customer card (Slack), its "unavailable" form, and what an action answered.

Everything from the endpoint is text, never markup: escaped with Slack's three entities, so customer data can
never ping a channel, mention someone or forge a link; only an http(s) `href` becomes a link.
"""

from __future__ import annotations

import json
from datetime import datetime

from blocks.ids import Action
from blocks.text import (
    BUTTON_TEXT,
    Block,
    actions,
    button,
    context,
    escape,
    fields,
    header,
    link,
    plain,
    section,
    slack_date,
    truncate,
    user,
)
from bot.customer_data import ActionSection, CustomerCard, LinkSection, ListSection, Verification

VERIFICATION_TEXT = {
    "verified": "✅ *Verified contact*: the requester is on the customer's authorized contact list.",
    "not_authorized": "⛔ *NOT an authorized contact*: the requester is not on the customer's authorized "
                      "contact list. Verify who they are before discussing the account.",
    "unknown": "❔ *Verification unknown*: the customer endpoint did not answer, so treat the requester as not "
               "verified.",
}


def verification_line(verification: Verification) -> str:
    """The requester's standing, and what not to share under HIPAA or SOC 2."""
    line = VERIFICATION_TEXT.get(verification.state, VERIFICATION_TEXT["unknown"])
    if verification.sensitive:
        regimes = " and ".join(escape(c) for c in verification.compliance)
        line += (f"\n🔒 This customer is under {regimes}: do not share account details, and do not confirm or "
                 "deny that an account exists, until the requester is verified.")
    return line


def action_value(workspace_id: str, action: str) -> str:
    """The button value an action carries: which customer, which action."""
    return json.dumps({"w": workspace_id, "a": action}, separators=(",", ":"))[:2000]


def _confirm(section: ActionSection) -> dict[str, object]:
    return {"title": plain(section.title, 100), "text": plain(section.confirm or f"Run {section.title}?", 300),
            "confirm": plain("Run it", 30), "deny": plain("Cancel", 30)}


def customer_card(card: CustomerCard, *, workspace_id: str, fetched_at: datetime,
                  verification: Verification | None = None) -> list[Block]:
    """The customer as the endpoint describes them now: links, lists, actions, and a footer."""
    blocks: list[Block] = [header(f"Customer · {card.name or workspace_id}")]
    if verification is not None:
        blocks.append(section(verification_line(verification)))
    for part in card.sections:
        if isinstance(part, LinkSection):
            shown = link(part.href, part.description or part.href) if part.safe else None
            target = shown or f"{escape(part.description or '')} {escape(part.href)}".strip()
            blocks.append(section(f"*{escape(part.title)}*\n{target}"))
        elif isinstance(part, ListSection):
            pairs = [(escape(d) or "—", escape(v) or "—") for d, v in part.items]
            blocks.append(section(f"*{escape(part.title)}*"))
            for start in range(0, len(pairs), 10):
                blocks.append(fields(*pairs[start:start + 10]))
        elif isinstance(part, ActionSection):
            action = button(truncate(part.title, BUTTON_TEXT), Action.CUSTOMER_ACTION,
                            action_value(workspace_id, part.action))
            action["confirm"] = _confirm(part)
            blocks.append(section(f"*{escape(part.title)}*" + (f"\n{escape(part.description)}"
                                                               if part.description else ""), accessory=action))
    footer = [f"Live from the customer endpoint {slack_date(fetched_at, '{time}')} · not stored"]
    if card.missing_paths:
        footer.append("Missing in the data: " + ", ".join(f"`{escape(p)}`" for p in card.missing_paths))
    if card.unsafe_links:
        footer.append("Not a web link, shown as text: " + ", ".join(escape(t) for t in card.unsafe_links))
    # Slack shows at most 50 blocks: the sections are cut, never the footer that names what is missing.
    return [*blocks[:49], context(*footer)]


def unavailable_card(reason: str, *, workspace_id: str) -> list[Block]:
    """Said plainly when the endpoint fails, with "Try again": never a stale card an agent could answer from."""
    return [section(f"⚠️ *Customer data unavailable* for `{escape(workspace_id)}`: {escape(reason)}."),
            actions(button("Try again", Action.CUSTOMER_RETRY, workspace_id[:2000]))]


def action_outcome(title: str, *, ok: bool, message: str, by: str) -> str:
    """In the thread: what the endpoint answered to an action someone pressed."""
    mark = "✅" if ok else "⚠️"
    return f"{mark} {user(by)} ran *{escape(title)}*: {escape(message)}"


def action_refused_text(group_id: str) -> str:
    """Ephemeral, to someone outside support_agents who pressed an action."""
    return f"Only members of <!subteam^{group_id}> can run support actions; nothing was run."


def customer_usage() -> str:
    """The ephemeral answer to `/customer` without an argument."""
    return "Usage: `/customer <workspace ID or email>`, for example `/customer ws_4f2a9c`."


def intake_lines(*, workspace_id: str, name: str | None, plan_label: str | None, verification: Verification | None,
                 reason: str | None) -> list[str]:
    """The live customer context the intake modal shows under the workspace ID."""
    if reason is not None:
        return [f"⚠️ Customer data unavailable for `{escape(workspace_id)}`: {escape(reason)}. File the ticket "
                "anyway; press Enter in the field to try again."]
    lines = [f"🏢 *{escape(name or workspace_id)}*" + (f" · {escape(plan_label)} plan (preselected below)"
                                                       if plan_label else "")]
    if verification is not None:
        lines.append(verification_line(verification))
    else:
        lines.append("Enter the requester's email and press Enter above again to check them against the "
                     "authorized contacts.")
    lines.append("Live from the customer endpoint · not stored")
    return lines

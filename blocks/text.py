"""Small Block Kit pieces, Slack's escaping and Slack's length limits, each in one place."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

Block = dict[str, Any]

# Slack's limits (https://api.slack.com/reference/block-kit/blocks).
SECTION_TEXT = 3000
FIELD_TEXT = 2000
HEADER_TEXT = 150
BUTTON_TEXT = 75
CONTEXT_TEXT = 2000
OPTION_TEXT = 75
# Our own cap, not Slack's: a link must fit whole in a field (2,000) beside its label, or in a sentence.
LINK_MAX = 1000


def escape(text: str) -> str:
    """Slack's three entities and nothing more: `<!channel>` stays inert, an apostrophe stays an apostrophe."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    """The text cut to Slack's limit with an ellipsis, never inside an escaped entity, a link or a mention."""
    return text if len(text) <= limit else cut_clean(text, limit - 1) + "…"


def cut_clean(text: str, limit: int) -> str:
    """At most `limit` characters of escaped text, never ending inside an entity, a link or a mention."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    # Never end inside an escaped entity (&amp; &lt; &gt;): Slack would show the half of it literally.
    amp = cut.rfind("&", max(0, len(cut) - 4))
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    # Typed text is escaped, so a raw `<` opens one of ours (`<url|text>`, `<@U1>`, `<!date^…>`); half of one
    # would swallow the rest of the message or show as broken markup.
    opened = cut.rfind("<")
    if opened > cut.rfind(">"):
        cut = cut[:opened]
    return cut


def link(url: str | None, label: str | None = None) -> str | None:
    """A Slack link to an absolute http(s) URL (its `&` escaped, as Slack's formatting rules ask), optionally
    labelled; None for anything Slack could misread as markup or too long to show whole (the caller then shows
    it as escaped text, which may be cut)."""
    if (not url or len(url) > LINK_MAX or not url.startswith(("http://", "https://"))
            or any(c in url for c in "<>| \n\t")):
        return None
    target = url.replace("&", "&amp;")
    return f"<{target}|{escape(label)}>" if label else f"<{target}>"


def plain(text: str, limit: int = SECTION_TEXT) -> dict[str, Any]:
    """A plain-text object within Slack's limit, emoji shown."""
    return {"type": "plain_text", "text": truncate(text, limit), "emoji": True}


def mrkdwn(text: str, limit: int = SECTION_TEXT) -> dict[str, Any]:
    """A mrkdwn text object within Slack's limit; the caller escapes what people typed."""
    return {"type": "mrkdwn", "text": truncate(text, limit)}


def header(text: str) -> Block:
    """A header block, cut to Slack's header limit."""
    return {"type": "header", "text": plain(text, HEADER_TEXT)}


def section(text: str, *, block_id: str | None = None, accessory: dict[str, Any] | None = None) -> Block:
    """A mrkdwn section block, with an optional block ID and accessory."""
    block: Block = {"type": "section", "text": mrkdwn(text)}
    if block_id:
        block["block_id"] = block_id
    if accessory:
        block["accessory"] = accessory
    return block


def fields(*pairs: tuple[str, str | None]) -> Block:
    """A section of bold-labelled fields; empty values are left out, and at most Slack's ten are kept."""
    shown = [mrkdwn(f"*{label}*\n{value}", FIELD_TEXT) for label, value in pairs if value]
    return {"type": "section", "fields": shown[:10]}


def context(*texts: str, block_id: str | None = None) -> Block:
    """A context block of the non-empty texts, at most Slack's ten elements."""
    block: Block = {"type": "context", "elements": [mrkdwn(t, CONTEXT_TEXT) for t in texts if t][:10]}
    if block_id:
        block["block_id"] = block_id
    return block


def divider() -> Block:
    """A divider between parts of a message or the App Home."""
    return {"type": "divider"}


def button(text: str, action_id: str, value: str | None = None, *, style: str | None = None,
           url: str | None = None) -> dict[str, Any]:
    """A button with the given action ID, and optionally a value, style (primary/danger) or link."""
    element: dict[str, Any] = {"type": "button", "text": plain(text, BUTTON_TEXT), "action_id": action_id}
    if value is not None:
        element["value"] = value
    if style:
        element["style"] = style
    if url:
        element["url"] = url
    return element


def actions(*elements: dict[str, Any], block_id: str | None = None) -> Block:
    """An actions block holding at most Slack's 25 elements."""
    block: Block = {"type": "actions", "elements": list(elements)[:25]}
    if block_id:
        block["block_id"] = block_id
    return block


def input_block(block_id: str, label: str, element: dict[str, Any], *, optional: bool = False,
                hint: str | None = None) -> Block:
    """A modal input whose element's action ID is its block ID (so a submission reads one name)."""
    found: Block = {"type": "input", "block_id": block_id, "label": plain(label, 2000),
                    "element": {**element, "action_id": block_id}, "optional": optional}
    if hint:
        found["hint"] = plain(hint, 2000)
    return found


def option(text: str, value: str) -> dict[str, Any]:
    """A select or radio option within Slack's option text limit."""
    return {"text": plain(text, OPTION_TEXT), "value": value}


def slack_date(moment: datetime, fmt: str = "{date_short_pretty} at {time}") -> str:
    """Slack renders this in each reader's own time zone; the fallback is UTC."""
    fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{fmt}|{fallback}>"


def countdown(due: datetime, now: datetime) -> str:
    """How far the deadline is from now in words: "in 40 min", or "overdue by 2 h" once it has passed."""
    delta = due - now
    if delta <= timedelta(0):
        return f"overdue by {duration_words(-delta)}"
    return f"in {duration_words(delta)}"


def duration_words(delta: timedelta) -> str:
    """A duration in days, hours and minutes, or seconds when under a minute; never negative."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return f"{max(int(delta.total_seconds()), 0)} s"
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "", f"{minutes} min" if minutes else ""]
    return " ".join(p for p in parts if p)


def user(user_id: str) -> str:
    """A mention that pings the Slack user."""
    return f"<@{user_id}>"


def actor(who: str) -> str:
    """Who did something: a mention for a Slack user ID, the name itself for the bot or a system."""
    return user(who) if who[:1] in ("U", "W") and who.isalnum() and who.isupper() else escape(who)


def usergroup(group_id: str) -> str:
    """A mention that pings every member of the Slack user group."""
    return f"<!subteam^{group_id}>"


def channel(channel_id: str) -> str:
    """A link to the Slack channel."""
    return f"<#{channel_id}>"


def customer_time(moment: datetime, zone: str) -> str:
    """The moment as the customer reads it: local day, time and zone name."""
    local = moment.astimezone(ZoneInfo(zone))
    return f"{local:%A %d %B at %H:%M} {local.tzname()} ({zone})"

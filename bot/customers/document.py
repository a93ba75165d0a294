"""The customer-connection document: its shape checked, its templates rendered with python-liquid, and what
the configuration's paths (plan tier, authorized contacts, compliance) find in it.

Rendering is text, never markup: HTML autoescape is off (it would turn an apostrophe into `&#39;`, which
Slack shows literally); blocks/ escapes Slack's three entities afterwards, and Help Scout's HTML escapes its
own. A missing path renders empty and is named; a link that is not http(s) is shown as text and named.
"""

from __future__ import annotations

import contextvars
from collections.abc import Mapping, Sequence
from typing import Any

from liquid import Environment, Undefined
from liquid.exceptions import LiquidError

from bot.core.formats import is_web_link
from bot.customer_data import (
    ActionSection,
    CustomerCard,
    LinkSection,
    ListSection,
    Section,
    Verification,
)
from bot.domain import PlanTier
from bot.integrations.customer_connection import CustomerDataUnavailable

SECTION_TYPES = ("link", "list", "action")
_missing: contextvars.ContextVar[list[str]] = contextvars.ContextVar("missing_paths")


class _Recorded(Undefined):
    """Renders empty, and remembers which path was missing so the card can name it."""

    def __init__(self, name: str, **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        hint = kwargs.get("hint")
        path = hint.removesuffix(" is undefined") if isinstance(hint, str) else name
        found = _missing.get(None)
        if found is not None and path not in found:
            found.append(path)


_LIQUID = Environment(autoescape=False, undefined=_Recorded)


def check_shape(document: Mapping[str, Any]) -> None:
    """Raises CustomerDataUnavailable naming what does not match the customer-connection shape."""
    if not isinstance(document.get("customer"), Mapping):
        raise CustomerDataUnavailable("the customer endpoint's document has no \"customer\" object")
    sections = document.get("sections", [])
    if not isinstance(sections, list):
        raise CustomerDataUnavailable("the customer endpoint's \"sections\" is not a list")
    for index, section in enumerate(sections):
        kind = section.get("type") if isinstance(section, Mapping) else None
        if kind not in SECTION_TYPES:
            raise CustomerDataUnavailable(f"the customer endpoint's section {index + 1} has an unknown type "
                                          f"({str(kind)[:40]!r})")
        needed = {"link": ("title", "href"), "list": ("title", "items"), "action": ("title", "action")}[kind]
        absent = [k for k in needed if k not in section]
        if absent:
            raise CustomerDataUnavailable(f"the customer endpoint's {kind} section {index + 1} has no "
                                          f"\"{absent[0]}\"")
        if kind == "list" and not (isinstance(section["items"], list)
                                   and all(isinstance(i, Mapping) for i in section["items"])):
            raise CustomerDataUnavailable(f"the customer endpoint's list section {index + 1} has items that are "
                                          "not objects")


def render_card(document: Mapping[str, Any]) -> CustomerCard:
    """The card's sections with every template rendered against `data` (the document itself)."""
    check_shape(document)
    missing: list[str] = []
    token = _missing.set(missing)
    try:
        sections: list[Section] = []
        unsafe: list[str] = []
        for section in document.get("sections", []):
            kind = section["type"]
            title = _render(section.get("title"), document)
            if kind == "link":
                href = _render(section.get("href"), document).strip()
                safe = is_web_link(href)
                if not safe:
                    unsafe.append(title or href)
                sections.append(LinkSection(title, _render(section.get("description"), document), href, safe))
            elif kind == "list":
                sections.append(ListSection(title, tuple(
                    (_render(item.get("description"), document), _render(item.get("value"), document))
                    for item in section["items"])))
            else:
                sections.append(ActionSection(title, str(section["action"]),
                                              _render(section.get("description"), document),
                                              _render(section.get("confirm"), document)))
    finally:
        _missing.reset(token)
    customer = document["customer"]
    name = customer.get("name") if isinstance(customer.get("name"), str) else None
    return CustomerCard(tuple(sections), tuple(missing), tuple(unsafe), name)


def _render(template: object, document: Mapping[str, Any]) -> str:
    if template is None:
        return ""
    text = template if isinstance(template, str) else json_text(template)
    try:
        return str(_LIQUID.from_string(text).render(data=document))
    except LiquidError:
        # A template the endpoint got wrong is shown as it was written, not as an error page.
        return text


def json_text(value: object) -> str:
    """A non-string value as the card shows it."""
    return "true" if value is True else "false" if value is False else str(value)


def value_at(document: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path such as `customer.plan_type`; None when any step is missing."""
    found: Any = document
    for part in path.split("."):
        if not isinstance(found, Mapping) or part not in found:
            return None
        found = found[part]
    return found


def plan_tier_of(document: Mapping[str, Any], plan_path: str) -> PlanTier | None:
    """The plan tier the endpoint names ("Business" → business), None when it names none we know."""
    value = value_at(document, plan_path)
    if not isinstance(value, str):
        return None
    return PlanTier._value2member_map_.get(value.strip().casefold())  # type: ignore[return-value]


def strings_at(document: Mapping[str, Any], path: str) -> Sequence[str]:
    """The strings of a list at `path` (a single string counts as a list of one)."""
    value = value_at(document, path)
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def verify(document: Mapping[str, Any], *, email: str, contacts_path: str, compliance_path: str) -> Verification:
    """The requester checked against the authorized contacts (case-insensitively)."""
    contacts = {c.strip().casefold() for c in strings_at(document, contacts_path)}
    state = "verified" if email.strip().casefold() in contacts else "not_authorized"
    return Verification(state, tuple(strings_at(document, compliance_path)))

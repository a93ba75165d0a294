"""Link templates with `{name}` placeholders: filling them safely, and refusing templates that cannot be."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from urllib.parse import quote

from bot.core.formats import is_web_link

PLACEHOLDER = re.compile(r"\{(\w+)\}")
# Everything up to the end of the host and port: an optional "scheme:", an optional "//", then the authority,
# which ends at the first "/", "?" or "#". Filled values are encoded, so they can never move that boundary.
_ORIGIN = re.compile(r"^(?:[^:/?#]*:)?(?://)?[^/?#]*")
_SAMPLE = "sample"


def placeholder_names(template: str) -> list[str]:
    """The placeholder names in the template, in order of appearance, each once."""
    return list(dict.fromkeys(PLACEHOLDER.findall(template)))


def fill(template: str, values: Mapping[str, str]) -> str:
    """The template with each `{name}` replaced by its URL-encoded value; raises KeyError for an unknown name.

    Every character that means something in a URL ("/", "?", "&", "#", "=", spaces) is encoded, so a value
    can only ever be data inside the part of the link where its placeholder sits.
    """
    return PLACEHOLDER.sub(lambda m: quote(values[m.group(1)], safe=""), template)


def template_problem(template: object, placeholders: Collection[str]) -> str | None:
    """Why the link template is refused, or None when it is fine.

    Refused: anything but a string; a placeholder not in `placeholders`; a placeholder in the scheme, host or port
    (values come from what people type, and they must never choose where a link points); and a template
    that, filled with sample values, is not an absolute http(s) URL with a host.
    """
    if not isinstance(template, str):
        return f"expected an http(s) URL template, got {template!r}"
    names = placeholder_names(template)
    unknown = [name for name in names if name not in placeholders]
    if unknown:
        return f"unknown placeholder {{{unknown[0]}}} (known: {', '.join(f'{{{n}}}' for n in sorted(placeholders))})"
    origin = _ORIGIN.match(template)
    in_origin = PLACEHOLDER.search(origin.group(0)) if origin is not None else None
    if in_origin is not None:
        return (f"placeholder {in_origin.group(0)} is in the scheme or host of {template!r}: a filled-in value "
                "must never choose where the link points")
    filled = fill(template, {name: _SAMPLE for name in names})
    if not is_web_link(filled):
        return f"expected an http(s) URL template, got {template!r}"
    return None

"""The shapes of things people type, each written once: email addresses, web links, IANA time zones."""

from __future__ import annotations

import re
from urllib.parse import urlsplit
from zoneinfo import available_timezones

# An address somewhere in a text; anchored with fullmatch to check a whole field.
EMAIL = re.compile(r"[^\s@<>]+@[^\s@<>]+\.[A-Za-z]{2,}")
# Every zone the zoneinfo database knows, sorted for the time-zone picker.
TIME_ZONES: tuple[str, ...] = tuple(sorted(available_timezones()))
_ZONE_SET = frozenset(TIME_ZONES)


def is_email(text: str) -> bool:
    """True when the whole text is one email address."""
    return EMAIL.fullmatch(text) is not None


def is_web_link(text: str) -> bool:
    """True for an absolute http(s) URL with a host; malformed URLs are False, never an exception."""
    try:
        parts = urlsplit(text)
        return parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # urlsplit refuses malformed brackets such as https://[oops
        return False


def is_time_zone(name: str) -> bool:
    """True for an IANA time zone name."""
    return name in _ZONE_SET

"""bot/core/formats.py: the one email, link and time-zone rule every field and check uses."""

from __future__ import annotations

import pytest

from bot.core.formats import EMAIL, TIME_ZONES, is_email, is_time_zone, is_web_link


@pytest.mark.parametrize(("text", "expected"), [
    ("dana@customer.example", True), ("dana@customer", False), ("dana customer.example", False),
    ("a@b@c.example", False), ("<dana@customer.example>", False), ("dana@customer.example ", False),
])
def test_is_email(text: str, expected: bool) -> None:
    assert is_email(text) is expected


def test_email_is_found_inside_text() -> None:
    match = EMAIL.search("write to dana@customer.example today")
    assert match is not None and match.group(0) == "dana@customer.example"


@pytest.mark.parametrize(("text", "expected"), [
    ("https://app.acme.example/x", True), ("http://127.0.0.1:9000", True), ("ftp://x.example", False),
    ("https://", False), ("localhost:9000", False), ("https://[oops", False), ("/api/v2", False),
])
def test_is_web_link(text: str, expected: bool) -> None:
    assert is_web_link(text) is expected


def test_time_zones_are_sorted_and_checked() -> None:
    assert list(TIME_ZONES) == sorted(TIME_ZONES) and "Europe/Berlin" in TIME_ZONES
    assert is_time_zone("America/New_York") and not is_time_zone("Mars/Olympus")

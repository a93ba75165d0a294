"""Business days around a weekend and a public holiday (the contract's New York hours, US holidays)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.core.business_days import BusinessCalendar
from bot.core.config import BusinessHours

NY = ZoneInfo("America/New_York")
CALENDAR = BusinessCalendar(BusinessHours())


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NY)  # type: ignore[misc]


def test_one_business_day_skips_the_weekend() -> None:
    assert CALENDAR.add_business_days(ny(2026, 12, 4, 14, 0), 1) == ny(2026, 12, 7, 14, 0)  # Fri → Mon


def test_after_hours_counts_from_the_next_opening() -> None:
    assert CALENDAR.add_business_days(ny(2026, 12, 4, 18, 0), 1) == ny(2026, 12, 8, 9, 0)  # Fri 18:00 → Tue 09:00
    assert CALENDAR.add_business_days(ny(2026, 12, 5, 11, 0), 1) == ny(2026, 12, 8, 9, 0)  # a Saturday
    assert CALENDAR.add_business_days(ny(2026, 12, 7, 7, 30), 1) == ny(2026, 12, 8, 9, 0)  # before opening


def test_a_public_holiday_is_not_a_business_day() -> None:
    # Thanksgiving 2026 is Thursday 26 November: Wednesday + 1 business day is Friday.
    assert CALENDAR.holiday_name(ny(2026, 11, 26).date()) == "Thanksgiving Day"
    assert CALENDAR.add_business_days(ny(2026, 11, 25, 10, 0), 1) == ny(2026, 11, 27, 10, 0)
    # Christmas 2026 is a Friday: Thursday 24th + 1 is Monday 28th.
    assert CALENDAR.add_business_days(ny(2026, 12, 24, 10, 0), 1) == ny(2026, 12, 28, 10, 0)


def test_end_of_next_business_day() -> None:
    assert CALENDAR.end_of_next_business_day(ny(2026, 12, 3, 10, 0)) == ny(2026, 12, 4, 17, 0)  # Thu → Fri 17:00
    assert CALENDAR.end_of_next_business_day(ny(2026, 12, 4, 16, 0)) == ny(2026, 12, 7, 17, 0)  # Fri → Mon
    assert CALENDAR.end_of_next_business_day(ny(2026, 11, 25, 18, 0)) == ny(2026, 11, 30, 17, 0)  # holiday


def test_other_countries_and_none() -> None:
    german = BusinessCalendar(BusinessHours(timezone="Europe/Berlin", holidays="DE"))
    assert not german.is_business_day(datetime(2026, 10, 3, tzinfo=UTC).date())  # German Unity Day (a Saturday too)
    assert not german.is_business_day(datetime(2026, 12, 25, tzinfo=UTC).date())
    free = BusinessCalendar(BusinessHours(holidays=None))
    assert free.is_business_day(datetime(2026, 11, 26, tzinfo=UTC).date())

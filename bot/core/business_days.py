"""Business-day arithmetic from `[business_hours]`: the working days, hours and time zone, with public
holidays from the `holidays` library (the country configurable), never a hand-written date table."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

import holidays

from bot.core.config import BusinessHours

_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class BusinessCalendar:
    """Which days are business days, and moments a number of business days away."""

    def __init__(self, hours: BusinessHours) -> None:
        self._hours = hours
        self.zone = self._zone = ZoneInfo(hours.timezone)
        self._days = {_DAY_NAMES.index(d) for d in hours.days}

    @cached_property
    def _holidays(self) -> holidays.HolidayBase | None:
        return holidays.country_holidays(self._hours.holidays) if self._hours.holidays else None

    def is_business_day(self, day: date) -> bool:
        """A working weekday that is not a public holiday."""
        return day.weekday() in self._days and not (self._holidays is not None and day in self._holidays)

    def holiday_name(self, day: date) -> str | None:
        """The public holiday on `day`, if any."""
        return self._holidays.get(day) if self._holidays is not None else None

    def _next_business_day(self, day: date) -> date:
        day += timedelta(days=1)
        for _ in range(366):
            if self.is_business_day(day):
                return day
            day += timedelta(days=1)
        raise ValueError("no business day within a year: check [business_hours] days")

    def _local(self, moment: datetime) -> datetime:
        return moment.astimezone(self._zone)

    def _at(self, day: date, clock: time) -> datetime:
        return datetime.combine(day, clock, tzinfo=self._zone)

    def add_business_days(self, moment: datetime, days: int) -> datetime:
        """The same working time `days` business days later. A moment outside working hours counts from the
        next opening, so "one business day after Friday 18:00" is Tuesday 09:00, not Monday 18:00."""
        local = self._local(moment)
        day, clock = local.date(), local.timetz().replace(tzinfo=None)
        if not self.is_business_day(day) or clock >= self._hours.end:
            day, clock = self._next_business_day(day), self._hours.start
        elif clock < self._hours.start:
            clock = self._hours.start
        for _ in range(days):
            day = self._next_business_day(day)
        return self._at(day, clock)

    def end_of_next_business_day(self, moment: datetime) -> datetime:
        """The close of business on the business day after the one `moment` falls in (or precedes)."""
        local = self._local(moment)
        day = local.date()
        if not self.is_business_day(day) or local.timetz().replace(tzinfo=None) >= self._hours.end:
            day = self._next_business_day(day)
        return self._at(self._next_business_day(day), self._hours.end)

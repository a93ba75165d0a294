"""Typed timer keys: each kind of deadline says what it means in one small value, built and parsed here.

A key's text is its identity in the `timers` table, so scheduling the same deadline twice is refused by the
database; each workflow's `timers.py` defines its kinds as subclasses and registers their handlers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Self

from sqlalchemy.ext.asyncio import AsyncSession

from storage.repositories import timers


class BadTimerKey(ValueError):
    """A stored key that does not parse as the kind it claims to be."""


@dataclass(frozen=True)
class TimerKey:
    """A deadline's meaning. Subclasses set `kind`, `encode` and `parse`, and say whose deadline it is."""

    kind: ClassVar[str]

    def encode(self) -> str:
        """The key's text in the `timers` table."""
        raise NotImplementedError

    @classmethod
    def parse(cls, text: str) -> Self:
        """The key back from its text; raises BadTimerKey."""
        raise NotImplementedError

    @property
    def ticket_number(self) -> int | None:
        """The ticket this deadline belongs to, if any."""
        return None

    @property
    def incident_id(self) -> int | None:
        """The incident this deadline belongs to, if any."""
        return None


@dataclass(frozen=True)
class TicketTimerKey(TimerKey):
    """A deadline of one ticket."""

    ticket: int

    @property
    def ticket_number(self) -> int:
        """The ticket whose deadline this is."""
        return self.ticket


@dataclass(frozen=True)
class IncidentTimerKey(TimerKey):
    """A deadline of one incident round."""

    incident: int

    @property
    def incident_id(self) -> int:
        """The incident round whose deadline this is."""
        return self.incident


def fields(text: str, prefix: str, count: int) -> list[str]:
    """Splits "prefix:a:b:..." into its `count` fields after the prefix; the last keeps any further colons."""
    head, _, rest = text.partition(":")
    parts = rest.split(":", count - 1) if rest else []
    if head != prefix or len(parts) != count:
        raise BadTimerKey(f"{text!r} is not a {prefix}:… key with {count} fields")
    return parts


def number(text: str) -> int:
    """A key field that must be a whole number."""
    if not text.isdigit():
        raise BadTimerKey(f"{text!r} is not a number")
    return int(text)


async def schedule(session: AsyncSession, key: TimerKey, *, due_at: datetime) -> bool:
    """Schedules the deadline once; False when it is already scheduled (or fired)."""
    return await timers.schedule_timer(session, key=key.encode(), kind=key.kind, due_at=due_at,
                                       ticket_number=key.ticket_number, incident_id=key.incident_id)


async def cancel(session: AsyncSession, key: TimerKey, *, now: datetime) -> bool:
    """Cancels the deadline if it has not fired."""
    return await timers.cancel_timer(session, key=key.encode(), now=now)

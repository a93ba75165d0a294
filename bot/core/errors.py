"""Our exceptions, and what the user is told for each.

    SupportbotError
     ├── TicketNotSaved           the database refused or timed out while filing; nothing was stored
     ├── NotAllowed               the user is not in the group an action needs
     ├── UnknownTicket            an action names a ticket we do not have
     └── OutsideServiceError      PagerDuty, Statuspage or the customer endpoint failed
"""

from __future__ import annotations


class SupportbotError(Exception):
    """Base class; `user_message` is safe to show in Slack."""

    @property
    def user_message(self) -> str:
        """What to tell the person in Slack."""
        return str(self)


class TicketNotSaved(SupportbotError):
    """The database refused or timed out while filing; nothing of the ticket was stored."""


class NotAllowed(SupportbotError):
    """The person is not in the user group the action needs."""


class UnknownTicket(SupportbotError):
    """An action names a ticket the bot does not have."""


class OutsideServiceError(SupportbotError):
    """A vendor failed. `retryable` says whether trying again may help (429, 5xx, network)."""

    def __init__(self, service: str, detail: str, *, status: int | None = None, retryable: bool = True) -> None:
        super().__init__(f"{service}: {detail}")
        self.service = service
        self.detail = detail
        self.status = status
        self.retryable = retryable

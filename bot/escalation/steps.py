"""What one escalation round's one-time steps are called, the marks its messages carry, and the round as its
messages need it (ticket, team, links, related tickets)."""

from __future__ import annotations

from dataclasses import dataclass

from blocks import escalation as words
from blocks.ticket_card import card_url
from bot.core.config import Team
from bot.core.slack_lookup import Mark
from bot.domain import Escalation, Severity, Ticket


def step_key(escalation_id: int, step: str) -> str:
    """The one-time step of one round (`post`, `page`, `jira`, `rung:2`)."""
    return f"escalation:{escalation_id}:{step}"


def rung_step(rung: int) -> str:
    """The step that says (and, at the first rung, re-pages) what the ladder's rung does."""
    return f"rung:{rung}"


def post_mark(escalation_id: int) -> Mark:
    """The metadata the post carries, by which an attempt that comes again finds it in the team channel."""
    return Mark("supportbot_escalation", {"escalation": escalation_id})


def message_mark(escalation_id: int, step: str) -> Mark:
    """The metadata a one-time message of the round carries."""
    return Mark("supportbot_escalation_note", {"escalation": escalation_id, "step": step})


@dataclass(frozen=True)
class Round:
    """An escalation round with what its messages need: the ticket, the team, the links, related tickets."""

    escalation: Escalation
    ticket: Ticket
    team: Team
    links: list[tuple[str, str]]
    related: list[int]

    @property
    def severity(self) -> Severity:
        """The ticket's severity now, which decides paging."""
        return self.ticket.severity

    def where(self, *, pagerduty: bool) -> words.PostContext:
        """What the post shows beside the round."""
        return words.PostContext(ticket=self.ticket, team_channel=self.team.channel,
                                 oncall_usergroup=self.team.oncall_usergroup, card_url=card_url(self.ticket),
                                 diagnostic_links=self.links, related_tickets=self.related, pagerduty=pagerduty)




def card_note(escalation: Escalation) -> str:
    """The name of the round's note under the ticket card ("Escalated to payments, paged")."""
    return f"escalation_{escalation.round}"

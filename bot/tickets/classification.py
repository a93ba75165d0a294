"""Severity from the impact the agent chose, with the reason spelled out for the card and the audit log."""

from __future__ import annotations

from dataclasses import dataclass

from blocks.text import actor as actor_text
from bot.domain import Impact, Severity


@dataclass(frozen=True)
class Classification:
    """A ticket's severity and the reason shown on the card and kept in the audit log."""

    severity: Severity
    reason: str


def classify(impact: Impact) -> Classification:
    """The severity the intake impact files the ticket as, with the impact's meaning as the reason."""
    # The impact's own label is the severity's meaning: one wording, shown in the modal and on the card.
    return Classification(severity=impact.severity, reason=f"Impact reported at intake: {impact.label.lower()}")


def reclassify(impact: Impact, *, actor: str, reason: str) -> Classification:
    """The severity for a changed impact, the reason naming who changed it and why."""
    return Classification(severity=impact.severity, reason=f"Changed by {actor_text(actor)}: {reason}")

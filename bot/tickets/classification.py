"""Severity from the impact the agent chose, with the reason spelled out for the card and the audit log."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain import Impact, Severity

_MEANING = {
    Severity.SEV1: "production down or data loss",
    Severity.SEV2: "major feature broken, no workaround",
    Severity.SEV3: "minor feature broken, or a workaround exists",
    Severity.SEV4: "cosmetic or how-to question",
}


@dataclass(frozen=True)
class Classification:
    """A ticket's severity and the reason shown on the card and kept in the audit log."""

    severity: Severity
    reason: str


def classify(impact: Impact) -> Classification:
    """The severity the intake impact files the ticket as, with the impact's meaning as the reason."""
    severity = impact.severity
    return Classification(severity=severity, reason=f"Impact reported at intake: {_MEANING[severity]}")


def reclassify(impact: Impact, *, actor: str, reason: str) -> Classification:
    """The severity for a changed impact, the reason naming who changed it and why."""
    severity = impact.severity
    return Classification(severity=severity, reason=f"Changed by <@{actor}>: {reason}")

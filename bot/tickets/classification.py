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
    severity: Severity
    reason: str


def classify(impact: Impact) -> Classification:
    severity = impact.severity
    return Classification(severity=severity, reason=f"Impact reported at intake: {_MEANING[severity]}")


def reclassify(impact: Impact, *, actor: str, reason: str) -> Classification:
    severity = impact.severity
    return Classification(severity=severity, reason=f"Changed by <@{actor}>: {reason}")

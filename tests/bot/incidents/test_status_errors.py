"""The status modal's inline errors for values no Slack client sends: too long, broken characters, not text."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from blocks.incident import STATUS_TEXT_MAX
from bot.core.views import text_value
from bot.domain import Incident, IncidentStatus
from bot.incidents.status_updates import StatusDraft, status_errors

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def incident(status: IncidentStatus = IncidentStatus.IDENTIFIED) -> Incident:
    return Incident(id=1, ticket_number=1, generation=1, status=status, commander=None,
                    public_title="Service disruption", opened_at=NOW, resolved_at=None, last_public_update_at=NOW,
                    last_public_message="We are investigating", kickoff_ts=None)


def errors(message: str = "We found the cause.", *, status: IncidentStatus = IncidentStatus.MONITORING,
           reason: str | None = None) -> dict[str, str]:
    return status_errors(StatusDraft(status=status, message=message, reason=reason), incident(), leak=None)


def test_a_good_update_has_no_errors() -> None:
    assert errors() == {}


def test_a_message_past_the_inputs_max_length_is_refused() -> None:
    assert errors("x" * (STATUS_TEXT_MAX + 1)) == {
        "status_message": f"Keep this to {STATUS_TEXT_MAX} characters (it has {STATUS_TEXT_MAX + 1})"}


@pytest.mark.parametrize("where", ["message", "reason"])
def test_a_lone_surrogate_is_refused_on_its_field(where: str) -> None:
    broken = "Fixed \ud83d soon"
    found = (errors(broken) if where == "message"
             else errors(status=IncidentStatus.INVESTIGATING, reason=broken))
    field = "status_message" if where == "message" else "status_backwards_reason"
    assert set(found) == {field} and "not text" in found[field]


@pytest.mark.parametrize("value", [42, ["a"], {"text": "x"}, None])
def test_a_value_that_is_not_text_reads_as_empty(value: object) -> None:
    view = {"state": {"values": {"status_message": {"status_message": {"type": "plain_text_input",
                                                                       "value": value}}}}}
    assert text_value(view, "status_message") == ""
    assert errors(text_value(view, "status_message")) == {"status_message": "Write what customers should know"}

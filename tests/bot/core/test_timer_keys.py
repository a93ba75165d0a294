"""Typed timer keys: each kind encodes to one text and parses back to the same value, in one place."""

from __future__ import annotations

import pytest

from bot.core.timers import BadTimerKey, TimerKey
from bot.domain import IncidentStep
from bot.incidents.timers import PublishRetry, ResolveRetry, StatusReminder, StepRetry
from bot.paging.timers import Sev2PageRetry
from bot.tickets.timers import FirstResponseBreach, FirstResponseReminder

KEYS: list[TimerKey] = [
    FirstResponseReminder(7), FirstResponseBreach(7), Sev2PageRetry(7, 3),
    StepRetry(4, IncidentStep.STATUSPAGE), StepRetry(4, None),
    StatusReminder(4, "2026-12-02T19:30:00+00:00"), StatusReminder(4, "after:V123"),
    PublishRetry(4, "2026-12-02T19:00:00+00:00", 2), ResolveRetry(4, 5),
]


@pytest.mark.parametrize("key", KEYS, ids=lambda k: k.encode())
def test_a_key_parses_back_to_itself(key: TimerKey) -> None:
    assert type(key).parse(key.encode()) == key


def test_keys_say_whose_deadline_they_are() -> None:
    assert (FirstResponseBreach(7).ticket_number, FirstResponseBreach(7).incident_id) == (7, None)
    assert (StepRetry(4, None).ticket_number, StepRetry(4, None).incident_id) == (None, 4)
    assert FirstResponseReminder(7).encode() == "ticket:7:first_response_warning"
    assert Sev2PageRetry(7, 3).encode() == "ticket:7:sev2_page:retry:3"


def test_step_retry_keys_written_before_the_typed_keys_still_parse() -> None:
    # Earlier releases put the due time at the end; pending rows of that shape must still fire.
    assert StepRetry.parse("incident:4:page:retry:2026-12-02T19:00:00+00:00") == StepRetry(4, IncidentStep.PAGE)


@pytest.mark.parametrize(("kind", "text"), [
    (StepRetry, "incident:x:page:retry"), (StepRetry, "incident:4:coffee:retry"), (StepRetry, "ticket:4:page:retry"),
    (Sev2PageRetry, "ticket:7:sev2_page:again:3"), (StatusReminder, "incident:4:remind:x"),
    (ResolveRetry, "incident:4:page_resolve:two"), (FirstResponseReminder, "ticket:7"),
])
def test_a_key_of_the_wrong_shape_is_refused(kind: type[TimerKey], text: str) -> None:
    with pytest.raises(BadTimerKey):
        kind.parse(text)

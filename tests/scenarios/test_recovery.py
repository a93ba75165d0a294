"""The recovery sweep, in one process on a manual clock: a one-time step left by an attempt that never reported
back is taken up at the first tick after its lease, looked for first, and done exactly once.

A stop mid-way is made by putting the database back to how the stopped attempt left it; the real process being
killed at each point is in test_kill_points.py."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, text

from bot.app import SupportBot
from bot.incidents.service import STEP_LEASE
from bot.sandbox.clock import ManualClock
from bot.sandbox.driver import SlackDriver
from bot.sandbox.pagerduty import PagerDutyStandIn
from bot.sandbox.slack import SlackSandbox
from bot.sandbox.slack_models import Message
from bot.sandbox.workspace import AGENT, escalate, file_ticket, ticket_values
from storage.models import UTCDateTime
from storage.repositories import side_effects
from storage.repositories import tickets as ticket_repo

TRIAGE = "C0TRIAGE01"
SEV1 = ticket_values(**{"Impact": "Production down or data loss", "Summary": "Login fails for everyone"})
SEV3 = ticket_values(Impact="Minor feature broken, or a workaround exists")


async def _sql(bot: SupportBot, *statements: str, at: datetime | None = None) -> None:
    """Puts the database back to how a stopped attempt left it (through the bot's own engine: a second
    connection would wait on the bot's write lock while holding up the event loop the bot needs to let go)."""
    async with bot.sessions.begin() as session:
        for statement in statements:
            query = text(statement)
            if ":at" in statement:  # bound as the models bind a moment, so SQLite and PostgreSQL store it alike
                query = query.bindparams(bindparam("at", type_=UTCDateTime()))
            await session.execute(query, {"at": at})


def _top_level(sandbox: SlackSandbox) -> list[Message]:
    return sandbox.history(TRIAGE)


def _replies(sandbox: SlackSandbox, card: Message, words: str) -> list[Message]:
    return [m for m in sandbox.history(TRIAGE, thread_ts=card.ts) if words in m.text]


async def _nothing_left(bot: SupportBot, clock: ManualClock) -> list[str]:
    async with bot.sessions() as session:
        return await side_effects.due_side_effects(session, now=clock.now() + timedelta(days=1))


async def test_slack_saying_not_now_to_the_card_is_retried_by_the_sweep_and_nobody_is_bothered(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, clock: ManualClock) -> None:
    sandbox.fail_next("chat.postMessage", "service_unavailable")
    await file_ticket(slack, sandbox, values=SEV3)
    await sandbox.wait_for(lambda: sandbox.calls_to("chat.postMessage"))
    await bot.timers.fire_due()
    assert _top_level(sandbox) == []
    assert not [e for e in sandbox.ephemerals if e.user == AGENT.user_id]  # it will be retried: no alarm

    clock.advance(timedelta(seconds=11))  # the first retry waits 10 s
    await bot.timers.fire_due()
    (card,) = _top_level(sandbox)
    assert len(_replies(sandbox, card, "Draft first reply")) == 1
    await bot.timers.fire_due()
    assert len(_top_level(sandbox)) == 1
    assert await _nothing_left(bot, clock) == []


async def test_a_card_posted_but_never_recorded_is_found_by_its_metadata_not_posted_again(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, clock: ManualClock) -> None:
    await file_ticket(slack, sandbox, values=SEV3)
    card = await sandbox.wait_for(lambda: next(iter(_top_level(sandbox)), None))
    await sandbox.wait_for(lambda: _replies(sandbox, card, "Draft first reply"))
    # The attempt posted it and stopped before recording: card and draft note both.
    await _sql(bot, "UPDATE tickets SET card_ts = NULL, card_channel = NULL",
               "UPDATE side_effects SET done_at = NULL, result = NULL, attempts = 1, claimed_until = :at",
               at=clock.now() + STEP_LEASE)

    clock.advance(STEP_LEASE / 2)
    await bot.timers.fire_due()  # the lease has not ended: nothing yet
    async with bot.sessions() as session:
        assert (await ticket_repo.get_ticket(session, number=1)).card_ts is None  # type: ignore[union-attr]

    clock.advance(STEP_LEASE)
    await bot.timers.fire_due()
    assert _top_level(sandbox) == [card] and len(_replies(sandbox, card, "Draft first reply")) == 1
    lookups = [c.params for c in sandbox.calls_to("conversations.history")]
    assert lookups and all(p.get("include_all_metadata") in ("1", True, "true") for p in lookups)
    async with bot.sessions() as session:
        assert (await ticket_repo.get_ticket(session, number=1)).card_ts == card.ts  # type: ignore[union-attr]
    assert await _nothing_left(bot, clock) == []


async def test_a_channel_created_but_never_recorded_is_adopted_not_opened_as_dash_2(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, clock: ManualClock) -> None:
    await file_ticket(slack, sandbox, values=SEV1)
    channel = await sandbox.wait_for(lambda: sandbox.channel_by_name("incident-1"), timeout=15)
    await sandbox.wait_for(lambda: any("What the bot did" in str(m.blocks) for m in sandbox.history(channel.id)))
    # Created, and the process stopped before the answer was recorded.
    await _sql(bot, "UPDATE incident_steps SET state = 'running', external_id = NULL, external_name = NULL, "
               "detail = NULL, claimed_until = :at WHERE step = 'channel'", at=clock.now())
    clock.advance(timedelta(seconds=1))
    await bot.timers.fire_due()
    incident = await bot.incidents.get(1)
    assert (incident.channel.state.value, incident.channel_id) == ("done", channel.id)
    assert [c.name for c in sandbox.channels.values() if c.name.startswith("incident-1")] == ["incident-1"]
    kickoffs = [m for m in sandbox.history(channel.id) if "What the bot did" in str(m.blocks)]
    assert len(kickoffs) == 1


async def test_a_sev2_page_whose_answer_was_lost_is_sent_again_under_its_key_and_reported_once(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, pagerduty: PagerDutyStandIn,
        clock: ManualClock) -> None:
    await file_ticket(slack, sandbox)  # SEV2
    card = await sandbox.wait_for(lambda: next(iter(_top_level(sandbox)), None))
    (note,) = await sandbox.wait_for(lambda: _replies(sandbox, card, "Paged on-call"))
    sandbox.messages.remove(note)  # PagerDuty took it; the process stopped before recording it, so no note yet
    await _sql(bot, "UPDATE side_effects SET done_at = NULL, attempts = 1, claimed_until = :at "
               "WHERE key = 'ticket:1:sev2_page'", "DELETE FROM side_effects WHERE key = 'ticket:1:card:sev2_page'",
               at=clock.now())
    clock.advance(timedelta(seconds=1))
    await bot.timers.fire_due()
    keys: set[Any] = {e["dedup_key"] for e in pagerduty.accepted_events("trigger")}
    assert keys == {"supportbot-ticket-1-sev2"} and len(pagerduty.alerts) == 1
    assert len(_replies(sandbox, card, "Paged on-call")) == 1
    assert await _nothing_left(bot, clock) == []


async def test_a_refused_card_leaves_nothing_for_the_sweep(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, clock: ManualClock) -> None:
    sandbox.fail_next("chat.postMessage", "channel_not_found")
    await file_ticket(slack, sandbox, values=SEV3)
    await sandbox.wait_for(lambda: [e for e in sandbox.ephemerals if e.user == AGENT.user_id])
    clock.advance(STEP_LEASE * 2)
    await bot.timers.fire_due()
    assert _top_level(sandbox) == []  # refused is refused: only a new request posts it
    assert await _nothing_left(bot, clock) == []


async def _escalated_card(slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot) -> tuple[Message, Message]:
    await file_ticket(slack, sandbox)  # SEV2
    card = await sandbox.wait_for(lambda: next(iter(_top_level(sandbox)), None))
    await escalate(slack, sandbox, number=1, triage=TRIAGE)
    (note,) = await sandbox.wait_for(lambda: _replies(sandbox, card, "escalated #1 to"))
    for _ in range(100):  # and recorded: the test then puts the record back to how a stopped process left it
        async with bot.sessions() as session:
            if await side_effects.side_effect_done(session, key="ticket:1:card:escalation_1"):
                return card, note
        await asyncio.sleep(0.05)
    raise AssertionError("the escalation note was posted but never recorded")


async def test_an_escalation_note_posted_but_never_recorded_is_found_not_posted_again(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, clock: ManualClock) -> None:
    card, note = await _escalated_card(slack, sandbox, bot)
    await _sql(bot, "UPDATE side_effects SET done_at = NULL, result = NULL, attempts = 1, claimed_until = :at "
               "WHERE key = 'ticket:1:card:escalation_1'", at=clock.now())
    clock.advance(timedelta(seconds=1))
    await bot.timers.fire_due()
    assert _replies(sandbox, card, "escalated #1 to") == [note]
    assert await _nothing_left(bot, clock) == []


async def test_an_escalation_note_a_stopped_process_never_posted_is_posted_by_the_sweep_once(
        slack: SlackDriver, sandbox: SlackSandbox, bot: SupportBot, clock: ManualClock) -> None:
    card, note = await _escalated_card(slack, sandbox, bot)
    # Stopped after the round was stored and delivered, before the note: planned (with the round), not claimed.
    sandbox.messages.remove(note)
    await _sql(bot, "UPDATE side_effects SET done_at = NULL, result = NULL, attempts = 0, claimed_at = :at, "
               "claimed_until = :at WHERE key = 'ticket:1:card:escalation_1'", at=clock.now())
    clock.advance(timedelta(seconds=1))
    await bot.timers.fire_due()
    assert len(_replies(sandbox, card, "escalated #1 to")) == 1
    await bot.timers.fire_due()
    assert len(_replies(sandbox, card, "escalated #1 to")) == 1
    assert await _nothing_left(bot, clock) == []

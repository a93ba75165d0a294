"""AnswerGate: follow-up work waits while other Slack requests still wait for their answer, but not forever."""

from __future__ import annotations

import asyncio
import time

from bot.core.web import AnswerGate


async def test_follow_up_work_waits_until_every_pending_request_is_answered() -> None:
    gate = AnswerGate()
    gate.enter()
    gate.enter()
    waiting = asyncio.create_task(gate.until_answered(1.0))
    await asyncio.sleep(0.02)
    assert not waiting.done()
    gate.leave()
    await asyncio.sleep(0.02)
    assert not waiting.done()  # one request still has no answer
    gate.leave()
    await asyncio.wait_for(waiting, 0.5)


async def test_a_request_arriving_as_the_gate_opens_keeps_it_shut() -> None:
    gate = AnswerGate()
    gate.enter()
    waiting = asyncio.create_task(gate.until_answered(1.0))
    await asyncio.sleep(0.01)
    gate.leave()
    gate.enter()  # the next request of the burst, read in the same loop turn
    await asyncio.sleep(0.02)
    assert not waiting.done()
    gate.leave()
    await asyncio.wait_for(waiting, 0.5)


async def test_the_wait_is_capped_so_a_steady_stream_cannot_starve_follow_up_work() -> None:
    gate = AnswerGate()
    gate.enter()
    started = time.monotonic()
    await gate.until_answered(0.05)
    assert 0.04 <= time.monotonic() - started < 0.5


async def test_an_idle_gate_does_not_delay_anything() -> None:
    started = time.monotonic()
    await AnswerGate().until_answered(1.0)
    assert time.monotonic() - started < 0.05

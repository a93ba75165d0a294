"""One-time side effects as durable, leased steps, and the recovery sweep that finishes what a stopped process
left: the card, the notes under it, the kickoff, the SEV2 page.

An effect is planned with what made it necessary, claimed for a lease, done, and recorded once. An attempt
gives up before its lease ends, so the attempt that takes over never overlaps it; the takeover is told it
comes `again` and looks for what the earlier attempt may have made before making it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import timedelta
from typing import Any, TypeVar

import aiohttp
from slack_sdk.errors import SlackApiError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.clock import Clock
from bot.core.scheduler import BackgroundWork, retry_delay
from storage.repositories import side_effects
from storage.repositories.side_effects import Claim

log = logging.getLogger(__name__)

T = TypeVar("T")
# Writes what the effect made, in the transaction that marks it done; returns what to keep as its result.
Recorder = Callable[[AsyncSession, T], Awaitable[Mapping[str, Any] | None]]
# Slack's answers that say "not now" rather than "no": the effect is tried again later.
TRANSIENT_SLACK_ERRORS = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable",
                                    "request_timeout"})
# Network trouble and timeouts: the call may or may not have happened, so the lease stays and the next attempt
# looks before doing it again.
UNKNOWN_OUTCOME = (TimeoutError, aiohttp.ClientError, OSError)
ATTEMPT_SHARE = 0.75
_SUBJECT = re.compile(r"^([a-z_]+):(\d+):")


def attempt_seconds(lease: timedelta) -> float:
    """How long one attempt may work: a share of its lease, so whoever takes over never overlaps it."""
    return lease.total_seconds() * ATTEMPT_SHARE


def is_transient(exc: SlackApiError) -> bool:
    """Slack said "not now" (rate limited, overloaded), not "no"."""
    return str(exc.response.get("error")) in TRANSIENT_SLACK_ERRORS


class OneTimeSteps:
    """Performs one-time effects exactly once across attempts, processes and restarts."""

    def __init__(self, *, sessions: async_sessionmaker[AsyncSession], clock: Clock, lease: timedelta) -> None:
        self._sessions = sessions
        self._clock = clock
        self.lease = lease

    async def plan(self, session: AsyncSession, keys: Iterable[str]) -> None:
        """Writes down, in the caller's transaction, effects that must follow from it; any attempt may take them
        at once, and the recovery sweep does once a lease has passed without anyone having."""
        await side_effects.plan_side_effects(session, keys=keys, now=self._clock.now(), start_within=self.lease)

    async def perform(self, key: str, action: Callable[[Claim], Awaitable[T]], *, record: Recorder[T] | None = None,
                      planned_only: bool = False) -> T | None:
        """Claims the effect, runs `action` within the attempt's share of the lease and records it once.

        None when it is done or held by another attempt, or when this attempt's outcome is unknown (a timeout,
        the network, Slack saying "not now"): the recovery sweep takes it up later. A refusal from Slack forgets
        the effect and raises SlackApiError for the caller to explain; any other error leaves the claim to run
        out and is raised.
        """
        async with self._sessions.begin() as session:
            claim = await side_effects.claim_side_effect(session, key=key, now=self._clock.now(), lease=self.lease,
                                                         planned_only=planned_only)
        if claim is None:
            return None
        try:
            async with asyncio.timeout(attempt_seconds(self.lease)):
                value = await action(claim)
        except SlackApiError as exc:
            if not is_transient(exc):
                async with self._sessions.begin() as session:
                    await side_effects.release_side_effect(session, key=key)
                raise
            due = self._clock.now() + retry_delay(claim.attempt)
            log.warning("%s: Slack said %s; trying again from %s", key, exc.response.get("error"), due.isoformat())
            async with self._sessions.begin() as session:
                await side_effects.retry_side_effect_at(session, key=key, due=due)
            return None
        except UNKNOWN_OUTCOME as exc:
            log.warning("%s: outcome unknown (%s); left to the next attempt", key, type(exc).__name__)
            return None
        # What happened outside is recorded even if the process is told to stop meanwhile.
        await asyncio.shield(self._complete(key, value, record))
        return value

    async def _complete(self, key: str, value: T, record: Recorder[T] | None) -> None:
        async with self._sessions.begin() as session:
            result = await record(session, value) if record is not None else None
            await side_effects.complete_side_effect(session, key=key, now=self._clock.now(), result=result)

    async def forget_under(self, prefix: str) -> None:
        """Forgets the effects planned under one that was refused (the notes under a card never posted)."""
        async with self._sessions.begin() as session:
            await side_effects.release_side_effects_under(session, prefix=prefix)

    async def done(self, key: str) -> bool:
        """True once the effect has happened."""
        async with self._sessions() as session:
            return await side_effects.side_effect_done(session, key=key) is True

    async def pending(self, key: str) -> bool:
        """True while the effect is planned or under way (not done, not forgotten)."""
        async with self._sessions() as session:
            return await side_effects.side_effect_done(session, key=key) is False


Resume = Callable[[int], Awaitable[object]]


class EffectRecovery:
    """The sweep over one-time effects: each whose lease ended goes back to its workflow, by the key's kind
    (`ticket:7:…` to the ticket's resume), one resume per subject at a time."""

    def __init__(self, *, sessions: async_sessionmaker[AsyncSession], clock: Clock,
                 background: BackgroundWork) -> None:
        self._sessions = sessions
        self._clock = clock
        self._background = background
        self._resumes: dict[str, list[Resume]] = {}

    def on(self, kind: str, resume: Resume) -> None:
        """Effects keyed `<kind>:<number>:…` are finished by `resume(number)` (each workflow's, in turn)."""
        self._resumes.setdefault(kind, []).append(resume)

    async def sweep(self) -> int:
        """Starts a resume for every subject with an effect past its lease; how many it started."""
        async with self._sessions() as session:
            keys = await side_effects.due_side_effects(session, now=self._clock.now())
        started = 0
        for kind, number in dict.fromkeys(_subject(key) for key in keys):
            resumes = self._resumes.get(kind, [])
            if resumes:
                started += self._background.spawn_unless_running(
                    f"resume {kind}:{number}", functools.partial(_in_turn, resumes, number))
        return started


async def _in_turn(resumes: list[Resume], number: int) -> None:
    for resume in resumes:
        await resume(number)


def _subject(key: str) -> tuple[str, int]:
    match = _SUBJECT.match(key)
    return (match.group(1), int(match.group(2))) if match else ("", 0)

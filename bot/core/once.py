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
from datetime import datetime, timedelta
from typing import Any, TypeVar

import aiohttp
from slack_sdk.errors import SlackApiError
from sqlalchemy import event
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
        # Claims this process took while planning (key -> when), committed: its next attempt at each needs no
        # claim of its own. Oldest first, so the stale ones (never performed: a refused card's notes) drop off.
        self._held: dict[str, datetime] = {}

    async def plan(self, session: AsyncSession, keys: Iterable[str], *, claim: bool = False) -> None:
        """Writes down, in the caller's transaction, effects that must follow from it; any attempt may take them
        at once, and the recovery sweep does once a lease has passed without anyone having.

        `claim`: this process is about to perform them itself (the card right after filing), so they are claimed
        for it in the same write, and its first attempt at each needs no transaction of its own; nobody else's
        attempt can start until the lease ends, as if it had claimed each one separately."""
        now = self._clock.now()
        mine = await side_effects.plan_side_effects(session, keys=keys, now=now, start_within=self.lease,
                                                    claimed=claim)
        if mine:
            def committed(_session: object) -> None:
                self._hold(mine, now)

            event.listen(session.sync_session, "after_commit", committed, once=True)

    def _hold(self, keys: list[str], claimed_at: datetime) -> None:
        cutoff = self._clock.now() - self.lease
        for key, at in list(self._held.items()):  # oldest first: stop at the first still within its lease
            if at > cutoff:
                break
            del self._held[key]
        for key in keys:
            self._held[key] = claimed_at

    async def _claim(self, key: str, planned_only: bool) -> tuple[Claim | None, float]:
        """The claim for this attempt and the seconds it may work: the one taken when planning while at least half
        of its attempt is left, that one renewed when less is, or a new one."""
        claimed_at, attempt, now = self._held.pop(key, None), attempt_seconds(self.lease), self._clock.now()
        if claimed_at is not None:
            left = attempt - (now - claimed_at).total_seconds()
            if left >= attempt / 2:
                return Claim(key=key, attempt=1), left
        async with self._sessions.begin() as session:
            if claimed_at is not None:
                claim = await side_effects.renew_planned_claim(session, key=key, claimed_at=claimed_at, now=now,
                                                               lease=self.lease)
            else:
                claim = await side_effects.claim_side_effect(session, key=key, now=now, lease=self.lease,
                                                             planned_only=planned_only)
        return claim, attempt

    async def perform(self, key: str, action: Callable[[Claim], Awaitable[T]], *, record: Recorder[T] | None = None,
                      planned_only: bool = False) -> T | None:
        """Claims the effect, runs `action` within the attempt's share of the lease and records it once.

        None when it is done or held by another attempt, or when this attempt's outcome is unknown (a timeout,
        the network, Slack saying "not now"): the recovery sweep takes it up later. A refusal from Slack forgets
        the effect and raises SlackApiError for the caller to explain; any other error leaves the claim to run
        out and is raised.
        """
        claim, seconds = await self._claim(key, planned_only)
        if claim is None:
            return None
        try:
            async with asyncio.timeout(seconds):
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

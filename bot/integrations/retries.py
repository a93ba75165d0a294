"""Retrying one outside call the way every vendor client here does: only what the service calls transient
(`OutsideServiceError.retryable`), after its Retry-After when it sent one (at most 10 s), else with backoff."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from typing import Any, TypeVar

from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt

from bot.core.errors import OutsideServiceError

T = TypeVar("T")
MAX_RETRY_AFTER = 10.0


def retry_after_seconds(header: str | None) -> float | None:
    """A Retry-After header in seconds; None when absent, negative or not a number (an HTTP date)."""
    try:
        value = float(header) if header else None
    except ValueError:
        return None
    return value if value is not None and value >= 0 else None


async def with_retries(call: Callable[[], Awaitable[T]], *, attempts: int, base: float, cap: float,
                       hint_statuses: Collection[int] | None = None) -> T:
    """Runs `call` until it succeeds, fails for good, or `attempts` are used up (then its last error is raised).
    `hint_statuses`: the statuses whose Retry-After is honoured (None: any that carries one)."""
    def wait(retry_state: Any) -> float:
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None else None
        if isinstance(exc, OutsideServiceError):
            hinted = getattr(exc, "retry_after", None)
            if isinstance(hinted, int | float) and (hint_statuses is None or exc.status in hint_statuses):
                return min(float(hinted), MAX_RETRY_AFTER)
        return float(min(base * 2 ** (retry_state.attempt_number - 1), cap))

    retrying = AsyncRetrying(stop=stop_after_attempt(attempts), wait=wait, reraise=True,
                             retry=retry_if_exception(lambda e: isinstance(e, OutsideServiceError) and e.retryable))
    async for attempt in retrying:
        with attempt:
            return await call()
    raise AssertionError("unreachable: tenacity reraises")

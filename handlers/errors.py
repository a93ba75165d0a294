"""The one place that turns an exception into what the user sees."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_bolt.kwargs_injection.async_args import AsyncArgs
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.core.errors import NotAllowed, SupportbotError
from bot.core.views import view_metadata
from bot.core.web import ANSWERS, RESPONDED, AnswerGate
from storage.db import database_failure

log = logging.getLogger("supportbot.errors")


def _where(body: dict[str, Any]) -> tuple[str | None, str | None]:
    user = (body.get("user") or {}).get("id") or body.get("user_id")
    channel = (body.get("channel") or {}).get("id") or body.get("channel_id")
    if channel is None and isinstance(body.get("view"), dict):
        channel = view_metadata(body["view"]).get("channel")
    return user, channel


async def show_error(error: Exception, body: dict[str, Any], client: AsyncWebClient) -> None:
    """Tells the person, privately in the channel they acted in, what went wrong; logs what they cannot fix."""
    if isinstance(error, SupportbotError):
        text = error.user_message
    elif isinstance(error, SlackApiError):
        log.warning("Slack refused a call: %s", error.response.get("error"))
        text = f"Slack refused that: `{error.response.get('error')}`. Nothing else was changed; try again."
    elif not isinstance(error, aiohttp.ClientError) and (why := database_failure(error)):
        log.error("a request failed because %s (%s)", why, type(error).__name__)
        text = (f"Supportbot's database is not available right now: {why}. Try again in a minute; what was "
                "already saved is finished once the database is back.")
    else:
        log.error("unexpected error in a listener", exc_info=error)
        text = "Something went wrong on our side and was logged. Try again, or tell the supportbot team."
    user, channel = _where(body)
    if user and channel:
        try:
            await client.chat_postEphemeral(channel=channel, user=user, text=text)
            return
        except SlackApiError as exc:  # not in the channel, say: the response_url still reaches them
            log.warning("could not show an error to %s in the channel: %s", user, exc.response.get("error"))
    if await _tell_through_response_url(body, text):
        return
    log.warning("could not show an error to the user (no channel or response_url reached them): %s",
                type(error).__name__)


async def _tell_through_response_url(body: dict[str, Any], text: str) -> bool:
    urls: list[dict[str, Any]] = body.get("response_urls") or []
    url = body.get("response_url") or (urls[0].get("response_url") if urls else None)
    if not isinstance(url, str) or not url:
        return False
    try:
        answer = await AsyncWebhookClient(url, timeout=3).send(text=text, response_type="ephemeral",
                                                                replace_original=False)
    except (aiohttp.ClientError, TimeoutError) as exc:
        log.warning("could not reach a response_url: %s", type(exc).__name__)
        return False
    return answer.status_code == 200


async def refused_inline(ack: Callable[..., Awaitable[Any]], field: str, check: Awaitable[None]) -> bool:
    """Runs a permission check before a modal closes: a refusal is that field's inline error, nothing changes."""
    try:
        await check
    except NotAllowed as refusal:
        await ack(response_action="errors", errors={field: refusal.user_message})
        return True
    return False


Listener = Callable[..., Awaitable[None]]
IN_FLIGHT = "supportbot_in_flight"  # context key: the set of listener tasks still running
# Longer than Bolt needs to notice an ack (it looks every 10 ms); short enough never to stall a listener.
_RESPONSE_WAIT_SECONDS = 1.0
# How long follow-up work yields to other requests' acks before going ahead anyway.
_BURST_WAIT_SECONDS = 0.25


def _ack_then_yield(args: AsyncArgs) -> Callable[..., Awaitable[None]]:
    """ack(), then let Slack's HTTP answer leave before the listener goes on with the slow part.

    Under a burst, the work after ack() (building and opening a modal, posting a card) otherwise competes
    with Bolt's check for the ack, and every answer leaves late. Socket Mode has no such event: no wait.
    """

    async def ack(*a: Any, **kw: Any) -> None:
        await args.ack(*a, **kw)
        responded = args.context.get(RESPONDED)
        if isinstance(responded, asyncio.Event):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(responded.wait(), _RESPONSE_WAIT_SECONDS)
        answers = args.context.get(ANSWERS)
        if isinstance(answers, AnswerGate):
            await answers.until_answered(_BURST_WAIT_SECONDS)

    return ack


def guarded(listener: Listener) -> Callable[[AsyncArgs], Awaitable[None]]:
    """Runs a listener and turns its exceptions into what the user sees.

    Bolt's own error path resets an acknowledgement that was already sent when a listener raises just
    after `ack()`, so Slack got a 404 after 3 seconds instead of the 200 it was owed. Catching here keeps
    the ack, still shows the error through `show_error`, and acks a request the listener never reached.
    """
    names = inspect.getfullargspec(listener).args

    async def run(args: AsyncArgs) -> None:
        kwargs = {name: getattr(args, name) if hasattr(args, name) else args.context[name] for name in names}
        if "ack" in kwargs:
            kwargs["ack"] = _ack_then_yield(args)
        in_flight = args.context.get(IN_FLIGHT)
        task = asyncio.current_task()
        if isinstance(in_flight, set) and task is not None:
            in_flight.add(task)  # so shutting down waits for work Slack was already told about
        try:
            await listener(**kwargs)
        except Exception as error:
            if args.ack.response is None:
                await args.ack()
            await show_error(error, args.body, args.client)
        finally:
            if isinstance(in_flight, set):
                in_flight.discard(task)

    run.__name__ = run.__qualname__ = listener.__name__
    return run

"""Spike alerts: when `[spikes] threshold` tickets of one category are filed within `[spikes] window`, the
owning team's channel (the category routed as a component, `bot/escalation/routing.py`; the triage channel when no
team owns it) is told once, with the tickets; when the count in the window falls below the threshold again, the
alert's thread hears that it is over, and the next crossing is a new spike with a new alert.

A spike is named by the ticket whose filing made the count reach the threshold (its number), so it is the same
spike whichever process or tick looks at it: the alert is a one-time step keyed `spike:<category>:<number>`, and
what was alerted and cleared is in the audit log (no table of its own). Checked at every scheduler tick, so an
alert goes out within one tick (`[scheduler] tick`) of the filing that caused it.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from blocks import trends as words
from bot.core.clock import Clock
from bot.core.config import BotConfig
from bot.core.once import OneTimeSteps
from bot.escalation.routing import route
from bot.trend_figures import SpikeTicket
from bot.trends.figures import category_of
from storage.repositories import audit
from storage.repositories import trends as repo
from storage.repositories.trends import TrendTicket

log = logging.getLogger(__name__)

# How far back a spike's start is looked for: a spike still going after a week is one alert, not a new one.
LOOKBACK = timedelta(days=7)


def current_spike(tickets: Sequence[TrendTicket], *, now: datetime, window: timedelta,
                  threshold: int) -> tuple[TrendTicket, list[TrendTicket]] | None:
    """The spike going on at `now` among one category's tickets (oldest first): the ticket that started it and
    the tickets in the window now; None when fewer than `threshold` were filed in (now - window, now].

    The count in the window only grows at a filing, by one, so a spike starts at the filing that brings it to
    exactly `threshold`, and the latest such filing is the current spike's start."""
    seen = [t for t in tickets if t.filed_at <= now]
    in_window = [t for t in seen if t.filed_at > now - window]
    if len(in_window) < threshold:
        return None
    start: TrendTicket | None = None
    oldest = 0  # the first ticket still inside the window ending at `ticket` (one pass: a busy week is cheap)
    for i, ticket in enumerate(seen):
        while seen[oldest].filed_at <= ticket.filed_at - window:
            oldest += 1
        if i - oldest + 1 == threshold:
            start = ticket
    return (start or in_window[0]), in_window


def _as_spike_ticket(ticket: TrendTicket) -> SpikeTicket:
    return SpikeTicket(number=ticket.number, severity=ticket.severity, summary=ticket.summary,
                       filed_at=ticket.filed_at, card_channel=ticket.card_channel, card_ts=ticket.card_ts)


class SpikeWatch:
    """Looks for spikes at every tick: alerts each new one once and says when an alerted one is over."""

    def __init__(self, *, config: BotConfig, sessions: async_sessionmaker[AsyncSession], slack: AsyncWebClient,
                 clock: Clock, once: OneTimeSteps) -> None:
        self.config = config
        self._sessions = sessions
        self._slack = slack
        self._clock = clock
        self._once = once

    def channel_for(self, category: str) -> str:
        """The owning team's channel (the category as a component), else the triage channel."""
        team = route(self.config.teams, component=category, url=None).team
        return team.channel if team is not None else self.config.slack.triage_channel

    async def check(self) -> int:
        """One look: how many alerts and all-clear notes went out."""
        now = self._clock.now()
        spikes = self.config.spikes
        async with self._sessions() as session:
            tickets = await repo.tickets_filed_between(session, start=now - LOOKBACK,
                                                       end=now + timedelta(microseconds=1), categorised_only=True)
            events = await repo.spike_events(session)
        by_category: dict[str, list[TrendTicket]] = defaultdict(list)
        for ticket in tickets:
            if ticket.category:  # "uncategorised" is no product area a team could own
                by_category[category_of(ticket)].append(ticket)
        # The open alert per category: the last one alerted and not cleared since.
        open_alerts: dict[str, dict[str, Any]] = {}
        for event in events:
            category = str(event.after.get("category"))
            if event.action == "spike_alerted":
                open_alerts[category] = event.after
            elif open_alerts.get(category, {}).get("start_ticket") == event.after.get("start_ticket"):
                open_alerts.pop(category)
        sent = 0
        for category in sorted(set(by_category) | set(open_alerts)):
            spike = current_spike(by_category.get(category, []), now=now, window=spikes.window,
                                  threshold=spikes.threshold)
            alerted = open_alerts.get(category)
            if alerted is not None and (spike is None or spike[0].number != alerted.get("start_ticket")):
                sent += await self._clear(category, alerted)
            if spike is not None and (alerted is None or spike[0].number != alerted.get("start_ticket")):
                sent += await self._alert(category, spike[0], spike[1])
        return sent

    async def _alert(self, category: str, start: TrendTicket, tickets: list[TrendTicket]) -> int:
        channel = self.channel_for(category)
        spikes = self.config.spikes
        text, blocks = words.spike_alert(category, [_as_spike_ticket(t) for t in tickets], window=spikes.window,
                                         threshold=spikes.threshold)

        async def post(_claim: object) -> dict[str, str]:
            answer = await self._slack.chat_postMessage(channel=channel, text=text, blocks=blocks)
            return {"channel": str(answer["channel"]), "ts": str(answer["ts"])}

        async def record(session: AsyncSession, posted: dict[str, str]) -> dict[str, str]:
            await audit.append_audit_event(
                session, ticket_number=None, action="spike_alerted", actor="supportbot", at=self._clock.now(),
                after={"category": category, "start_ticket": start.number, "start": start.filed_at.isoformat(),
                       "tickets": [t.number for t in tickets], **posted})
            return posted

        try:
            done = await self._once.perform(f"spike:{category}:{start.number}", post, record=record)
        except SlackApiError as exc:  # refused (not in the channel, archived): said in the log, tried next tick
            log.warning("spike alert for %s could not be posted in %s: %s", category, channel,
                        exc.response.get("error"))
            return 0
        return 1 if done is not None else 0

    async def _clear(self, category: str, alerted: dict[str, Any]) -> int:
        spikes = self.config.spikes
        start_ticket = alerted.get("start_ticket")

        async def post(_claim: object) -> dict[str, str]:
            answer = await self._slack.chat_postMessage(
                channel=str(alerted["channel"]), thread_ts=str(alerted["ts"]),
                text=words.spike_cleared(category, window=spikes.window, threshold=spikes.threshold))
            return {"channel": str(answer["channel"]), "ts": str(answer["ts"])}

        async def record(session: AsyncSession, posted: dict[str, str]) -> dict[str, str]:
            await audit.append_audit_event(session, ticket_number=None, action="spike_cleared", actor="supportbot",
                                           at=self._clock.now(),
                                           after={"category": category, "start_ticket": start_ticket, **posted})
            return posted

        try:
            done = await self._once.perform(f"spike:{category}:{start_ticket}:cleared", post, record=record)
        except SlackApiError as exc:
            log.warning("spike all-clear for %s could not be posted: %s", category, exc.response.get("error"))
            return 0
        return 1 if done is not None else 0

"""The opening steps of an incident, one runner each: page on-call, open the channel, post the status page.

A runner does its one outside call and says what came of it; the service claims, records and retries. A runner
told it comes `again` (an earlier attempt may have made the thing and stopped before recording it) looks for it
first: the channel by its name and its creator (us), the status-page incident by our key in its metadata; a page
is sent again under the same dedup key, which PagerDuty keeps to one alert.
Adding a step is one `IncidentStep` value and one runner here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from blocks import incident as words
from bot.core.config import BotConfig
from bot.core.slack_lookup import SlackLookup
from bot.domain import Incident, IncidentStep, StepState, Ticket
from bot.integrations.pagerduty import PagerDuty
from bot.integrations.statuspage import PublicIncidentDraft, StatusPublisher
from bot.paging.page import incident_dedup_key, page_request
from storage.repositories import incidents as repo
from storage.repositories.incident_steps import MadeOutside

MAX_NAME_SUFFIX = 20


@dataclass(frozen=True)
class StepResult:
    """What one attempt of a step came to, in words for the channel, and what it made outside."""

    state: StepState
    detail: str
    made: MadeOutside | None = None


# (incident, ticket, again): `again` when an earlier attempt may have done it without reporting back.
StepRunner = Callable[[Incident, Ticket, bool], Awaitable[StepResult]]


def dedup_key(incident: Incident) -> str:
    """The incident round's PagerDuty dedup key (and the status page's idempotency key)."""
    return incident_dedup_key(incident.ticket_number, incident.generation)


class OpeningSteps:
    """The runners of an incident's opening steps, keyed by the step they run."""

    def __init__(self, *, config: BotConfig, sessions: async_sessionmaker[AsyncSession], slack: AsyncWebClient,
                 pagerduty: PagerDuty | None, status_page: StatusPublisher, lookup: SlackLookup) -> None:
        self._config = config
        self._sessions = sessions
        self._slack = slack
        self._lookup = lookup
        self._pagerduty = pagerduty
        self._status_page = status_page
        self.runners: dict[IncidentStep, StepRunner] = {
            IncidentStep.PAGE: self.page, IncidentStep.CHANNEL: self.open_channel,
            IncidentStep.STATUSPAGE: self.post_status_page}

    async def page(self, incident: Incident, ticket: Ticket, again: bool = False) -> StepResult:
        """Pages on-call (critical), or says plainly that nobody could be paged; again, under the same dedup key."""
        if self._pagerduty is None:
            return StepResult(StepState.SKIPPED, words.not_paged_note(self._config.slack.incident_commanders))
        request = page_request(ticket, dedup_key=dedup_key(incident),
                               triage_channel=self._config.slack.triage_channel)
        result = await self._pagerduty.trigger(request)
        return StepResult(StepState.DONE, words.paged_note(request.severity, result.dedup_key),
                          MadeOutside(external_id=result.dedup_key))

    async def open_channel(self, incident: Incident, ticket: Ticket, again: bool = False) -> StepResult:
        """Opens #incident-<n> (then -2, -3 … when taken by someone else); a re-opened round re-uses its channel.
        Again, a taken name that we created is the channel an earlier attempt opened: it is the one."""
        if incident.generation > 1:
            async with self._sessions() as session:
                earlier = await repo.incident_of_generation(session, ticket_number=ticket.number,
                                                            generation=incident.generation - 1)
            if earlier and earlier.channel_id:
                return StepResult(StepState.DONE, words.channel_opened_note(earlier.channel_id, reopened=True),
                                  MadeOutside(external_id=earlier.channel_id, external_name=earlier.channel_name))
        base = f"{self._config.incident.channel_prefix}{ticket.number}"
        for suffix in range(1, MAX_NAME_SUFFIX + 1):
            name = base if suffix == 1 else f"{base}-{suffix}"
            try:
                created = await self._slack.conversations_create(name=name, is_private=False)
            except SlackApiError as exc:
                if exc.response.get("error") != "name_taken":
                    raise
                if again and (ours := await self._lookup.own_channel(name)):
                    return StepResult(StepState.DONE, words.channel_opened_note(ours["id"]),
                                      MadeOutside(external_id=ours["id"], external_name=ours["name"]))
                continue  # someone else's channel: never post into it
            channel = created["channel"]
            return StepResult(StepState.DONE, words.channel_opened_note(channel["id"]),
                              MadeOutside(external_id=channel["id"], external_name=channel["name"]))
        return StepResult(StepState.FAILED, words.channel_names_taken(base, f"{base}-{MAX_NAME_SUFFIX}"))

    async def post_status_page(self, incident: Incident, ticket: Ticket, again: bool = False) -> StepResult:
        """Opens the public incident as Investigating, in public words only, once per round."""
        current = incident  # read just before the claim, or just created
        draft = PublicIncidentDraft(name=current.public_title, status=current.status.value,
                                    body=current.last_public_message)
        # An earlier attempt (a recorded outcome, or one that never reported back) may have created it unseen.
        published = await self._status_page.open_incident(draft, idempotency_key=dedup_key(incident),
                                                          maybe_exists=again or current.statuspage.detail is not None)
        async with self._sessions() as session:
            latest = await repo.get_incident(session, incident_id=incident.id)
        if latest and (latest.status, latest.last_public_message) != (current.status, current.last_public_message):
            # The commander posted while the page was being opened: that update had nowhere to go yet.
            await self._status_page.update_incident(published.id, status=latest.status.value,
                                                    body=latest.last_public_message)
        return StepResult(StepState.DONE, words.status_page_posted_note(
            current.public_title, current.status, page_name=self._status_page.name, url=published.url),
            MadeOutside(external_id=published.id, external_url=published.url))

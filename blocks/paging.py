"""What the bot says about pages: under the ticket card for SEV2, in words a support agent can act on."""

from __future__ import annotations

from datetime import datetime

from blocks.text import escape, slack_date


def sev2_not_paged() -> str:
    """Tells the card's thread that a SEV2 paged nobody because no PagerDuty routing key is configured."""
    return "⏭️ SEV2: nobody was paged because PAGERDUTY_ROUTING_KEY is not set."


def sev2_paged(dedup_key: str) -> str:
    """Tells the card's thread that on-call was paged, naming the alert key to find it in PagerDuty."""
    return f"📟 Paged on-call through PagerDuty (error, alert key `{escape(dedup_key)}`)."


def page_refused(error: str) -> str:
    """PagerDuty refused the event (4xx): trying again would fail the same way."""
    return f"⚠️ PagerDuty refused the page: {escape(error)}. It is not retried automatically: page on-call by hand."


def page_failed(error: str, *, retry_at: datetime) -> str:
    """Tells the card's thread the page failed for now and when the bot will try again."""
    return (f"⚠️ Paging on-call failed: {escape(error)}. The bot retries {slack_date(retry_at, '{time}')} "
            "and keeps trying until it works.")

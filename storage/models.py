"""SQLAlchemy models. Customer data fetched live never has a column here."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.expression import false


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, hands back aware UTC: SQLite keeps no zone, and comparisons must stay lexical."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Naive UTC for the database; raises ValueError for a naive datetime."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware one")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """The stored moment as aware UTC."""
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    """The models' base: datetimes are stored as UTC, dict columns as JSON."""

    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON}


class TicketRow(Base):
    """A filed ticket: the report, severity, first-response state and where its card is; one per submission."""

    __tablename__ = "tickets"
    # One ticket per source message, however many shortcuts, reactions or modals race for it.
    __table_args__ = (Index("uq_ticket_source_message", "source_channel", "source_ts", unique=True),)

    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # The modal's view ID: a second submission of the same view can never insert a second ticket.
    submission_key: Mapped[str] = mapped_column(String(64), unique=True)
    workspace_id: Mapped[str] = mapped_column(String(100))
    requester_email: Mapped[str] = mapped_column(String(254))
    summary: Mapped[str] = mapped_column(String(150))
    what_happened: Mapped[str] = mapped_column(Text)
    expected: Mapped[str] = mapped_column(Text)
    impact: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(8))
    severity_reason: Mapped[str] = mapped_column(Text)
    plan_tier: Mapped[str] = mapped_column(String(16))
    browser: Mapped[str | None] = mapped_column(String(200))
    os: Mapped[str | None] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(Text)
    occurred_at: Mapped[datetime | None]
    customer_timezone: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(200))
    attachment_link: Mapped[str | None] = mapped_column(Text)
    helpdesk_link: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(32))
    redactions: Mapped[str] = mapped_column(Text, default="")
    filed_by: Mapped[str] = mapped_column(String(32), index=True)
    # The trend report and the spike check read tickets by when they were filed: a range, not the whole table.
    filed_at: Mapped[datetime] = mapped_column(index=True)
    first_response_due: Mapped[datetime]
    first_response_at: Mapped[datetime | None]
    first_response_by: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="open")
    card_channel: Mapped[str | None] = mapped_column(String(32))
    card_ts: Mapped[str | None] = mapped_column(String(32))
    origin_channel: Mapped[str | None] = mapped_column(String(32))
    # What the live customer check at filing concluded; the customer data itself is never stored.
    requester_verification: Mapped[str | None] = mapped_column(String(16))
    share_restricted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    labels: Mapped[str] = mapped_column(Text, default="", server_default="")
    source_channel: Mapped[str | None] = mapped_column(String(32))
    source_ts: Mapped[str | None] = mapped_column(String(32))
    source_link: Mapped[str | None] = mapped_column(Text)


class AuditEventRow(Base):
    """Append-only: the repository offers no update or delete, and triggers refuse them in the database."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_number: Mapped[int | None] = mapped_column(ForeignKey("tickets.number"), index=True)
    action: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]


class TimerRow(Base):
    """A durable deadline. The scheduler only ticks; what is due lives here and survives restarts."""

    __tablename__ = "timers"
    # Only pending deadlines are in the tick's index: history never slows the claim (migration 0011).
    __table_args__ = (
        Index("ix_timers_pending", "due_at", sqlite_where=text("fired_at IS NULL AND cancelled_at IS NULL"),
              postgresql_where=text("fired_at IS NULL AND cancelled_at IS NULL")),
        Index("ix_timers_fired", "fired_at", sqlite_where=text("fired_at IS NOT NULL"),
              postgresql_where=text("fired_at IS NOT NULL")),
        Index("ix_timers_cancelled", "cancelled_at", sqlite_where=text("cancelled_at IS NOT NULL"),
              postgresql_where=text("cancelled_at IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # What the deadline means ("ticket:7:first_response_breach"): scheduling it twice is refused.
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(64))
    ticket_number: Mapped[int | None] = mapped_column(ForeignKey("tickets.number"), index=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    due_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_until: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    fired_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class SideEffectRow(Base):
    """A one-time side effect (a card posted, a page sent), keyed by what it means: planned, claimed with a lease,
    done once. A duplicate delivery finds it taken; a claim whose lease ended is taken over by the next attempt."""

    __tablename__ = "side_effects"
    __table_args__ = (Index("ix_side_effects_due", "done_at", "claimed_until"),)

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    claimed_at: Mapped[datetime]
    done_at: Mapped[datetime | None]
    result: Mapped[dict[str, Any] | None]
    # The attempt holding it may work until then; afterwards (or at once when NULL) anyone may take it over.
    claimed_until: Mapped[datetime | None]
    # 0: planned, nobody started it (1 when planned by the process about to perform it); more than 1: an earlier
    # attempt may have done it without reporting back.
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class IncidentRow(Base):
    """One incident round of a SEV1 ticket: its public status, commander and last public words."""

    __tablename__ = "incidents"
    __table_args__ = (UniqueConstraint("ticket_number", "generation", name="uq_incident_ticket_generation"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_number: Mapped[int] = mapped_column(ForeignKey("tickets.number"), index=True)
    # Re-opening after Resolved starts a new generation, so the new page gets a new dedup_key.
    generation: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default="investigating")
    commander: Mapped[str | None] = mapped_column(String(32))
    public_title: Mapped[str] = mapped_column(String(200))
    opened_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    last_public_update_at: Mapped[datetime]
    last_public_message: Mapped[str] = mapped_column(Text)
    kickoff_ts: Mapped[str | None] = mapped_column(String(32))


class IncidentStepRow(Base):
    """One opening step of an incident (the page, the channel, the status page, ...), keyed by what it is.

    A new step is a new `step` value and a runner; no new columns.
    """

    __tablename__ = "incident_steps"

    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    step: Mapped[str] = mapped_column(String(32), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    detail: Mapped[str | None] = mapped_column(Text)
    # A step being attempted holds a short lease, so a duplicate delivery or a second replica waits.
    claimed_until: Mapped[datetime | None]
    failures: Mapped[int] = mapped_column(Integer, default=0)
    # What the outside system calls the thing this step made: a dedup key, a channel, a status-page incident.
    external_id: Mapped[str | None] = mapped_column(String(100), index=True)
    external_name: Mapped[str | None] = mapped_column(String(80))
    external_url: Mapped[str | None] = mapped_column(Text)
    # When the thing was closed again (a PagerDuty alert resolved).
    closed_at: Mapped[datetime | None]


class StatusUpdateRow(Base):
    """One status update published in an incident, stored once per modal submission."""

    __tablename__ = "status_updates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    submission_key: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    posted_by: Mapped[str] = mapped_column(String(32))
    posted_at: Mapped[datetime]


class PublicIncidentRow(Base):
    """The built-in status page: only what was published to customers, nothing internal."""

    __tablename__ = "public_incidents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]


class PublicUpdateRow(Base):
    """One update shown on the built-in status page under its incident."""

    __tablename__ = "public_updates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    public_incident_id: Mapped[int] = mapped_column(ForeignKey("public_incidents.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime]


class HeartbeatRow(Base):
    """One row the health check rewrites, so `/healthz` proves the database takes writes, not only reads."""

    __tablename__ = "heartbeat"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    beat_at: Mapped[datetime]


class EscalationRow(Base):
    """One escalation round of a ticket to a team: the hand-off's facts, where it was posted, who acknowledged.

    One round per (ticket, round) and one per modal submission, so a double press escalates once.
    """

    __tablename__ = "escalations"
    __table_args__ = (UniqueConstraint("ticket_number", "round", name="uq_escalation_ticket_round"),
                      Index("ix_escalations_post", "post_channel", "post_ts"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_number: Mapped[int] = mapped_column(ForeignKey("tickets.number"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    submission_key: Mapped[str] = mapped_column(String(64), unique=True)
    team: Mapped[str] = mapped_column(String(64), index=True)
    component: Mapped[str | None] = mapped_column(String(64))
    workspace_id: Mapped[str] = mapped_column(String(100))
    plan_tier: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime | None]
    customer_timezone: Mapped[str | None] = mapped_column(String(64))
    expected: Mapped[str] = mapped_column(Text)
    actual: Mapped[str] = mapped_column(Text)
    request_id: Mapped[str] = mapped_column(String(200))
    sentry_url: Mapped[str] = mapped_column(Text)
    sentry_issue: Mapped[str | None] = mapped_column(String(64), index=True)
    repro_steps: Mapped[str] = mapped_column(Text)
    repro_result: Mapped[str] = mapped_column(String(32))
    customer_impact: Mapped[str] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(Text)
    redactions: Mapped[str] = mapped_column(Text, default="")
    routed_by: Mapped[str] = mapped_column(String(16))
    route_note: Mapped[str | None] = mapped_column(Text)
    escalated_by: Mapped[str] = mapped_column(String(32))
    escalated_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16), default="waiting", index=True)
    acknowledged_by: Mapped[str | None] = mapped_column(String(32))
    acknowledged_name: Mapped[str | None] = mapped_column(String(200))
    acknowledged_via: Mapped[str | None] = mapped_column(String(16))
    acknowledged_at: Mapped[datetime | None]
    handed_back_at: Mapped[datetime | None]
    post_channel: Mapped[str | None] = mapped_column(String(32))
    post_ts: Mapped[str | None] = mapped_column(String(32))
    post_problem: Mapped[str | None] = mapped_column(Text)
    jira_key: Mapped[str | None] = mapped_column(String(64), index=True)
    jira_url: Mapped[str | None] = mapped_column(Text)
    jira_state: Mapped[str | None] = mapped_column(String(16))
    jira_status: Mapped[str | None] = mapped_column(String(64))
    page_keys: Mapped[str] = mapped_column(Text, default="")
    page_problem: Mapped[str | None] = mapped_column(Text)
    rung: Mapped[int] = mapped_column(Integer, default=0)
    repaged_at: Mapped[datetime | None]
    manager_called_at: Mapped[datetime | None]


class ClosureRow(Base):
    """A resolved ticket's closure: which items it requires (decided at resolution), reminders, when closed."""

    __tablename__ = "closures"

    ticket_number: Mapped[int] = mapped_column(ForeignKey("tickets.number"), primary_key=True)
    resolved_at: Mapped[datetime]
    resolved_by: Mapped[str] = mapped_column(String(32))
    required: Mapped[str] = mapped_column(Text)  # the required items, one per line, in checklist order
    customer_reminders: Mapped[int] = mapped_column(Integer, default=0)
    call_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]


class ClosureItemRow(Base):
    """One checklist item done: by whom, when, and what it records (the root cause, the summary, ...)."""

    __tablename__ = "closure_items"

    ticket_number: Mapped[int] = mapped_column(ForeignKey("tickets.number"), primary_key=True)
    item: Mapped[str] = mapped_column(String(32), primary_key=True)
    done_by: Mapped[str] = mapped_column(String(32))
    done_at: Mapped[datetime]
    value: Mapped[str] = mapped_column(Text, default="")


class RunbookEntryRow(Base):
    """A runbook entry imported from Markdown. Its full-text index is not a column here: an FTS5 table kept in
    step by triggers on SQLite, a generated `tsvector` column on PostgreSQL (migration 0008)."""

    __tablename__ = "runbook_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # Re-importing the same page updates it: the slug (from the title unless the front matter names one).
    slug: Mapped[str] = mapped_column(String(200), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    symptoms: Mapped[str] = mapped_column(Text, default="")
    steps: Mapped[str] = mapped_column(Text)
    workaround: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime]


class WebhookOutboxRow(Base):
    """One audit event due at one `[[webhooks]]` URL: written in the event's own transaction, so an event is
    never recorded without its deliveries (nor a delivery without its event); claimed with a lease, delivered at
    least once, in order per (URL, ticket)."""

    __tablename__ = "webhook_outbox"
    __table_args__ = (UniqueConstraint("event_id", "url", name="uq_webhook_outbox_event_url"),
                      Index("ix_webhook_outbox_due", "delivered_at", "next_attempt_at"),
                      Index("ix_webhook_outbox_stream", "url", "ticket_number", "delivered_at", "id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # What a receiver deduplicates by: the same for every URL the event goes to, never reused by a new event.
    event_id: Mapped[str] = mapped_column(String(40))
    audit_id: Mapped[int] = mapped_column(ForeignKey("audit_log.id"))
    url: Mapped[str] = mapped_column(Text)
    ticket_number: Mapped[int | None] = mapped_column(ForeignKey("tickets.number"))
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    claimed_until: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    delivered_at: Mapped[datetime | None]
    # The latest failure, kept after a later success: `webhooks status` says what went wrong last, and when.
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None]


class ApiPaceRow(Base):
    """When the next request under one outside API key may go out, shared by every replica: Statuspage allows
    about one request a second per key, however many processes send. Keyed by a hash; the key is a secret."""

    __tablename__ = "api_pace"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Unix seconds rather than a timestamp: the reservation is one statement doing arithmetic on it, which
    # SQLite cannot do on the text it keeps datetimes as.
    next_at: Mapped[float]

"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23 19:54:58.658245
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('public_incidents',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('idempotency_key', sa.String(length=100), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('idempotency_key')
    )
    with op.batch_alter_table('public_incidents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_public_incidents_created_at'), ['created_at'], unique=False)

    op.create_table('side_effects',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('claimed_at', sa.DateTime(), nullable=False),
    sa.Column('done_at', sa.DateTime(), nullable=True),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('tickets',
    sa.Column('number', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('submission_key', sa.String(length=64), nullable=False),
    sa.Column('workspace_id', sa.String(length=100), nullable=False),
    sa.Column('requester_email', sa.String(length=254), nullable=False),
    sa.Column('summary', sa.String(length=150), nullable=False),
    sa.Column('what_happened', sa.Text(), nullable=False),
    sa.Column('expected', sa.Text(), nullable=False),
    sa.Column('impact', sa.String(length=32), nullable=False),
    sa.Column('severity', sa.String(length=8), nullable=False),
    sa.Column('severity_reason', sa.Text(), nullable=False),
    sa.Column('plan_tier', sa.String(length=16), nullable=False),
    sa.Column('browser', sa.String(length=200), nullable=True),
    sa.Column('os', sa.String(length=200), nullable=True),
    sa.Column('url', sa.Text(), nullable=True),
    sa.Column('occurred_at', sa.DateTime(), nullable=True),
    sa.Column('customer_timezone', sa.String(length=64), nullable=True),
    sa.Column('request_id', sa.String(length=200), nullable=True),
    sa.Column('attachment_link', sa.Text(), nullable=True),
    sa.Column('helpdesk_link', sa.Text(), nullable=True),
    sa.Column('category', sa.String(length=32), nullable=True),
    sa.Column('redactions', sa.Text(), nullable=False),
    sa.Column('filed_by', sa.String(length=32), nullable=False),
    sa.Column('filed_at', sa.DateTime(), nullable=False),
    sa.Column('first_response_due', sa.DateTime(), nullable=False),
    sa.Column('first_response_at', sa.DateTime(), nullable=True),
    sa.Column('first_response_by', sa.String(length=32), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('card_channel', sa.String(length=32), nullable=True),
    sa.Column('card_ts', sa.String(length=32), nullable=True),
    sa.Column('origin_channel', sa.String(length=32), nullable=True),
    sa.PrimaryKeyConstraint('number'),
    sa.UniqueConstraint('submission_key')
    )
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tickets_filed_by'), ['filed_by'], unique=False)

    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('ticket_number', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['ticket_number'], ['tickets.number'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_ticket_number'), ['ticket_number'], unique=False)

    op.create_table('incidents',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('ticket_number', sa.Integer(), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('commander', sa.String(length=32), nullable=True),
    sa.Column('public_title', sa.String(length=200), nullable=False),
    sa.Column('opened_at', sa.DateTime(), nullable=False),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.Column('last_public_update_at', sa.DateTime(), nullable=False),
    sa.Column('last_public_message', sa.Text(), nullable=False),
    sa.Column('kickoff_ts', sa.String(length=32), nullable=True),
    sa.Column('page_state', sa.String(length=16), nullable=False),
    sa.Column('page_detail', sa.Text(), nullable=True),
    sa.Column('page_dedup_key', sa.String(length=100), nullable=True),
    sa.Column('page_resolved_at', sa.DateTime(), nullable=True),
    sa.Column('channel_state', sa.String(length=16), nullable=False),
    sa.Column('channel_detail', sa.Text(), nullable=True),
    sa.Column('channel_id', sa.String(length=32), nullable=True),
    sa.Column('channel_name', sa.String(length=80), nullable=True),
    sa.Column('statuspage_state', sa.String(length=16), nullable=False),
    sa.Column('statuspage_detail', sa.Text(), nullable=True),
    sa.Column('statuspage_incident_id', sa.String(length=64), nullable=True),
    sa.Column('statuspage_url', sa.Text(), nullable=True),
    sa.Column('page_claimed_until', sa.DateTime(), nullable=True),
    sa.Column('channel_claimed_until', sa.DateTime(), nullable=True),
    sa.Column('statuspage_claimed_until', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['ticket_number'], ['tickets.number'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('ticket_number', 'generation', name='uq_incident_ticket_generation')
    )
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incidents_ticket_number'), ['ticket_number'], unique=False)

    op.create_table('public_updates',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('public_incident_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['public_incident_id'], ['public_incidents.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('public_updates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_public_updates_public_incident_id'), ['public_incident_id'], unique=False)

    op.create_table('status_updates',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('submission_key', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('posted_by', sa.String(length=32), nullable=False),
    sa.Column('posted_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('submission_key')
    )
    with op.batch_alter_table('status_updates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_status_updates_incident_id'), ['incident_id'], unique=False)

    op.create_table('timers',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('ticket_number', sa.Integer(), nullable=True),
    sa.Column('incident_id', sa.Integer(), nullable=True),
    sa.Column('due_at', sa.DateTime(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('claimed_until', sa.DateTime(), nullable=True),
    sa.Column('claimed_by', sa.String(length=64), nullable=True),
    sa.Column('fired_at', sa.DateTime(), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], ),
    sa.ForeignKeyConstraint(['ticket_number'], ['tickets.number'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('timers', schema=None) as batch_op:
        batch_op.create_index('ix_timers_due', ['due_at', 'fired_at', 'cancelled_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_timers_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_timers_ticket_number'), ['ticket_number'], unique=False)



    _forbid_audit_changes()


# The audit log is append-only: the database itself refuses UPDATE and DELETE on it.
_SQLITE_TRIGGERS = [
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
]
_POSTGRES_TRIGGERS = [
    "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$",
    "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
]


def _forbid_audit_changes() -> None:
    dialect = op.get_bind().dialect.name
    for statement in _SQLITE_TRIGGERS if dialect == "sqlite" else _POSTGRES_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    with op.batch_alter_table('timers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_timers_ticket_number'))
        batch_op.drop_index(batch_op.f('ix_timers_incident_id'))
        batch_op.drop_index('ix_timers_due')

    op.drop_table('timers')
    with op.batch_alter_table('status_updates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_status_updates_incident_id'))

    op.drop_table('status_updates')
    with op.batch_alter_table('public_updates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_public_updates_public_incident_id'))

    op.drop_table('public_updates')
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incidents_ticket_number'))

    op.drop_table('incidents')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_ticket_number'))

    op.drop_table('audit_log')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tickets_filed_by'))

    op.drop_table('tickets')
    op.drop_table('side_effects')
    with op.batch_alter_table('public_incidents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_public_incidents_created_at'))

    op.drop_table('public_incidents')
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")

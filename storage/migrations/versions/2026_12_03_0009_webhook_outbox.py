"""webhook_outbox: one row per (audit event, webhook URL), written with the event, delivered at least once

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 13:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'webhook_outbox',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.String(length=40), nullable=False),
        sa.Column('audit_id', sa.Integer(), nullable=False),
        sa.Column('url', sa.Text(), nullable=False),
        sa.Column('ticket_number', sa.Integer(), nullable=True),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
        sa.Column('claimed_until', sa.DateTime(), nullable=True),
        sa.Column('claimed_by', sa.String(length=64), nullable=True),
        sa.Column('last_error_at', sa.DateTime(), nullable=True),
        sa.Column('delivered_at', sa.DateTime(), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['audit_id'], ['audit_log.id']),
        sa.ForeignKeyConstraint(['ticket_number'], ['tickets.number']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('event_id', 'url', name='uq_webhook_outbox_event_url'),
    )
    # The sweep's question ("what is due and undelivered?") and the ordering check ("is an earlier event of
    # this ticket still undelivered to this URL?") each get their own index.
    op.create_index('ix_webhook_outbox_due', 'webhook_outbox', ['delivered_at', 'next_attempt_at'])
    op.create_index('ix_webhook_outbox_stream', 'webhook_outbox', ['url', 'ticket_number', 'delivered_at', 'id'])


def downgrade() -> None:
    op.drop_index('ix_webhook_outbox_stream', table_name='webhook_outbox')
    op.drop_index('ix_webhook_outbox_due', table_name='webhook_outbox')
    op.drop_table('webhook_outbox')

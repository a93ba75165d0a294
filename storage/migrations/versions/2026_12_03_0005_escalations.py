"""escalations: one row per escalation round of a ticket to an engineering team

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 12:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'escalations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('ticket_number', sa.Integer(), nullable=False),
        sa.Column('round', sa.Integer(), nullable=False),
        sa.Column('submission_key', sa.String(length=64), nullable=False),
        sa.Column('team', sa.String(length=64), nullable=False),
        sa.Column('component', sa.String(length=64), nullable=True),
        sa.Column('workspace_id', sa.String(length=100), nullable=False),
        sa.Column('plan_tier', sa.String(length=16), nullable=False),
        sa.Column('occurred_at', sa.DateTime(), nullable=True),
        sa.Column('customer_timezone', sa.String(length=64), nullable=True),
        sa.Column('expected', sa.Text(), nullable=False),
        sa.Column('actual', sa.Text(), nullable=False),
        sa.Column('request_id', sa.String(length=200), nullable=False),
        sa.Column('sentry_url', sa.Text(), nullable=False),
        sa.Column('sentry_issue', sa.String(length=64), nullable=True),
        sa.Column('repro_steps', sa.Text(), nullable=False),
        sa.Column('repro_result', sa.String(length=32), nullable=False),
        sa.Column('customer_impact', sa.String(length=200), nullable=False),
        sa.Column('url', sa.Text(), nullable=True),
        sa.Column('redactions', sa.Text(), nullable=False),
        sa.Column('routed_by', sa.String(length=16), nullable=False),
        sa.Column('route_note', sa.Text(), nullable=True),
        sa.Column('escalated_by', sa.String(length=32), nullable=False),
        sa.Column('escalated_at', sa.DateTime(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('acknowledged_by', sa.String(length=32), nullable=True),
        sa.Column('acknowledged_name', sa.String(length=200), nullable=True),
        sa.Column('acknowledged_via', sa.String(length=16), nullable=True),
        sa.Column('acknowledged_at', sa.DateTime(), nullable=True),
        sa.Column('handed_back_at', sa.DateTime(), nullable=True),
        sa.Column('post_channel', sa.String(length=32), nullable=True),
        sa.Column('post_ts', sa.String(length=32), nullable=True),
        sa.Column('post_problem', sa.Text(), nullable=True),
        sa.Column('jira_key', sa.String(length=64), nullable=True),
        sa.Column('jira_url', sa.Text(), nullable=True),
        sa.Column('jira_state', sa.String(length=16), nullable=True),
        sa.Column('jira_status', sa.String(length=64), nullable=True),
        sa.Column('page_keys', sa.Text(), nullable=False),
        sa.Column('page_problem', sa.Text(), nullable=True),
        sa.Column('rung', sa.Integer(), nullable=False),
        sa.Column('repaged_at', sa.DateTime(), nullable=True),
        sa.Column('manager_called_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['ticket_number'], ['tickets.number']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('submission_key'),
        sa.UniqueConstraint('ticket_number', 'round', name='uq_escalation_ticket_round'),
    )
    op.create_index('ix_escalations_ticket_number', 'escalations', ['ticket_number'])
    op.create_index('ix_escalations_team', 'escalations', ['team'])
    op.create_index('ix_escalations_state', 'escalations', ['state'])
    op.create_index('ix_escalations_sentry_issue', 'escalations', ['sentry_issue'])
    op.create_index('ix_escalations_jira_key', 'escalations', ['jira_key'])
    op.create_index('ix_escalations_post', 'escalations', ['post_channel', 'post_ts'])


def downgrade() -> None:
    op.drop_table('escalations')

"""ticket source message: the Slack message a ticket was filed from, at most one ticket per message

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN and a unique index rather than a table constraint: SQLite would have to rebuild
    # `tickets` for a constraint, and the rows of audit_log, timers and incidents point at it. Both databases
    # treat NULLs as distinct, so tickets filed with /ticket never collide.
    op.add_column('tickets', sa.Column('source_channel', sa.String(length=32), nullable=True))
    op.add_column('tickets', sa.Column('source_ts', sa.String(length=32), nullable=True))
    op.add_column('tickets', sa.Column('source_link', sa.Text(), nullable=True))
    op.create_index('uq_ticket_source_message', 'tickets', ['source_channel', 'source_ts'], unique=True)


def downgrade() -> None:
    op.drop_index('uq_ticket_source_message', table_name='tickets')
    # SQLite 3.35+ drops a column in place (no rebuild), like PostgreSQL.
    for column in ('source_link', 'source_ts', 'source_channel'):
        op.drop_column('tickets', column)

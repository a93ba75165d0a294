"""closures and closure_items: a resolved ticket's checklist and the items done

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 13:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('closures',
                    sa.Column('ticket_number', sa.Integer(), nullable=False),
                    sa.Column('resolved_at', sa.DateTime(), nullable=False),
                    sa.Column('resolved_by', sa.String(length=32), nullable=False),
                    sa.Column('required', sa.Text(), nullable=False),
                    sa.Column('customer_reminders', sa.Integer(), nullable=False),
                    sa.Column('call_at', sa.DateTime(), nullable=True),
                    sa.Column('closed_at', sa.DateTime(), nullable=True),
                    sa.ForeignKeyConstraint(['ticket_number'], ['tickets.number']),
                    sa.PrimaryKeyConstraint('ticket_number'))
    op.create_table('closure_items',
                    sa.Column('ticket_number', sa.Integer(), nullable=False),
                    sa.Column('item', sa.String(length=32), nullable=False),
                    sa.Column('done_by', sa.String(length=32), nullable=False),
                    sa.Column('done_at', sa.DateTime(), nullable=False),
                    sa.Column('value', sa.Text(), nullable=False),
                    sa.ForeignKeyConstraint(['ticket_number'], ['tickets.number']),
                    sa.PrimaryKeyConstraint('ticket_number', 'item'))


def downgrade() -> None:
    op.drop_table('closure_items')
    op.drop_table('closures')

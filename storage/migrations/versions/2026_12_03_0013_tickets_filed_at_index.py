"""tickets.filed_at index: the spike check (every tick) and the monthly report read a range of filing times

Without it each tick's spike check walked every ticket ever filed to find the last week's.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 18:20:00
"""

from __future__ import annotations

from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_tickets_filed_at', 'tickets', ['filed_at'])


def downgrade() -> None:
    op.drop_index('ix_tickets_filed_at', table_name='tickets')

"""pending timers index: the tick reads only deadlines not yet fired or cancelled

The old index led with due_at over every row ever scheduled, so an idle claim walked all past timers; a partial
index on the pending ones stays the size of what is still to come, however long the history grows.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

PENDING = sa.text("fired_at IS NULL AND cancelled_at IS NULL")


def upgrade() -> None:
    op.drop_index('ix_timers_due', table_name='timers')
    op.create_index('ix_timers_pending', 'timers', ['due_at'], sqlite_where=PENDING, postgresql_where=PENDING)
    # Pruning finds old history by when it ended; only the bot's hourly prune reads it.
    op.create_index('ix_timers_fired', 'timers', ['fired_at'], sqlite_where=sa.text("fired_at IS NOT NULL"),
                    postgresql_where=sa.text("fired_at IS NOT NULL"))
    op.create_index('ix_timers_cancelled', 'timers', ['cancelled_at'],
                    sqlite_where=sa.text("cancelled_at IS NOT NULL"),
                    postgresql_where=sa.text("cancelled_at IS NOT NULL"))


def downgrade() -> None:
    op.drop_index('ix_timers_cancelled', table_name='timers')
    op.drop_index('ix_timers_fired', table_name='timers')
    op.drop_index('ix_timers_pending', table_name='timers')
    op.create_index('ix_timers_due', 'timers', ['due_at', 'fired_at', 'cancelled_at'])
